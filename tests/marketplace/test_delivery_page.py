"""A delivery's own page (/deals/deliveries/<id>/, where notifications link): the
figures, what the reader may do with them and why it waits, its corrections and
its lines of the deal's history. Who may open it: tests/marketplace/test_views.py
(every page) and the access audit."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from marketplace import services
from marketplace.models import Delivery

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def deal(make_deal):
    return make_deal("active", transport_by="supplier", tonnes_per_period=Decimal("30"))


@pytest.fixture
def logged(deal, actors):
    return services.delivery_log(
        user=actors["supplier"],
        deal=deal,
        date=date(2026, 3, 2),
        gross_tonnes=Decimal("20.5"),
        tare_tonnes=Decimal("8"),
        loads=2,
        ticket_number="WB-0042",
        vehicle="A 777 KZ",
    )


def _url(delivery):
    return reverse("marketplace:delivery-detail", args=[delivery.pk])


def test_the_other_party_sees_the_figures_and_confirms_or_disputes(client, logged, actors):
    client.force_login(actors["receiver"])

    html = client.get(_url(logged)).content.decode()

    for figure in ("WB-0042", "A 777 KZ", "20.5", ">8<", "12.5 t", ">2<", "2026-03-02"):
        assert figure in html, figure
    assert "Check these figures against your own weighbridge reading" in html
    confirm = reverse("marketplace:delivery-confirm", args=[logged.pk])
    dispute = reverse("marketplace:delivery-dispute", args=[logged.pk])
    assert f'action="{confirm}"' in html and f'action="{dispute}"' in html
    assert f'name="dispute-{logged.pk}-reason"' in html
    assert 'name="back" value="delivery"' in html
    # The deal page links here.
    deal_html = client.get(reverse("marketplace:deal-detail", args=[logged.deal_id])).content
    assert _url(logged).encode() in deal_html
    assert b"1 delivery waits for your confirmation" in deal_html


def test_the_logger_sees_who_confirms_and_no_button(client, logged, actors):
    client.force_login(actors["supplier"])

    html = client.get(_url(logged)).content.decode()

    assert "Awaiting confirmation by Company B" in html
    assert reverse("marketplace:delivery-confirm", args=[logged.pk]) not in html


def test_confirming_from_the_page_comes_back_to_it(client, logged, actors):
    client.force_login(actors["receiver"])
    confirm = reverse("marketplace:delivery-confirm", args=[logged.pk])

    response = client.post(confirm, {"back": "delivery"})

    assert response.status_code == 302 and response["Location"] == _url(logged)
    assert Delivery.objects.get(pk=logged.pk).status == "confirmed"
    html = client.get(_url(logged)).content.decode()
    assert "Confirmed: these tonnes count" in html
    assert "Delivery confirmed" in html  # its line of the history


def test_a_dispute_needs_a_reason_said_inline(client, logged, actors):
    client.force_login(actors["receiver"])
    dispute = reverse("marketplace:delivery-dispute", args=[logged.pk])

    response = client.post(dispute, {"back": "delivery", f"dispute-{logged.pk}-reason": ""}, **HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="delivery-page"')
    assert "This field is required." in html
    assert Delivery.objects.get(pk=logged.pk).status == "logged"

    response = client.post(
        dispute, {"back": "delivery", f"dispute-{logged.pk}-reason": "half was plastic"}, **HTMX
    )
    assert "Disputed: half was plastic" in response.content.decode()


def test_a_held_delivery_says_why_and_who_reviews_it(client, deal, actors):
    held = services.delivery_log(
        user=actors["supplier"],
        deal=deal,
        date=date(2026, 3, 3),
        tonnes=Decimal("55"),
        ticket_number="WB-BIG",
    )
    assert held.status == "held"
    client.force_login(actors["receiver"])

    html = client.get(_url(held)).content.decode()

    assert "Held:" in html and "40 t" in html  # the per-load limit it is over
    assert "A facilitator of the platform reviews it" in html
    client.force_login(actors["facilitator"])
    html = client.get(_url(held)).content.decode()
    assert "You review it as a facilitator" in html
    assert reverse("marketplace:delivery-release", args=[held.pk]) in html


def test_corrections_are_on_the_page_and_in_its_timeline(client, logged, actors):
    services.delivery_confirm(user=actors["receiver"], delivery=logged)
    reversal, replacement = services.delivery_correct(
        user=actors["receiver"], delivery=logged, reason="re-read", tonnes=Decimal("11")
    )
    client.force_login(actors["supplier"])

    html = client.get(_url(logged)).content.decode()

    assert f"Correction #{reversal.pk} of delivery #{logged.pk}" in html
    assert _url(replacement) in html
    assert "Correction proposed" in html and "re-read" in html
    html = client.get(_url(reversal)).content.decode()
    assert "Confirm the correction" in html  # the supplier answers the receiver's correction


def test_the_page_reads_in_russian(client, logged, actors):
    client.force_login(actors["receiver"])
    with translation.override("ru"):
        html = client.get(_url(logged), HTTP_ACCEPT_LANGUAGE="ru").content.decode()

    assert "Сверьте эти данные" in html
    assert "Check these figures" not in html
