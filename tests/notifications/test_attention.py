"""The workspace's attention list: what waits for me, never "Nothing needs your
attention" while something does."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from marketplace import services
from optimizer import decisions

pytestmark = pytest.mark.django_db

NOTHING = "Nothing needs your attention"


def _attention(client, user) -> str:
    client.force_login(user)
    html = client.get("/").content.decode()
    return html.split('id="attention-title"')[1].split("</section>")[0]


def _log(actors, deal, ticket, tonnes=Decimal(5)):
    return services.delivery_log(
        user=actors["supplier"],
        deal=deal,
        date=date(2026, 3, 2),
        ticket_number=ticket,
        tonnes=tonnes,
    )


def test_two_deliveries_awaiting_the_receiver_are_both_listed(client, make_deal, actors):
    deal = make_deal("active")
    first, second = _log(actors, deal, "WB-1"), _log(actors, deal, "WB-2")

    receiver = _attention(client, actors["receiver"])

    assert NOTHING not in receiver
    for delivery in (first, second):
        assert f"#delivery-{delivery.pk}" in receiver
    assert "(ticket WB-1)" in receiver and "(ticket WB-2)" in receiver
    assert "confirm or dispute it" in receiver
    # The supplier logged them: nothing to confirm for it.
    assert "WB-1" not in _attention(client, actors["supplier"])


def test_an_offer_and_an_amendment_to_answer_are_listed(client, make_deal, actors):
    offer = make_deal("offered", supplier_accepted_at=timezone.now())
    active = make_deal("active")
    services.deal_update_terms(user=actors["supplier"], deal=active, tonnes_per_period=12)

    receiver = _attention(client, actors["receiver"])

    assert f"Deal {offer.pk} (Brewery spent grain): an offer from Company A" in receiver
    assert f"Deal {active.pk} (Brewery spent grain): Company A proposes new terms" in receiver
    assert f"/deals/{offer.pk}/" in receiver


def test_an_introduction_to_accept_is_listed_until_answered(
    client, open_proposal, facilitator, actors
):
    decisions.proposal_approve(user=facilitator, proposal=open_proposal)

    assert f"#intro-{open_proposal.pk}" in _attention(client, actors["supplier"])

    decisions.proposal_answer(user=actors["supplier"], proposal=open_proposal, accept=True)
    assert f"#intro-{open_proposal.pk}" not in _attention(client, actors["supplier"])
    assert f"#intro-{open_proposal.pk}" in _attention(client, actors["receiver"])


def test_a_facilitator_sees_held_deliveries_to_review(client, make_deal, actors, facilitator):
    deal = make_deal("active")
    held = _log(actors, deal, "WB-9", tonnes=Decimal(45))

    mine = _attention(client, facilitator)

    assert NOTHING not in mine
    assert f"/deals/deliveries/review/#delivery-{held.pk}" in mine
    assert "a held delivery of 45 t" in mine and "review it" in mine


def test_nothing_waiting_says_so(client, actors):
    assert NOTHING in _attention(client, actors["receiver"])
