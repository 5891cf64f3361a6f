"""Taxonomy and factor-set loading against the fixture CSVs, read directly here."""

import csv
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command

from symbiosis.models import CompatibilityRule, EmissionFactor, FactorSet, Material, Use
from symbiosis.taxonomy import (
    DEFAULT_FACTOR_SET_VERSION,
    fate_factor,
    load_factor_set,
    load_taxonomy,
)

FIXTURES = Path(__file__).resolve().parents[2] / "symbiosis" / "fixtures"
SHARED_DATA = Path("/work/shared/data")

COLUMN_KIND = {
    "landfill_kgco2e_per_t": "landfill",
    "composting_kgco2e_per_t": "composting",
    "anaerobic_digestion_kgco2e_per_t": "anaerobic_digestion",
    "recycling_kgco2e_per_t": "recycling",
    "virgin_production_kgco2e_per_t": "virgin_production",
}
MARKERS = ("PROXY", "ASSUMPTION", "DERIVED", "PARTIAL", "ESTIMATE", "MIDPOINT")


def rows(name):
    with open(FIXTURES / name, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def slug_by_factor_row():
    return {r["factor_row"]: r["slug"] for r in rows("materials.csv") if r["factor_row"]}


def csv_cells():
    """{(slug, kind): (Decimal, source)} for every non-empty cell of emission_factors.csv."""
    slugs = slug_by_factor_row()
    cells = {}
    for row in rows("emission_factors.csv"):
        for column, kind in COLUMN_KIND.items():
            if row[column].strip():
                cells[(slugs[row["material"]], kind)] = (Decimal(row[column]), row["source"])
    return cells


def proxy_cells():
    return {
        (r["material"], r["kind"]): (Decimal(r["kg_co2e_per_t"]), r["source"])
        for r in rows("factor_proxies.csv")
    }


@pytest.fixture
def factor_set(db):
    load_taxonomy()
    factor_set, _ = load_factor_set()
    return factor_set


@pytest.mark.skipif(not SHARED_DATA.exists(), reason="shared reference data not on this machine")
@pytest.mark.parametrize("name", ["emission_factors.csv", "residue_properties.csv"])
def test_fixture_copies_are_verbatim(name):
    assert (FIXTURES / name).read_bytes() == (SHARED_DATA / name).read_bytes()


def test_every_factor_row_has_exactly_one_material():
    factor_rows = [r["material"] for r in rows("emission_factors.csv")]
    mapped = [r["factor_row"] for r in rows("materials.csv") if r["factor_row"]]
    assert sorted(mapped) == sorted(factor_rows)
    properties_rows = {r["material"] for r in rows("residue_properties.csv")}
    assert {r["properties_row"] for r in rows("materials.csv") if r["properties_row"]} == (
        properties_rows
    )


@pytest.mark.django_db
def test_load_taxonomy_is_idempotent():
    first = load_taxonomy()
    snapshot = [
        list(model.objects.order_by("pk").values()) for model in (Material, Use, CompatibilityRule)
    ]
    second = load_taxonomy()
    assert sum(first.values()) == sum(second.values())
    assert set(second) == {"material unchanged", "use unchanged", "rule unchanged"}
    assert snapshot == [
        list(model.objects.order_by("pk").values()) for model in (Material, Use, CompatibilityRule)
    ]
    assert Material.objects.count() >= 30
    assert Material.objects.get(slug="brewery-spent-grain").name_ru == "Пивная дробина"


@pytest.mark.django_db
def test_material_properties_come_from_residue_properties():
    load_taxonomy()
    by_name = {r["material"]: r for r in rows("residue_properties.csv")}
    for row in rows("materials.csv"):
        material = Material.objects.get(slug=row["slug"])
        source = by_name.get(row["properties_row"])
        if source is None:
            assert material.density_t_per_m3 is None
            assert material.carbon_to_nitrogen_ratio is None
            assert material.moisture_percent is None
            assert material.properties_source == ""
            continue
        density = source["bulk_density_kg_per_m3"]
        assert material.density_t_per_m3 == (Decimal(density) / 1000 if density else None)
        cn = source["carbon_to_nitrogen_ratio"]
        assert material.carbon_to_nitrogen_ratio == (Decimal(cn) if cn else None)
        moisture = source["moisture_percent"]
        assert material.moisture_percent == (Decimal(moisture) if moisture else None)
        assert material.properties_source == source["source"]


@pytest.mark.django_db
def test_factor_set_values_equal_the_csv(factor_set):
    cells = csv_cells()
    for (slug, kind), (value, source) in cells.items():
        factor = EmissionFactor.objects.get(factor_set=factor_set, material__slug=slug, kind=kind)
        assert factor.kg_co2e_per_t == value, (slug, kind)
        assert factor.source == source
        assert factor.is_estimate == any(m in source for m in MARKERS), (slug, kind)
    # Empty cells give no row, unless our own labelled proxy fills them.
    expected_keys = set(cells) | set(proxy_cells())
    stored = set(factor_set.factors.values_list("material__slug", "kind"))
    assert stored == expected_keys
    assert factor_set.factors.count() == len(cells) + len(proxy_cells())


@pytest.mark.django_db
def test_empty_cells_stay_empty(factor_set):
    slugs = slug_by_factor_row()
    proxies = proxy_cells()
    for row in rows("emission_factors.csv"):
        for column, kind in COLUMN_KIND.items():
            key = (slugs[row["material"]], kind)
            if not row[column].strip() and key not in proxies:
                assert not factor_set.factors.filter(material__slug=key[0], kind=kind).exists(), key
    # Genuine gaps: nothing at all for these.
    for slug in ("straw", "cocoa-shells", "sawdust", "jute-bags", "steel-slag"):
        assert not factor_set.factors.filter(material__slug=slug).exists(), slug


@pytest.mark.django_db
def test_proxies_fill_gaps_only_and_are_flagged(factor_set):
    cells = csv_cells()
    landfill = {slug: v for (slug, kind), (v, _) in cells.items() if kind == "landfill"}
    for (slug, kind), (value, source) in proxy_cells().items():
        assert (slug, kind) not in cells, "a proxy must not overwrite a published value"
        factor = EmissionFactor.objects.get(factor_set=factor_set, material__slug=slug, kind=kind)
        assert factor.is_estimate
        assert factor.kg_co2e_per_t == value
        assert "PROXY" in source or "ESTIMATE" in source
        if kind == "open_dump":
            base = landfill.get(slug, Decimal("552.8"))  # proxied wet organics
            assert value == (base * Decimal("0.4")).quantize(Decimal("0.01"))
        else:
            assert (kind, value) == ("landfill", Decimal("552.8"))
    # No open-dump estimate for wood: its negative WARM factor is carbon storage.
    assert not factor_set.factors.filter(material__slug="wood", kind="open_dump").exists()


@pytest.mark.django_db
def test_estimates_are_flagged(factor_set):
    def factor(slug, kind):
        return factor_set.factors.get(material__slug=slug, kind=kind)

    assert factor("precast-facade-panels", "virgin_production").is_estimate
    assert factor("blast-furnace-slag", "virgin_production").is_estimate
    assert factor("food-waste", "anaerobic_digestion").is_estimate
    assert factor("brewery-spent-grain", "landfill").is_estimate
    assert not factor("steel-scrap", "virgin_production").is_estimate
    assert not factor("paper", "recycling").is_estimate
    for rule in CompatibilityRule.objects.select_related("material"):
        marked = any(m in rule.source for m in MARKERS)
        assert rule.is_estimate == marked, rule


@pytest.mark.django_db
def test_rule_credits_are_sourced_or_flagged(factor_set):
    virgin = {
        slug: v for (slug, kind), (v, _) in csv_cells().items() if kind == "virgin_production"
    }
    for rule in CompatibilityRule.objects.select_related("material"):
        if rule.credit_kg_co2e_per_t is None:
            assert rule.source, rule
            continue
        if not rule.is_estimate:
            assert rule.credit_kg_co2e_per_t == virgin[rule.material.slug], rule
    no_figure = CompatibilityRule.objects.get(
        material__slug="brewery-spent-grain", use__slug="animal-feed"
    )
    assert no_figure.credit_kg_co2e_per_t is None
    steel = CompatibilityRule.objects.get(material__slug="steel-scrap", use__slug="secondary-steel")
    assert steel.credit_kg_co2e_per_t == Decimal("2863.9")
    assert not steel.is_estimate
    slag = CompatibilityRule.objects.get(
        material__slug="blast-furnace-slag", use__slug="clinker-substitute"
    )
    assert (slag.credit_kg_co2e_per_t, slag.is_estimate) == (Decimal("520.0"), True)


@pytest.mark.django_db
def test_factor_set_record(factor_set):
    assert factor_set.version == DEFAULT_FACTOR_SET_VERSION
    assert factor_set.is_active
    assert factor_set.transport_kg_co2e_per_tkm == Decimal("0.10163")
    assert "DEFRA" in factor_set.transport_source and "2025" in factor_set.transport_source
    assert "WARM" in factor_set.basis and "DEFRA" in factor_set.basis
    assert "net" in factor_set.basis.lower()


@pytest.mark.django_db
def test_load_factor_set_is_idempotent_and_mirrors_the_csv(factor_set):
    before = list(EmissionFactor.objects.order_by("pk").values())
    again, counts = load_factor_set()
    assert again.pk == factor_set.pk
    assert set(counts) == {"factor set unchanged", "factor unchanged"}
    assert list(EmissionFactor.objects.order_by("pk").values()) == before
    # A factor not in the CSVs is removed from the set on reload.
    EmissionFactor.objects.create(
        factor_set=factor_set,
        material=Material.objects.get(slug="straw"),
        kind="landfill",
        kg_co2e_per_t=Decimal("1"),
        source="stray",
    )
    _, counts = load_factor_set()
    assert counts["factor deleted"] == 1
    assert list(EmissionFactor.objects.order_by("pk").values()) == before


@pytest.mark.django_db
def test_activation_moves_to_the_loaded_set(factor_set):
    other, _ = load_factor_set("test-other", activate=True)
    factor_set.refresh_from_db()
    assert other.is_active and not factor_set.is_active
    load_factor_set()
    assert list(FactorSet.objects.filter(is_active=True)) == [factor_set]
    inactive, _ = load_factor_set("test-inactive", activate=False)
    assert not inactive.is_active


@pytest.mark.django_db
def test_fate_factor(factor_set):
    food = Material.objects.get(slug="food-waste")
    value, factor = fate_factor(factor_set, food, "landfill")
    assert value == Decimal("552.8") and factor.kind == "landfill"
    assert fate_factor(factor_set, food.pk, "open_dump")[0] == Decimal("221.12")
    assert fate_factor(factor_set, food, "other") == (None, None)
    assert fate_factor(factor_set, food, "incineration") == (None, None)
    straw = Material.objects.get(slug="straw")
    assert fate_factor(factor_set, straw, "landfill") == (None, None)
    grain_value, grain = fate_factor(
        factor_set, Material.objects.get(slug="brewery-spent-grain"), "landfill"
    )
    assert grain_value == Decimal("552.8") and grain.is_estimate
    assert fate_factor(None, food, "landfill") == (None, None)


@pytest.mark.django_db
def test_load_factors_command(capsys):
    call_command("load_factors")
    call_command("load_factors")
    out = capsys.readouterr().out
    assert "factor unchanged" in out
    assert FactorSet.objects.get(version=DEFAULT_FACTOR_SET_VERSION).is_active
