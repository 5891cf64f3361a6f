"""Sign-up, password reset, invitations, roles, organization details."""

import re

import pytest
from django.core import mail

from symbiosis import services
from symbiosis.models import Membership, Organization, User
from tests import factories
from tests.factories import valid_bin
from tests.web.conftest import HTMX

pytestmark = pytest.mark.django_db

PASSWORD = "Steppe-eagle-2027"


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


def test_sign_up_creates_the_user_and_the_organization_and_logs_in(client):
    response = client.post("/accounts/signup/", signup_data())
    assert response.status_code == 302
    assert response["Location"] == "/sites/new/"
    user = User.objects.get()
    assert user.email == "aigerim@example.kz"
    membership = Membership.objects.get()
    assert membership.user == user
    assert membership.role == "admin"
    assert membership.organization.name == "Medeu Bakery"
    assert client.get("/").context["user"] == user


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


def test_a_taken_email_is_refused(client, member_a):
    response = client.post("/accounts/signup/", signup_data(email=member_a.email.upper()), **HTMX)
    assert "An account with this e-mail address exists" in response.content.decode()
    assert Organization.objects.count() == 1


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


def test_an_expired_invitation_is_refused(client, client_as, company_a, admin_a, monkeypatch):
    link = _invite(client_as(admin_a), company_a)
    monkeypatch.setattr(services, "INVITATION_MAX_AGE", -1)
    response = client.get(link)
    assert response.status_code == 410
    assert b"expired" in response.content


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
