"""Implausible deliveries are held for a facilitator's review and count for nothing.

The market's deal (``make_deal``) is 10 t a month; the per-load maximum is 40 t
and the tolerance 10 % (the settings' defaults), so a month takes 11 t.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import override_settings
from django.utils import translation

from marketplace import plausibility, selectors, services
from marketplace.models import Delivery

# --- the pure rules (no database) ----------------------------------------------------------


def window(period, day, start=date(2026, 1, 15), end=date(2027, 7, 14), tonnes="120"):
    from marketplace.services import tonnes_total_for

    total = tonnes_total_for(
        tonnes_per_period=tonnes, period=period, start_date=start, end_date=end
    )
    return plausibility.period_window(
        period=period,
        start_date=start,
        end_date=end,
        tonnes_per_period=Decimal(tonnes),
        tonnes_total=total,
        day=day,
    )


def test_a_monthly_deal_counts_the_calendar_month():
    got = window("month", date(2026, 2, 17))
    assert (got.first, got.last, got.agreed_tonnes) == (
        date(2026, 2, 1),
        date(2026, 2, 28),
        Decimal("120"),
    )


def test_a_yearly_deal_counts_its_deal_year_and_prorates_the_last():
    # 2026-01-15 to 2027-07-14: 19 calendar months, 190 t in total at 120 t a year.
    first_year = window("year", date(2027, 1, 14))
    last_year = window("year", date(2027, 1, 15))
    assert (first_year.first, first_year.last) == (date(2026, 1, 15), date(2027, 1, 14))
    assert first_year.agreed_tonnes == Decimal("120")
    assert (last_year.first, last_year.last) == (date(2027, 1, 15), date(2028, 1, 14))
    assert last_year.agreed_tonnes == Decimal("70")  # 190 - 120


def test_a_deal_year_from_29_february():
    got = window("year", date(2029, 3, 1), start=date(2028, 2, 29), end=date(2030, 2, 28))
    assert (got.first, got.last) == (date(2029, 2, 28), date(2030, 2, 27))


def test_a_one_off_deal_counts_the_whole_deal():
    got = window("once", date(2026, 6, 1), tonnes="30")
    assert (got.first, got.last, got.agreed_tonnes) == (
        date(2026, 1, 15),
        date(2027, 7, 14),
        Decimal("30"),
    )


MONTH = plausibility.PeriodWindow(date(2026, 3, 1), date(2026, 3, 31), Decimal("10"))


def checks(tonnes, loads=1, before="0"):
    return plausibility.held_checks(
        tonnes=Decimal(tonnes),
        loads=loads,
        max_tonnes_per_load=Decimal("40"),
        window=MONTH,
        period_tonnes_before=Decimal(before),
        tolerance=Decimal("0.10"),
    )


@pytest.mark.parametrize(
    ("tonnes", "loads", "before", "codes"),
    [
        ("11", 1, "0", []),  # exactly 10 t + 10 %: passes
        ("11.001", 1, "0", ["period"]),
        ("5", 1, "6", []),  # 11 t in the month with this one
        ("5.001", 1, "6", ["period"]),
        ("40", 1, "-100", []),  # exactly one truck's maximum
        ("40.001", 1, "-100", ["per_load"]),
        ("80", 2, "-100", []),
        ("80.001", 2, "-100", ["per_load"]),
        ("999999999.999", 1, "0", ["per_load", "period"]),
    ],
)
def test_limits_are_inclusive(tonnes, loads, before, codes):
    assert [check["code"] for check in checks(tonnes, loads, before)] == codes


def test_the_reason_is_stored_as_numbers_and_read_in_either_language():
    found = checks("48.5", before="3")

    assert found == [
        {"code": "per_load", "tonnes": "48.5", "loads": 1, "max_per_load": "40", "limit": "40"},
        {
            "code": "period",
            "first": "2026-03-01",
            "last": "2026-03-31",
            "total": "51.5",
            "agreed": "10",
            "tolerance_percent": "10",
            "limit": "11",
        },
    ]
    with translation.override("en"):
        english = plausibility.held_reason_text(found)
    with translation.override("ru"):
        russian = plausibility.held_reason_text(found)
    assert english == (
        "48.5 t in one load is more than the 40 t one vehicle carries at most. "
        "With this delivery, deliveries from 2026-03-01 to 2026-03-31 would come to 51.5 t: "
        "more than the agreed 10 t plus 10 % (11 t)."
    )
    assert russian == (
        "48.5 т за один рейс — больше, чем 40 т, которые машина может везти. "
        "С этой поставкой поставки с 2026-03-01 по 2026-03-31 составили бы 51.5 т: "
        "больше согласованных 10 т плюс 10 % (11 т)."
    )
    several = plausibility.held_reason_text(checks("90", loads=2, before="-100"))
    assert several == "90 t in 2 loads is more than 80 t, at most 40 t per vehicle."


# --- the service: logging, holding, reviewing ------------------------------------------------


def log(user, deal, tonnes, ticket="WB-1", day=date(2026, 3, 2), loads=1):
    return services.delivery_log(
        user=user,
        deal=deal,
        date=day,
        tonnes=Decimal(tonnes),
        loads=loads,
        ticket_number=ticket,
    )


@pytest.fixture
def monthly(make_deal):
    return make_deal("active", transport_by="supplier")  # 10 t a month


@pytest.mark.django_db
@pytest.mark.parametrize(("tonnes", "status"), [("11", "logged"), ("11.001", "held")])
def test_a_month_above_the_agreed_tonnes_and_the_tolerance_is_held(monthly, actors, tonnes, status):
    delivery = log(actors["supplier"], monthly, tonnes)

    assert delivery.status == status
    assert bool(delivery.held_reason) == (status == "held")


@pytest.mark.django_db
def test_the_period_total_counts_logged_held_and_confirmed_not_disputed_or_rejected(
    monthly, actors
):
    confirmed = services.delivery_confirm(
        user=actors["receiver"], delivery=log(actors["supplier"], monthly, "4", "A")
    )
    log(actors["supplier"], monthly, "3", "B")  # logged
    disputed = log(actors["supplier"], monthly, "2", "C")
    services.delivery_dispute(user=actors["receiver"], delivery=disputed, reason="wet")
    held = log(actors["supplier"], monthly, "41", "D")  # per load: held, and it counts
    services.delivery_reject(user=actors["facilitator"], delivery=held, reason="typo")
    # Another month does not count either.
    log(actors["supplier"], monthly, "9", "E", day=date(2026, 4, 1))

    assert confirmed.status == "confirmed"
    # 4 + 3 = 7 t in March: 4 t more is exactly 11 t, 4.001 t is held.
    assert log(actors["supplier"], monthly, "4", "F").status == "logged"
    assert log(actors["supplier"], monthly, "0.001", "G").status == "held"


@pytest.mark.django_db
def test_a_held_delivery_counts_toward_the_period_until_rejected(monthly, actors):
    held = log(actors["supplier"], monthly, "12", "A")
    assert held.status == "held"

    assert log(actors["supplier"], monthly, "1", "B").status == "held"  # 12 + 1 > 11
    services.delivery_reject(user=actors["facilitator"], delivery=held, reason="typo")
    assert log(actors["supplier"], monthly, "1", "C").status == "logged"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("tonnes", "loads", "status"), [("40", 1, "logged"), ("40.5", 1, "held"), ("80", 2, "logged")]
)
def test_more_than_a_truck_carries_is_held(make_deal, actors, tonnes, loads, status):
    deal = make_deal("active", transport_by="supplier", tonnes_per_period=Decimal("100"))

    delivery = log(actors["supplier"], deal, tonnes, loads=loads)

    assert (delivery.status, delivery.loads) == (status, loads)


@pytest.mark.django_db
def test_a_yearly_deal_is_held_by_its_deal_year(make_deal, actors):
    # 120 t a year from 2026-01-01: 132 t in the deal year with the tolerance.
    deal = make_deal(
        "active", transport_by="supplier", period="year", tonnes_per_period=Decimal("120")
    )
    for n in range(3):
        assert log(actors["supplier"], deal, "40", f"Y{n}", day=date(2026, 2, n + 1)).status == (
            "logged"
        )
    assert log(actors["supplier"], deal, "12", "Y3").status == "logged"  # exactly 132 t
    assert log(actors["supplier"], deal, "0.5", "Y4").status == "held"


@pytest.mark.django_db
def test_a_one_off_deal_is_held_by_its_whole_tonnes(market, make_deal, actors):
    from tests import factories

    batch = factories.SupplyListingFactory(
        organization=market.company_a,
        site=market.site_a,
        material=market.grain,
        quantity=Decimal("30"),
        recurrence="once",
        available_from=None,
        available_until=None,
    )
    deal = make_deal(
        "active",
        supply=batch,
        period="once",
        tonnes_per_period=Decimal("30"),
        transport_by="supplier",
    )
    # 30 t once, 33 t with the tolerance, over the whole deal whatever the month.
    assert log(actors["supplier"], deal, "33", "O1").status == "logged"
    assert log(actors["supplier"], deal, "0.5", "O2", day=date(2026, 9, 1)).status == "held"


@pytest.mark.django_db
@override_settings(DELIVERY_MAX_TONNES_PER_LOAD=25, DELIVERY_PERIOD_TOLERANCE=0)
def test_the_limits_are_settings(monthly, actors):
    assert log(actors["supplier"], monthly, "10", "A").status == "logged"
    assert log(actors["supplier"], monthly, "0.001", "B").status == "held"  # no tolerance
    big = log(actors["supplier"], monthly, "26", "C", day=date(2026, 5, 1))
    assert big.status == "held"
    assert big.held_reason[0]["max_per_load"] == "25"


@pytest.mark.django_db
def test_a_held_delivery_counts_for_nothing_until_released_and_confirmed(monthly, actors):
    delivery = log(actors["receiver"], monthly, "25")
    assert delivery.status == "held"

    with pytest.raises(ValidationError, match="held"):
        services.delivery_confirm(user=actors["supplier"], delivery=delivery)
    assert selectors.deal_impact(deal=monthly).tonnes_delivered == 0
    assert selectors.deal_impact(deal=monthly).tonnes_held == Decimal("25")

    released = services.delivery_release(
        user=actors["facilitator"], delivery=delivery, note="two deliveries on one ticket"
    )
    assert (released.status, released.reviewed_by) == ("logged", actors["facilitator"])
    with pytest.raises(PermissionDenied):  # still never by its logger
        services.delivery_confirm(user=actors["receiver"], delivery=delivery)
    services.delivery_confirm(user=actors["supplier"], delivery=delivery)

    assert selectors.deal_impact(deal=monthly).tonnes_delivered == Decimal("25")
    actions = list(monthly.events.values_list("action", flat=True))
    assert actions[-3:] == ["delivery_held", "delivery_released", "delivery_confirmed"]


@pytest.mark.django_db
def test_a_rejected_delivery_never_counts_and_frees_its_ticket(monthly, actors):
    delivery = log(actors["supplier"], monthly, "999999999.999", "WB-9")

    with pytest.raises(ValidationError):
        services.delivery_reject(user=actors["facilitator"], delivery=delivery, reason=" ")
    rejected = services.delivery_reject(
        user=actors["facilitator"], delivery=delivery, reason="a typo: 9.999 t"
    )

    assert (rejected.status, rejected.review_reason) == ("rejected", "a typo: 9.999 t")
    with pytest.raises(ValidationError):
        services.delivery_confirm(user=actors["receiver"], delivery=rejected)
    again = log(actors["supplier"], monthly, "9.999", "WB-9")
    assert again.status == "logged"
    assert selectors.deal_impact(deal=monthly).tonnes_delivered == 0


@pytest.mark.django_db
def test_a_facilitator_may_reject_a_disputed_delivery(monthly, actors):
    delivery = log(actors["supplier"], monthly, "5")
    services.delivery_dispute(user=actors["receiver"], delivery=delivery, reason="never came")

    assert services.delivery_reject(
        user=actors["facilitator"], delivery=delivery, reason="the load never came"
    ).status == ("rejected")


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["supplier", "receiver", "other", "analyst"])
def test_only_a_facilitator_releases_or_rejects(monthly, actors, role):
    delivery = log(actors["supplier"], monthly, "50")

    with pytest.raises(PermissionDenied):
        services.delivery_release(user=actors[role], delivery=delivery)
    with pytest.raises(PermissionDenied):
        services.delivery_reject(user=actors[role], delivery=delivery, reason="no")
    assert Delivery.objects.get(pk=delivery.pk).status == "held"


@pytest.mark.django_db
def test_only_held_deliveries_are_released(monthly, actors):
    delivery = log(actors["supplier"], monthly, "5")

    with pytest.raises(ValidationError, match="cannot be released"):
        services.delivery_release(user=actors["facilitator"], delivery=delivery)
