"""Keeps ``DealImpactRate`` (one row per deal with confirmed deliveries) and the
roll-ups of confirmed deliveries (``ConfirmedMonth``, ``ConfirmedDeal``) current.

The rate is ``symbiosis.impact.score_flow`` of one tonne, with the deal's inputs
as ``marketplace.selectors.deal_flow`` gathers them (the deal page's own);
nothing here computes CO2e itself.

Confirmed deliveries are an append-only record: a correction is a confirmed
reversal (negative tonnes, the corrected delivery's date) and replacement. So
the roll-ups sum tonnes as stored and count a reversal as minus one delivery:
a corrected delivery and its reversal cancel in their month, the replacement
counts in its own. A deal-month left with no delivery has no row.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Case, F, Q, Sum, Value, When
from django.db.models.functions import TruncMonth

from dashboard.models import ConfirmedDeal, ConfirmedMonth, DealImpactRate
from marketplace.models import Deal, Delivery
from marketplace.selectors import deal_flow, road_km_between
from symbiosis import impact
from symbiosis.accounting import is_landfill_operator, plant_of_output
from symbiosis.data_versions import FIGURES, PARTIES, data_change_record, data_changes_prune
from symbiosis.models import CompatibilityRule

# Food-processing residues (EWC 02 02 to 02 07) and kitchen and garden waste (20 01 08,
# 20 02 01): the kind of organic waste the city's landfilled baseline counts. Manure,
# straw, sludge, wood, paper and board are not in it, so they are not in its share.
ORGANIC_BASELINE_EWC_PREFIXES = ("02 02", "02 03", "02 04", "02 05", "02 06", "02 07")
ORGANIC_BASELINE_EWC_CODES = ("20 01 08", "20 02 01")
# Material recycling of the kinds the city's recycled baseline counts (paper and
# board, plastics, glass, metals, textiles): not feed, compost, digestion or road base.
RECYCLING_USES = frozenset(
    {
        "paper-pulp",
        "plastics-recycling",
        "glass-recycling",
        "aluminium-recycling",
        "secondary-steel",
        "textile-recycling",
    }
)


def is_organic_comparable(material) -> bool:
    code = material.ewc_code.strip()
    return code.startswith(ORGANIC_BASELINE_EWC_PREFIXES) or code in ORGANIC_BASELINE_EWC_CODES


def is_recycling(deal: Deal) -> bool:
    """The receiver recycles this material: one of its demand's uses is recycling and
    the material has a compatibility rule for it. A recycling use the listing names for
    another material (pulp beside sack reuse) says nothing of this one."""
    if deal.demand_id is None:
        return False
    return CompatibilityRule.objects.filter(
        material_id=deal.material_id,
        use__in=deal.demand.uses.all(),
        use__slug__in=RECYCLING_USES,
    ).exists()


def _rate_values(deal: Deal) -> dict:
    """The deal's ``score_flow`` for one tonne (``marketplace.selectors.deal_flow``:
    the inputs a proposal between the same listings is scored with)."""
    inputs = deal_flow(deal)
    if inputs is None:
        # No factor set: nothing is counted, but the tonnes still have their category.
        values = {
            "kg_co2e_per_t": None,
            "kg_co2e_published_per_t": None,
            "kg_co2e_proxy_per_t": None,
            "kg_co2e_low_per_t": None,
            "kg_co2e_high_per_t": None,
            "fate_counted": False,
            "credit_counted": False,
            "factor_refs": [],
            "use_name": "",
            "road_km": road_km_between(deal.supply.site, deal.receiver_site),
        }
        category = impact.classify_tonnes(
            fate=deal.supply.fate,
            landfill_banned=deal.material.landfill_banned,
            receiver_is_landfill_operator=is_landfill_operator(deal.receiver),
            from_plant_output=plant_of_output(deal.supply) is not None,
        )
    else:
        score = inputs.score(1.0)
        category = score.category
        values = {
            "kg_co2e_per_t": score.net_kg_co2e_saved,
            "kg_co2e_published_per_t": score.net_published_kg_co2e,
            "kg_co2e_proxy_per_t": score.net_proxy_kg_co2e,
            "kg_co2e_low_per_t": score.net_low_kg_co2e,
            "kg_co2e_high_per_t": score.net_high_kg_co2e,
            "fate_counted": impact.FATE not in score.not_counted,
            "credit_counted": impact.VIRGIN not in score.not_counted,
            "factor_refs": list(score.refs),
            "use_name": inputs.credit_use,
            "road_km": inputs.road_km,
        }
    return {
        **values,
        "category": category,
        "fate_evidence": deal.supply.fate_evidence,
        "organic_comparable": is_organic_comparable(deal.material),
        "recycling": is_recycling(deal),
        "factor_set_version": deal.factor_set.version if deal.factor_set_id else "",
        "deal_updated_at": deal.updated_at,
    }


def deal_rate_refresh(*, deal: Deal) -> DealImpactRate:
    rate, _created = DealImpactRate.objects.update_or_create(deal=deal, defaults=_rate_values(deal))
    return rate


# What a deal's rate is computed from (``_rate_values``), read with the deal.
_RATE_INPUTS = (
    "supply__site",
    "supply__producing_plant",
    "receiver_site",
    "receiver",
    "material",
    "factor_set",
    "demand__plant__output",
)


def stale_deals():
    """Deals with confirmed deliveries whose rate is missing or older than the deal.

    "With confirmed deliveries" reads the roll-up (one row per deal), not the
    deliveries, so the check is one small query the dashboard can afford per view.
    """
    return (
        Deal.objects.filter(pk__in=ConfirmedDeal.objects.values("deal_id"))
        .filter(Q(impact_rate__isnull=True) | ~Q(impact_rate__deal_updated_at=F("updated_at")))
        .select_related(*_RATE_INPUTS)
    )


def deals_rates_refresh(*, deal_ids) -> int:
    """Recompute the rates of these deals (ids or a queryset of ``pk`` values) that
    have confirmed deliveries: what a write of a deal, a supply or a site calls
    (``dashboard.signals``). One small query when none has."""
    deals = list(
        Deal.objects.filter(pk__in=deal_ids)
        .filter(pk__in=ConfirmedDeal.objects.values("deal_id"))
        .select_related(*_RATE_INPUTS)
    )
    for deal in deals:
        deal_rate_refresh(deal=deal)
    if deals:
        data_change_record(name=FIGURES)
    return len(deals)


def rates_refresh(*, everything: bool = False) -> int:
    """Compute the missing or stale rates (all of them with ``everything``); one
    query when nothing is stale. Writes keep rates current (``dashboard.signals``):
    this catches writes that send no signal (the reconcile, the command)."""
    if everything:
        ids = Delivery.objects.filter(status=Delivery.Status.CONFIRMED).values("deal_id")
    else:
        # Ids first, without the joins: nearly always there are none, and
        # PostgreSQL joined every deal to five tables before finding that out.
        ids = list(stale_deals().values_list("pk", flat=True))
        if not ids:
            return 0
    deals = list(Deal.objects.filter(pk__in=ids).select_related(*_RATE_INPUTS))
    if deals:
        with transaction.atomic():
            for deal in deals:
                deal_rate_refresh(deal=deal)
            data_change_record(name=FIGURES)
    return len(deals)


# A confirmed delivery counts one, its confirmed reversal minus one.
_SIGNED_COUNT = Sum(Case(When(kind=Delivery.Kind.REVERSAL, then=Value(-1)), default=Value(1)))


def _confirmed_by_deal_month(deliveries):
    return (
        deliveries.filter(status=Delivery.Status.CONFIRMED)
        .annotate(m=TruncMonth("date"))
        .values("deal_id", "m")
        .annotate(t=Sum("tonnes"), n=_SIGNED_COUNT)
        .filter(n__gt=0)
        .order_by()
    )


def _month_rows(rows):
    return (
        ConfirmedMonth(deal_id=r["deal_id"], month=r["m"], tonnes=r["t"], deliveries=r["n"])
        for r in rows.iterator()
    )


def _deal_rows(months):
    rows = months.values("deal_id").annotate(t=Sum("tonnes"), n=Sum("deliveries")).order_by()
    return (
        ConfirmedDeal(deal_id=r["deal_id"], tonnes=r["t"], deliveries=r["n"])
        for r in rows.iterator()
    )


def _rollup_rebuild(**deals) -> None:
    """Both roll-ups rebuilt from the deliveries, for the deals the filter names
    (``deal_id__in=...``) or for all."""
    ConfirmedMonth.objects.filter(**deals).delete()
    ConfirmedDeal.objects.filter(**deals).delete()
    ConfirmedMonth.objects.bulk_create(
        _month_rows(_confirmed_by_deal_month(Delivery.objects.filter(**deals))), batch_size=2000
    )
    ConfirmedDeal.objects.bulk_create(
        _deal_rows(ConfirmedMonth.objects.filter(**deals)), batch_size=2000
    )


@transaction.atomic
def deal_months_refresh(*, deal_ids) -> None:
    """Rebuild the roll-up rows of these deals from their confirmed deliveries.

    What a write calls (``dashboard.signals``: a delivery confirmed, or the two
    rows of a correction): a few small queries per deal, so no read ever has to
    rebuild the roll-up. A deal that
    gets its first confirmed delivery gets its rate here too.
    """
    ids = sorted({pk for pk in deal_ids if pk is not None})
    if not ids:
        return
    # Row locks (PostgreSQL): two edits of one deal's deliveries rebuild its rows in turn.
    list(Deal.objects.select_for_update().filter(pk__in=ids).values_list("pk", flat=True))
    _rollup_rebuild(deal_id__in=ids)
    for deal in stale_deals().filter(pk__in=ids):
        deal_rate_refresh(deal=deal)
    # The city page's cached figures are computed again from the next view on.
    data_change_record(name=FIGURES)


def _confirmed_signature() -> tuple:
    row = Delivery.objects.filter(status=Delivery.Status.CONFIRMED).aggregate(
        n=_SIGNED_COUNT, t=Sum("tonnes")
    )
    return (row["n"] or 0, row["t"] or 0)


def _rollup_signature() -> tuple:
    row = ConfirmedMonth.objects.aggregate(n=Sum("deliveries"), t=Sum("tonnes"))
    return (row["n"] or 0, row["t"] or 0)


def _same(a: tuple, b: tuple) -> bool:
    # SQLite sums decimals as floats, in no fixed order: compare tonnes to the
    # weighbridge's 0.001 t, not bit for bit.
    return a[0] == b[0] and abs(float(a[1]) - float(b[1])) < 0.0005


@transaction.atomic
def months_refresh(*, force: bool = False) -> bool:
    """Rebuild the whole roll-up when the confirmed deliveries' count or tonnes
    differ from it (always with ``force``).

    Not on the read path: writes keep the roll-up current deal by deal
    (``deal_months_refresh``). This is for writes that send no signal: bulk
    loads (``bulk_create``, ``QuerySet.update``, fixtures, raw SQL), through
    ``manage.py dashboard_refresh_rates`` and the demo loaders.
    """
    if not force and _same(_confirmed_signature(), _rollup_signature()):
        return False
    _rollup_rebuild()
    data_change_record(name=FIGURES)
    return True


def figures_reconcile(*, everything: bool = True) -> dict:
    """The periodic check (Celery beat, ``DASHBOARD_RECONCILE_MINUTES``): rebuild
    the roll-up if it drifted from the confirmed deliveries, and recompute every
    rate (``everything``: an edited factor row, rule or plant sends no signal a
    deal could follow)."""
    rebuilt = months_refresh()
    rates = rates_refresh(everything=everything)
    # Writes that sent no signal (an edited name, a bulk update) show from now on
    # rather than when the cached figures expire.
    data_change_record(name=FIGURES)
    data_change_record(name=PARTIES)
    data_changes_prune()
    return {"rollup_rebuilt": rebuilt, "rates": rates}
