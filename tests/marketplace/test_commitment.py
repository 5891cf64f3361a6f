"""No over-commitment: accepted and active deals never take more than a listing offers.

The market's supply is 100 t per month with no availability window.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from marketplace import services
from marketplace.models import Deal
from tests import factories

pytestmark = pytest.mark.django_db

YEAR_2026 = {"start_date": date(2026, 1, 1), "end_date": date(2026, 12, 31)}


def accept_by_both(deal, actors):
    """Each party that has not accepted the current terms accepts them, the supplier
    (the listing's owner, who may read what its listing has left) last."""
    deal.refresh_from_db()
    for party in ("receiver", "supplier"):
        if deal.accepted_at(party) is None:
            deal = services.deal_accept(
                user=actors[party], deal=deal, terms_version=deal.terms_version
            )
    return deal


def test_the_last_acceptance_is_refused_when_the_month_is_full(make_deal, actors):
    make_deal("active", tonnes_per_period=Decimal("60"), **YEAR_2026)
    second = make_deal("offered", tonnes_per_period=Decimal("50"), **YEAR_2026)
    services.deal_accept(user=actors["receiver"], deal=second, terms_version=1)

    with pytest.raises(ValidationError) as refused:
        services.deal_accept(user=actors["supplier"], deal=second, terms_version=1)

    # The listing's owner reads what is left of it.
    message = refused.value.message_dict["tonnes_per_period"][0]
    assert "only 40.000 t per month" in message and "January 2026" in message
    second.refresh_from_db()
    assert second.state == "offered"
    assert second.supplier_accepted_at is None  # the refused acceptance left nothing behind


@pytest.mark.parametrize("one_off", [False, True])
def test_a_refused_receiver_learns_nothing_of_other_deals(
    one_off, batch, make_deal, actors, market
):
    # Regression (issue 13, 8b): "only 40.000 t ... are not yet committed" told the
    # receiver how much another party's deal had taken.
    if one_off:
        terms = {"supply": batch, "period": "once"}
        make_deal("completed", tonnes_per_period=Decimal("20"), **terms)
        deal = make_deal("offered", tonnes_per_period=Decimal("15"), **terms)
    else:
        make_deal("active", tonnes_per_period=Decimal("60"), **YEAR_2026)
        deal = make_deal("offered", tonnes_per_period=Decimal("50"), **YEAR_2026)
    services.deal_accept(user=actors["supplier"], deal=deal, terms_version=1)

    with pytest.raises(ValidationError) as refused:
        services.deal_accept(user=actors["receiver"], deal=deal, terms_version=1)

    message = refused.value.message_dict["tonnes_per_period"][0]
    assert message == ("The listing cannot take this much now; ask the supplier what it can offer.")
    for figure in ("60", "40", "20", "10", "30", "100"):
        assert figure not in message
    # What the owner (or a facilitator) reads names them.
    detail = services.overcommitment_error(deal.supply, Deal.objects.get(pk=deal.pk), detailed=True)
    assert "not yet committed" in detail


def test_filling_the_listing_exactly_is_allowed(make_deal, actors):
    make_deal("accepted", tonnes_per_period=Decimal("60"), **YEAR_2026)
    # 480 t per year is 40 t per month: exactly what is left.
    second = make_deal("offered", tonnes_per_period=Decimal("480"), period="year", **YEAR_2026)

    assert accept_by_both(second, actors).state == "accepted"


def test_yearly_rates_add_up_exactly():
    # 3 x 400 t/year = 1200 t/year = 100 t/month: no rounding may refuse it.
    capacity = services.tonnes_per_year(Decimal("100"), "month", "month")
    need = sum(services.tonnes_per_year(Decimal("400"), "year", "month") for _ in range(3))
    assert need == capacity


def test_deals_in_different_months_do_not_compete(make_deal, actors):
    make_deal("active", tonnes_per_period=Decimal("100"), **YEAR_2026)
    next_year = make_deal(
        "offered",
        tonnes_per_period=Decimal("100"),
        start_date=date(2027, 1, 1),
        end_date=date(2027, 6, 30),
    )

    assert accept_by_both(next_year, actors).state == "accepted"


def test_deals_touching_one_calendar_month_compete_in_it(make_deal, actors):
    make_deal(
        "accepted",
        tonnes_per_period=Decimal("70"),
        start_date=date(2026, 1, 15),
        end_date=date(2026, 2, 14),
    )
    later = make_deal(
        "offered",
        tonnes_per_period=Decimal("70"),
        start_date=date(2026, 2, 20),
        end_date=date(2026, 4, 30),
    )

    with pytest.raises(ValidationError, match="February 2026"):
        accept_by_both(later, actors)


def test_only_accepted_and_active_deals_commit(make_deal, actors):
    for state in ("draft", "offered", "declined", "cancelled", "completed"):
        make_deal(state, tonnes_per_period=Decimal("100"), **YEAR_2026)
    deal = make_deal("offered", tonnes_per_period=Decimal("100"), **YEAR_2026)

    assert accept_by_both(deal, actors).state == "accepted"


def test_sending_an_accepted_deal_back_to_offered_releases_its_tonnes(make_deal, actors):
    first = make_deal("accepted", tonnes_per_period=Decimal("80"), **YEAR_2026)
    second = make_deal("offered", tonnes_per_period=Decimal("80"), **YEAR_2026)
    with pytest.raises(ValidationError):
        accept_by_both(second, actors)

    services.deal_update_terms(user=actors["receiver"], deal=first, tonnes_per_period=75)
    assert accept_by_both(second, actors).state == "accepted"
    # The first one no longer fits at 75 t: 80 + 75 > 100.
    first.refresh_from_db()
    with pytest.raises(ValidationError):
        accept_by_both(first, actors)


def test_cancelling_releases_tonnes(make_deal, actors):
    first = make_deal("active", tonnes_per_period=Decimal("100"), **YEAR_2026)
    second = make_deal("offered", tonnes_per_period=Decimal("100"), **YEAR_2026)
    services.deal_cancel(user=actors["facilitator"], deal=first, reason="plant closed")

    assert accept_by_both(second, actors).state == "accepted"


def test_a_deal_larger_than_the_listing_is_refused_when_offered(make_deal, actors):
    deal = make_deal("draft", tonnes_per_period=Decimal("101"))

    with pytest.raises(ValidationError) as refused:
        services.deal_offer(user=actors["supplier"], deal=deal)

    assert "offers only 100 t per month" in refused.value.message_dict["tonnes_per_period"][0]


# --- one-off batches ---------------------------------------------------------------


@pytest.fixture
def batch(market):
    return factories.SupplyListingFactory(
        organization=market.company_a,
        site=market.site_a,
        material=market.grain,
        quantity=Decimal("30"),
        recurrence="once",
        available_from=None,
        available_until=None,
    )


def test_a_one_off_batch_is_shared_by_its_deals_whatever_their_dates(batch, make_deal, actors):
    make_deal("completed", supply=batch, period="once", tonnes_per_period=Decimal("20"))
    fits = make_deal(
        "offered",
        supply=batch,
        period="once",
        tonnes_per_period=Decimal("10"),
        start_date=date(2027, 5, 1),
        end_date=date(2027, 5, 1),
    )
    assert accept_by_both(fits, actors).state == "accepted"

    too_much = make_deal("offered", supply=batch, period="once", tonnes_per_period=Decimal("1"))
    with pytest.raises(ValidationError, match="Only 0 t of this one-off batch"):
        accept_by_both(too_much, actors)


def test_periods_compare_like_with_like(batch, market, make_deal, actors):
    monthly_on_batch = make_deal("draft", supply=batch, period="month")
    with pytest.raises(ValidationError, match="one-off"):
        services.deal_offer(user=actors["supplier"], deal=monthly_on_batch)
    once_on_flow = make_deal("draft", period="once")
    with pytest.raises(ValidationError, match="recurring"):
        services.deal_offer(user=actors["supplier"], deal=once_on_flow)


def test_accepting_needs_an_active_listing(make_deal, actors, market):
    deal = make_deal("offered")
    market.supply.status = "paused"
    market.supply.save()

    with pytest.raises(ValidationError, match="not active"):
        accept_by_both(deal, actors)


def test_deal_dates_stay_within_the_listing_window(make_deal, actors, market):
    market.supply.available_from = date(2026, 3, 1)
    market.supply.available_until = date(2026, 9, 30)
    market.supply.save()
    deal = make_deal("draft", start_date=date(2026, 2, 1), end_date=date(2026, 10, 31))

    with pytest.raises(ValidationError) as refused:
        services.deal_offer(user=actors["supplier"], deal=deal)

    assert set(refused.value.message_dict) == {"start_date", "end_date"}


def test_tonnes_total_counts_the_calendar_months_a_deal_runs_in():
    total = services.tonnes_total_for
    assert total(tonnes_per_period=10, period="month", **YEAR_2026) == 120
    assert total(
        tonnes_per_period=10,
        period="month",
        start_date=date(2026, 1, 15),
        end_date=date(2026, 3, 14),
    ) == Decimal(30)
    assert total(tonnes_per_period=120, period="year", **YEAR_2026) == 120
    assert total(
        tonnes_per_period=120,
        period="year",
        start_date=date(2026, 1, 1),
        end_date=date(2026, 6, 30),
    ) == Decimal(60)
    assert total(tonnes_per_period=7, period="once", **YEAR_2026) == 7


def test_refused_acceptance_writes_no_event(make_deal, actors):
    make_deal("active", tonnes_per_period=Decimal("100"), **YEAR_2026)
    deal = make_deal("offered", **YEAR_2026)
    services.deal_accept(user=actors["supplier"], deal=deal, terms_version=1)
    events = deal.events.count()

    with pytest.raises(ValidationError):
        services.deal_accept(user=actors["receiver"], deal=deal, terms_version=1)

    assert deal.events.count() == events
    assert Deal.objects.get(pk=deal.pk).state == "offered"


def test_a_listing_cannot_be_edited_below_what_its_deals_took(make_deal, actors, market):
    from symbiosis.models import SupplyListing
    from symbiosis.services import supply_update

    make_deal("active", tonnes_per_period=Decimal("60"), **YEAR_2026)
    make_deal("accepted", tonnes_per_period=Decimal("30"), **YEAR_2026)
    supply = SupplyListing.objects.get(pk=market.supply.pk)
    # 60 + 30 = 90 t a month committed: 85 is too little, 90 is enough.
    with pytest.raises(ValidationError) as refused:
        supply_update(user=actors["supplier"], supply=supply, quantity=Decimal("85"))
    assert "quantity" in refused.value.message_dict
    assert SupplyListing.objects.get(pk=supply.pk).tonnes == Decimal("100")
    supply = SupplyListing.objects.get(pk=market.supply.pk)
    supply_update(user=actors["supplier"], supply=supply, quantity=Decimal("90"))
    assert SupplyListing.objects.get(pk=supply.pk).tonnes == Decimal("90")


def test_offered_and_declined_deals_do_not_hold_a_listing_up(make_deal, actors, market):
    from symbiosis.models import SupplyListing
    from symbiosis.services import supply_update

    make_deal("offered", tonnes_per_period=Decimal("80"), **YEAR_2026)
    make_deal("declined", tonnes_per_period=Decimal("80"), **YEAR_2026)
    supply = SupplyListing.objects.get(pk=market.supply.pk)
    supply_update(user=actors["supplier"], supply=supply, quantity=Decimal("10"))
    assert SupplyListing.objects.get(pk=supply.pk).tonnes == Decimal("10")


def test_the_rate_unit_of_a_refusal_is_russian_on_the_russian_page(make_deal, actors):
    deal = make_deal("draft", tonnes_per_period=Decimal("101"))

    with translation.override("ru"), pytest.raises(ValidationError) as refused:
        services.deal_offer(user=actors["supplier"], deal=deal)

    message = refused.value.message_dict["tonnes_per_period"][0]
    assert message == "В объявлении предлагается только 100 т в месяц."
