"""The city's figures: aggregate queries over confirmed deliveries.

Every figure is computed in the database (``Sum`` / ``Count`` over
``values()`` groups); no Python loop walks the deliveries, so the number of
queries does not grow with them. The groups run over the roll-ups of
confirmed deliveries that every write keeps current (``dashboard.services``):
``ConfirmedDeal`` (one row per deal) without a period filter, ``ConfirmedMonth``
(deal x month, made with ``TruncMonth`` in the database) with one, so the
period filter selects whole months.

- Tonnes: weighbridge tonnes of deliveries the receiver confirmed
  (``Delivery.status == confirmed``); logged and disputed loads never count. They
  count once, where the material leaves its producer: a plant's output adds no
  tonnes. By category (``symbiosis.impact.classify_tonnes``): only
  ``kept_out_of_landfill`` tonnes are called that.
- Net kg CO2e avoided: ``Sum(tonnes x DealImpactRate.kg_co2e_per_t)``, the
  per-tonne rate being ``symbiosis.impact.score_flow`` of the deal (see
  ``dashboard.models``), with its split by tier and its range summed alike.
  ``tonnes_co2e_not_counted`` are the tonnes whose current fate has no factor
  (that term is not counted), ``tonnes_credit_not_counted`` those whose
  receiver's use has no known credit. ``co2e=published`` in the filters keeps
  the CO2e that rests on published factors only.
- Shares compare like with like (``BASELINES``, each with its source): organic
  residues kept out of landfill against the organic waste landfilled, material
  recycling against the tonnes recycled.
- District: where the residue arises (the supply listing's site).
- No price, no company name of a private listing: only aggregates, NACE
  sectors, materials, districts and the centres of coarse 0.05-degree cells
  (``symbiosis.geo.coarse``, as the market shows anonymous listings) leave here.
- Material names: English (``name_en``) by default, which the exports keep;
  with ``localized=True`` (the page) in the active language by
  ``Material.name``'s rule. Groups are by ``name_en`` either way (names are not
  unique), the Russian and Kazakh names being the group's ``Max`` of ``name_ru`` and
  ``name_kk``.

Longer than most: every figure of the city page, its tables and its exports is
read here, over the same filters and the same roll-up, so a figure and its
export cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, F, FloatField, Max, Min, Q, QuerySet, Sum, Window
from django.db.models.functions import Cast
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from dashboard.models import ConfirmedDeal, ConfirmedMonth
from marketplace.models import Deal
from optimizer.models import PLANT_OUTPUT_KINDS, MatchProposal, OptimizationRun
from symbiosis import impact
from symbiosis.geo_sql import coarse_centre_sql
from symbiosis.models import (
    Material,
    MaterialCategory,
    Organization,
)
from symbiosis.models.accounts import District
from symbiosis.models.listings import FateEvidence
from symbiosis.validators import business_date_window


@dataclass(frozen=True)
class Baseline:
    """A figure of the city the platform's tonnes read against, with where it comes from."""

    key: str
    tonnes_per_year: int
    label: str
    source: str


# The Almaty circular economy analysis (2019), as this project quotes it
# (symbiosis/fixtures/README.md lists the seed lines S1-S8).
BASELINES = {
    "organic_landfilled": Baseline(
        "organic_landfilled",
        600_000,
        _("organic waste landfilled a year"),
        _(
            "Almaty circular economy analysis (2019): about 600,000 t of organic waste "
            "landfilled a year, giving 35,000 t of landfill methane (seed line S1; "
            "shared/DESIGN.md, shared/data/README.md)."
        ),
    ),
    "recycled": Baseline(
        "recycled",
        113_000,
        _("recycled a year"),
        _(
            # xgettext:no-python-format
            "Almaty circular economy analysis (2019): 113,000 t recycled a year, 13 % of "
            "solid waste (seed line S2; shared/DESIGN.md, shared/data/README.md)."
        ),
    ),
    "solid_waste_official": Baseline(
        "solid_waste_official",
        680_000,
        _("solid waste a year, official figure"),
        _(
            "Almaty circular economy analysis (2019): 680,000 t of solid waste a year by "
            "the official statistics, as issue 16 quotes it."
        ),
    ),
    "landfill_received": Baseline(
        "landfill_received",
        480_000,
        _("received a year at the Karasai landfill"),
        _(
            "Almaty circular economy analysis (2019): 480,000 t a year received at the "
            "Karasai landfill, as issue 16 quotes it."
        ),
    ),
}
BASELINE_ORGANIC_LANDFILLED_T_PER_YEAR = BASELINES["organic_landfilled"].tonnes_per_year
BASELINE_RECYCLED_T_PER_YEAR = BASELINES["recycled"].tonnes_per_year

