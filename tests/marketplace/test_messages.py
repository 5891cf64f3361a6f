"""Messages on a deal, and the e-mails that tell the other side."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from marketplace import services
from marketplace.models import DealMessage
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def mail(mailoutbox, django_capture_on_commit_callbacks):
    """The outbox, with the services' on-commit mail sent as the block ends."""

    class Mail:
        outbox = mailoutbox

        def sending(self):
            return django_capture_on_commit_callbacks(execute=True)

    return Mail()


def recipients(outbox):
    return sorted(address for message in outbox for address in message.to)


def test_a_message_reaches_the_other_party_only(make_deal, actors, market, mail):
    colleague_a = factories.MembershipFactory(organization=market.company_a).user
    colleague_b = factories.MembershipFactory(organization=market.company_b).user
    deal = make_deal("offered")

    with mail.sending():
        message = services.message_post(user=actors["supplier"], deal=deal, body=" Wet or dry? ")

    assert message.body == "Wet or dry?"
    assert recipients(mail.outbox) == sorted([actors["receiver"].email, colleague_b.email])
    assert colleague_a.email not in recipients(mail.outbox)
    assert "Wet or dry?" in mail.outbox[0].body
    assert f"Deal #{deal.pk}" in mail.outbox[0].subject
    assert len(mail.outbox[0].to) == 1  # one mail each: no address sees another's


def test_a_facilitator_message_reaches_both_parties(make_deal, actors, mail):
    deal = make_deal("offered")

    with mail.sending():
        services.message_post(user=actors["facilitator"], deal=deal, body="Shall we meet?")

    assert recipients(mail.outbox) == sorted([actors["supplier"].email, actors["receiver"].email])


def test_the_introducing_facilitator_hears_from_the_parties(make_deal, actors, mail):
    deal = make_deal("offered", initiator="facilitator", created_by=actors["facilitator"])

    with mail.sending():
        services.message_post(user=actors["receiver"], deal=deal, body="Thanks")

    assert recipients(mail.outbox) == sorted(
        [actors["supplier"].email, actors["facilitator"].email]
    )


def test_a_draft_message_does_not_reach_the_party_that_cannot_see_it(make_deal, actors, mail):
    deal = make_deal("draft")

    with mail.sending():
        services.message_post(user=actors["facilitator"], deal=deal, body="Ready to send?")

    assert recipients(mail.outbox) == [actors["supplier"].email]


def test_an_offer_is_announced_to_the_other_party(make_deal, actors, mail):
    deal = make_deal("draft")

    with mail.sending():
        services.deal_offer(user=actors["supplier"], deal=deal, note="Fresh every Monday")

    assert recipients(mail.outbox) == [actors["receiver"].email]
    assert "Fresh every Monday" in mail.outbox[0].body


def test_a_refused_step_sends_nothing(make_deal, actors, mail):
    deal = make_deal("offered")

    with mail.sending(), pytest.raises(ValidationError):
        services.deal_decline(user=actors["receiver"], deal=deal, reason="")

    assert mail.outbox == []


@pytest.mark.parametrize("role", ["other", "analyst"])
def test_outsiders_cannot_write(make_deal, actors, role):
    with pytest.raises(PermissionDenied):
        services.message_post(user=actors[role], deal=make_deal("offered"), body="hello")
    assert not DealMessage.objects.exists()


def test_the_other_party_cannot_write_on_a_draft_it_cannot_see(make_deal, actors):
    with pytest.raises(PermissionDenied):
        services.message_post(user=actors["receiver"], deal=make_deal("draft"), body="hello")


def test_an_empty_message_is_refused(make_deal, actors):
    with pytest.raises(ValidationError) as refused:
        services.message_post(user=actors["supplier"], deal=make_deal("offered"), body="  ")
    assert "body" in refused.value.message_dict
