"""Who hears of each step, through the real services: the other party (never the
actor's own organization), the facilitator who introduced them, the facilitators
for what is held for review; each in their own language, with an absolute link."""

from datetime import date
from decimal import Decimal

import pytest
from django.core import mail

from marketplace import services
from marketplace.models import Delivery
from optimizer import decisions
from symbiosis.models import Notification
from tests import factories

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 2)


def told(**filters) -> dict[str, set[str]]:
    """{kind: e-mail addresses of the recipients} of the notifications made."""
    found = {}
    for row in Notification.objects.filter(**filters).select_related("recipient"):
        found.setdefault(row.kind, set()).add(row.recipient.email)
    return found


def mailed_to() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


@pytest.fixture
def colleague_a(market):
    return factories.MembershipFactory(organization=market.company_a).user


@pytest.fixture
def colleague_b(market):
    return factories.MembershipFactory(organization=market.company_b).user


def test_an_introduction_reaches_every_member_of_both_companies_in_their_language(
    committed, open_proposal, market, facilitator, actors, colleague_b, site_url
):
    colleague_b.language = "ru"
    colleague_b.save()

    with committed():
        decisions.proposal_approve(user=facilitator, proposal=open_proposal)

    everyone = {actors["supplier"].email, actors["receiver"].email, colleague_b.email}
    assert told() == {"introduction": everyone}
    assert mailed_to() == sorted(everyone)
    russian = next(m for m in mail.outbox if m.to == [colleague_b.email])
    english = next(m for m in mail.outbox if m.to == [actors["receiver"].email])
    assert russian.subject.startswith("Знакомство: ") and english.subject.startswith("Introduction")
    link = f"{site_url}/review/proposals/mine/#intro-{open_proposal.pk}"
    assert link in russian.body and link in english.body


def test_an_offer_reaches_the_other_party_only_in_its_language(
    committed, make_deal, actors, colleague_a, colleague_b, site_url
):
    colleague_b.language = "ru"
    colleague_b.save()
    deal = make_deal("draft")

    with committed():
        services.deal_offer(user=actors["supplier"], deal=deal, note="Fresh every Monday")

    assert told() == {"deal_offer": {actors["receiver"].email, colleague_b.email}}
    russian = next(m for m in mail.outbox if m.to == [colleague_b.email])
    assert russian.subject == f"Сделка №{deal.pk}: Company A отправляет вам предложение"
    assert f"{site_url}/deals/{deal.pk}/" in russian.body
    assert "Fresh every Monday" in russian.body


def test_the_introducing_facilitator_hears_the_parties_steps(
    committed, make_introduction, actors, facilitator
):
    deal = make_introduction("accepted", "accepted")

    with committed():
        services.message_post(user=actors["receiver"], deal=deal, body="Thanks")

    assert told() == {"message": {actors["supplier"].email, facilitator.email}}
    assert "Thanks" in next(m for m in mail.outbox if m.to == [facilitator.email]).body


def test_a_counter_offer_shows_the_new_terms_not_the_history_codes(committed, make_deal, actors):
    deal = make_deal("offered")

    with committed():
        services.deal_update_terms(
            user=actors["receiver"], deal=deal, note="Less, please", tonnes_per_period=Decimal(8)
        )

    assert told() == {"deal_update_terms": {actors["supplier"].email}}
    body = mail.outbox[0].body
    assert "8 t per month" in body and "Less, please" in body
    assert "tonnes per period:" not in body and "->" not in body


def test_an_amendment_shows_the_proposed_terms(committed, make_deal, actors):
    deal = make_deal("active")

    with committed():
        services.deal_update_terms(user=actors["supplier"], deal=deal, tonnes_per_period=12)

    assert told() == {"deal_amendment_proposed": {actors["receiver"].email}}
    assert "12 t per month" in mail.outbox[0].body


