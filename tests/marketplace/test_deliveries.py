"""Deliveries: logged from the weighbridge ticket, confirmed or disputed by the receiver."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation

from marketplace import selectors, services
from marketplace.models import Delivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def active(make_deal):
    # The supplier transports; deal dates are in the past so deliveries can be logged.
    return make_deal("active", transport_by="supplier")


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


@pytest.mark.parametrize(
    ("role", "error"),
    [
        ("supplier", PermissionDenied),
        ("other", PermissionDenied),
        ("facilitator", PermissionDenied),
        ("analyst", PermissionDenied),
    ],
)
def test_only_the_receiver_judges_deliveries(active, actors, role, error):
    delivery = log(actors["supplier"], active)

    with pytest.raises(error):
        services.delivery_confirm(user=actors[role], delivery=delivery)
    with pytest.raises(error):
        services.delivery_dispute(user=actors[role], delivery=delivery, reason="no")
    assert Delivery.objects.get(pk=delivery.pk).status == "logged"


@pytest.mark.parametrize("role", ["receiver", "other", "facilitator", "analyst"])
def test_only_the_carrier_or_supplier_logs(active, actors, role):
    with pytest.raises(PermissionDenied):
        log(actors[role], active)
    assert not Delivery.objects.exists()


def test_a_receiver_that_transports_logs_its_own_loads(make_deal, actors):
    deal = make_deal("active", transport_by="receiver")

    delivery = log(actors["receiver"], deal)

    assert delivery.logged_by == actors["receiver"]
    assert log(actors["supplier"], deal, ticket="WB-2").logged_by == actors["supplier"]


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
        with pytest.raises(PermissionDenied) as not_the_carrier:
            log(actors["receiver"], active, ticket="WB-2")
    assert refused.value.messages == [
        "Действие «оспорить» недоступно для поставки в статусе «подтверждена получателем»."
    ]
    assert str(not_the_carrier.value) == (
        "Поставки регистрирует только сторона-перевозчик или поставщик."
    )