# Tonnes of these categories count (a plant's output adds credits, never tonnes).
TONNES_COUNTED = tuple(sorted(impact.TONNES_COUNTED_CATEGORIES))
# Tonnes that are new recycling: not reuse continued, not a plant's output, not at a landfill.
RECYCLED_CATEGORIES = (
    impact.KEPT_OUT_OF_LANDFILL,
    impact.BROUGHT_INTO_COMPLIANCE,
    impact.PUT_TO_USE,
)
PUBLISHED_ONLY = "published"

SECTOR_LABELS = dict(Organization.Sector.choices)
DISTRICT_LABELS = dict(District.choices)
CATEGORY_LABELS = dict(MaterialCategory.choices)


@dataclass(frozen=True)
class CityFilters:
    date_from: date | None = None
    date_to: date | None = None
    district: str = ""
    category: str = ""
    # "published": the CO2e that rests on published factors only (proxies hidden).
    co2e: str = ""

    @property
    def published_only(self) -> bool:
        return self.co2e == PUBLISHED_ONLY

    @classmethod
    def from_query(cls, params) -> CityFilters:
        """From GET parameters ``from``, ``to`` (YYYY-MM or YYYY-MM-DD: whole months),
        ``district``, ``category``, ``co2e`` (``published`` hides the CO2e of proxies
        and estimates); values that do not parse are ignored, so a shared URL never
        errors."""

        def month(name):
            text = (params.get(name, "") or "")[:7]
            try:
                found = date.fromisoformat(f"{text}-01")
            except ValueError:
                return None
            # Year 1 or 9999 is no period of ours (and year 1 prints as "1-06").
            earliest, latest = business_date_window()
            return found if earliest <= found <= latest else None

        district = params.get("district", "")
        category = params.get("category", "")
        return cls(
            date_from=month("from"),
            date_to=month("to"),
            district=district if district in DISTRICT_LABELS else "",
            category=category if category in CATEGORY_LABELS else "",
            co2e=PUBLISHED_ONLY if params.get("co2e", "") == PUBLISHED_ONLY else "",
        )

    def as_query(self) -> dict[str, str]:
        values = {
            "from": self.date_from.strftime("%Y-%m") if self.date_from else "",
            "to": self.date_to.strftime("%Y-%m") if self.date_to else "",
            "district": self.district,
            "category": self.category,
            "co2e": self.co2e,
        }
        return {k: v for k, v in values.items() if v}


def confirmed_months(filters: CityFilters) -> QuerySet[ConfirmedMonth]:
    """(deal, month) roll-up rows of confirmed deliveries within the filters; the
    period runs from the month of ``date_from`` through the month of ``date_to``."""
    months = ConfirmedMonth.objects.all()
    if filters.date_from:
        months = months.filter(month__gte=filters.date_from.replace(day=1))
    if filters.date_to:
        months = months.filter(month__lte=filters.date_to.replace(day=1))
    if filters.district:
        months = months.filter(deal__supply__site__district=filters.district)
    if filters.category:
        months = months.filter(deal__material__category=filters.category)
    return months


def confirmed_rows(filters: CityFilters) -> QuerySet:
    """The rows the tables group: one per deal (``ConfirmedDeal``) when no period
    is chosen, else one per deal and month of the period (``ConfirmedMonth``).
    Both have ``deal``, ``tonnes`` and ``deliveries``, so ``_figures`` fits either."""
    if filters.date_from or filters.date_to:
        return confirmed_months(filters)
    rows = ConfirmedDeal.objects.all()
    if filters.district:
        rows = rows.filter(deal__supply__site__district=filters.district)
    if filters.category:
        rows = rows.filter(deal__material__category=filters.category)
    return rows


RATE = "deal__impact_rate__"


def _kg(field: str):
    return Sum(Cast("tonnes", FloatField()) * F(RATE + field), output_field=FloatField())


