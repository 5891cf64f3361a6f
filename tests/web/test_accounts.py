"""Sign-up, password reset, invitations, roles, organization details."""

import hashlib
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from symbiosis.models import Invitation, Membership, Organization, SignupRequest, User
from tests import factories
from tests.factories import valid_bin
from tests.web.conftest import HTMX

pytestmark = pytest.mark.django_db

PASSWORD = "Steppe-eagle-2027"


@pytest.fixture(autouse=True)
def _requests_commit(monkeypatch, django_capture_on_commit_callbacks):
    """Each request's on-commit callbacks run as the request ends, as they do when a
    real request commits: sign-up and invitation e-mails are sent by a Celery task
    queued on commit (run in this process by tests/conftest.py), so they reach
    mail.outbox then, and a request that rolls back sends nothing."""
    original = Client.request

    def request(self, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return original(self, **kwargs)

    monkeypatch.setattr(Client, "request", request)


def signup_data(**overrides):
    data = {
        "email": "Aigerim@Example.kz",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "organization_name": "Medeu Bakery",
        "bin": valid_bin(123456),
        "sector": "C",
        "kind": "company",
    }
    data.update(overrides)
    return data


# --- sign-up ----------------------------------------------------------------------------


def _confirm_link(message) -> str:
    return re.search(r"https?://[^/]+(/accounts/signup/\S+/)", message.body).group(1)


def test_sign_up_confirms_the_address_then_makes_the_user_and_organization(client):
    response = client.post("/accounts/signup/", signup_data())
    assert response.status_code == 200
    assert "Check your mailbox" in response.content.decode()
    # Nothing exists until the address is confirmed.
    assert not User.objects.exists()
    assert not Organization.objects.exists()
    assert mail.outbox[-1].to == ["aigerim@example.kz"]
    link = _confirm_link(mail.outbox[-1])
    page = client.get(link)
    assert page.status_code == 200
    assert b"Medeu Bakery" in page.content
    assert not User.objects.exists()  # opening it (a mail scanner) makes nothing
    response = client.post(link)
    assert response.status_code == 302
    assert response["Location"] == "/sites/new/"
    user = User.objects.get()
    assert user.email == "aigerim@example.kz"
    assert user.check_password(PASSWORD)
    membership = Membership.objects.get()
    assert membership.user == user
    assert membership.role == "admin"
    assert membership.organization.name == "Medeu Bakery"
    assert client.get("/").context["user"] == user
    # The link is used up, and its row keeps no password hash.
    client.logout()
    again = client.post(link)
    assert again.status_code == 410
    assert b"confirmed already" in again.content
    assert User.objects.count() == 1
    assert SignupRequest.objects.get().password == ""


def test_sign_up_stores_only_a_hash_of_the_link_token(client):
    client.post("/accounts/signup/", signup_data())
    token = _confirm_link(mail.outbox[-1]).rstrip("/").rsplit("/", 1)[1]
    row = SignupRequest.objects.get()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(list(SignupRequest.objects.values_list()))
    assert row.password.startswith("md5$")  # the test hasher: a hash, not the password


def test_sign_up_answers_alike_for_a_known_address(client, member_a):
    # Regression: sign-up said "An account with this e-mail address exists".
    new = client.post("/accounts/signup/", signup_data(email="newcomer@example.kz"), **HTMX)
    known = client.post(
        "/accounts/signup/",
        signup_data(email=member_a.email.upper(), bin=valid_bin(123457)),
        **HTMX,
    )
    assert new.status_code == known.status_code == 200
    assert new.content.decode().replace("newcomer@example.kz", "ADDRESS") == (
        known.content.decode().replace(member_a.email, "ADDRESS")
    )
    # Only the address's owner learns that it has an account: by e-mail.
    note = mail.outbox[-1]
    assert note.to == [member_a.email]
    assert "You have an account" in note.body
    assert "/accounts/password_reset/" in note.body
    assert "/accounts/signup/" not in note.body
    assert Organization.objects.count() == 1  # member_a's own
    assert not SignupRequest.objects.filter(email=member_a.email).exists()


def test_a_sign_up_link_does_nothing_once_the_address_has_an_account(client, member_a):
    client.post("/accounts/signup/", signup_data(email="twice@example.kz"))
    first = _confirm_link(mail.outbox[-1])
    client.post("/accounts/signup/", signup_data(email="twice@example.kz", bin=valid_bin(9876)))
    second = _confirm_link(mail.outbox[-1])
    assert client.post(first).status_code == 302
    client.logout()
    response = client.post(second)
    assert response.status_code == 410
    assert b"account with this e-mail address exists" in response.content
    assert Organization.objects.filter(bin=valid_bin(9876)).count() == 0


def test_an_expired_sign_up_link_is_refused(client):
    client.post("/accounts/signup/", signup_data())
    SignupRequest.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.post(_confirm_link(mail.outbox[-1]))
    assert response.status_code == 410
    assert b"expired" in response.content
    assert not User.objects.exists()


def test_a_bin_taken_before_confirming_creates_nothing(client):
    client.post("/accounts/signup/", signup_data())
    factories.OrganizationFactory(bin=valid_bin(123456))
    response = client.post(_confirm_link(mail.outbox[-1]))
    assert response.status_code == 200
    assert b"BIN already exists" in response.content
    assert not User.objects.exists()
    assert SignupRequest.objects.get().confirmed_at is None


def test_a_forged_sign_up_link_is_refused(client):
    response = client.get("/accounts/signup/forged-token/")
    assert response.status_code == 410
    assert b"not valid" in response.content


def bad_bin():
    good = valid_bin(123456)
    return good[:11] + str((int(good[11]) + 1) % 10)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"bin": "12345"}, "bin", "exactly 12 digits"),
        ({"bin": "BAD"}, "bin", "check digit"),
        ({"password2": "something-else-9"}, "password2", "differ"),
        ({"password1": "123", "password2": "123"}, "password1", "too short"),
        ({"email": "not-an-address"}, "email", "valid email"),
        ({"organization_name": ""}, "organization_name", "required"),
    ],
)
def test_bad_sign_up_shows_inline_errors_and_saves_nothing(client, overrides, field, message):
    if overrides.get("bin") == "BAD":
        overrides["bin"] = bad_bin()
    response = client.post("/accounts/signup/", signup_data(**overrides), **HTMX)
    text = response.content.decode()
    assert response.status_code == 200
    assert text.lstrip().startswith("<form")
    field_html = text.split(f'id="field-{field}"', 1)[1].split('class="field', 1)[0]
    assert message in field_html
    assert not User.objects.exists()
    assert not Organization.objects.exists()


