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
    """{(slug, kind): (Decimal, source)} of factor_proxies.csv."""
    return {
        (r["material"], r["kind"]): (Decimal(r["kg_co2e_per_t"]), r["source"])
        for r in rows("factor_proxies.csv")
    }


def proxy_rows():
    return {(r["material"], r["kind"]): r for r in rows("factor_proxies.csv")}


def dec(text):
    return Decimal(text) if text else None


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
    """A published cell is loaded as it is; a factor_proxies.csv row naming it states
    its quality (same value) or replaces it by a published number (another value);
    every other factor_proxies.csv row fills a gap. Tiers and ranges as written."""
    cells, extra = csv_cells(), proxy_rows()
    for (slug, kind), (value, source) in cells.items():
        factor = EmissionFactor.objects.get(factor_set=factor_set, material__slug=slug, kind=kind)
        row = extra.get((slug, kind))
        if row is None:
            assert (factor.kg_co2e_per_t, factor.source) == (value, source), (slug, kind)
            assert (factor.tier, factor.is_estimate) == ("published", False), (slug, kind)
            assert factor.low_kg_co2e_per_t is None and factor.high_kg_co2e_per_t is None
            continue
        assert dec(row["replaces_kg_co2e_per_t"]) == value, (slug, kind)
        assert factor.kg_co2e_per_t == Decimal(row["kg_co2e_per_t"]), (slug, kind)
        assert factor.tier == row["tier"] and factor.basis == row["basis"], (slug, kind)
        if factor.kg_co2e_per_t == value:
            assert factor.source.startswith(source), (slug, kind)  # the cell's, then the row's
        else:
            assert factor.tier == "published", "only a published number replaces one"
    for key, row in extra.items():
        factor = EmissionFactor.objects.get(
            factor_set=factor_set, material__slug=key[0], kind=key[1]
        )
        assert factor.kg_co2e_per_t == Decimal(row["kg_co2e_per_t"]), key
        assert factor.tier == row["tier"], key
        assert factor.is_estimate == (row["tier"] != "published"), key
        assert factor.low_kg_co2e_per_t == dec(row["low_kg_co2e_per_t"]), key
        assert factor.high_kg_co2e_per_t == dec(row["high_kg_co2e_per_t"]), key
    # Empty cells give no row, unless one of our own rows fills them.
    expected_keys = set(cells) | set(extra)
    stored = set(factor_set.factors.values_list("material__slug", "kind"))
    assert stored == expected_keys
    assert factor_set.factors.count() == len(expected_keys)


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
    for slug in ("straw", "cocoa-shells", "sawdust", "jute-bags"):
        assert not factor_set.factors.filter(material__slug=slug).exists(), slug
    # Steel slag has its clinker credit (a proxy) and no landfill factor.
    assert set(
        factor_set.factors.filter(material__slug="steel-slag").values_list("kind", flat=True)
    ) == {"virgin_production"}


@pytest.mark.django_db
def test_every_proxy_and_estimate_has_a_range_and_a_basis(factor_set):
    quality = factor_set.factors.exclude(tier="published")
    assert quality.count() >= 30
    for factor in quality:
        assert factor.is_estimate
        assert factor.basis, factor
        low, high = factor.low_kg_co2e_per_t, factor.high_kg_co2e_per_t
        assert low is not None and high is not None, factor
        assert low <= factor.kg_co2e_per_t <= high, factor
    # The cells emission_factors.csv's sources call derived, partial or a proxy.
    for slug, kind in [
        ("food-waste", "anaerobic_digestion"),
        ("blast-furnace-slag", "virgin_production"),
        ("precast-facade-panels", "landfill"),
        ("precast-facade-panels", "recycling"),
        ("precast-facade-panels", "virgin_production"),
    ]:
        assert factor_set.factors.get(material__slug=slug, kind=kind).tier != "published"


@pytest.mark.django_db
def test_proxies_fill_gaps_or_qualify_never_overwrite(factor_set):
    cells = csv_cells()
    landfill = {
        f.material.slug: f.kg_co2e_per_t
        for f in factor_set.factors.filter(kind="landfill").select_related("material")
    }
    for (slug, kind), row in proxy_rows().items():
        value = Decimal(row["kg_co2e_per_t"])
        if (slug, kind) in cells and value != cells[(slug, kind)][0]:
            assert row["tier"] == "published", "a proxy must not overwrite a published value"
        if kind == "open_dump":
            base = landfill[slug] if slug in landfill else Decimal("22.3")
            assert value == (base * Decimal("0.4")).quantize(Decimal("0.01")), slug
    # No open-dump estimate for wood.
    assert not factor_set.factors.filter(material__slug="wood", kind="open_dump").exists()


