"""/api/v1/questions/: ask on a listing, list one's threads, read and answer one, as the
pages do (tests/web/test_listing_questions.py): who gets which answer, field errors, and
that no answer names either side to the other before a deal (every answer is searched
for the other side's organization, users' names and e-mails, sites and addresses)."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from symbiosis import questions
from symbiosis.models import QuestionMessage, QuestionThread
from symbiosis.models.questions import QUESTION_MAX_CHARS
from tests import factories
from tests.question_world import (
    A_NAME,
    B_NAME,
    assert_absent,
    build_world,
    make_deal,
    secrets,
)

pytestmark = pytest.mark.django_db

LIST = "/api/v1/questions/"


def thread_url(thread) -> str:
    return f"/api/v1/questions/{thread.pk}/"


def messages_url(thread) -> str:
    return f"/api/v1/questions/{thread.pk}/messages/"


@pytest.fixture
def world(db, facilitator, analyst):
    return build_world(facilitator=facilitator, analyst=analyst)


@pytest.fixture
def answered(world):
    thread = questions.question_ask(
        user=world.asker, listing=world.supply, body="Is it packaged?"
    ).thread
    questions.question_answer(user=world.lister, thread=thread, body="Yes, in 40 kg bags.")
    return thread


def call(client_as, user, method, url, data=None):
    client = client_as(user)
    if method == "get":
        response = client.get(url, data or {})
    else:
        response = getattr(client, method)(url, data or {}, format="json")
    text = response.content.decode()
    return response, (json.loads(text) if text else None), text


def ask_body(listing, body="Is it packaged?", **extra):
    return {"listing_kind": "supply", "listing": listing.pk, "body": body, **extra}


# --- asking --------------------------------------------------------------------------------


def test_b_asks_and_reads_its_question_without_a(client_as, world):
    response, data, text = call(client_as, world.asker, "post", LIST, ask_body(world.supply))

    assert response.status_code == 201, text
    thread = QuestionThread.objects.get()
    assert thread.asking_organization == world.company_b
    assert data["id"] == thread.pk
    assert (data["listing_kind"], data["listing"], data["side"]) == (
        "supply",
        world.supply.pk,
        "asker",
    )
    assert data["lister_name"] == "The lister"
    assert data["may_write"] is True and data["unread"] is False
    assert [(m["who"], m["mine"], m["side"]) for m in data["messages"]] == [
        ("Your organization", True, "asker")
    ]
    assert_absent(text, secrets("a"), "B's answer")


def test_a_second_question_continues_the_thread(client_as, world, answered):
    response, data, _text = call(
        client_as, world.colleague_b, "post", LIST, ask_body(world.supply, "Price?")
    )
    assert response.status_code == 201
    assert data["id"] == answered.pk
    assert [m["body"] for m in data["messages"]] == [
        "Is it packaged?",
        "Yes, in 40 kg bags.",
        "Price?",
    ]


@pytest.mark.parametrize(
    ("who", "status"),
    [("lister", 403), ("colleague_a", 403), ("facilitator", 403), ("analyst", 403)],
)
def test_who_may_not_ask(client_as, world, who, status):
    response, _data, text = call(
        client_as, getattr(world, who), "post", LIST, ask_body(world.supply)
    )
    assert response.status_code == status
    assert not QuestionThread.objects.exists()


def test_anonymous_callers_are_refused(client_as, world, answered):
    for method, url, body in [
        ("get", LIST, None),
        ("post", LIST, ask_body(world.supply)),
        ("get", thread_url(answered), None),
        ("get", messages_url(answered), None),
        ("post", messages_url(answered), {"body": "Hi"}),
    ]:
        response, _data, text = call(client_as, None, method, url, body)
        assert response.status_code in (401, 403), url
        assert_absent(text, secrets("a", "b"), url)
    assert QuestionMessage.objects.count() == 2


@pytest.mark.parametrize("listing", ["private", "missing"])
def test_a_listing_one_may_not_see_is_a_field_error_like_a_missing_one(client_as, world, listing):
    pk = world.private_supply.pk if listing == "private" else 987654
    body = {"listing_kind": "supply", "listing": pk, "body": "Hello"}
    response, data, text = call(client_as, world.asker, "post", LIST, body)

    assert response.status_code == 400
    assert data == {"listing": ["No such listing."]}
    assert_absent(text, secrets("a"))
    assert not QuestionThread.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"body": ""}, "body"),
        ({"body": "   "}, "body"),
        ({"body": "x" * (QUESTION_MAX_CHARS + 1)}, "body"),
        ({"listing_kind": "service"}, "listing_kind"),
        ({"listing": "one"}, "listing"),
    ],
)
def test_bad_questions_are_field_errors_and_nothing_is_stored(client_as, world, body, field):
    response, data, _text = call(
        client_as, world.asker, "post", LIST, {**ask_body(world.supply), **body}
    )
    assert response.status_code == 400
    assert field in data
    assert not QuestionThread.objects.exists()


def test_a_member_of_several_organizations_says_which_asks(client_as, world):
    company_c = factories.OrganizationFactory(name="Third Quiet LLP")
    factories.MembershipFactory(organization=company_c, user=world.asker)

    response, data, _text = call(client_as, world.asker, "post", LIST, ask_body(world.supply))
    assert response.status_code == 400 and "organization" in data
    # The lister's organization, or one the user is no member of, asks nothing.
    for other in (world.company_a.pk, factories.OrganizationFactory().pk):
        response, data, _text = call(
            client_as, world.asker, "post", LIST, ask_body(world.supply, organization=other)
        )
        assert response.status_code == 400 and "organization" in data
    assert not QuestionThread.objects.exists()

    response, data, _text = call(
        client_as, world.asker, "post", LIST, ask_body(world.supply, organization=company_c.pk)
    )
    assert response.status_code == 201
    assert QuestionThread.objects.get().asking_organization == company_c
    assert data["asker_name"] == "Third Quiet LLP"  # its own


def test_a_question_on_a_demand(client_as, world):
    demand = factories.DemandListingFactory(
        organization=world.company_a, site=world.site_a, visibility="anonymous"
    )
    body = {"listing_kind": "demand", "listing": demand.pk, "body": "Which grade?"}
    response, data, text = call(client_as, world.asker, "post", LIST, body)
    assert response.status_code == 201, text
    assert (data["listing_kind"], data["listing"]) == ("demand", demand.pk)
    assert_absent(text, secrets("a"))


# --- the lister's side -----------------------------------------------------------------------


def test_the_lister_lists_reads_and_answers_without_b(client_as, world):
    thread = questions.question_ask(
        user=world.asker, listing=world.supply, body="Is it packaged?"
    ).thread

    response, data, text = call(client_as, world.lister, "get", LIST)
    assert response.status_code == 200
    assert data["count"] == 1
    row = data["results"][0]
    assert (row["id"], row["side"], row["asker_name"], row["unread"]) == (
        thread.pk,
        "lister",
        "Asker 1",
        True,
    )
    assert row["message_count"] == 1 and row["answered_at"] is None
    assert_absent(text, secrets("b"), "A's list")

    response, data, text = call(client_as, world.lister, "get", thread_url(thread))
    assert response.status_code == 200
    assert [(m["who"], m["body"]) for m in data["messages"]] == [("Asker 1", "Is it packaged?")]
    assert_absent(text, secrets("b"), "A's thread")
    # Read: no longer new, for A's colleagues too (the side reads it), not for B.
    _response, data, _text = call(client_as, world.colleague_a, "get", LIST, {"unread": "true"})
    assert data["count"] == 0

    response, data, text = call(
        client_as, world.lister, "post", messages_url(thread), {"body": "Yes, in bags."}
    )
    assert response.status_code == 201
    assert (data["who"], data["mine"], data["side"]) == ("Your organization", True, "lister")
    assert_absent(text, secrets("b"), "A's reply")
    thread.refresh_from_db()
    assert thread.answered_at is not None


def test_b_reads_the_answer_with_a_still_unnamed(client_as, world, answered):
    _response, data, text = call(client_as, world.asker, "get", LIST)
    assert data["results"][0]["unread"] is True
    assert data["results"][0]["lister_name"] == "The lister"
    assert_absent(text, secrets("a"), "B's list")

    for url in (messages_url(answered), thread_url(answered)):
        response, data, text = call(client_as, world.asker, "get", url)
        assert response.status_code == 200
        assert "Yes, in 40 kg bags." in text
        assert_absent(text, secrets("a"), url)
    assert [(m["who"], m["side"]) for m in data["messages"]] == [
        ("Your organization", "asker"),
        ("The lister", "lister"),
    ]
    _response, data, _text = call(client_as, world.asker, "get", LIST)
    assert data["results"][0]["unread"] is False


def test_reading_the_messages_marks_the_thread_read(client_as, world, answered):
    call(client_as, world.asker, "get", messages_url(answered))
    answered.refresh_from_db()
    assert answered.asker_read_at >= answered.last_message_at


def test_b_follows_up_in_the_thread(client_as, world, answered):
    response, data, _text = call(
        client_as, world.colleague_b, "post", messages_url(answered), {"body": "Price?"}
    )
    assert response.status_code == 201
    assert (data["who"], data["side"]) == ("Your organization", "asker")
    assert [m.side for m in answered.messages.all()] == ["asker", "lister", "asker"]


def test_a_public_listing_names_its_owner_and_never_the_asker(client_as, world):
    thread = questions.question_ask(
        user=world.asker, listing=world.public_supply, body="Dry?"
    ).thread
    questions.question_answer(user=world.lister, thread=thread, body="Yes.")

    _response, data, _text = call(client_as, world.asker, "get", thread_url(thread))
    assert data["lister_name"] == A_NAME
    assert data["messages"][1]["who"] == A_NAME
    _response, data, text = call(client_as, world.lister, "get", thread_url(thread))
    assert data["asker_name"] == "Asker 1"
    assert_absent(text, secrets("b"))


def test_askers_are_numbered_per_listing(client_as, world):
    first = questions.question_ask(user=world.asker, listing=world.supply, body="One?").thread
    questions.question_ask(user=world.outsider, listing=world.public_supply, body="Two?")
    second = questions.question_ask(user=world.outsider, listing=world.supply, body="Three?")

    _response, data, text = call(client_as, world.lister, "get", LIST)
    names = {row["id"]: row["asker_name"] for row in data["results"]}
    assert names[first.pk] == "Asker 1"
    assert names[second.thread_id] == "Asker 2"
    assert sorted(names.values()) == ["Asker 1", "Asker 1", "Asker 2"]
    assert_absent(text, secrets("b"))


def test_both_are_named_once_a_deal_followed(client_as, world, answered):
    make_deal(world, world.supply)
    _response, data, _text = call(client_as, world.lister, "get", thread_url(answered))
    assert data["joined"] is True and data["asker_name"] == B_NAME
    _response, data, _text = call(client_as, world.asker, "get", thread_url(answered))
    assert data["lister_name"] == A_NAME


# --- who reads and writes ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("lister", 200),
        ("colleague_a", 200),
        ("asker", 200),
        ("colleague_b", 200),
        ("facilitator", 200),
        ("outsider", 404),
        ("analyst", 403),
    ],
)
def test_who_reads_a_thread(client_as, world, answered, who, status):
    for url in (thread_url(answered), messages_url(answered)):
        response, _data, text = call(client_as, getattr(world, who), "get", url)
        assert response.status_code == status, url
        if status != 200:
            assert "Yes, in 40 kg bags." not in text
            assert_absent(text, secrets("a", "b"))


@pytest.mark.parametrize(
    ("who", "status"), [("facilitator", 403), ("outsider", 404), ("analyst", 403)]
)
def test_only_the_two_companies_write(client_as, world, answered, who, status):
    response, _data, text = call(
        client_as, getattr(world, who), "post", messages_url(answered), {"body": "Hi"}
    )
    assert response.status_code == status
    assert answered.messages.count() == 2
    assert_absent(text, secrets("a", "b"))


def test_the_facilitator_reads_every_thread_with_both_names(client_as, world, answered):
    questions.question_ask(user=world.outsider, listing=world.supply, body="Other?")
    _response, data, _text = call(client_as, world.facilitator, "get", LIST)
    assert data["count"] == 2
    assert {row["side"] for row in data["results"]} == {"facilitator"}
    assert not any(row["unread"] or row["may_write"] for row in data["results"])

    before = QuestionThread.objects.values_list("lister_read_at", "asker_read_at").get(
        pk=answered.pk
    )
    _response, data, _text = call(client_as, world.facilitator, "get", thread_url(answered))
    assert (data["asker_name"], data["lister_name"]) == (B_NAME, A_NAME)
    # A facilitator's reading marks nothing read for either side.
    after = QuestionThread.objects.values_list("lister_read_at", "asker_read_at").get(
        pk=answered.pk
    )
    assert before == after


def test_an_outsider_lists_nothing_and_analysts_are_refused(client_as, world, answered):
    _response, data, text = call(client_as, world.outsider, "get", LIST)
    assert data["count"] == 0
    assert_absent(text, secrets("a", "b"))
    response, _data, _text = call(client_as, world.analyst, "get", LIST)
    assert response.status_code == 403


def test_a_reply_error_is_a_field_error(client_as, world, answered):
    response, data, _text = call(
        client_as, world.lister, "post", messages_url(answered), {"body": ""}
    )
    assert response.status_code == 400 and "body" in data
    assert answered.messages.count() == 2


def test_no_follow_up_once_the_listing_left_the_market(client_as, world, answered):
    world.supply.status = "closed"
    world.supply.save(update_fields=["status"])
    response, data, text = call(
        client_as, world.asker, "post", messages_url(answered), {"body": "Still there?"}
    )
    assert response.status_code == 400 and "body" in data
    assert answered.messages.count() == 2
    # The thread itself stays readable, still without A.
    response, _data, text = call(client_as, world.asker, "get", thread_url(answered))
    assert response.status_code == 200
    assert_absent(text, secrets("a"))


# --- the list's filters ----------------------------------------------------------------------


def test_the_list_by_side_and_news(client_as, world, answered):
    # B's company also lists something A asks about: B's user reads both sides.
    own = factories.SupplyListingFactory(
        organization=world.company_b, site=world.site_b, material=world.grain, visibility="public"
    )
    mine = questions.question_ask(user=world.lister, listing=own, body="Wet?").thread

    def ids(**params):
        _response, data, _text = call(client_as, world.asker, "get", LIST, params)
        return {row["id"] for row in data["results"]}

    assert ids() == {answered.pk, mine.pk}
    assert ids(side="asker") == {answered.pk}
    assert ids(side="lister") == {mine.pk}
    assert ids(unread="true") == {answered.pk, mine.pk}
    call(client_as, world.asker, "get", thread_url(mine))
    assert ids(unread="true") == {answered.pk}
    assert ids(unread="false") == {mine.pk}


@pytest.mark.parametrize("params", [{"side": "facilitator"}, {"unread": "maybe"}])
def test_a_bad_filter_is_a_field_error(client_as, world, params):
    response, data, _text = call(client_as, world.asker, "get", LIST, params)
    assert response.status_code == 400
    assert set(data) == set(params)


def test_newest_message_first(client_as, world, answered):
    later = questions.question_ask(user=world.asker, listing=world.public_supply, body="x").thread
    QuestionThread.objects.filter(pk=answered.pk).update(
        last_message_at=timezone.now() + timedelta(minutes=5)
    )
    _response, data, _text = call(client_as, world.asker, "get", LIST)
    assert [row["id"] for row in data["results"]] == [answered.pk, later.pk]


def test_the_api_routes_are_named():
    assert reverse("api:question-list") == LIST
    assert reverse("api:question-messages", args=[1]) == "/api/v1/questions/1/messages/"