def test_a_taken_bin_saves_no_user_either(client, company_b):
    response = client.post("/accounts/signup/", signup_data(bin=company_b.bin), **HTMX)
    field_html = response.content.decode().split('id="field-bin"', 1)[1]
    assert "already exists" in field_html.split('class="field', 1)[0]
    assert not User.objects.filter(email="aigerim@example.kz").exists()
    assert not SignupRequest.objects.exists()
    assert not mail.outbox


def test_a_logged_in_user_is_sent_home_from_sign_up(client_as, member_a):
    assert client_as(member_a).get("/accounts/signup/")["Location"] == "/"


# --- password reset -------------------------------------------------------------------------


def test_password_reset_by_email(client, member_a):
    response = client.post("/accounts/password_reset/", {"email": member_a.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    assert b"Choose a new password" in form_page.content
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "A-new-steppe-pass-1", "new_password2": "A-new-steppe-pass-1"},
    )
    assert done.status_code == 302
    member_a.refresh_from_db()
    assert member_a.check_password("A-new-steppe-pass-1")


def test_password_reset_pages_use_our_templates(client):
    text = client.get("/accounts/password_reset/").content.decode()
    assert "Reset your password" in text
    assert "Django administration" not in text


def test_password_change_pages_use_our_templates(client_as, member_a):
    client = client_as(member_a)
    text = client.get("/accounts/password_change/").content.decode()
    assert "Change your password" in text
    assert "revokes all your API tokens" in text
    assert "Django administration" not in text
    done = client.get("/accounts/password_change/done/").content.decode()
    assert "Your new password is saved" in done
    assert "Django administration" not in done


