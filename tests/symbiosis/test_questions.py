"""Questions to a lister (symbiosis.questions): who may ask, answer and read, how each
side is named to the other, what the notifications and e-mails say, and the thread
joining a deal that follows."""

from datetime import date
from decimal import Decimal

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from marketplace import services as deal_services
from symbiosis import notifications, questions
from symbiosis.models import Notification, QuestionMessage, QuestionThread
from symbiosis.models.questions import QUESTION_MAX_CHARS
from tests import factories
from tests.question_world import (
    A_EMAIL,
    A_NAME,
    B_NAME,
    assert_absent,
    build_world,
    make_deal,
    secrets,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db, facilitator, analyst):
    return build_world(facilitator=facilitator, analyst=analyst)


def test_asking_makes_one_thread_per_listing_and_organization(world):
    first = questions.question_ask(user=world.asker, listing=world.supply, body="Is it packaged?")
    again = questions.question_ask(user=world.colleague_b, listing=world.supply, body="And dry?")

    assert first.thread_id == again.thread_id
    thread = QuestionThread.objects.get()
    assert (thread.supply, thread.asking_organization, thread.asked_by) == (
        world.supply,
        world.company_b,
        world.asker,
    )
    assert [m.side for m in thread.messages.all()] == ["asker", "asker"]
    assert thread.answered_at is None


def test_the_lister_answers_and_the_thread_is_answered(world):
    message = questions.question_ask(user=world.asker, listing=world.supply, body="Is it packaged?")
    answer = questions.question_answer(user=world.lister, thread=message.thread, body="In bags.")

    thread = QuestionThread.objects.get()
    assert answer.side == "lister" and thread.answered_at == answer.at
    assert thread.lister_read_at == answer.at and thread.last_message_at == answer.at


@pytest.mark.parametrize("who", ["lister", "colleague_a"])
def test_the_listers_own_members_cannot_ask(world, who):
    with pytest.raises(PermissionDenied):
        questions.question_ask(user=getattr(world, who), listing=world.supply, body="Hello")


@pytest.mark.parametrize("who", ["facilitator", "analyst"])
def test_readers_who_are_no_members_cannot_ask(world, who):
    with pytest.raises((PermissionDenied, Http404)):
        questions.question_ask(user=getattr(world, who), listing=world.supply, body="Hello")
    assert not QuestionThread.objects.exists()


def test_a_listing_the_asker_may_not_see_is_not_found(world):
    with pytest.raises(Http404):
        questions.question_ask(user=world.asker, listing=world.private_supply, body="Hello")
    world.supply.status = "paused"
    world.supply.save()
    with pytest.raises(Http404):
        questions.question_ask(user=world.asker, listing=world.supply, body="Hello")


@pytest.mark.parametrize("body", ["", "   \n ", "x" * (QUESTION_MAX_CHARS + 1)])
def test_an_empty_or_too_long_text_is_refused_by_field(world, body):
    with pytest.raises(ValidationError) as info:
        questions.question_ask(user=world.asker, listing=world.supply, body=body)
    assert set(info.value.message_dict) == {"body"}
    assert not QuestionMessage.objects.exists()


def test_a_member_of_two_organizations_says_which_asks(world):
    factories.MembershipFactory(organization=factories.OrganizationFactory(), user=world.asker)
    with pytest.raises(ValidationError) as info:
        questions.question_ask(user=world.asker, listing=world.supply, body="Hello")
    assert set(info.value.message_dict) == {"organization"}

    message = questions.question_ask(
        user=world.asker, listing=world.supply, body="Hello", organization_id=world.company_b.pk
    )
    assert message.thread.asking_organization == world.company_b


