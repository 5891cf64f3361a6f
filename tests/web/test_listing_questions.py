"""The question pages (symbiosis.views.questions) and the listing page's questions
section: who gets which answer, inline errors, and that no page, partial or deal
page shows either side's identity to the other before a deal."""

import pytest
from django.urls import reverse

from symbiosis import questions
from symbiosis.models import QuestionThread
from tests.question_world import (
    A_NAME,
    B_NAME,
    assert_absent,
    build_world,
    make_deal,
    secrets,
)
from tests.web.conftest import HTMX

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db, facilitator, analyst):
    return build_world(facilitator=facilitator, analyst=analyst)


def listing_url(w, listing=None):
    return reverse("market-listing", args=["supply", (listing or w.supply).pk])


def ask_url(w, listing=None):
    return reverse("question-ask", args=["supply", (listing or w.supply).pk])


def page(client, user, url, **kwargs):
    client.force_login(user)
    response = client.get(url, **kwargs)
    return response, response.content.decode()


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_b_asks_on_the_listing_page_and_sees_its_question_without_a(client, world, htmx):
    client.force_login(world.asker)
    response = client.post(ask_url(world), {"body": "Is it packaged?"}, **(HTMX if htmx else {}))

    if htmx:
        assert response.status_code == 200
        html = response.content.decode()
    else:
        assert response.status_code == 302
        assert response["Location"] == listing_url(world) + "#questions"
        html = client.get(listing_url(world)).content.decode()
    assert "Is it packaged?" in html and "Your organization" in html
    assert_absent(html, secrets("a"), "B's page")
    assert QuestionThread.objects.get().asking_organization == world.company_b


def test_the_question_form_warns_against_names(client, world):
    _response, html = page(client, world.asker, listing_url(world))
    assert "Do not give your name, company, phone or address" in html
    assert 'id="questions"' in html


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_an_empty_question_gets_an_inline_error_and_nothing_is_stored(client, world, htmx):
    client.force_login(world.asker)
    response = client.post(ask_url(world), {"body": "  "}, **(HTMX if htmx else {}))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="errorlist"' in html and "This field is required." in html
    assert not QuestionThread.objects.exists()


def test_a_too_long_question_keeps_its_text(client, world):
    client.force_login(world.asker)
    text = "word " * 500
    response = client.post(ask_url(world), {"body": text}, **HTMX)
    html = response.content.decode()
    assert "Ensure this value has at most" in html and "word word word" in html


@pytest.mark.parametrize(
    ("who", "status"),
    [("lister", 403), ("facilitator", 403), ("analyst", 403), ("outsider", 200)],
)
def test_who_may_post_a_question(client, world, who, status):
    client.force_login(getattr(world, who))
    response = client.post(ask_url(world), {"body": "Hello"}, **HTMX)
    assert response.status_code == status
    assert QuestionThread.objects.exists() == (status == 200)


def test_a_private_listing_is_not_found_for_questions(client, world):
    client.force_login(world.asker)
    response = client.post(ask_url(world, world.private_supply), {"body": "Hello"})
    assert response.status_code == 404
    assert_absent(response.content.decode(), secrets("a"))


def test_asking_needs_a_log_in_and_a_post(client, world):
    response = client.post(ask_url(world), {"body": "Hello"})
    assert response.status_code == 302 and reverse("login") in response["Location"]
    client.force_login(world.asker)
    assert client.get(ask_url(world)).status_code == 405


@pytest.fixture
def answered(world):
    thread = questions.question_ask(
        user=world.asker, listing=world.supply, body="Is it packaged?"
    ).thread
    questions.question_answer(user=world.lister, thread=thread, body="Yes, in 40 kg bags.")
    return thread


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
def test_who_opens_a_thread(client, world, answered, who, status):
    response, html = page(
        client, getattr(world, who), reverse("question-thread", args=[answered.pk])
    )
    assert response.status_code == status
    if status == 200:
        assert "Yes, in 40 kg bags." in html
    else:
        assert "Yes, in 40 kg bags." not in html
        assert_absent(html, secrets("a", "b"))


