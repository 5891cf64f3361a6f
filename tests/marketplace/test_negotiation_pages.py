"""The deal page through a negotiation: an introduction both companies see, what it
waits for, who answers an offer, and a history in words (English and Russian)."""

import html as html_text
import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from marketplace import history, services
from marketplace.models import Deal

pytestmark = pytest.mark.django_db


def _page(client, user, deal, language="en") -> str:
    client.force_login(user)
    with translation.override(language):
        response = client.get(
            reverse("marketplace:deal-detail", args=[deal.pk]), HTTP_ACCEPT_LANGUAGE=language
        )
    assert response.status_code == 200
    return html_text.unescape(response.content.decode())


def _forms(html: str) -> set[str]:
    """The deal actions a page offers, by the URL its forms post to."""
    found = set()
    for action in re.findall(r'<form[^>]*action="(/deals/[^"]+)"', html):
        found.add(action.rstrip("/").rsplit("/", 1)[-1])
    return found


def test_an_introduction_says_what_it_waits_for(client, make_introduction, actors):
    deal = make_introduction("accepted", "")

    for role in ("supplier", "receiver"):
        html = _page(client, actors[role], deal)
        assert "Waiting for Company B to accept the introduction." in html
        assert _forms(html) == {"messages"}  # messages work from the start
    receiver_html = _page(client, actors["receiver"], deal)
    answer = reverse("optimizer:my_proposals") + f"#intro-{deal.proposal_id}"
    assert f'href="{answer}"' in receiver_html
    assert f'href="{answer}"' not in _page(client, actors["supplier"], deal)
    assert "9.5 km (from the facilitator's proposal)" in receiver_html

    response = client.post(
        reverse("marketplace:message-post", args=[deal.pk]), {"message-body": "Hello!"}
    )
    assert response.status_code == 302
    assert deal.messages.get().body == "Hello!"


def test_once_both_accepted_either_company_shapes_and_sends_it(client, make_introduction, actors):
    deal = make_introduction("accepted", "accepted")

    for role in ("supplier", "receiver"):
        html = _page(client, actors[role], deal)
        assert {"offer", "terms", "cancel", "messages"} <= _forms(html)
        assert "Change the draft's terms" in html
        assert "Sending it accepts these terms for your side" in html

    client.force_login(actors["supplier"])
    client.post(reverse("marketplace:deal-transition", args=[deal.pk, "offer"]), {})
    assert Deal.objects.get(pk=deal.pk).state == "offered"


def test_the_sender_sees_neither_accept_nor_decline(client, make_deal, actors):
    deal = make_deal("draft")
    client.force_login(actors["supplier"])
    client.post(
        reverse("marketplace:deal-transition", args=[deal.pk, "offer"]), {"offer-note": "Go?"}
    )

    sender = _page(client, actors["supplier"], deal)
    assert not {"accept", "decline"} & _forms(sender)
    assert {"terms", "cancel"} <= _forms(sender)
    assert "Change your offer" in sender and "Withdraw the offer" in sender
    assert "waits for Company B to accept it" in sender

    other = _page(client, actors["receiver"], deal)
    assert {"accept", "decline", "terms", "cancel"} <= _forms(other)
    assert "Counter-offer: change the terms" in other
    assert "Company A offered terms version 1" in other
    assert "Accept terms version 1" in other


def _walk(deal, actors):
    """Offer, accept, start, a delivery confirmed and corrected, new terms declined."""
    deal = services.deal_update_terms(user=actors["supplier"], deal=deal, price_kzt_per_t=-400)
    deal = services.deal_offer(user=actors["supplier"], deal=deal)
    deal = services.deal_accept(user=actors["receiver"], deal=deal, terms_version=2)
    deal = services.deal_activate(user=actors["receiver"], deal=deal, start_date=date(2026, 1, 1))
    delivery = services.delivery_log(
        user=actors["supplier"],
        deal=deal,
        date=date(2026, 3, 2),
        tonnes=Decimal("9"),
        ticket_number="WB-7",
    )
    services.delivery_confirm(user=actors["receiver"], delivery=delivery)
    reversal, _ = services.delivery_correct(
        user=actors["receiver"], delivery=delivery, reason="re-read", tonnes=Decimal("8")
    )
    services.delivery_confirm(user=actors["supplier"], delivery=reversal)
    services.deal_update_terms(user=actors["receiver"], deal=deal, tonnes_per_period=12)
    services.deal_decline(user=actors["supplier"], deal=deal, reason="not this year")
    return deal


# The history's codes (one-word ones are English words too: "offer", "accept").
CODES = [
    *(code for code in history.EVENT_LABELS if "_" in code),
    "draft → offered",
    "offered → accepted",
    "accepted → active",
]


@pytest.mark.parametrize(
    ("language", "labels"),
    [
        (
            "en",
            [
                "Offer sent",
                "Terms accepted",
                "Draft → Offered",
                "Deliveries started",
                "Correction confirmed",
                "New terms declined",
                "price (KZT per tonne): -500 → -400",
            ],
        ),
        (
            "ru",
            [
                "Предложение отправлено",
                "Условия приняты",
                "Поставки начаты",
                "Исправление подтверждено",
                "Новые условия отклонены",
                "цена (тенге за тонну): -500 → -400",
            ],
        ),
    ],
)
def test_the_history_is_in_words(client, make_deal, actors, language, labels):
    deal = _walk(make_deal("draft"), actors)

    html = _page(client, actors["supplier"], deal, language)
    timeline = html[html.index('id="timeline"') :]

    for label in labels:
        assert label in timeline, label
    for code in CODES:
        assert code not in timeline, code
    if language == "ru":
        assert "Offer sent" not in timeline
        # Roles by label: no "supplier" or "receiver" code in a Russian line.
        assert "supplier" not in timeline and "receiver" not in timeline
