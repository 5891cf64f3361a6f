"""Keeps ``DealImpactRate`` (one row per deal with confirmed deliveries) and the
``ConfirmedMonth`` roll-up current.

The rate comes from ``marketplace.selectors.deal_impact`` (the deal's own
inputs: road km, fate factor, credit, transport factor) passed to
``symbiosis.impact.net_kg_co2e_saved_per_t``; nothing here computes CO2e itself.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncMonth

from dashboard.models import ConfirmedMonth, DealImpactRate
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


def stale_deals():
    """Deals with confirmed deliveries whose rate is missing or older than the deal."""
    return (
        Deal.objects.filter(
            pk__in=Delivery.objects.filter(status=Delivery.Status.CONFIRMED).values("deal_id")
        )
        .filter(Q(impact_rate__isnull=True) | ~Q(impact_rate__deal_updated_at=F("updated_at")))
        .select_related("supply__site", "receiver_site", "material", "factor_set", "demand")
    )


@transaction.atomic
def rates_refresh(*, everything: bool = False) -> int:
    """Compute the missing or stale rates (all of them with ``everything``); one
    query when nothing is stale, so the dashboard may call it on every view."""
    deals = stale_deals()
    if everything:
        deals = Deal.objects.filter(
            pk__in=Delivery.objects.filter(status=Delivery.Status.CONFIRMED).values("deal_id")
        ).select_related("supply__site", "receiver_site", "material", "factor_set", "demand")
    count = 0
    for deal in deals:
        deal_rate_refresh(deal=deal)
        count += 1
    return count


def _confirmed_signature() -> tuple:
    row = Delivery.objects.filter(status=Delivery.Status.CONFIRMED).aggregate(
        n=Count("id"), t=Sum("tonnes")
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
    """Rebuild the roll-up when the confirmed deliveries' count or tonnes changed.

    A confirmed delivery never changes status again (``marketplace.services``),
    so a new confirmation always changes the count; an edit of tonnes in the
    admin changes the sum. Two aggregate queries when nothing changed. An edit
    of a confirmed delivery's date alone is caught by ``dashboard_refresh_rates``.
    """
    if not force and _same(_confirmed_signature(), _rollup_signature()):
        return False
    ConfirmedMonth.objects.all().delete()
    rows = (
        Delivery.objects.filter(status=Delivery.Status.CONFIRMED)
        .annotate(m=TruncMonth("date"))
        .values("deal_id", "m")
        .annotate(t=Sum("tonnes"), n=Count("id"))
        .order_by()
    )
    ConfirmedMonth.objects.bulk_create(
        (
            ConfirmedMonth(deal_id=r["deal_id"], month=r["m"], tonnes=r["t"], deliveries=r["n"])
            for r in rows.iterator()
        ),
        batch_size=2000,
    )
    return True


FRESH_KEY = "dashboard:figures-fresh"


def figures_refresh() -> None:
    """What the dashboard calls before reading: rates, then the monthly roll-up.

    The checks scan the deliveries (about 0.13 s at 100,000 on SQLite), so they
    run at most once every ``CITY_DASHBOARD_REFRESH_SECONDS`` (default 60) per
    cache: the city's figures may lag a new confirmation by that long.
    """
    seconds = getattr(settings, "CITY_DASHBOARD_REFRESH_SECONDS", 60)
    if seconds and cache.get(FRESH_KEY):
        return
    rates_refresh()
    months_refresh()
    if seconds:
        cache.set(FRESH_KEY, True, timeout=seconds)