def test_only_the_lister_answers_and_facilitators_only_read(world):
    thread = questions.question_ask(user=world.asker, listing=world.supply, body="Q").thread
    with pytest.raises(PermissionDenied):
        questions.question_answer(user=world.asker, thread=thread, body="A")
    with pytest.raises(PermissionDenied):
        questions.question_reply(user=world.facilitator, thread=thread, body="A")
    for stranger in (world.outsider, world.analyst):
        with pytest.raises(Http404):
            questions.question_reply(user=stranger, thread=thread, body="A")
    assert thread.messages.count() == 1


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("lister", True),
        ("colleague_a", True),
        ("asker", True),
        ("colleague_b", True),
        ("facilitator", True),
        ("outsider", False),
        ("analyst", False),
    ],
)
def test_who_reads_a_thread(world, who, sees):
    thread = questions.question_ask(user=world.asker, listing=world.supply, body="Q").thread
    listed = questions.question_thread_list(user=getattr(world, who), listing=world.supply)
    if sees:
        assert questions.question_thread_get(user=getattr(world, who), thread_id=thread.pk)
        assert [view.thread.pk for view in listed] == [thread.pk]
    else:
        with pytest.raises(Http404):
            questions.question_thread_get(user=getattr(world, who), thread_id=thread.pk)
        assert listed == []


def test_another_asker_sees_only_its_own_thread(world):
    questions.question_ask(user=world.asker, listing=world.supply, body="Q from B")
    mine = questions.question_ask(user=world.outsider, listing=world.supply, body="Q from C")

    listed = questions.question_thread_list(user=world.outsider, listing=world.supply)
    assert [view.thread.pk for view in listed] == [mine.thread_id]
    for_lister = questions.question_thread_list(user=world.lister, listing=world.supply)
    assert sorted(view.asker_name for view in for_lister) == ["Asker 1", "Asker 2"]


def test_names_before_and_after_a_deal(world):
    thread = questions.question_ask(user=world.asker, listing=world.supply, body="Q").thread
    questions.question_answer(user=world.lister, thread=thread, body="A")

    as_lister = questions.question_thread_get(user=world.lister, thread_id=thread.pk)
    as_asker = questions.question_thread_get(user=world.asker, thread_id=thread.pk)
    as_facilitator = questions.question_thread_get(user=world.facilitator, thread_id=thread.pk)
    assert [m.who for m in as_lister.messages] == ["Asker 1", "Your organization"]
    assert [m.who for m in as_asker.messages] == ["Your organization", "The lister"]
    assert [m.who for m in as_facilitator.messages] == [B_NAME, A_NAME]

    deal = make_deal(world, world.supply)
    assert deal.supply_id == world.supply.pk

    as_lister = questions.question_thread_get(user=world.lister, thread_id=thread.pk)
    as_asker = questions.question_thread_get(user=world.asker, thread_id=thread.pk)
    assert as_lister.joined and [m.who for m in as_lister.messages][0] == B_NAME
    assert [m.who for m in as_asker.messages][1] == A_NAME
    on_deal = questions.question_threads_for_deal(deal=deal)
    assert [[m.who for m in view.messages] for view in on_deal] == [[B_NAME, A_NAME]]


def test_on_a_public_listing_the_lister_is_named_and_the_asker_is_not(world):
    thread = questions.question_ask(user=world.asker, listing=world.public_supply, body="Q").thread
    questions.question_answer(user=world.lister, thread=thread, body="A")

    as_lister = questions.question_thread_get(user=world.lister, thread_id=thread.pk)
    as_asker = questions.question_thread_get(user=world.asker, thread_id=thread.pk)
    assert [m.who for m in as_lister.messages] == ["Asker 1", "Your organization"]
    assert [m.who for m in as_asker.messages] == ["Your organization", A_NAME]


def test_a_deal_on_another_listing_or_with_another_company_joins_nothing(world):
    thread = questions.question_ask(user=world.asker, listing=world.supply, body="Q").thread
    make_deal(world, world.public_supply)

    thread.refresh_from_db()
    assert thread.joined_at is None
    assert questions.question_threads_for_deal(deal=make_deal(world, world.public_supply)) == []