def _write_fixtures(tmp_path, **replace_rows):
    """A copy of the fixtures with factor_proxies.csv rows changed (key -> dict)."""
    import shutil

    for path in FIXTURES.glob("*.csv"):
        shutil.copy(path, tmp_path / path.name)
    data = rows("factor_proxies.csv")
    for row in data:
        change = replace_rows.get(f"{row['material']}/{row['kind']}")
        if change:
            row.update(change)
    with open(tmp_path / "factor_proxies.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(data[0]))
        writer.writeheader()
        writer.writerows(data)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        # a proxy over a published number
        (
            {
                "wood/landfill": {
                    "tier": "proxy",
                    "low_kg_co2e_per_t": "0",
                    "high_kg_co2e_per_t": "999",
                }
            },
            "never replaces",
        ),
        # a row that does not name the cell it stands for
        ({"paper/virgin_production": {"replaces_kg_co2e_per_t": "1"}}, "replaces_kg_co2e"),
        # an estimate without its range, or outside it
        ({"sewage-sludge/landfill": {"high_kg_co2e_per_t": ""}}, "needs a low-high range"),
        ({"sewage-sludge/landfill": {"low_kg_co2e_per_t": "190"}}, "outside its range"),
        ({"sewage-sludge/landfill": {"basis": ""}}, "no basis"),
    ],
)
def test_the_loader_refuses_a_bad_quality_row(tmp_path, monkeypatch, change, message):
    from symbiosis import taxonomy

    _write_fixtures(tmp_path, **change)
    monkeypatch.setattr(taxonomy, "FIXTURES_DIR", tmp_path)
    with pytest.raises(ValueError, match=message):
        taxonomy.factor_rows()


@pytest.mark.django_db
def test_the_factors_the_audit_found_wrong(factor_set):
    """Issue 16 item 4: fly ash's published WARM credit, sludge scaled by IPCC DOC,
    net recycling credits, wood without landfill carbon storage, manure on the farm."""

    def factor(slug, kind):
        return factor_set.factors.get(material__slug=slug, kind=kind)

    fly_ash = factor("fly-ash", "virgin_production")
    shared = {r["material"]: r for r in rows("emission_factors.csv")}
    assert fly_ash.kg_co2e_per_t == -Decimal(shared["fly ash"]["recycling_kgco2e_per_t"])
    assert fly_ash.tier == "published"
    rule = CompatibilityRule.objects.get(material__slug="fly-ash", use__slug="clinker-substitute")
    assert rule.credit_kg_co2e_per_t == fly_ash.kg_co2e_per_t
    sludge = factor("sewage-sludge", "landfill")
    food = factor("food-waste", "landfill")
    assert sludge.kg_co2e_per_t == (food.kg_co2e_per_t * 5 / 15).quantize(Decimal("0.01"))
    assert sludge.tier == "estimate" and "5 %" in sludge.basis and "15 %" in sludge.basis
    # Net of the recycling process: DEFRA primary production minus closed-loop source.
    paper = factor("paper", "virgin_production")
    assert paper.kg_co2e_per_t == Decimal("295.00") and "NET" in paper.basis
    assert factor("steel-scrap", "virgin_production").kg_co2e_per_t == Decimal("1040.00")
    # No net figure for bricks: an upper figure, flagged.
    bricks = factor("bricks", "virgin_production")
    assert bricks.tier == "estimate" and "UPPER" in bricks.basis
    assert bricks.high_kg_co2e_per_t == bricks.kg_co2e_per_t
    # Carbon storage counted for no route: wood to landfill is methane only.
    wood = factor("wood", "landfill")
    assert wood.kg_co2e_per_t > 0 and "STORAGE" in wood.basis
    for slug in ("chicken-manure", "cattle-manure"):
        stored = factor(slug, "stored_on_farm")
        assert stored.tier == "estimate" and "MCF" in stored.basis
        assert stored.kg_co2e_per_t < factor(slug, "open_dump").kg_co2e_per_t


@pytest.mark.django_db
def test_estimates_are_flagged(factor_set):
    def factor(slug, kind):
        return factor_set.factors.get(material__slug=slug, kind=kind)

    assert factor("precast-facade-panels", "virgin_production").tier == "proxy"
    assert factor("blast-furnace-slag", "virgin_production").tier == "estimate"
    assert factor("food-waste", "anaerobic_digestion").tier == "estimate"
    assert factor("brewery-spent-grain", "landfill").tier == "proxy"
    # Food waste's landfill and composting values are published, its digestion one is not.
    assert factor("food-waste", "landfill").tier == "published"
    assert not factor("steel-scrap", "virgin_production").is_estimate
    assert not factor("paper", "recycling").is_estimate
    for rule in CompatibilityRule.objects.select_related("material"):
        marked = any(m in rule.source for m in MARKERS)
        assert rule.is_estimate == marked, rule


@pytest.mark.django_db
def test_rule_credits_are_the_factor_sets_credits(factor_set):
    """A rule's credit is its material's virgin-production row of the set, so the
    credit carries the row's tier, range and basis (symbiosis.accounting)."""
    virgin = {
        f.material_id: f.kg_co2e_per_t for f in factor_set.factors.filter(kind="virgin_production")
    }
    for rule in CompatibilityRule.objects.select_related("material"):
        if rule.credit_kg_co2e_per_t is None:
            assert rule.source, rule
            continue
        assert rule.credit_kg_co2e_per_t == virgin[rule.material_id], rule
    no_figure = CompatibilityRule.objects.get(
        material__slug="brewery-spent-grain", use__slug="animal-feed"
    )
    assert no_figure.credit_kg_co2e_per_t is None
    steel = CompatibilityRule.objects.get(material__slug="steel-scrap", use__slug="secondary-steel")
    assert steel.credit_kg_co2e_per_t == Decimal("1040.00")
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