def test_anonymous_users_are_sent_to_log_in(client, world, answered):
    for url in (
        reverse("question-thread", args=[answered.pk]),
        reverse("question-reply", args=[answered.pk]),
    ):
        response = client.post(url, {"body": "x"}) if "reply" in url else client.get(url)
        assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_the_lister_sees_the_question_without_b_and_answers(client, world, htmx):
    thread = questions.question_ask(
        user=world.asker, listing=world.supply, body="Is it packaged?"
    ).thread
    response, html = page(client, world.lister, listing_url(world))
    assert 'data-testid="questions-unread"' in html and "Asker 1" in html
    assert_absent(html, secrets("b"), "A's listing page")

    response, html = page(client, world.lister, reverse("question-thread", args=[thread.pk]))
    assert "Is it packaged?" in html and "Asker 1" in html
    assert_absent(html, secrets("b"), "A's thread page")
    # Opened: no longer new.
    _response, html = page(client, world.lister, listing_url(world))
    assert 'data-testid="questions-unread"' not in html

    response = client.post(
        reverse("question-reply", args=[thread.pk]),
        {"body": "Yes, in bags."},
        **(HTMX if htmx else {}),
    )
    if htmx:
        assert response.status_code == 200
        assert "Yes, in bags." in response.content.decode()
        assert_absent(response.content.decode(), secrets("b"), "A's reply partial")
    else:
        assert response.status_code == 302
    assert thread.messages.last().side == "lister"


def test_b_reads_the_answer_with_a_still_unnamed(client, world, answered):
    for url in (listing_url(world), reverse("question-thread", args=[answered.pk])):
        for headers in ({}, HTMX):
            response, html = page(client, world.asker, url, **headers)
            assert response.status_code == 200
            assert "Yes, in 40 kg bags." in html
            assert_absent(html, secrets("a"), url)
    response, html = page(client, world.asker, reverse("notifications"))
    assert "An answer to your question" in html
    assert_absent(html, secrets("a"), "B's notifications")
    response, html = page(client, world.lister, reverse("notifications"))
    assert "A question on your listing" in html
    assert_absent(html, secrets("b"), "A's notifications")


def test_b_follows_up_on_the_thread_page(client, world, answered):
    client.force_login(world.colleague_b)
    response = client.post(
        reverse("question-reply", args=[answered.pk]), {"body": "Price?"}, **HTMX
    )
    assert response.status_code == 200
    assert [m.side for m in answered.messages.all()] == ["asker", "lister", "asker"]


def test_a_reply_error_is_inline(client, world, answered):
    client.force_login(world.lister)
    response = client.post(reverse("question-reply", args=[answered.pk]), {"body": ""}, **HTMX)
    assert response.status_code == 200 and 'class="errorlist"' in response.content.decode()
    assert answered.messages.count() == 2


@pytest.mark.parametrize(
    ("who", "status"), [("facilitator", 403), ("outsider", 404), ("analyst", 403)]
)
def test_only_the_two_companies_write(client, world, answered, who, status):
    client.force_login(getattr(world, who))
    response = client.post(reverse("question-reply", args=[answered.pk]), {"body": "Hi"})
    assert response.status_code == status
    assert answered.messages.count() == 2


def test_the_facilitator_reads_both_names(client, world, answered):
    _response, html = page(
        client, world.facilitator, reverse("question-thread", args=[answered.pk])
    )
    assert A_NAME in html and B_NAME in html
    assert 'name="body"' not in html


def test_the_thread_shows_on_the_deal_page_with_both_names(client, world, answered):
    deal = make_deal(world, world.supply)
    url = reverse("marketplace:deal-detail", args=[deal.pk])
    for user in (world.lister, world.asker):
        response, html = page(client, user, url)
        assert response.status_code == 200
        assert 'data-testid="deal-questions"' in html
        assert "Is it packaged?" in html and "Yes, in 40 kg bags." in html
        assert A_NAME in html and B_NAME in html
    # From then on the thread names both sides too.
    _response, html = page(client, world.lister, reverse("question-thread", args=[answered.pk]))
    assert B_NAME in html
    _response, html = page(client, world.outsider, url)
    assert "Is it packaged?" not in html
