"""Keeps ``DealImpactRate`` (one row per deal with confirmed deliveries) and the
roll-ups of confirmed deliveries (``ConfirmedMonth``, ``ConfirmedDeal``) current.

The rate comes from ``marketplace.selectors.deal_impact`` (the deal's own
inputs: road km, fate factor, credit, transport factor) passed to
``symbiosis.impact.net_kg_co2e_saved_per_t``; nothing here computes CO2e itself.

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
from marketplace.selectors import deal_impact
from symbiosis import impact


def _rate_values(deal: Deal) -> dict:
    figures = deal_impact(deal=deal)
    per_t = None
    if figures.fate_kg_co2e_per_t is not None and figures.transport_kg_co2e_per_tkm is not None:
        per_t = impact.net_kg_co2e_saved_per_t(
            road_km=figures.road_km,
            fate_kg_co2e_per_t=float(figures.fate_kg_co2e_per_t),
            # As on the deal page: without a known credit the saving leaves it out.
            credit_kg_co2e_per_t=float(figures.credit_kg_co2e_per_t or 0),
            transport_kg_co2e_per_tkm=float(figures.transport_kg_co2e_per_tkm),
        )
    return {
        "kg_co2e_per_t": per_t,
        "from_landfill": impact.is_landfill_fate(figures.fate),
        "credit_counted": figures.credit_kg_co2e_per_t is not None,
        "road_km": figures.road_km,
        "use_name": figures.credit_use,
        "factor_set_version": figures.factor_set_version,
        "deal_updated_at": deal.updated_at,
    }


def deal_rate_refresh(*, deal: Deal) -> DealImpactRate:
    rate, _created = DealImpactRate.objects.update_or_create(deal=deal, defaults=_rate_values(deal))
    return rate


# What a deal's rate is computed from (``_rate_values``), read with the deal.
_RATE_INPUTS = ("supply__site", "receiver_site", "material", "factor_set", "demand")


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


def rates_refresh(*, everything: bool = False) -> int:
    """Compute the missing or stale rates (all of them with ``everything``); one
    query when nothing is stale, so the dashboard calls it on every view."""
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
    return True


def figures_refresh() -> None:
    """What the dashboard calls before reading: the rates of deals edited since
    the last view (one query when there are none). The roll-up is kept by the
    writes (``deal_months_refresh``), so a read never rebuilds it."""
    rates_refresh()
