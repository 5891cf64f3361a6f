"""Material taxonomy and emission factor sets, loaded from symbiosis/fixtures/.

The CSV files are the record: every number carries its source there, and the
loaders only copy them into the database. Both loaders are idempotent upserts
that save a row only when a value differs, so running them twice changes
nothing (not even ``updated_at``).
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

from django.db import transaction

from symbiosis.models import CompatibilityRule, EmissionFactor, FactorSet, Material, Use

FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"

# 2026.2: tiers and ranges; net recycling credits; wood without landfill carbon
# storage; fly ash's published WARM credit; sludge scaled by IPCC DOC; manure stored
# on the farm (docs/accounting.md).
DEFAULT_FACTOR_SET_VERSION = "2026.2-warm16-defra25"

# DEFRA 2025 freighting goods, all HGVs, average laden (direct, no well-to-tank).
TRANSPORT_KG_CO2E_PER_TKM = Decimal("0.10163")
TRANSPORT_SOURCE = (
    "DESNZ/DEFRA GHG conversion factors 2025, freighting goods: HGV (all diesel), "
    "all HGVs, average laden, 0.10163 kg CO2e per tonne-km (direct emissions, no "
    "well-to-tank). Rigid 0.19748, articulated 0.07800, rail 0.02779 kg CO2e/tkm."
)

FACTOR_SET_NAME = "WARM v16 / DEFRA 2025 starting set"

# The shared reference data mixes two accounting bases; the set says so
# instead of pretending to one (shared/data/README.md).
FACTOR_SET_BASIS = (
    "Mixed basis, as in shared/data/README.md, each factor with its tier (published, proxy, "
    "estimate) and, for proxies and estimates, a low-high range and its basis. Landfill, "
    "composting and recycling factors are US EPA WARM v16 (Dec 2023) NET factors (paper and "
    "cardboard landfill include carbon storage). Wood to landfill is DEFRA 2025 without "
    "storage (925.34), because carbon storage is counted for no route: reused timber keeps "
    "the same carbon. Anaerobic digestion of food waste is derived from WARM v15 (estimate). "
    "Textiles to landfill is DEFRA 2025. Virgin-production rows are the CREDIT of one tonne "
    "received in the material's credited use (compatibility_rules.csv): DESNZ/DEFRA 2025 "
    "primary production net of the recycling process (closed-loop source) or of reuse "
    "('Re-used') where DEFRA has one; bricks are an upper figure; fly ash is WARM's "
    "published credit; slags are IPCC 2006 Tier 1 clinker (estimate, proxy for steel slag). "
    "Gaps: the WARM food-waste landfill factor as a PROXY for wet organic residues, sewage "
    "sludge scaled by IPCC degradable organic carbon (ESTIMATE), open dump = landfill x 0.4 "
    "(IPCC methane correction factor, ESTIMATE), manure stored on the farm from IPCC "
    "manure management (ESTIMATE). Materials without a factor for a route have no row: that "
    "term is not counted, never zero. The Almaty 2019 analysis' local average (about 1,465 "
    "kg CO2e per tonne of organic waste landfilled, historic deposits included) is not "
    "applied. docs/accounting.md states the method."
)

# emission_factors.csv column -> EmissionFactor kind.
FACTOR_COLUMNS = {
    "landfill_kgco2e_per_t": EmissionFactor.Kind.LANDFILL,
    "composting_kgco2e_per_t": EmissionFactor.Kind.COMPOSTING,
    "anaerobic_digestion_kgco2e_per_t": EmissionFactor.Kind.ANAEROBIC_DIGESTION,
    "recycling_kgco2e_per_t": EmissionFactor.Kind.RECYCLING,
    "virgin_production_kgco2e_per_t": EmissionFactor.Kind.VIRGIN_PRODUCTION,
}

KG_PER_TONNE = Decimal(1000)


def read_csv(name: str) -> list[dict[str, str]]:
    with open(FIXTURES_DIR / name, newline="", encoding="utf-8") as fh:
        return [
            {key: (value or "").strip() for key, value in row.items()} for row in csv.DictReader(fh)
        ]


def decimal_or_none(text: str) -> Decimal | None:
    return Decimal(text) if text else None


def parse_bool(text: str) -> bool:
    if text.lower() in ("true", "yes", "1"):
        return True
    if text.lower() in ("false", "no", "0", ""):
        return False
    raise ValueError(f"not a boolean: {text!r}")


def _differs(obj, name: str, value) -> bool:
    field = obj._meta.get_field(name)
    if field.is_relation:
        # Compare keys: reading the related object would cost a query per field.
        return getattr(obj, field.attname) != (value.pk if value is not None else None)
    return getattr(obj, name) != value


def upsert(model, lookup: dict, values: dict, *, find: dict | None = None, validate=True):
    """Create or update one row by its natural key; save only what differs.

    ``lookup`` finds the row and is part of a new one; ``find`` (optional)
    replaces it for finding only, for keys that are not plain fields.
    Returns ``(obj, action)`` with action "created", "updated" or "unchanged".
    Saving only on a difference keeps a second load a true no-op.
    """
    obj = model.objects.filter(**(find if find is not None else lookup)).first()
    if obj is None:
        obj = model(**lookup, **values)
        action = "created"
    else:
        changed = [name for name, value in values.items() if _differs(obj, name, value)]
        if not changed:
            return obj, "unchanged"
        for name in changed:
            setattr(obj, name, values[name])
        action = "updated"
    if validate:
        # Field validators (BIN, EWC code, coordinates, percentages) and clean();
        # foreign keys were just fetched and the database enforces uniqueness
        # and check constraints on save, so those queries are skipped.
        related = [f.name for f in model._meta.concrete_fields if f.is_relation]
        obj.full_clean(exclude=related, validate_unique=False, validate_constraints=False)
    obj.save()
    return obj, action


# --- taxonomy ---------------------------------------------------------------


def _residue_properties() -> dict[str, dict[str, str]]:
    return {row["material"]: row for row in read_csv("residue_properties.csv")}


def material_values(row: dict[str, str], properties: dict[str, dict[str, str]]) -> dict:
    """Field values of one materials.csv row, checked against residue_properties.csv.

    materials.csv repeats the sourced properties so it reads on its own; a
    mismatch with the source table is an error, not a silent choice.
    """
    values = {
        "ewc_code": row["ewc_code"],
        "name_en": row["name_en"],
        "name_ru": row["name_ru"],
        "name_kk": row["name_kk"],
        "category": row["category"],
        "density_t_per_m3": decimal_or_none(row["density_t_per_m3"]),
        "carbon_to_nitrogen_ratio": decimal_or_none(row["carbon_to_nitrogen_ratio"]),
        "moisture_percent": decimal_or_none(row["moisture_percent"]),
        "hazardous": parse_bool(row["hazardous"]),
        # Landfilling it is banned (symbiosis.legal); the basis is cited on every page
        # that says so, so a ban without one is refused.
        "landfill_banned": parse_bool(row["landfill_banned"]),
        "landfill_ban_basis": row["landfill_ban_basis"],
        "properties_source": "",
    }
    if values["landfill_banned"] and not values["landfill_ban_basis"]:
        raise ValueError(f"materials.csv {row['slug']}: a landfill ban without its basis")
    if row["properties_row"]:
        source_row = properties[row["properties_row"]]
        density_kg_per_m3 = decimal_or_none(source_row["bulk_density_kg_per_m3"])
        expected = {
            "density_t_per_m3": density_kg_per_m3 / KG_PER_TONNE if density_kg_per_m3 else None,
            "carbon_to_nitrogen_ratio": decimal_or_none(source_row["carbon_to_nitrogen_ratio"]),
            "moisture_percent": decimal_or_none(source_row["moisture_percent"]),
        }
        for field, value in expected.items():
            if values[field] != value:
                raise ValueError(
                    f"materials.csv {row['slug']}.{field} = {values[field]} but "
                    f"residue_properties.csv {row['properties_row']!r} gives {value}"
                )
        values["properties_source"] = source_row["source"]
    elif any(
        values[f] is not None
        for f in ("density_t_per_m3", "carbon_to_nitrogen_ratio", "moisture_percent")
    ):
        raise ValueError(f"materials.csv {row['slug']}: properties without a properties_row")
    return values


def national_codes() -> dict[str, dict]:
    """{material slug: its national waste code fields} from national_codes.csv.

    Kept apart from materials.csv (one file per source). A code with "*" is
    hazardous and the flag must say so; a row for an unknown material is refused.
    """
    slugs = {row["slug"] for row in read_csv("materials.csv")}
    found = {}
    for row in read_csv("national_codes.csv"):
        where = f"national_codes.csv {row['material']}"
        if row["material"] not in slugs:
            raise ValueError(f"{where}: no such material in materials.csv")
        hazardous = parse_bool(row["kz_hazardous"])
        if row["kz_code"].endswith("*") and not hazardous:
            raise ValueError(f"{where}: a code with * is hazardous")
        if not row["source"]:
            raise ValueError(f"{where}: no source")
        found[row["material"]] = {
            "kz_code": row["kz_code"],
            "kz_hazardous": hazardous,
            "kz_hazard_basis": row["kz_hazard_basis"],
            "kz_code_source": row["source"],
        }
    return found


@transaction.atomic
def load_taxonomy() -> Counter:
    """Upsert materials, uses and compatibility rules from the fixtures.

    Nothing is deleted: listings point at materials, and rules added by a
    facilitator in the admin must survive a reload.
    """
    counts: Counter = Counter()
    properties = _residue_properties()
    national = national_codes()
    materials = {}
    for row in read_csv("materials.csv"):
        values = {**material_values(row, properties), **national.get(row["slug"], {})}
        obj, action = upsert(Material, {"slug": row["slug"]}, values)
        materials[obj.slug] = obj
        counts[f"material {action}"] += 1
    uses = {}
    for row in read_csv("uses.csv"):
        values = {k: row[k] for k in ("name_en", "name_ru", "name_kk", "description")}
        obj, action = upsert(Use, {"slug": row["slug"]}, values)
        uses[obj.slug] = obj
        counts[f"use {action}"] += 1
    for row in read_csv("compatibility_rules.csv"):
        values = {
            "substitution_ratio": Decimal(row["substitution_ratio"]),
            "replaces": row["replaces"],
            "credit_kg_co2e_per_t": decimal_or_none(row["credit_kg_co2e_per_t"]),
            "is_estimate": parse_bool(row["is_estimate"]),
            "source": row["source"],
        }
        lookup = {"material": materials[row["material"]], "use": uses[row["use"]]}
        _, action = upsert(CompatibilityRule, lookup, values)
        counts[f"rule {action}"] += 1
    return counts


# --- factor sets ------------------------------------------------------------


@dataclass(frozen=True)
class FactorRow:
    """One factor of the starting set, as the fixtures state it."""

    material: str  # slug
    kind: str
    kg_co2e_per_t: Decimal
    source: str
    tier: str = EmissionFactor.Tier.PUBLISHED
    low_kg_co2e_per_t: Decimal | None = None
    high_kg_co2e_per_t: Decimal | None = None
    basis: str = ""

    @property
    def is_estimate(self) -> bool:
        return self.tier != EmissionFactor.Tier.PUBLISHED

    def values(self) -> dict:
        return {
            "kg_co2e_per_t": self.kg_co2e_per_t,
            "source": self.source,
            "is_estimate": self.is_estimate,
            "tier": self.tier,
            "low_kg_co2e_per_t": self.low_kg_co2e_per_t,
            "high_kg_co2e_per_t": self.high_kg_co2e_per_t,
            "basis": self.basis,
        }


def _proxy_row(row: dict[str, str]) -> FactorRow:
    """A factor_proxies.csv row, checked: a proxy or an estimate has a range holding
    its value and says why; the tier is one of the three."""
    where = f"factor_proxies.csv {row['material']}/{row['kind']}"
    tier = row["tier"]
    if tier not in EmissionFactor.Tier.values:
        raise ValueError(f"{where}: unknown tier {tier!r}")
    value = Decimal(row["kg_co2e_per_t"])
    low = decimal_or_none(row["low_kg_co2e_per_t"])
    high = decimal_or_none(row["high_kg_co2e_per_t"])
    if not row["basis"]:
        raise ValueError(f"{where}: no basis")
    if tier != EmissionFactor.Tier.PUBLISHED:
        if low is None or high is None:
            raise ValueError(f"{where}: a {tier} needs a low-high range")
        if not low <= value <= high:
            raise ValueError(f"{where}: {value} is outside its range {low}-{high}")
    return FactorRow(
        material=row["material"],
        kind=row["kind"],
        kg_co2e_per_t=value,
        source=row["source"],
        tier=tier,
        low_kg_co2e_per_t=low,
        high_kg_co2e_per_t=high,
        basis=row["basis"],
    )


def factor_rows() -> list[FactorRow]:
    """Every factor of the starting set.

    A non-empty cell of emission_factors.csv (the published reference table) is a
    published factor, unless factor_proxies.csv has a row for it that names the
    cell's value in ``replaces_kg_co2e_per_t``: with the same value, the row states
    the cell's quality (a derived or partial figure, a stand-in); with another
    value, a published number replaces it on a stated basis (a net recycling
    credit, a basis choice). Every other factor_proxies.csv row fills a gap. A
    proxy or an estimate never replaces a published number, and no row replaces a
    cell it does not name exactly, so a changed reference table is caught.
    """
    slug_by_factor_row = {
        row["factor_row"]: row["slug"] for row in read_csv("materials.csv") if row["factor_row"]
    }
    cells: dict[tuple[str, str], FactorRow] = {}
    for row in read_csv("emission_factors.csv"):
        slug = slug_by_factor_row.get(row["material"])
        if slug is None:
            raise ValueError(f"emission_factors.csv row {row['material']!r} has no material")
        for column, kind in FACTOR_COLUMNS.items():
            if row[column]:
                cells[(slug, kind)] = FactorRow(slug, kind, Decimal(row[column]), row["source"])
    extra: dict[tuple[str, str], FactorRow] = {}
    for row in read_csv("factor_proxies.csv"):
        factor = _proxy_row(row)
        key = (factor.material, factor.kind)
        where = f"factor_proxies.csv {key[0]}/{key[1]}"
        if key in extra:
            raise ValueError(f"more than one factor for {key}")
        replaces = decimal_or_none(row["replaces_kg_co2e_per_t"])
        cell = cells.get(key)
        if cell is None and replaces is not None:
            raise ValueError(f"{where} replaces {replaces}, but emission_factors.csv has no cell")
        if cell is not None:
            if replaces != cell.kg_co2e_per_t:
                # A proxy must fill a gap, never overwrite a published number.
                raise ValueError(
                    f"{where}: emission_factors.csv has {cell.kg_co2e_per_t} here; "
                    f"a row for it names that value in replaces_kg_co2e_per_t"
                )
            if factor.kg_co2e_per_t != replaces and factor.is_estimate:
                raise ValueError(f"{where}: a {factor.tier} never replaces a published number")
            if factor.kg_co2e_per_t == replaces:
                factor = replace(factor, source=f"{cell.source} {factor.source}")
        extra[key] = factor
    return list({**cells, **extra}.values())


@transaction.atomic
def load_factor_set(version: str = DEFAULT_FACTOR_SET_VERSION, activate: bool = True):
    """Create or refresh the starting factor set; returns ``(factor_set, counts)``.

    The set mirrors its CSVs: factors no longer in them are deleted. A changed
    number under the same version rewrites history of runs that used it, so
    give a changed CSV a new ``version`` instead.
    """
    counts: Counter = Counter()
    factor_set, action = upsert(
        FactorSet,
        {"version": version},
        {
            "name": FACTOR_SET_NAME,
            "basis": FACTOR_SET_BASIS,
            "transport_kg_co2e_per_tkm": TRANSPORT_KG_CO2E_PER_TKM,
            "transport_source": TRANSPORT_SOURCE,
        },
        validate=False,  # the one-active constraint is handled below
    )
    counts[f"factor set {action}"] += 1
    if activate and not factor_set.is_active:
        FactorSet.objects.filter(is_active=True).update(is_active=False)
        factor_set.is_active = True
        factor_set.save(update_fields=["is_active"])
        counts["factor set activated"] += 1

    materials = {m.slug: m for m in Material.objects.all()}
    kept = []
    for row in factor_rows():
        if row.material not in materials:
            raise ValueError(f"material {row.material!r} is not loaded; run load_taxonomy() first")
        factor, action = upsert(
            EmissionFactor,
            {"factor_set": factor_set, "material": materials[row.material], "kind": row.kind},
            row.values(),
        )
        kept.append(factor.pk)
        counts[f"factor {action}"] += 1
    deleted, _ = factor_set.factors.exclude(pk__in=kept).delete()
    if deleted:
        counts["factor deleted"] += deleted
    return factor_set, counts


def active_factor_set() -> FactorSet | None:
    return FactorSet.objects.filter(is_active=True).first()


def fate_factor(factor_set, material, fate: str):
    """Emission factor of sending one tonne of ``material`` to ``fate`` under a set.

    Returns ``(kg_co2e_per_t, EmissionFactor)``, or ``(None, None)`` where the
    set has no factor (fate "other", or a genuine gap): the caller must show
    that figure as not counted, never as zero.
    """
    if factor_set is None or fate not in EmissionFactor.Kind.values:
        return None, None
    material_id = getattr(material, "pk", material)
    factor = EmissionFactor.objects.filter(
        factor_set=factor_set, material_id=material_id, kind=fate
    ).first()
    if factor is None:
        return None, None
    return factor.kg_co2e_per_t, factor