def test_notifications_and_e_mails_name_nobody(world, django_capture_on_commit_callbacks):
    world.colleague_b.language = "ru"
    world.colleague_b.save()
    with django_capture_on_commit_callbacks(execute=True):
        thread = questions.question_ask(
            user=world.asker, listing=world.supply, body="Is it packaged?"
        ).thread
    asked = Notification.objects.filter(kind="question_asked")
    assert {row.recipient for row in asked} == {world.lister, world.colleague_a}
    assert all(row.actor is None for row in asked)
    for_lister = [m for m in mail.outbox if m.to[0] in {A_EMAIL, world.colleague_a.email}]
    assert len(for_lister) == 2
    for message in for_lister:
        assert "Asker 1" in message.body and "Is it packaged?" in message.body
        assert f"{settings.SITE_URL}/questions/{thread.pk}/" in message.body
        assert_absent(message.subject + message.body, secrets("b"), "e-mail to A")

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        questions.question_answer(user=world.lister, thread=thread, body="Yes, in bags.")
    answered = Notification.objects.filter(kind="question_answered")
    assert {row.recipient for row in answered} == {world.asker, world.colleague_b}
    assert len(mail.outbox) == 2
    for message in mail.outbox:
        assert "Yes, in bags." in message.body
        assert_absent(message.subject + message.body, secrets("a"), "e-mail to B")
    russian = next(m for m in mail.outbox if m.to == [world.colleague_b.email])
    assert "Yes, in bags." in russian.body
    for row in [*asked, *answered]:
        text = notifications.render(row)
        hidden = (
            secrets("b")
            if row.recipient.organizations.filter(pk=world.company_a.pk)
            else secrets("a")
        )
        assert_absent(text.subject + text.body, hidden, row.kind)
        assert_absent(notifications.headline(row), hidden, row.kind)


def test_the_lister_is_named_in_the_answer_e_mail_of_a_public_listing(
    world, django_capture_on_commit_callbacks
):
    thread = questions.question_ask(user=world.asker, listing=world.public_supply, body="Q").thread
    with django_capture_on_commit_callbacks(execute=True):
        questions.question_answer(user=world.lister, thread=thread, body="A")
    assert all(A_NAME in message.body for message in mail.outbox)
    assert_absent(
        "".join(
            notifications.render(row).body
            for row in Notification.objects.filter(kind="question_asked")
        ),
        secrets("b"),
    )


def test_unread_counts_for_the_lister(world):
    thread = questions.question_ask(user=world.asker, listing=world.supply, body="Q").thread
    assert questions.unread_count(user=world.lister, listing=world.supply) == 1
    assert questions.unread_count(user=world.asker, listing=world.supply) == 0

    questions.question_mark_read(user=world.colleague_a, thread=thread)
    assert questions.unread_count(user=world.lister, listing=world.supply) == 0

    questions.question_ask(user=world.asker, listing=world.supply, body="Q2")
    assert questions.unread_count(user=world.lister, listing=world.supply) == 1
    questions.question_answer(user=world.lister, thread=thread, body="A")
    assert questions.unread_count(user=world.lister, listing=world.supply) == 0
    (view,) = questions.question_thread_list(user=world.asker, listing=world.supply)
    assert view.unread


def test_a_supplier_asks_on_a_demand_and_the_deal_on_it_joins_the_thread(world):
    demand = factories.DemandListingFactory(
        organization=world.company_b, site=world.site_b, visibility="anonymous"
    )
    demand.materials.add(world.grain)
    thread = questions.question_ask(user=world.lister, listing=demand, body="Wet grain?").thread
    assert (thread.kind, thread.asking_organization) == ("demand", world.company_a)
    asked = Notification.objects.get(kind="question_asked", recipient=world.asker)
    assert notifications.render(asked).subject == (
        f"A question on your demand listing #{demand.pk}"
    )
    with pytest.raises(PermissionDenied):
        questions.question_ask(user=world.asker, listing=demand, body="Own listing")
    questions.question_answer(user=world.asker, thread=thread, body="Up to 25 %.")

    as_supplier = questions.question_thread_get(user=world.lister, thread_id=thread.pk)
    assert [m.who for m in as_supplier.messages] == ["Your organization", "The lister"]

    deal = deal_services.deal_create(
        user=world.facilitator,
        supply=world.supply,
        demand=demand,
        tonnes_per_period=Decimal("10"),
        start_date=date(2027, 2, 1),
        end_date=date(2027, 6, 30),
    )
    thread.refresh_from_db()
    assert thread.joined_at is not None
    (view,) = questions.question_threads_for_deal(deal=deal)
    assert [m.who for m in view.messages] == [A_NAME, B_NAME]
