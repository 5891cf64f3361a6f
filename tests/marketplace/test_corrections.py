"""A confirmed delivery is never edited: a correction is a reversal and a replacement,
proposed by one side and confirmed by the other (or a facilitator), together."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from dashboard import selectors as city
from dashboard.selectors import CityFilters
from marketplace import selectors, services
from marketplace.models import Delivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def deal(make_deal):
    return make_deal("active", transport_by="supplier", tonnes_per_period=Decimal("30"))


@pytest.fixture
def confirmed(deal, actors):
    delivery = services.delivery_log(
        user=actors["supplier"],
        deal=deal,
        date=date(2026, 3, 2),
        tonnes=Decimal("12.5"),
        ticket_number="WB-1",
        vehicle="A123BC",
    )
    return services.delivery_confirm(user=actors["receiver"], delivery=delivery)


def city_figures():
    headline = city.headline(CityFilters())
    return headline["tonnes"] or 0, headline["deliveries"] or 0


def correct(user, delivery, **figures):
    figures.setdefault("reason", "weighbridge re-read")
    return services.delivery_correct(user=user, delivery=delivery, **figures)


def test_a_correction_is_a_linked_reversal_and_replacement(confirmed, actors):
    reversal, replacement = correct(actors["receiver"], confirmed, tonnes=Decimal("11.25"))

    assert (reversal.kind, reversal.tonnes, reversal.ticket_number, reversal.date) == (
        "reversal",
        Decimal("-12.5"),
        "WB-1",
        date(2026, 3, 2),
    )
    assert (replacement.kind, replacement.tonnes, replacement.vehicle) == (
        "replacement",
        Decimal("11.25"),
        "A123BC",
    )
    assert reversal.corrects == replacement.corrects == confirmed
    assert replacement.reversal == reversal
    assert (reversal.logged_as, reversal.logged_by) == ("receiver", actors["receiver"])
    assert reversal.status == replacement.status == "logged"
    assert reversal.correction_reason == "weighbridge re-read"


def test_an_unconfirmed_correction_changes_nothing(confirmed, actors):
    before_city, before_deal = city_figures(), selectors.deal_impact(deal=confirmed.deal)

    correct(actors["supplier"], confirmed, tonnes=Decimal("1"))

    assert city_figures() == before_city == (pytest.approx(12.5), 1)
    after = selectors.deal_impact(deal=confirmed.deal)
    assert after.tonnes_delivered == before_deal.tonnes_delivered == Decimal("12.5")
    assert after.tonnes_awaiting_confirmation == 0  # a pending correction is no new delivery


def test_a_confirmed_correction_changes_the_city_figures_exactly(confirmed, actors):
    _reversal, replacement = correct(actors["supplier"], confirmed, tonnes=Decimal("11.25"))

    confirmed_pair = services.delivery_confirm(user=actors["receiver"], delivery=replacement)

    assert confirmed_pair.status == "confirmed"
    rows = Delivery.objects.filter(corrects=confirmed).values_list("kind", "status")
    assert sorted(rows) == [("replacement", "confirmed"), ("reversal", "confirmed")]
    assert city_figures() == (pytest.approx(11.25), 1)
    assert selectors.deal_impact(deal=confirmed.deal).tonnes_delivered == Decimal("11.25")
    # The corrected delivery itself is as it was.
    assert Delivery.objects.get(pk=confirmed.pk).tonnes == Decimal("12.5")


def test_a_void_correction_takes_the_delivery_back(confirmed, actors):
    reversal, replacement = correct(actors["receiver"], confirmed, void=True)

    services.delivery_confirm(user=actors["supplier"], delivery=reversal)

    assert replacement is None
    assert city_figures() == (0, 0)
    assert selectors.deal_impact(deal=confirmed.deal).tonnes_delivered == 0


@pytest.mark.parametrize("proposer", ["supplier", "receiver", "facilitator"])
def test_the_proposer_never_confirms_its_correction(confirmed, actors, proposer):
    reversal, replacement = correct(actors[proposer], confirmed, tonnes=Decimal("10"))

    for row in (reversal, replacement):
        with pytest.raises(PermissionDenied):
            services.delivery_confirm(user=actors[proposer], delivery=row)
    assert city_figures() == (pytest.approx(12.5), 1)


@pytest.mark.parametrize("role", ["other", "analyst"])
def test_outsiders_neither_propose_nor_confirm(confirmed, actors, role):
    with pytest.raises(PermissionDenied):
        correct(actors[role], confirmed, tonnes=Decimal("1"))
    reversal, _ = correct(actors["supplier"], confirmed, tonnes=Decimal("1"))
    with pytest.raises(PermissionDenied):
        services.delivery_confirm(user=actors[role], delivery=reversal)


def test_one_correction_waits_at_a_time(confirmed, actors):
    reversal, _ = correct(actors["supplier"], confirmed, tonnes=Decimal("10"))

    with pytest.raises(ValidationError, match="already waiting"):
        correct(actors["receiver"], confirmed, tonnes=Decimal("9"))
    services.delivery_dispute(user=actors["receiver"], delivery=reversal, reason="12.5 is right")
    with pytest.raises(ValidationError, match="already waiting"):
        correct(actors["receiver"], confirmed, tonnes=Decimal("9"))
    services.delivery_reject(user=actors["facilitator"], delivery=reversal, reason="kept")
    assert Delivery.objects.filter(corrects=confirmed, status="rejected").count() == 2

    _, again = correct(actors["receiver"], confirmed, tonnes=Decimal("9"))
    assert again.status == "logged"


def test_the_database_keeps_one_waiting_correction(confirmed, actors):
    reversal, _ = correct(actors["supplier"], confirmed, void=True)

    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery.objects.create(
            deal=confirmed.deal,
            date=confirmed.date,
            tonnes=-confirmed.tonnes,
            ticket_number=confirmed.ticket_number,
            kind="reversal",
            corrects=confirmed,
        )
    assert reversal.pk


def test_only_a_current_confirmed_delivery_is_corrected(deal, confirmed, actors):
    logged = services.delivery_log(
        user=actors["supplier"], deal=deal, date=date(2026, 3, 3), tonnes=1, ticket_number="L"
    )
    with pytest.raises(ValidationError, match="cannot be corrected"):
        correct(actors["supplier"], logged, tonnes=Decimal("2"))

    reversal, replacement = correct(actors["supplier"], confirmed, tonnes=Decimal("10"))
    services.delivery_confirm(user=actors["receiver"], delivery=reversal)
    with pytest.raises(ValidationError, match="corrected already"):
        correct(actors["supplier"], confirmed, tonnes=Decimal("9"))
    with pytest.raises(ValidationError, match="reversal"):
        correct(actors["supplier"], reversal, tonnes=Decimal("9"))

    # The replacement is the delivery now: it is corrected in turn.
    second_reversal, second = correct(actors["receiver"], replacement, tonnes=Decimal("9"))
    services.delivery_confirm(user=actors["supplier"], delivery=second_reversal)
    assert second.corrects == replacement
    assert selectors.deal_impact(deal=deal).tonnes_delivered == Decimal("9")
    assert city_figures() == (pytest.approx(9), 1)


def test_a_correction_must_change_something_and_say_why(confirmed, actors):
    with pytest.raises(ValidationError) as unchanged:
        correct(actors["supplier"], confirmed, tonnes=Decimal("12.500"))
    assert "already confirmed" in str(unchanged.value)
    with pytest.raises(ValidationError) as no_reason:
        correct(actors["supplier"], confirmed, tonnes=Decimal("1"), reason=" ")
    assert "reason" in no_reason.value.message_dict
    assert not Delivery.objects.filter(corrects=confirmed).exists()


def test_a_replacement_is_checked_like_a_delivery(deal, confirmed, actors):
    other = services.delivery_log(
        user=actors["supplier"], deal=deal, date=date(2026, 3, 3), tonnes=1, ticket_number="WB-2"
    )
    with pytest.raises(ValidationError) as refused:
        correct(
            actors["supplier"],
            confirmed,
            date=date(2025, 1, 1),
            ticket_number="WB-2",
            gross_tonnes=Decimal("20"),
            tare_tonnes=Decimal("8"),
            tonnes=Decimal("11"),
        )
    assert set(refused.value.message_dict) == {"date", "ticket_number", "tonnes"}
    assert other.status == "logged"
    # Gross and tare alone give the net.
    _, replacement = correct(
        actors["supplier"], confirmed, gross_tonnes=Decimal("20"), tare_tonnes=Decimal("8")
    )
    assert replacement.tonnes == Decimal("12")


def test_an_implausible_replacement_is_held_with_its_reversal(confirmed, actors):
    reversal, replacement = correct(actors["supplier"], confirmed, tonnes=Decimal("125"))

    assert reversal.status == replacement.status == "held"
    assert replacement.held_reason[0]["code"] == "per_load"
    with pytest.raises(ValidationError):
        services.delivery_confirm(user=actors["receiver"], delivery=reversal)

    services.delivery_release(user=actors["facilitator"], delivery=replacement)
    assert set(Delivery.objects.filter(corrects=confirmed).values_list("status", flat=True)) == {
        "logged"
    }
    services.delivery_confirm(user=actors["receiver"], delivery=reversal)
    assert city_figures() == (pytest.approx(125), 1)


def test_the_replacement_period_check_leaves_out_what_it_replaces(deal, confirmed, actors):
    # 30 t a month, 33 t with the tolerance: 12.5 t confirmed in March. A replacement
    # of 33 t in March is within the month once the 12.5 t it replaces is left out.
    reversal, replacement = correct(actors["supplier"], confirmed, tonnes=Decimal("33"))
    assert replacement.status == "logged"
    services.delivery_reject(
        user=actors["facilitator"],
        delivery=services.delivery_dispute(user=actors["receiver"], delivery=reversal, reason="no"),
        reason="no",
    )
    _, bigger = correct(actors["supplier"], confirmed, tonnes=Decimal("33.001"))
    assert bigger.status == "held"


def test_the_history_and_the_deal_page_show_the_chain(client, confirmed, actors):
    reversal, replacement = correct(actors["supplier"], confirmed, tonnes=Decimal("11.25"))
    services.delivery_confirm(user=actors["receiver"], delivery=reversal)

    events = list(confirmed.deal.events.values_list("action", "details"))
    assert [action for action, _ in events[-2:]] == ["correction_proposed", "correction_confirmed"]
    correction = events[-1][1]["correction"]
    assert correction["reversal"] == reversal.pk
    assert (correction["original"]["id"], correction["original"]["tonnes"]) == (
        confirmed.pk,
        "12.5",
    )
    assert (correction["replacement"]["id"], correction["replacement"]["tonnes"]) == (
        replacement.pk,
        "11.25",
    )
    client.force_login(actors["supplier"])
    html = client.get(reverse("marketplace:deal-detail", args=[confirmed.deal_id])).content.decode()
    # The timeline words the chain: the correction, what it corrects and what replaces it.
    assert "Correction confirmed" in html
    assert f"correction #{reversal.pk} of #{confirmed.pk}: 12.5 t on" in html
    assert f"replaced by #{replacement.pk}: 11.25 t on" in html
    reversal.refresh_from_db()
    day = timezone.localdate(reversal.confirmed_at).isoformat()  # as the page: local time
    assert f"Corrected by #{reversal.pk} on {day}" in html
    assert f"#{replacement.pk} replaces delivery #{confirmed.pk}" in html
    assert "11.25 t" in html  # delivered (confirmed), net of the correction


def test_a_correction_from_the_page_and_its_confirmation(client, confirmed, actors):
    client.force_login(actors["receiver"])
    url = reverse("marketplace:delivery-correct", args=[confirmed.pk])
    prefix = f"correct-{confirmed.pk}"

    refused = client.post(url, {f"{prefix}-reason": ""}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 200 and "errorlist" in refused.content.decode()
    response = client.post(
        url,
        {
            f"{prefix}-reason": "the ticket says 12.05",
            f"{prefix}-date": "2026-03-02",
            f"{prefix}-ticket_number": "WB-1",
            f"{prefix}-loads": "1",
            f"{prefix}-tonnes": "12.05",
        },
    )
    assert response.status_code == 302
    reversal = Delivery.objects.get(corrects=confirmed, kind="reversal")

    client.force_login(actors["supplier"])
    html = client.get(reverse("marketplace:deal-detail", args=[confirmed.deal_id])).content.decode()
    assert "Confirm the correction" in html
    confirm = reverse("marketplace:delivery-confirm", args=[reversal.pk])
    assert client.post(confirm).status_code == 302
    assert selectors.deal_impact(deal=confirmed.deal).tonnes_delivered == Decimal("12.05")


def test_a_correction_through_the_api(client_as, confirmed, actors):
    response = client_as(actors["supplier"]).post(
        f"/api/v1/deliveries/{confirmed.pk}/correct/",
        {"reason": "tare was wrong", "gross_tonnes": "20", "tare_tonnes": "8.5"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert Decimal(body["reversal"]["tonnes"]) == Decimal("-12.5")
    assert Decimal(body["replacement"]["tonnes"]) == Decimal("11.5")

    own = client_as(actors["supplier"]).post(
        f"/api/v1/deliveries/{body['reversal']['id']}/confirm/", format="json"
    )
    assert own.status_code == 403
    done = client_as(actors["receiver"]).post(
        f"/api/v1/deliveries/{body['replacement']['id']}/confirm/", format="json"
    )
    assert done.status_code == 200 and done.json()["status"] == "confirmed"
    assert city_figures() == (pytest.approx(11.5), 1)
    again = client_as(actors["receiver"]).post(
        f"/api/v1/deliveries/{confirmed.pk}/correct/",
        {"reason": "again", "tonnes": "1"},
        format="json",
    )
    assert again.status_code == 400
