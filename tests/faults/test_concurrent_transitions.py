"""Races the marketplace must settle with row locks (PostgreSQL only), beyond
tests/marketplace/test_concurrency.py (two acceptances for the last tonnes;
both parties accepting at once).

Each race slows the service down inside its transaction, after its checks, so
that without the row locks both sides would pass their checks before either
wrote; with the locks the second waits for the first to commit and then sees
its result.
"""

import time
from datetime import date
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db.models import Sum

from marketplace import services
from marketplace.models import Deal, DealEvent, Delivery
from marketplace.services import deals, deliveries
from tests.marketplace.test_concurrency import race

pytestmark = pytest.mark.django_db(transaction=True)


def _slow(monkeypatch, module, name: str, seconds: float = 0.5) -> None:
    """Slow ``name`` as ``module`` calls it (the services import their helpers by name)."""
    original = getattr(module, name)

    def slow(*args, **kwargs):
        result = original(*args, **kwargs)
        time.sleep(seconds)  # both transactions are past their checks at once without locks
        return result

    monkeypatch.setattr(module, name, slow)


def _events_replay_to_state(deal: Deal) -> None:
    """The event log is a path through the states that ends where the deal is."""
    events = list(DealEvent.objects.filter(deal=deal).order_by("pk"))
    for before, after in zip(events, events[1:], strict=False):
        assert after.from_state == before.to_state, (before, after)
    assert events[-1].to_state == deal.state


def _delivery(deal, member_a, number: int, tonnes: str) -> Delivery:
    return services.delivery_log(
        user=member_a,
        deal=deal,
        date=date(2026, 2, number),
        tonnes=Decimal(tonnes),
        ticket_number=f"WB-{number}",
    )


def test_accept_racing_cancel_ends_in_one_consistent_state(
    postgresql_only, make_deal, market, member_a, member_b, monkeypatch
):
    deal = make_deal("offered", tonnes_per_period=Decimal("60"))
    services.deal_accept(user=member_a, deal=deal, terms_version=1)
    _slow(monkeypatch, deals, "check_action")

    results, errors = race(
        [
            lambda: services.deal_accept(user=member_b, deal=deal, terms_version=1),
            lambda: services.deal_cancel(user=member_a, deal=deal, reason="found another taker"),
        ]
    )

    deal.refresh_from_db()
    assert deal.state == "cancelled"  # either order ends cancelled ...
    actions = list(deal.events.order_by("pk").values_list("action", flat=True))
    if errors[0] is None:  # ... accepted first, then cancelled from accepted
        assert errors == [None, None]
        assert actions[-2:] == ["accept", "cancel"]
    else:  # ... or cancelled first, and the acceptance refused
        assert isinstance(errors[0], ValidationError) and errors[1] is None, errors
        assert actions[-1] == "cancel" and actions.count("accept") == 1
    _events_replay_to_state(deal)
    committed = Deal.objects.filter(
        supply=market.supply, state__in=services.committing_states(market.supply.recurrence)
    )
    assert not committed.exists()


def test_one_delivery_confirmed_twice_at_once_counts_once(
    postgresql_only, make_deal, member_a, member_b, monkeypatch
):
    # 20 t a month: the loads are plausible, not held for a facilitator's review.
    deal = make_deal("active", tonnes_per_period=Decimal("20"))
    delivery = _delivery(deal, member_a, 1, "12.5")
    _slow(monkeypatch, deliveries, "_judge")

    results, errors = race(
        [
            lambda: services.delivery_confirm(user=member_b, delivery=delivery),
            lambda: services.delivery_confirm(user=member_b, delivery=delivery),
        ]
    )

    assert sum(r is not None for r in results) == 1, (results, errors)
    (refused,) = [e for e in errors if e is not None]
    assert isinstance(refused, ValidationError) and "confirmed" in str(refused)
    assert deal.events.filter(action="delivery_confirmed").count() == 1
    confirmed = Delivery.objects.filter(deal=deal, status="confirmed")
    assert confirmed.aggregate(t=Sum("tonnes"))["t"] == Decimal("12.5")
    _assert_city_roll_up(deal, Decimal("12.5"), 1)


def test_two_deliveries_confirmed_at_once_both_count(
    postgresql_only, make_deal, member_a, member_b, monkeypatch
):
    deal = make_deal("active", tonnes_per_period=Decimal("20"))
    first = _delivery(deal, member_a, 1, "12.5")
    second = _delivery(deal, member_a, 2, "7.25")
    _slow(monkeypatch, deliveries, "_judge")

    results, errors = race(
        [
            lambda: services.delivery_confirm(user=member_b, delivery=first),
            lambda: services.delivery_confirm(user=member_b, delivery=second),
        ]
    )

    assert errors == [None, None]
    assert deal.events.filter(action="delivery_confirmed").count() == 2
    total = Delivery.objects.filter(deal=deal, status="confirmed").aggregate(t=Sum("tonnes"))
    assert total["t"] == Decimal("19.75")
    _assert_city_roll_up(deal, Decimal("19.75"), 2)


def _assert_city_roll_up(deal: Deal, tonnes: Decimal, deliveries: int) -> None:
    """The city's per-deal roll-up (where the dashboard keeps one) lost no update."""
    try:
        ConfirmedDeal = apps.get_model("dashboard", "ConfirmedDeal")
    except LookupError:
        return
    row = ConfirmedDeal.objects.get(deal=deal)
    assert (row.tonnes, row.deliveries) == (tonnes, deliveries)