# --- the organization page, invitations and roles ------------------------------------------


def test_organization_page_permissions(client, client_as, company_a, company_b, member_a):
    assert client.get(f"/organizations/{company_a.pk}/")["Location"].startswith("/accounts/login/")
    client = client_as(member_a)
    assert client.get(f"/organizations/{company_b.pk}/").status_code == 404
    page = client.get(f"/organizations/{company_a.pk}/")
    assert page.status_code == 200
    assert b"Invite a colleague" not in page.content


@pytest.mark.parametrize("who", ["facilitator", "analyst"])
def test_staff_cannot_open_a_company_page(client_as, request, company_a, who):
    user = request.getfixturevalue(who)
    assert client_as(user).get(f"/organizations/{company_a.pk}/").status_code == 404


def test_only_an_admin_invites(client_as, company_a, member_a):
    response = client_as(member_a).post(
        f"/organizations/{company_a.pk}/invite/", {"email": "x@example.kz", "role": "member"}
    )
    assert response.status_code == 403
    assert not mail.outbox


def _invite(client, organization, email="colleague@example.kz", role="member"):
    response = client.post(
        f"/organizations/{organization.pk}/invite/", {"email": email, "role": role}, **HTMX
    )
    assert response.status_code == 200
    assert "Invitation sent" in response.content.decode()
    return re.search(r"https?://[^/]+(/accounts/invitation/\S+/)", mail.outbox[-1].body).group(1)


