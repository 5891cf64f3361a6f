"""Deliveries: logged from the weighbridge ticket by either party, confirmed or disputed
by the other party (or a facilitator), never by whoever logged them."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation

from marketplace import selectors, services
from marketplace.models import Delivery
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def active(make_deal):
    # The supplier transports; deal dates are in the past so deliveries can be logged.
    # 20 t a month: a 12.5 t load is plausible (10 t a month would hold it for review).
    return make_deal("active", transport_by="supplier", tonnes_per_period=Decimal("20"))


def log(user, deal, ticket="WB-1", tonnes="12.5", day=date(2026, 3, 2)):
    return services.delivery_log(
        user=user,
        deal=deal,
        date=day,
        tonnes=Decimal(tonnes),
        ticket_number=ticket,
        vehicle="A123BC",
    )


def test_the_supplier_logs_and_the_receiver_confirms(active, actors):
    delivery = log(actors["supplier"], active)
    assert delivery.status == "logged"
    assert selectors.deal_impact(deal=active).tonnes_delivered == 0

    delivery = services.delivery_confirm(user=actors["receiver"], delivery=delivery)

    assert delivery.status == "confirmed"
    assert delivery.confirmed_by == actors["receiver"] and delivery.confirmed_at is not None
    assert selectors.deal_impact(deal=active).tonnes_delivered == Decimal("12.5")
    actions = list(active.events.values_list("action", flat=True))
    assert actions[-2:] == ["delivery_logged", "delivery_confirmed"]


def test_a_disputed_delivery_does_not_count(active, actors):
    delivery = log(actors["supplier"], active)

    delivery = services.delivery_dispute(
        user=actors["receiver"], delivery=delivery, reason="18 % water, not 12 %"
    )

    assert delivery.status == "disputed"
    assert delivery.dispute_reason == "18 % water, not 12 %"
    impact = selectors.deal_impact(deal=active)
    assert impact.tonnes_delivered == 0
    assert impact.tonnes_disputed == Decimal("12.5")


def test_a_dispute_needs_a_reason(active, actors):
    delivery = log(actors["supplier"], active)

    with pytest.raises(ValidationError):
        services.delivery_dispute(user=actors["receiver"], delivery=delivery, reason=" ")

    assert Delivery.objects.get(pk=delivery.pk).status == "logged"


def test_a_disputed_delivery_may_be_confirmed_once_settled(active, actors):
    delivery = log(actors["supplier"], active)
    services.delivery_dispute(user=actors["receiver"], delivery=delivery, reason="wet")

    assert services.delivery_confirm(user=actors["receiver"], delivery=delivery).status == (
        "confirmed"
    )


def test_a_confirmed_delivery_is_final(active, actors):
    delivery = services.delivery_confirm(
        user=actors["receiver"], delivery=log(actors["supplier"], active)
    )

    with pytest.raises(ValidationError):
        services.delivery_dispute(user=actors["receiver"], delivery=delivery, reason="late")
    with pytest.raises(ValidationError):
        services.delivery_confirm(user=actors["receiver"], delivery=delivery)


@pytest.mark.parametrize("role", ["supplier", "other", "analyst"])
def test_the_logger_and_outsiders_do_not_judge_deliveries(active, actors, role):
    delivery = log(actors["supplier"], active)

    with pytest.raises(PermissionDenied):
        services.delivery_confirm(user=actors[role], delivery=delivery)
    with pytest.raises(PermissionDenied):
        services.delivery_dispute(user=actors[role], delivery=delivery, reason="no")
    assert Delivery.objects.get(pk=delivery.pk).status == "logged"


@pytest.mark.parametrize("action", ["confirm", "dispute"])
def test_a_facilitator_may_judge_a_delivery(active, actors, action):
    delivery = log(actors["supplier"], active)

    if action == "confirm":
        judged = services.delivery_confirm(user=actors["facilitator"], delivery=delivery)
    else:
        judged = services.delivery_dispute(
            user=actors["facilitator"], delivery=delivery, reason="ticket unreadable"
        )

    assert judged.status == {"confirm": "confirmed", "dispute": "disputed"}[action]


@pytest.mark.parametrize("role", ["other", "facilitator", "analyst"])
def test_only_the_parties_log(active, actors, role):
    with pytest.raises(PermissionDenied):
        log(actors[role], active)
    assert not Delivery.objects.exists()


@pytest.mark.parametrize("transport_by", ["supplier", "receiver", "third_party"])
def test_either_party_logs_and_the_other_confirms(make_deal, actors, transport_by):
    deal = make_deal("active", transport_by=transport_by, tonnes_per_period=Decimal("30"))

    by_receiver = log(actors["receiver"], deal)
    by_supplier = log(actors["supplier"], deal, ticket="WB-2")

    assert (by_receiver.logged_as, by_supplier.logged_as) == ("receiver", "supplier")
    assert services.delivery_confirm(user=actors["supplier"], delivery=by_receiver).status == (
        "confirmed"
    )
    assert services.delivery_confirm(user=actors["receiver"], delivery=by_supplier).status == (
        "confirmed"
    )


@pytest.mark.parametrize("transport_by", ["supplier", "receiver"])
def test_the_logger_never_confirms_its_own_delivery(make_deal, actors, transport_by):
    # Regression: where the receiver transported, it logged and confirmed its own loads.
    deal = make_deal("active", transport_by=transport_by, tonnes_per_period=Decimal("30"))
    for role, ticket in (("receiver", "WB-R"), ("supplier", "WB-S")):
        delivery = log(actors[role], deal, ticket=ticket)

        with pytest.raises(PermissionDenied, match="never whoever logged it"):
            services.delivery_confirm(user=actors[role], delivery=delivery)
        with pytest.raises(PermissionDenied):
            services.delivery_dispute(user=actors[role], delivery=delivery, reason="mine")
        assert Delivery.objects.get(pk=delivery.pk).status == "logged"
    assert selectors.deal_impact(deal=deal).tonnes_delivered == 0


def test_a_member_of_both_parties_never_confirms_what_it_logged(make_deal, market, actors):
    both = factories.MembershipFactory(organization=market.company_a).user
    factories.MembershipFactory(user=both, organization=market.company_b)
    deal = make_deal("active", transport_by="receiver", tonnes_per_period=Decimal("30"))

    delivery = log(both, deal)

    with pytest.raises(PermissionDenied):
        services.delivery_confirm(user=both, delivery=delivery)
    # Nor when it logs explicitly for the other side.
    other_side = services.delivery_log(
        user=both,
        deal=deal,
        date=date(2026, 3, 3),
        tonnes=Decimal("1"),
        ticket_number="WB-B",
        party="supplier",
    )
    with pytest.raises(PermissionDenied):
        services.delivery_confirm(user=both, delivery=other_side)
    # Logged for the receiver (it transports): a member of the supplier confirms it.
    assert delivery.logged_as == "receiver"
    with pytest.raises(PermissionDenied):
        services.delivery_confirm(user=actors["receiver"], delivery=delivery)
    assert services.delivery_confirm(user=actors["supplier"], delivery=delivery).status == (
        "confirmed"
    )


def test_a_facilitator_who_proposed_a_correction_does_not_confirm_it(active, actors):
    delivery = services.delivery_confirm(
        user=actors["receiver"], delivery=log(actors["supplier"], active)
    )
    reversal, _replacement = services.delivery_correct(
        user=actors["facilitator"], delivery=delivery, reason="typo", tonnes=Decimal("11")
    )

    assert reversal.logged_as == "facilitator"
    with pytest.raises(PermissionDenied):
        services.delivery_confirm(user=actors["facilitator"], delivery=reversal)
    # Either party may: the facilitator logged it for neither.
    assert services.delivery_confirm(user=actors["supplier"], delivery=reversal).status == (
        "confirmed"
    )


@pytest.mark.parametrize("state", ["draft", "offered", "accepted", "completed", "cancelled"])
def test_deliveries_are_logged_on_active_deals_only(make_deal, actors, state):
    deal = make_deal(state, transport_by="supplier")

    with pytest.raises(ValidationError, match="active deals only"):
        log(actors["supplier"], deal)


@pytest.mark.parametrize(
    ("day", "field"),
    [
        (date(2025, 12, 31), "date"),  # before the deal starts
        (timezone.localdate() + timedelta(days=1), "date"),  # not yet arrived
        (date(1, 6, 1), "date"),  # year 1: a typo, shown as month "1-06" before
    ],
)
def test_a_delivery_date_lies_within_the_deal_and_the_past(active, actors, day, field):
    with pytest.raises(ValidationError) as refused:
        log(actors["supplier"], active, day=day)
    assert field in refused.value.message_dict


def test_a_ticket_is_logged_once_per_deal(active, actors):
    log(actors["supplier"], active, ticket="WB-7")

    with pytest.raises(ValidationError) as refused:
        log(actors["supplier"], active, ticket="WB-7")

    assert "ticket_number" in refused.value.message_dict


def test_tonnes_must_be_positive(active, actors):
    with pytest.raises(ValidationError) as refused:
        log(actors["supplier"], active, tonnes="0")
    assert "tonnes" in refused.value.message_dict


def test_deliveries_of_a_completed_deal_may_still_be_confirmed(active, actors):
    delivery = log(actors["supplier"], active)
    services.deal_complete(user=actors["supplier"], deal=active)

    assert services.delivery_confirm(user=actors["receiver"], delivery=delivery).status == (
        "confirmed"
    )


def test_a_refused_judgement_is_explained_in_russian(active, actors):
    delivery = services.delivery_confirm(
        user=actors["receiver"], delivery=log(actors["supplier"], active)
    )

    with translation.override("ru"):
        with pytest.raises(ValidationError) as refused:
            services.delivery_dispute(user=actors["receiver"], delivery=delivery, reason="late")
        with pytest.raises(PermissionDenied) as not_a_party:
            log(actors["facilitator"], active, ticket="WB-2")
        second = log(actors["supplier"], active, ticket="WB-3", tonnes="1")
        with pytest.raises(PermissionDenied) as own_entry:
            services.delivery_confirm(user=actors["supplier"], delivery=second)
    assert refused.value.messages == [
        "Действие «оспорить» недоступно для поставки в статусе «подтверждена»."
    ]
    assert str(not_a_party.value) == "Поставки регистрирует только получатель или поставщик."
    assert str(own_entry.value) == (
        "Вы зарегистрировали эту запись: её проверяет фасилитатор или другая сторона, "
        "а не тот, кто её зарегистрировал."
    )