def test_an_unknown_step_is_told_in_the_generic_wording(committed, make_deal, actors):
    from marketplace.services.records import transition_notice

    deal = make_deal("active")
    with committed():
        transition_notice(deal, user=actors["supplier"], action="renegotiate")

    assert told() == {"deal_changed": {actors["receiver"].email}}
    assert mail.outbox[0].subject == f"Deal #{deal.pk} has changed"


def _log(actors, deal, **figures):
    values = {"date": DAY, "ticket_number": "WB-1", "tonnes": Decimal(5)}
    values.update(figures)
    return services.delivery_log(user=actors["supplier"], deal=deal, **values)


def test_a_logged_delivery_asks_the_other_party_to_confirm_it(
    committed, make_deal, actors, colleague_a, site_url
):
    deal = make_deal("active")

    with committed():
        delivery = _log(actors, deal)

    assert told() == {"delivery_logged": {actors["receiver"].email}}
    assert "confirm the delivery" in mail.outbox[0].body
    row = Notification.objects.get()
    assert row.url.startswith("/deals/") and str(delivery.pk) in row.url


def test_a_held_delivery_tells_the_other_party_and_asks_facilitators_to_review(
    committed, make_deal, actors, facilitator, site_url
):
    deal = make_deal("active")
    superuser = factories.UserFactory(is_superuser=True)

    with committed():
        delivery = _log(actors, deal, tonnes=Decimal(45))

    assert delivery.status == Delivery.Status.HELD
    assert told() == {
        "delivery_held": {actors["receiver"].email},
        "delivery_review": {facilitator.email, superuser.email},
    }
    review = Notification.objects.filter(kind="delivery_review").first()
    assert review.url == "/deals/deliveries/review/"
    body = next(m for m in mail.outbox if m.to == [facilitator.email]).body
    assert "Why it is held:" in body and f"{site_url}/deals/deliveries/review/" in body


def test_confirming_and_disputing_tell_the_side_that_logged_it(committed, make_deal, actors):
    deal = make_deal("active")
    first = _log(actors, deal)
    second = _log(actors, deal, ticket_number="WB-2")
    Notification.objects.all().delete()

    with committed():
        services.delivery_confirm(user=actors["receiver"], delivery=first)
        services.delivery_dispute(user=actors["receiver"], delivery=second, reason="Only 3 t")

    assert told() == {
        "delivery_confirmed": {actors["supplier"].email},
        "delivery_disputed": {actors["supplier"].email},
    }
    disputed = next(m for m in mail.outbox if "disputed" in m.subject)
    assert "Reason: Only 3 t" in disputed.body


def test_a_facilitator_s_release_and_rejection_reach_both_parties(
    committed, make_deal, actors, facilitator
):
    deal = make_deal("active")
    held = _log(actors, deal, tonnes=Decimal(45))
    other = _log(actors, deal, tonnes=Decimal(44), ticket_number="WB-2")
    Notification.objects.all().delete()

    with committed():
        services.delivery_release(user=facilitator, delivery=held)
        services.delivery_reject(user=facilitator, delivery=other, reason="Two loads, not one")

    both = {actors["supplier"].email, actors["receiver"].email}
    assert told() == {"delivery_released": both, "delivery_rejected": both}


def test_a_correction_asks_the_other_side_to_confirm_it(committed, make_deal, actors):
    deal = make_deal("active")
    delivery = _log(actors, deal)
    services.delivery_confirm(user=actors["receiver"], delivery=delivery)
    Notification.objects.all().delete()

    with committed():
        services.delivery_correct(
            user=actors["supplier"], delivery=delivery, reason="Tare misread", tonnes=Decimal(4)
        )

    assert told() == {"correction_proposed": {actors["receiver"].email}}
    body = mail.outbox[0].body
    assert "Proposed correction: 4 t on 2026-03-02" in body and "Reason: Tare misread" in body


def test_outsiders_hear_nothing(committed, make_deal, actors):
    deal = make_deal("draft")

    with committed():
        services.message_post(user=actors["supplier"], deal=deal, body="Ready to send?")

    # A draft of A's is A's alone: B cannot see it, C and the analyst have no part.
    assert told() == {}
    assert mail.outbox == []