def _figures(rows: QuerySet | None = None, filters: CityFilters | None = None) -> dict:
    """The aggregate expressions every table shares (``agg_`` keeps their names
    apart from the model's fields; ``_clean`` drops the prefix). Over
    ``ConfirmedDeal`` rows each deal is one row, so exchanges need no DISTINCT.

    ``kg_co2e`` is the net of the counted terms, or with ``co2e=published`` its part
    that rests on published factors; ``kg_co2e_low`` and ``kg_co2e_high`` its range."""
    per_deal = rows is not None and rows.model is ConfirmedDeal
    published_only = filters is not None and filters.published_only
    net = "kg_co2e_published_per_t" if published_only else "kg_co2e_per_t"
    return {
        "agg_tonnes": Sum("tonnes", filter=Q(**{RATE + "category__in": TONNES_COUNTED})),
        "agg_tonnes_kept_out_of_landfill": Sum(
            "tonnes", filter=Q(**{RATE + "category": impact.KEPT_OUT_OF_LANDFILL})
        ),
        "agg_kg_co2e": _kg(net),
        "agg_kg_co2e_published": _kg("kg_co2e_published_per_t"),
        "agg_kg_co2e_proxy": _kg("kg_co2e_proxy_per_t"),
        "agg_kg_co2e_low": _kg(net if published_only else "kg_co2e_low_per_t"),
        "agg_kg_co2e_high": _kg(net if published_only else "kg_co2e_high_per_t"),
        "agg_tonnes_co2e_not_counted": Sum("tonnes", filter=Q(**{RATE + "fate_counted": False})),
        "agg_tonnes_credit_not_counted": Sum(
            "tonnes", filter=Q(**{RATE + "credit_counted": False})
        ),
        "agg_deliveries": Sum("deliveries"),
        "agg_exchanges": Count("deal", distinct=not per_deal),
    }


_FLOAT_FIGURES = frozenset(
    (
        "tonnes",
        "tonnes_kept_out_of_landfill",
        "tonnes_co2e_not_counted",
        "tonnes_credit_not_counted",
        "kg_co2e",
        "kg_co2e_published",
        "kg_co2e_proxy",
        "kg_co2e_low",
        "kg_co2e_high",
        *(f"tonnes_{category}" for category in impact.CATEGORIES),
        *(f"kept_{evidence}" for evidence in FateEvidence.values),
        "organic_tonnes_kept_out_of_landfill",
        "recycled_tonnes",
    )
)


def _clean(row: dict) -> dict:
    out = {}
    for key, value in row.items():
        if key[:4] != "agg_":
            out[key] = value
            continue
        key = key[4:]
        if key in _FLOAT_FIGURES:
            value = float(value or 0)
        out[key] = value
        if key.startswith("kg_co2e"):
            out["t_co2e" + key[len("kg_co2e") :]] = value / 1000
    return out


