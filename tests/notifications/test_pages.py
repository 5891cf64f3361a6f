"""The notifications page, its links, "mark all as read", and the menu's counts."""

from datetime import date
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from marketplace import services
from optimizer import decisions
from symbiosis import notifications
from symbiosis import services as services_accounts
from symbiosis.models import Notification, User
from symbiosis.role_context import Navigation, navigation
from tests import factories

pytestmark = pytest.mark.django_db

PAGE = "/notifications/"


def _notify(user, kind="changed", url="/deals/", **params):
    return notifications.notify(recipients=[user], kind=kind, params=params, url=url)[0]


# --- permissions ----------------------------------------------------------------------


def test_anonymous_users_are_sent_to_log_in(client):
    for url, method in [
        (PAGE, "get"),
        ("/notifications/1/", "get"),
        ("/notifications/read-all/", "post"),
    ]:
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_user_sees_and_opens_only_their_own(client, member_a, member_b):
    theirs = _notify(member_b, kind="message", url="/deals/9/", deal=9, who="Company B")
    client.force_login(member_a)

    assert "Company B" not in client.get(PAGE).content.decode()
    assert client.get(f"/notifications/{theirs.pk}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


@pytest.mark.parametrize("garbage", ["x", "9" * 30, "-1"])
def test_a_garbled_notification_id_is_not_found(client, member_a, garbage):
    client.force_login(member_a)
    assert client.get(f"/notifications/{garbage}/").status_code == 404


def test_mark_all_as_read_is_a_post(client, member_a):
    client.force_login(member_a)
    assert client.get("/notifications/read-all/").status_code == 405


# --- the page ---------------------------------------------------------------------------


def test_the_page_lists_newest_first_unread_in_bold_each_with_its_link(client, member_a):
    old = _notify(member_a, kind="message", url="/deals/1/", deal=1, who="Old Co", body="x")
    new = _notify(member_a, kind="message", url="/deals/2/", deal=2, who="New Co", body="y")
    Notification.objects.filter(pk=old.pk).update(read_at=old.created_at)
    client.force_login(member_a)

    html = client.get(PAGE).content.decode()

    assert html.index("New Co") < html.index("Old Co")
    assert f'<a href="/notifications/{new.pk}/"><strong>Deal #2: a message from New Co' in html
    assert f'<a href="/notifications/{old.pk}/">Deal #1: a message from Old Co</a>' in html
    assert "1 unread notification." in html
    assert "Mark all as read" in html


def test_the_page_is_in_the_page_s_language(client, member_a):
    _notify(member_a, kind="message", url="/deals/2/", deal=2, who="New Co", body="y")
    client.force_login(member_a)

    html = client.get(PAGE, HTTP_ACCEPT_LANGUAGE="ru").content.decode()

    assert "Сделка №2: сообщение от New Co" in html
    assert "Уведомления" in html


def test_opening_a_notification_marks_it_read_and_goes_where_it_leads(client, member_a):
    row = _notify(member_a, url="/deals/7/#delivery-3")
    client.force_login(member_a)

    response = client.get(f"/notifications/{row.pk}/")

    assert response.status_code == 302 and response["Location"] == "/deals/7/#delivery-3"
    row.refresh_from_db()
    assert row.read_at is not None
    assert notifications.notifications_unread_count(user=member_a) == 0


def test_mark_all_as_read(client, member_a, member_b):
    for _ in range(3):
        _notify(member_a)
    theirs = _notify(member_b)
    client.force_login(member_a)

    response = client.post("/notifications/read-all/", follow=True)

    assert "All notifications are marked as read." in response.content.decode()
    assert notifications.notifications_unread_count(user=member_a) == 0
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_the_page_is_paginated(client, member_a):
    for n in range(notifications.PAGE_SIZE + 2):
        _notify(member_a, kind="message", url=f"/deals/{n}/", deal=n, who=f"Co {n}", body="")
    client.force_login(member_a)

    first = client.get(PAGE).content.decode()
    second = client.get(PAGE + "?page=2").content.decode()

    newest = notifications.PAGE_SIZE + 1
    assert "page 1 of 2" in first and f"a message from Co {newest}<" in first
    assert "a message from Co 1<" not in first and "a message from Co 0<" not in first
    assert "a message from Co 1<" in second and "a message from Co 0<" in second


def test_an_empty_page_says_what_will_appear_and_where_to_go(client, analyst):
    client.force_login(analyst)
    html = client.get(PAGE).content.decode()
    assert "No notifications yet." in html and 'href="/"' in html


def test_a_user_without_e_mail_sending_still_sees_every_step(
    client, refusing_mail, make_deal, actors, django_capture_on_commit_callbacks
):
    deal = make_deal("draft")
    with django_capture_on_commit_callbacks(execute=True):
        services.deal_offer(user=actors["supplier"], deal=deal)
    client.force_login(actors["receiver"])

    html = client.get(PAGE).content.decode()

    assert f"Deal #{deal.pk}: Company A sends you an offer" in html


# --- the menu -------------------------------------------------------------------------------


def _menu(client, user) -> str:
    client.force_login(user)
    html = client.get("/").content.decode()
    return html.split("</nav>")[0]


def test_company_users_get_introductions_deals_and_the_bell_with_counts(
    client, make_deal, actors, open_proposal, facilitator
):
    decisions.proposal_approve(user=facilitator, proposal=open_proposal)  # one introduction
    make_deal("offered", supplier_accepted_at=timezone.now())  # A's offer, for B to answer
    active = make_deal("active")
    services.delivery_log(
        user=actors["supplier"], deal=active, date=date(2026, 3, 2), ticket_number="T1", tonnes=5
    )

    receiver = _menu(client, actors["receiver"])
    supplier = _menu(client, actors["supplier"])

    assert 'Introductions <span class="count">1<' in receiver
    # B answers the offer, and confirms the delivery A logged.
    assert 'Deals <span class="count">2<' in receiver
    assert 'Introductions <span class="count">1<' in supplier
    # A waits on B for both.
    assert 'data-nav="deals">Deals</a>' in supplier
    assert "Deliveries to review" not in receiver
    assert 'data-nav="notifications"' in receiver


def test_facilitators_get_deliveries_to_review_and_no_company_items(
    client, make_deal, actors, facilitator
):
    active = make_deal("active")
    services.delivery_log(
        user=actors["supplier"], deal=active, date=date(2026, 3, 2), ticket_number="T1", tonnes=45
    )

    menu = _menu(client, facilitator)

    assert 'Deliveries to review <span class="count">1<' in menu
    assert menu.index("Runs") < menu.index("Deliveries to review") < menu.index("City")
    assert 'data-nav="deals"' not in menu and 'data-nav="introductions"' not in menu


def test_city_analysts_get_neither_company_nor_review_items(client, analyst):
    menu = _menu(client, analyst)
    assert 'data-nav="introductions"' not in menu and 'data-nav="reviews"' not in menu
    assert 'data-nav="notifications"' in menu


def test_the_bell_counts_unread_notifications(client, member_a):
    _notify(member_a)
    _notify(member_a)
    assert '<span class="count">2<span class="visually-hidden"> unread' in _menu(client, member_a)


@pytest.mark.parametrize(
    ("who", "queries"),
    # memberships, then one COUNT per figure: introductions, offers and amendments,
    # deliveries to confirm, unread; a facilitator: reviews, unread.
    [("receiver", 5), ("facilitator", 3), ("analyst", 2)],
)
def test_the_menu_costs_a_few_count_queries(
    django_assert_num_queries, make_deal, actors, who, queries
):
    make_deal("offered")
    user = actors[who]
    user._group_names = set(user.groups.values_list("name", flat=True))  # roles() read them
    navigation = Navigation(user)

    with django_assert_num_queries(queries):
        shown = [navigation.unread, navigation.reviews if navigation.viewer.is_facilitator else 0]
        if navigation.is_company:
            shown += [navigation.introductions, navigation.deals]


def test_a_page_pays_for_the_menu_once(client, django_assert_max_num_queries, make_deal, actors):
    make_deal("offered")
    client.force_login(actors["receiver"])
    client.get(reverse("notifications"))  # warm up: session, content types

    with django_assert_max_num_queries(14):
        response = client.get(reverse("notifications"))
    assert response.status_code == 200


def test_a_template_that_shows_no_menu_pays_nothing_for_it(rf, django_assert_num_queries, actors):
    request = rf.get("/")
    request.user = actors["receiver"]
    # Every template rendered with a request gets the processor's context (htmx
    # fragments too); the counts are read only where base.html shows them.
    with django_assert_num_queries(0):
        context = navigation(request)
    assert isinstance(context["navigation"], Navigation)


# --- the language of e-mails -----------------------------------------------------------------


def test_switching_the_language_while_logged_in_stores_it(client, member_a):
    client.force_login(member_a)

    response = client.post("/i18n/setlang/", {"language": "ru", "next": "/"})

    assert response.status_code == 302
    member_a.refresh_from_db()
    assert member_a.language == "ru"
    client.post("/i18n/setlang/", {"language": "xx", "next": "/"})
    member_a.refresh_from_db()
    assert member_a.language == "ru"


def test_switching_the_language_logged_out_works_as_before(client):
    response = client.post("/i18n/setlang/", {"language": "ru", "next": "/"})
    assert response.status_code == 302 and response.cookies["django_language"].value == "ru"


def test_a_sign_up_in_russian_makes_a_russian_speaking_user(client, committed):
    data = {
        "email": "founder@medeu.kz",
        "password1": "Steppe-eagle-2027",
        "password2": "Steppe-eagle-2027",
        "organization_name": "Medeu Bakery",
        "bin": factories.valid_bin(5151),
        "sector": "C",
        "kind": "company",
    }
    with committed():
        client.post("/accounts/signup/", data, HTTP_ACCEPT_LANGUAGE="ru")

    confirmation = mail.outbox[-1]
    assert confirmation.subject == "Подтвердите регистрацию на «Симбиоз Алматы»"
    link = confirmation.body.split("http://testserver")[1].split()[0]
    client.post(link)
    assert User.objects.get(email="founder@medeu.kz").language == "ru"


def test_held_deliveries_count_for_review_until_released(make_deal, actors, facilitator):
    active = make_deal("active")
    held = services.delivery_log(
        user=actors["supplier"],
        deal=active,
        date=date(2026, 3, 2),
        ticket_number="T1",
        tonnes=Decimal(45),
    )
    assert Navigation(facilitator).reviews == 1
    services.delivery_release(user=facilitator, delivery=held)
    assert Navigation(facilitator).reviews == 0
    assert Navigation(actors["receiver"]).deals == 1  # now B confirms it


def test_an_invitation_is_written_in_the_invitee_s_language(committed, admin_a, company_a):
    invitee = factories.UserFactory(email="colleague@example.kz", language="ru")

    with committed():
        services_accounts.invitation_send(
            user=admin_a,
            organization=company_a,
            email=invitee.email,
            role="member",
            accept_url=lambda token: f"http://testserver/accounts/invitation/{token}/",
        )

    assert mail.outbox[-1].subject == "Присоединяйтесь к «Company A» на «Симбиозе Алматы»"
    assert "http://testserver/accounts/invitation/" in mail.outbox[-1].body
    row = Notification.objects.get(kind="invitation")
    assert row.recipient is None and row.private_params == {}  # the link is gone once sent


def test_a_new_account_from_an_invitation_takes_the_page_language(
    client, committed, admin_a, company_a
):
    with committed():
        _invitation, token = services_accounts.invitation_send(
            user=admin_a,
            organization=company_a,
            email="new@example.kz",
            role="member",
            accept_url=lambda token: f"http://testserver/accounts/invitation/{token}/",
        )
    client.post(
        f"/accounts/invitation/{token}/",
        {"password1": "Steppe-eagle-2027", "password2": "Steppe-eagle-2027"},
        HTTP_ACCEPT_LANGUAGE="ru",
    )

    assert User.objects.get(email="new@example.kz").language == "ru"
