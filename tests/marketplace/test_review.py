"""Facilitators review held and disputed deliveries on one page; the parties see on the
deal page why a delivery is held and who reviews it."""

from datetime import date
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from marketplace import services
from marketplace.models import Delivery

pytestmark = pytest.mark.django_db

REVIEW = "marketplace:delivery-review"
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def held(make_deal, actors):
    deal = make_deal("active", transport_by="receiver")  # 10 t a month
    return services.delivery_log(
        user=actors["receiver"],
        deal=deal,
        date=date(2026, 3, 2),
        tonnes=Decimal("48.5"),
        ticket_number="WB-48",
    )


@pytest.fixture
def disputed(held, actors):
    delivery = services.delivery_log(
        user=actors["supplier"],
        deal=held.deal,
        date=date(2026, 4, 2),
        tonnes=Decimal("5"),
        ticket_number="WB-5",
    )
    return services.delivery_dispute(user=actors["receiver"], delivery=delivery, reason="wet")


def test_the_review_page_lists_held_and_disputed_deliveries(client, actors, held, disputed):
    confirmed = services.delivery_log(
        user=actors["supplier"],
        deal=held.deal,
        date=date(2026, 5, 2),
        tonnes=Decimal("2"),
        ticket_number="WB-OK",
    )
    client.force_login(actors["facilitator"])

    html = client.get(reverse(REVIEW)).content.decode()

    assert "WB-48" in html and "WB-5" in html and "WB-OK" not in html
    assert "48.5 t in one load is more than the 40 t one vehicle carries at most." in html
    assert reverse("marketplace:delivery-release", args=[held.pk]) in html
    assert reverse("marketplace:delivery-reject", args=[disputed.pk]) in html
    assert reverse("marketplace:delivery-confirm", args=[disputed.pk]) in html
    assert reverse("marketplace:delivery-release", args=[disputed.pk]) not in html
    assert confirmed.status == "logged"


@pytest.mark.parametrize("role", ["supplier", "receiver", "other", "analyst"])
def test_only_facilitators_open_the_review_page(client, actors, held, role):
    client.force_login(actors[role])

    assert client.get(reverse(REVIEW)).status_code == 403


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get(reverse(REVIEW))

    assert response.status_code == 302 and response["Location"].startswith(settings.LOGIN_URL)


def test_release_and_reject_from_the_review_page(client, actors, held, disputed):
    client.force_login(actors["facilitator"])

    released = client.post(
        reverse("marketplace:delivery-release", args=[held.pk]), {"back": "review"}, **HTMX
    )
    assert released.status_code == 200
    assert 'id="review"' in released.content.decode()
    assert "WB-48" not in released.content.decode()
    refused = client.post(
        reverse("marketplace:delivery-reject", args=[disputed.pk]),
        {"back": "review", f"reject-{disputed.pk}-reason": ""},
        **HTMX,
    )
    assert refused.status_code == 200 and "errorlist" in refused.content.decode()
    rejected = client.post(
        reverse("marketplace:delivery-reject", args=[disputed.pk]),
        {"back": "review", f"reject-{disputed.pk}-reason": "never delivered"},
    )
    assert rejected.status_code == 302 and rejected["Location"] == reverse(REVIEW)
    statuses = dict(Delivery.objects.values_list("ticket_number", "status"))
    assert statuses == {"WB-48": "logged", "WB-5": "rejected"}
    assert "Nothing to review" in client.get(reverse(REVIEW)).content.decode()


@pytest.mark.parametrize("role", ["supplier", "receiver"])
def test_the_parties_cannot_release_or_reject(client, actors, held, role):
    client.force_login(actors[role])

    release = client.post(reverse("marketplace:delivery-release", args=[held.pk]))
    reject = client.post(
        reverse("marketplace:delivery-reject", args=[held.pk]),
        {f"reject-{held.pk}-reason": "mine"},
    )

    assert (release.status_code, reject.status_code) == (403, 403)
    assert Delivery.objects.get(pk=held.pk).status == "held"


def test_the_deal_page_says_why_a_delivery_is_held_and_who_reviews_it(client, actors, held):
    client.force_login(actors["supplier"])
    url = reverse("marketplace:deal-detail", args=[held.deal_id])

    html = client.get(url).content.decode()
    with translation.override("ru"):
        russian = client.get(url, HTTP_ACCEPT_LANGUAGE="ru").content.decode()

    assert "48.5 t in one load is more than the 40 t one vehicle carries at most." in html
    assert "A facilitator reviews it; until then it counts for nothing." in html
    assert "48.5 t held for a facilitator" in html
    # Nobody but a facilitator gets a button for it.
    assert reverse("marketplace:delivery-confirm", args=[held.pk]) not in html
    assert "48.5 т за один рейс" in russian


def test_the_deal_page_offers_the_other_party_the_confirmation(client, actors, make_deal):
    deal = make_deal("active", transport_by="receiver")
    delivery = services.delivery_log(
        user=actors["receiver"],
        deal=deal,
        date=date(2026, 3, 2),
        tonnes=Decimal("5"),
        ticket_number="WB-7",
    )
    confirm = reverse("marketplace:delivery-confirm", args=[delivery.pk])

    client.force_login(actors["receiver"])
    mine = client.get(reverse("marketplace:deal-detail", args=[deal.pk])).content.decode()
    client.force_login(actors["supplier"])
    theirs = client.get(reverse("marketplace:deal-detail", args=[deal.pk])).content.decode()

    assert confirm not in mine  # its logger gets no button
    assert confirm in theirs
    assert "Awaiting confirmation by Company A" in mine
    assert reverse("marketplace:delivery-dispute", args=[delivery.pk]) in theirs


def test_a_refused_confirmation_says_why_on_the_page(client, actors, make_deal):
    deal = make_deal("active", transport_by="supplier")
    delivery = services.delivery_log(
        user=actors["supplier"],
        deal=deal,
        date=date(2026, 3, 2),
        tonnes=Decimal("5"),
        ticket_number="WB-8",
    )
    services.delivery_confirm(user=actors["receiver"], delivery=delivery)
    client.force_login(actors["facilitator"])

    # A second click (another tab, a slow network): refused inline, not a 500.
    response = client.post(reverse("marketplace:delivery-confirm", args=[delivery.pk]), **HTMX)

    assert response.status_code == 200
    assert "cannot be confirmed" in response.content.decode()