def test_an_invited_colleague_joins_with_a_new_account(client, client_as, company_a, admin_a):
    link = _invite(client_as(admin_a), company_a, role="admin")
    assert company_a.name in mail.outbox[0].subject
    client.logout()
    page = client.get(link)
    assert b"Choose a password" in page.content
    response = client.post(link, {"password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302
    membership = Membership.objects.get(user__email="colleague@example.kz")
    assert membership.organization == company_a
    assert membership.role == "admin"
    assert client.get("/").context["user"] == membership.user


def test_a_bad_password_on_accepting_saves_nothing(client, client_as, company_a, admin_a):
    link = _invite(client_as(admin_a), company_a)
    client.logout()
    response = client.post(link, {"password1": "short", "password2": "short"})
    assert response.status_code == 200
    assert not User.objects.filter(email="colleague@example.kz").exists()


def test_an_existing_user_logs_in_to_accept(client, client_as, company_a, admin_a, member_b):
    link = _invite(client_as(admin_a), company_a, email=member_b.email)
    client.logout()
    page = client.get(link)
    assert b"log in to accept" in page.content
    assert client.post(link).status_code == 404
    client.force_login(member_b)
    client.post(link)
    assert Membership.objects.filter(user=member_b, organization=company_a).exists()


def test_an_invitation_for_someone_else_is_refused(client, client_as, company_a, admin_a, member_b):
    link = _invite(client_as(admin_a), company_a, email="colleague@example.kz")
    client.force_login(member_b)
    response = client.post(link)
    assert response.status_code == 200
    assert not Membership.objects.filter(user=member_b, organization=company_a).exists()


def test_a_forged_invitation_is_refused(client):
    response = client.get("/accounts/invitation/not-a-real-token/")
    assert response.status_code == 410


def test_an_expired_invitation_is_refused(client, client_as, company_a, admin_a):
    link = _invite(client_as(admin_a), company_a)
    invitation = Invitation.objects.get()
    assert abs(invitation.expires_at - invitation.created_at - timedelta(days=7)) < timedelta(
        seconds=5
    )
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    client.logout()
    response = client.get(link)
    assert response.status_code == 410
    assert b"expired" in response.content
    assert client.post(link, {"password1": PASSWORD, "password2": PASSWORD}).status_code == 410
    assert not User.objects.filter(email="colleague@example.kz").exists()


def test_an_invitation_is_stored_as_a_hash_of_its_token(client_as, company_a, admin_a):
    link = _invite(client_as(admin_a), company_a, email="Colleague@Example.KZ", role="admin")
    token = link.rstrip("/").rsplit("/", 1)[1]
    invitation = Invitation.objects.get()
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(list(Invitation.objects.values_list()))
    assert invitation.email == "colleague@example.kz"
    assert (invitation.role, invitation.invited_by) == ("admin", admin_a)


def test_an_invitation_link_works_once(client, client_as, company_a, admin_a):
    link = _invite(client_as(admin_a), company_a)
    client.logout()
    assert client.post(link, {"password1": PASSWORD, "password2": PASSWORD}).status_code == 302
    colleague = User.objects.get(email="colleague@example.kz")
    invitation = Invitation.objects.get()
    assert invitation.accepted_by == colleague
    assert invitation.accepted_at is not None
    client.logout()
    again = client.get(link)
    assert again.status_code == 410
    assert b"used already" in again.content


def test_a_removed_member_cannot_come_back_with_the_old_link(client, client_as, company_a, admin_a):
    # Regression: the signed link worked for a week, so a removed member rejoined with it.
    link = _invite(client_as(admin_a), company_a, role="admin")
    client.logout()
    client.post(link, {"password1": PASSWORD, "password2": PASSWORD})
    removed = Membership.objects.get(user__email="colleague@example.kz")
    client_as(admin_a).post(
        f"/organizations/{company_a.pk}/members/{removed.pk}/", {"remove": "1"}, **HTMX
    )
    assert not Membership.objects.filter(pk=removed.pk).exists()
    client.force_login(removed.user)
    response = client.post(link)
    assert response.status_code == 410
    assert b"used already" in response.content
    assert not Membership.objects.filter(user=removed.user, organization=company_a).exists()


def test_inviting_an_address_again_withdraws_its_older_link(client, client_as, company_a, admin_a):
    admin = client_as(admin_a)
    first = _invite(admin, company_a)
    second = _invite(admin, company_a, email="COLLEAGUE@example.kz", role="admin")
    client.logout()
    response = client.get(first)
    assert response.status_code == 410
    assert b"withdrawn" in response.content
    assert client.get(second).status_code == 200
    assert Invitation.objects.pending().get().role == "admin"


def test_a_member_is_not_invited_again(client_as, company_a, admin_a, member_a):
    response = client_as(admin_a).post(
        f"/organizations/{company_a.pk}/invite/",
        {"email": member_a.email.upper(), "role": "admin"},
        **HTMX,
    )
    assert "is a member already" in response.content.decode()
    assert not Invitation.objects.exists()
    assert not mail.outbox


def test_admins_see_pending_invitations_and_withdraw_them(client_as, company_a, admin_a):
    admin = client_as(admin_a)
    client = Client()  # someone holding the link
    link = _invite(admin, company_a)
    invitation = Invitation.objects.get()
    page = admin.get(f"/organizations/{company_a.pk}/").content.decode()
    pending = page.split('id="invitations"', 1)[1]
    assert "colleague@example.kz" in pending
    url = f"/organizations/{company_a.pk}/invitations/{invitation.pk}/revoke/"
    assert url in pending
    response = admin.post(url, **HTMX)
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<div id="invitations"')
    assert "colleague@example.kz" not in response.content.decode()
    invitation.refresh_from_db()
    assert (invitation.revoked_by, invitation.revoked_at is not None) == (admin_a, True)
    gone = client.get(link)
    assert gone.status_code == 410
    assert b"withdrawn" in gone.content
    # Withdrawing it again says so instead of failing.
    again = admin.post(url, **HTMX)
    assert "no longer pending" in again.content.decode()


def test_the_invite_answer_updates_the_pending_list(client_as, company_a, admin_a):
    response = client_as(admin_a).post(
        f"/organizations/{company_a.pk}/invite/",
        {"email": "colleague@example.kz", "role": "member"},
        **HTMX,
    )
    text = response.content.decode()
    assert text.lstrip().startswith('<form id="invite-form"')
    oob = text.split('<div id="invitations" hx-swap-oob="true">', 1)[1]
    assert "colleague@example.kz" in oob


def test_only_admins_of_the_organization_withdraw_invitations(
    client_as, company_a, admin_a, member_a, member_b
):
    _invite(client_as(admin_a), company_a)
    invitation = Invitation.objects.get()
    url = f"/organizations/{company_a.pk}/invitations/{invitation.pk}/revoke/"
    page = client_as(member_a).get(f"/organizations/{company_a.pk}/").content.decode()
    assert "colleague@example.kz" not in page
    assert client_as(member_a).post(url).status_code == 403
    assert client_as(member_b).post(url).status_code == 404
    other_company = f"/organizations/{member_b.memberships.get().organization_id}/"
    assert (
        client_as(member_b).post(f"{other_company}invitations/{invitation.pk}/revoke/").status_code
        == 404
    )
    assert client_as(admin_a).get(url).status_code == 405
    assert Invitation.objects.pending().count() == 1


def test_an_invitation_is_withdrawn_when_the_inviter_is_no_longer_admin(
    client, client_as, company_a, admin_a
):
    link = _invite(client_as(admin_a), company_a)
    Membership.objects.filter(user=admin_a).update(role="member")
    assert client.get(link).status_code == 410


def test_an_admin_changes_roles_and_keeps_one_admin(client_as, company_a, admin_a, member_a):
    client = client_as(admin_a)
    target = Membership.objects.get(user=member_a)
    url = f"/organizations/{company_a.pk}/members/{target.pk}/"
    response = client.post(url, {"role": "admin"}, **HTMX)
    assert response.status_code == 200
    target.refresh_from_db()
    assert target.role == "admin"
    own = Membership.objects.get(user=admin_a)
    client.post(f"/organizations/{company_a.pk}/members/{own.pk}/", {"role": "member"})
    own.refresh_from_db()
    assert own.role == "member"
    # member_a is now the only admin: cannot step down.
    client = client_as(member_a)
    response = client.post(url, {"role": "member"}, **HTMX)
    assert "at least one administrator" in response.content.decode()
    target.refresh_from_db()
    assert target.role == "admin"


def test_a_member_cannot_change_roles(client_as, company_a, admin_a, member_a):
    own = Membership.objects.get(user=member_a)
    response = client_as(member_a).post(
        f"/organizations/{company_a.pk}/members/{own.pk}/", {"role": "admin"}
    )
    assert response.status_code == 403
    own.refresh_from_db()
    assert own.role == "member"


def test_an_admin_removes_a_member(client_as, company_a, admin_a, member_a):
    target = Membership.objects.get(user=member_a)
    client_as(admin_a).post(
        f"/organizations/{company_a.pk}/members/{target.pk}/", {"remove": "1"}, **HTMX
    )
    assert not Membership.objects.filter(pk=target.pk).exists()


def test_another_organizations_membership_is_404(client_as, company_a, admin_a, member_b):
    other = Membership.objects.get(user=member_b)
    response = client_as(admin_a).post(
        f"/organizations/{company_a.pk}/members/{other.pk}/", {"role": "admin"}
    )
    assert response.status_code == 404


def test_an_admin_edits_the_organization(client_as, company_a, admin_a):
    data = {"name": "Company A renamed", "bin": company_a.bin, "sector": "C", "kind": "company"}
    response = client_as(admin_a).post(f"/organizations/{company_a.pk}/edit/", data, **HTMX)
    assert response.status_code == 200
    company_a.refresh_from_db()
    assert company_a.name == "Company A renamed"


def test_a_bad_bin_edit_changes_nothing(client_as, company_a, admin_a):
    data = {"name": "X", "bin": "123", "sector": "C", "kind": "company"}
    response = client_as(admin_a).post(f"/organizations/{company_a.pk}/edit/", data, **HTMX)
    assert b"exactly 12 digits" in response.content
    company_a.refresh_from_db()
    assert company_a.name == "Company A"


def test_a_member_cannot_edit_the_organization(client_as, company_a, member_a):
    data = {"name": "Hijacked", "bin": company_a.bin, "sector": "C", "kind": "company"}
    response = client_as(member_a).post(f"/organizations/{company_a.pk}/edit/", data)
    assert response.status_code == 403
    company_a.refresh_from_db()
    assert company_a.name == "Company A"


# --- failed-login limit ---------------------------------------------------------------------


def test_failed_logins_are_limited(client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    user = factories.UserFactory(email="locked@example.kz")
    for _ in range(3):
        response = client.post(
            "/accounts/login/", {"username": user.email, "password": "wrong-guess"}
        )
    assert response.status_code == 429
    # Locked: even the right password is refused for now.
    response = client.post(
        "/accounts/login/", {"username": user.email, "password": "correct-horse-9"}
    )
    assert response.status_code == 429
    assert b"Too many failed logins" in response.content
    assert "_auth_user_id" not in client.session
    # Regression: the page had no Retry-After (the API's answer had).
    assert int(response["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()


def test_a_success_resets_the_failure_count(client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    user = factories.UserFactory(email="forgetful@example.kz")
    for _ in range(2):
        client.post("/accounts/login/", {"username": user.email, "password": "wrong-guess"})
    ok = client.post("/accounts/login/", {"username": user.email, "password": "correct-horse-9"})
    assert ok.status_code == 302
    client.logout()
    for _ in range(2):
        response = client.post(
            "/accounts/login/", {"username": user.email, "password": "wrong-guess"}
        )
    assert response.status_code == 200


def test_the_limit_is_per_account_and_address(client, settings):
    settings.AXES_FAILURE_LIMIT = 2
    locked = factories.UserFactory(email="target@example.kz")
    other = factories.UserFactory(email="bystander@example.kz")
    for _ in range(2):
        client.post("/accounts/login/", {"username": locked.email, "password": "nope"})
    ok = client.post("/accounts/login/", {"username": other.email, "password": "correct-horse-9"})
    assert ok.status_code == 302


def test_the_failure_count_ignores_how_the_email_is_capitalised(client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    user = factories.UserFactory(email="victim@example.kz")
    for spelling in ["victim@example.kz", "Victim@example.kz", "VICTIM@EXAMPLE.KZ"]:
        response = client.post("/accounts/login/", {"username": spelling, "password": "guess"})
    assert response.status_code == 429
    right = client.post("/accounts/login/", {"username": user.email, "password": "correct-horse-9"})
    assert right.status_code == 429


# --- e-mail addresses in capitals --------------------------------------------------------


def test_an_email_typed_in_capitals_logs_in(client):
    # Regression: log-in compared the address as typed with the lower-case one stored.
    user = factories.UserFactory(email="aigerim@example.kz")
    response = client.post(
        "/accounts/login/", {"username": " Aigerim@EXAMPLE.kz", "password": "correct-horse-9"}
    )
    assert response.status_code == 302
    assert client.get("/").context["user"] == user


def test_a_password_reset_asked_in_capitals_reaches_the_account(client, member_a):
    response = client.post("/accounts/password_reset/", {"email": member_a.email.upper()})
    assert response.status_code == 302
    assert mail.outbox[-1].to == [member_a.email]


def test_an_invitation_to_an_address_in_capitals_is_accepted_in_lower_case(
    client, client_as, company_a, admin_a
):
    link = _invite(client_as(admin_a), company_a, email="New.Colleague@Example.KZ")
    client.logout()
    client.post(link, {"password1": PASSWORD, "password2": PASSWORD})
    assert User.objects.filter(email="new.colleague@example.kz").exists()
    client.logout()
    logged_in = client.post(
        "/accounts/login/", {"username": "NEW.colleague@example.kz", "password": PASSWORD}
    )
    assert logged_in.status_code == 302


def test_no_two_accounts_differ_only_in_capitals(db):
    factories.UserFactory(email="one@example.kz")
    with pytest.raises(ValidationError):
        User(email="ONE@example.kz").validate_constraints()
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.bulk_create([User(email="One@Example.kz")])  # skips normalising