def _share(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def headline(filters: CityFilters) -> dict:
    """The city's totals: tonnes once and by category, kept-out-of-landfill tonnes by
    the evidence of their baseline, CO2e with its tiers and range, and the shares
    against the baseline of the same kind."""
    deliveries = confirmed_rows(filters)
    category = RATE + "category"
    kept = Q(**{category: impact.KEPT_OUT_OF_LANDFILL})
    row = _clean(
        deliveries.aggregate(
            **_figures(deliveries, filters),
            **{
                f"agg_tonnes_{name}": Sum("tonnes", filter=Q(**{category: name}))
                for name in impact.CATEGORIES
                if name != impact.KEPT_OUT_OF_LANDFILL  # in _figures already
            },
            **{
                f"agg_kept_{evidence}": Sum(
                    "tonnes", filter=kept & Q(**{RATE + "fate_evidence": evidence})
                )
                for evidence in FateEvidence.values
            },
            agg_organic_tonnes_kept_out_of_landfill=Sum(
                "tonnes", filter=kept & Q(**{RATE + "organic_comparable": True})
            ),
            agg_recycled_tonnes=Sum(
                "tonnes",
                filter=Q(**{RATE + "recycling": True, category + "__in": RECYCLED_CATEGORIES}),
            ),
        )
    )
    deal_ids = deliveries.values("deal_id")
    row["companies"] = (
        Organization.objects.filter(
            Q(deals_as_supplier__in=deal_ids) | Q(deals_as_receiver__in=deal_ids)
        )
        .distinct()
        .count()
    )
    active = Deal.objects.filter(state=Deal.State.ACTIVE)
    if filters.district:
        active = active.filter(supply__site__district=filters.district)
    if filters.category:
        active = active.filter(material__category=filters.category)
    row["active_deals"] = active.count()
    row["co2e_basis"] = filters.co2e or "all"
    row["kept_with_evidence"] = row["kept_documented"] + row["kept_verified"]
    row["share_of_organic_landfilled"] = _share(
        row["organic_tonnes_kept_out_of_landfill"], BASELINE_ORGANIC_LANDFILLED_T_PER_YEAR
    )
    row["share_of_recycled"] = _share(row["recycled_tonnes"], BASELINE_RECYCLED_T_PER_YEAR)
    for key in ("share_of_organic_landfilled", "share_of_recycled"):
        row[f"{key}_percent"] = 100 * row[key]
    return row


def potential(filters: CityFilters) -> dict:
    """What approved proposals and the latest succeeded optimizer run would move."""
    proposals = MatchProposal.objects.filter(status=MatchProposal.Status.APPROVED)
    if filters.district:
        proposals = proposals.filter(supply__site__district=filters.district)
    if filters.category:
        proposals = proposals.filter(material__category=filters.category)
    # A plant's output adds no tonnes: it was counted going in.
    counted = ~Q(kind__in=PLANT_OUTPUT_KINDS)
    approved = proposals.aggregate(
        tonnes=Sum("tonnes", filter=counted),
        tonnes_kept_out_of_landfill=Sum("tonnes_diverted_from_landfill"),
        kg_co2e=Sum("net_published_kg_co2e" if filters.published_only else "net_kg_co2e_saved"),
        kg_co2e_published=Sum("net_published_kg_co2e"),
        kg_co2e_proxy=Sum("net_proxy_kg_co2e"),
        proposals=Count("id"),
    )
    run = (
        OptimizationRun.objects.filter(status=OptimizationRun.Status.SUCCEEDED)
        .order_by("-finished_at", "-id")
        .values(
            "id",
            "finished_at",
            "tonnes_moved",
            "landfill_tonnes_avoided",
            "saved_kg_co2e",
            "stats__accounting",
        )
        .first()
    )
    return {
        "approved": {k: (v or 0) for k, v in approved.items()},
        "latest_run": run,
    }


def _grouped(
    filters: CityFilters,
    *keys: str,
    order_by=("-agg_tonnes",),
    localized: bool = False,
    extra: dict | None = None,
) -> list[dict]:
    rows = confirmed_rows(filters)
    rows = rows.values(*keys).annotate(
        **_figures(rows, filters), **_material_ru(localized), **(extra or {})
    )
    return [_clean(row) for row in rows.order_by(*order_by, *keys)]


def _material_ru(localized: bool) -> dict:
    """The Russian and Kazakh names beside a group by ``deal__material__name_en``, for
    the page.

    Aggregates, not grouping keys: materials are unique by slug, not by name, so
    grouping by every name could split a group the exports keep whole. ``Max``
    prefers a non-empty name over an empty one."""
    if not localized:
        return {}
    return {f"agg_material_{field}": Max(f"deal__material__{field}") for field in LOCAL_NAME_FIELDS}


# The names beside name_en that a localized row carries (Material.name's fallbacks).
LOCAL_NAME_FIELDS = ("name_ru", "name_kk")


def _material_name(row: dict) -> str:
    """``deal__material__name_en`` of a grouped row, or with ``_material_ru`` its name
    in the active language (``Material.name``: Kazakh, Russian or English, the first
    not empty in the active language's order)."""
    name_en = row["deal__material__name_en"]
    if "material_name_ru" not in row:
        return name_en
    names = {field: row.pop(f"material_{field}", None) or "" for field in LOCAL_NAME_FIELDS}
    return Material(name_en=name_en, **names).name


def _labels(choices: dict) -> dict[str, str]:
    # The lazy labels in the active language, translated once per table, not per row.
    return {value: str(label) for value, label in choices.items()}


def _relabel(rows, key, name, labels=None) -> list[dict]:
    out = []
    labels = _labels(labels) if labels is not None else None
    for row in rows:
        value = row.pop(key)
        label = labels.get(value, value) if labels is not None else value
        out.append({name: value, "label": label, **row})
    return out


def by_category(filters: CityFilters) -> list[dict]:
    return _relabel(
        _grouped(filters, "deal__material__category"),
        "deal__material__category",
        "category",
        CATEGORY_LABELS,
    )


def by_material(filters: CityFilters, *, localized: bool = False) -> list[dict]:
    """Per material; ``material`` in English, or with ``localized`` (the page) in
    the active language."""
    rows = _grouped(
        filters,
        "deal__material__name_en",
        "deal__material__category",
        localized=localized,
        # Where the material's factors are listed (the page links each row there).
        extra={"agg_material_slug": Min("deal__material__slug")},
    )
    categories = _labels(CATEGORY_LABELS)
    out = []
    for row in rows:
        material = _material_name(row)  # and drops the localized names from the row
        row.pop("deal__material__name_en")
        category = row.pop("deal__material__category")
        out.append(
            {
                "material": material,
                "category": categories.get(category, category),
                **row,
            }
        )
    return out


def by_sector(filters: CityFilters) -> list[dict]:
    return _relabel(
        _grouped(filters, "deal__supplier__sector"),
        "deal__supplier__sector",
        "sector",
        SECTOR_LABELS,
    )


def by_district(filters: CityFilters) -> list[dict]:
    return _relabel(
        _grouped(filters, "deal__supply__site__district"),
        "deal__supply__site__district",
        "district",
        DISTRICT_LABELS,
    )


def by_month(filters: CityFilters) -> list[dict]:
    rows = confirmed_months(filters)
    rows = rows.values("month").annotate(**_figures(rows, filters)).order_by("month")
    out = []
    for row in rows:
        row = _clean(row)
        month = row.pop("month")
        out.append({"month": month.strftime("%Y-%m"), **row})
    return out


def flows(filters: CityFilters, *, localized: bool = False) -> list[dict]:
    """Confirmed tonnes from supplier sector through material to use (the Sankey);
    ``material`` in English, or with ``localized`` (the page) in the active language.

    ``kg_co2e`` sums only the tonnes with a rate; ``tonnes_co2e_not_counted`` are
    the flow's tonnes whose CO2e is not counted (no fate factor), so a flow of
    such tonnes shows "not counted", never 0 t CO2e."""
    rows = _grouped(
        filters,
        "deal__supplier__sector",
        "deal__material__name_en",
        "deal__impact_rate__use_name",
        localized=localized,
    )
    sectors = _labels(SECTOR_LABELS)
    use_not_recorded = gettext("Use not recorded")
    return [
        {
            "sector": sectors.get(row["deal__supplier__sector"], ""),
            "material": _material_name(row),
            "use": row["deal__impact_rate__use_name"] or use_not_recorded,
            "tonnes": row["tonnes"],
            "kg_co2e": row["kg_co2e"],
            "tonnes_co2e_not_counted": row["tonnes_co2e_not_counted"],
        }
        for row in rows
    ]


# An exchange's ends (output name -> site coordinate) and what else tells lines apart.
EXCHANGE_ENDS = {
    "from_lat": "deal__supply__site__latitude",
    "from_lon": "deal__supply__site__longitude",
    "to_lat": "deal__receiver_site__latitude",
    "to_lon": "deal__receiver_site__longitude",
}
EXCHANGE_KEYS = (
    "deal__supply__site__district",
    "deal__receiver_site__district",
    "deal__material__name_en",
)
# Lines in order: most tonnes first, then by supply end, receiving end, material.
EXCHANGE_ORDER = (
    "-agg_tonnes",
    "from_lat",
    "from_lon",
    "deal__supply__site__district",
    "to_lat",
    "to_lon",
    "deal__receiver_site__district",
    "deal__material__name_en",
)
# Only what a line shows: thousands of groups at city scale.
LINE_FIGURES = ("agg_tonnes", "agg_kg_co2e", "agg_exchanges")


def _exchange_groups(filters: CityFilters, *, localized: bool) -> QuerySet:
    """Exchange lines grouped in the database, most tonnes first: one per (supply
    cell, its district, receiving cell, its district, material), its figures
    summed over the sites in those cells.

    Where a site is, to 0.01 degree, is where a company is: 0.05-degree cells
    (about 5.5 x 4 km) are what the market publishes of an anonymous listing, and
    the same grid (``symbiosis.geo_sql``, exact on grid lines too) means the two
    together place no site closer than one cell. A deal lies in one group, so
    ``exchanges`` adds up."""
    rows = confirmed_rows(filters)
    figures = _figures(rows, filters)
    ends = {end: coarse_centre_sql(field) for end, field in EXCHANGE_ENDS.items()}
    return (
        rows.values(*EXCHANGE_KEYS, **ends)
        .annotate(**{name: figures[name] for name in LINE_FIGURES}, **_material_ru(localized))
        .order_by(*EXCHANGE_ORDER)
    )


def exchanges(filters: CityFilters, *, localized: bool = False) -> list[dict]:
    """One line per (supply cell, receiving cell, material) with their districts and
    tonnes; ends at the centres of 0.05-degree cells (``_exchange_groups``); no
    company, site name or price. ``material`` in English, or with ``localized``
    in the active language."""
    groups = _exchange_groups(filters, localized=localized)
    return _exchange_rows([_clean(row) for row in groups])


def largest_exchanges(
    filters: CityFilters, limit: int, *, localized: bool = False
) -> tuple[list[dict], int]:
    """The ``limit`` exchange lines with the most tonnes (the map's lines) and how
    many there are in all; the export (``exchanges``) has every one."""
    groups = _exchange_groups(filters, localized=localized)
    # COUNT(*) OVER () runs after GROUP BY and before LIMIT: how many lines there
    # are in all, from the same query (a separate count grouped them again).
    top = list(groups.annotate(exchanges_in_all=Window(Count("*")))[:limit])
    total = top[0]["exchanges_in_all"] if top else 0
    return _exchange_rows([_clean(row) for row in top]), total


def _exchange_rows(rows: list[dict]) -> list[dict]:
    districts = _labels(DISTRICT_LABELS)
    return [
        {
            "material": _material_name(row),
            "from_district": districts.get(row["deal__supply__site__district"], ""),
            "to_district": districts.get(row["deal__receiver_site__district"], ""),
            **{name: row[name] for name in EXCHANGE_ENDS},
            "tonnes": row["tonnes"],
            "kg_co2e": row["kg_co2e"],
            "exchanges": row["exchanges"],
        }
        for row in rows
    ]


def named_organizations(filters: CityFilters) -> list[dict]:
    """Organizations that agreed to be named and took part in confirmed deliveries,
    as supplier or receiver, with their confirmed tonnes (public page)."""
    deliveries = confirmed_months(filters)
    named = Organization.objects.filter(agrees_to_be_named=True)
    by_name: dict[str, dict] = {}
    for relation, key in (("deals_as_supplier", "supplied"), ("deals_as_receiver", "received")):
        rows = (
            named.filter(**{f"{relation}__confirmed_months__in": deliveries})
            .values("name")
            .annotate(tonnes=Sum(f"{relation}__confirmed_months__tonnes"))
        )
        for row in rows:
            entry = by_name.setdefault(
                row["name"], {"name": row["name"], "supplied": 0.0, "received": 0.0}
            )
            entry[key] = float(row["tonnes"] or 0)
    for entry in by_name.values():
        entry["tonnes"] = entry["supplied"] + entry["received"]
    return sorted(by_name.values(), key=lambda entry: (-entry["tonnes"], entry["name"]))


# table name -> selector, for the page and the exports
TABLES = {
    "category": by_category,
    "material": by_material,
    "sector": by_sector,
    "district": by_district,
    "month": by_month,
    "flows": flows,
    "exchanges": exchanges,
}


# The dashboard's tables; the map reads ``largest_exchanges`` (exports: ``TABLES``).
PAGE_TABLES = ("category", "material", "sector", "district", "month", "flows")
# Tables whose material names the page shows in its language (the exports: English).
LOCALIZED_TABLES = frozenset(("material", "flows", "exchanges"))


def city_dashboard(filters: CityFilters) -> dict:
    return {
        "headline": headline(filters),
        "potential": potential(filters),
        **{
            name: TABLES[name](filters, localized=True)
            if name in LOCALIZED_TABLES
            else TABLES[name](filters)
            for name in PAGE_TABLES
        },
    }
