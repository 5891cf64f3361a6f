"""API tokens (django-rest-knox): issued per client, expire, revoked by their user or by events.

Events that end all of a user's tokens: a password change or reset (through
Django's own views), a deactivation, and leaving an organization.
"""

import re
from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from symbiosis.models import Membership, User
from tests import factories

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-9"  # tests/factories.py UserFactory
NEW_PASSWORD = "A-new-steppe-pass-1"
TOKEN_URL = "/api/v1/auth/token/"
REVOKE_URL = "/api/v1/auth/token/revoke/"
REVOKE_ALL_URL = "/api/v1/auth/token/revoke-all/"


def _client(key=None) -> APIClient:
    client = APIClient()
    if key:
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def _works(key) -> bool:
    response = _client(key).get("/api/v1/organizations/")
    assert response.status_code in (200, 401, 403), response.content
    return response.status_code == 200


def _log_in(email, password=PASSWORD):
    return APIClient().post(TOKEN_URL, {"username": email, "password": password}, format="json")


# --- issuing -------------------------------------------------------------------------------


def test_the_endpoint_issues_an_expiring_token_and_stores_only_its_hash(member_a, settings):
    before = timezone.now()
    response = _log_in(member_a.email)

    assert response.status_code == 200
    key = response.json()["token"]
    assert _works(key)
    expiry = datetime.fromisoformat(response.json()["expiry"])
    ttl = timedelta(hours=settings.API_TOKEN_TTL_HOURS)
    assert before + ttl <= expiry <= timezone.now() + ttl
    assert settings.API_TOKEN_TTL_HOURS == 30 * 24  # the default the README states
    row = AuthToken.objects.get(user=member_a)
    assert row.expiry == expiry
    assert key not in str(list(AuthToken.objects.values_list()))


def test_an_email_in_capitals_gets_a_token(member_a):
    response = _log_in(f"  {member_a.email.upper()} ")
    assert response.status_code == 200
    assert _works(response.json()["token"])


def test_a_stale_token_header_does_not_stand_in_the_way_of_a_new_token(member_a):
    client = _client("0123456789abcdef" * 4)
    response = client.post(
        TOKEN_URL, {"username": member_a.email, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    assert _works(response.json()["token"])


def test_a_wrong_password_gets_no_token(member_a):
    response = _log_in(member_a.email, "wrong")
    assert response.status_code == 400
    assert "non_field_errors" in response.json()
    assert not AuthToken.objects.exists()


def test_an_expired_token_is_refused_and_removed(member_a):
    key = factories.api_token(member_a)
    assert _works(key)
    AuthToken.objects.update(expiry=timezone.now() - timedelta(seconds=1))
    assert not _works(key)
    assert not AuthToken.objects.exists()


def test_a_new_token_clears_the_users_expired_ones(member_a):
    factories.api_token(member_a, expiry=timedelta(seconds=-1))
    live = factories.api_token(member_a)
    assert _log_in(member_a.email).status_code == 200
    assert AuthToken.objects.filter(user=member_a).count() == 2
    assert _works(live)


def test_a_bad_or_missing_key_is_refused(db):
    assert not _works("0123456789abcdef" * 4)
    assert not _works("short")
    assert _client().get("/api/v1/organizations/").status_code in (401, 403)


# --- revoking -------------------------------------------------------------------------------


def test_revoke_ends_the_token_it_is_sent_with_and_no_other(member_a):
    first, second = factories.api_token(member_a), factories.api_token(member_a)

    response = _client(first).post(REVOKE_URL)

    assert response.status_code == 204
    assert not _works(first)
    assert _works(second)


def test_revoke_from_a_browser_session_names_no_token(member_a):
    key = factories.api_token(member_a)
    session = APIClient()
    session.force_login(member_a)

    response = session.post(REVOKE_URL)

    assert response.status_code == 400
    assert "Authorization: Token" in response.json()["non_field_errors"][0]
    assert _works(key)


def test_revoke_all_ends_every_token_of_the_user_and_no_one_elses(member_a, member_b):
    mine = [factories.api_token(member_a) for _ in range(2)]
    theirs = factories.api_token(member_b)

    response = _client(mine[0]).post(REVOKE_ALL_URL)

    assert response.status_code == 200
    assert response.json() == {"revoked": 2}
    assert not any(_works(key) for key in mine)
    assert _works(theirs)


def test_revoke_all_from_a_session_needs_the_csrf_token(member_a):
    key = factories.api_token(member_a)
    session = APIClient(enforce_csrf_checks=True)
    session.force_login(member_a)
    assert session.post(REVOKE_ALL_URL).status_code == 403
    assert _works(key)


def test_anonymous_callers_revoke_nothing(member_a):
    key = factories.api_token(member_a)
    assert _client().post(REVOKE_URL).status_code in (401, 403)
    assert _client().post(REVOKE_ALL_URL).status_code in (401, 403)
    assert _works(key)


# --- events that end all of a user's tokens -------------------------------------------------


def test_a_password_change_revokes_every_token(member_a):
    # Regression: tokens outlived the password they were issued under.
    key = factories.api_token(member_a)
    browser = Client()
    browser.force_login(member_a)

    response = browser.post(
        "/accounts/password_change/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert not _works(key)
    assert _works(_log_in(member_a.email, NEW_PASSWORD).json()["token"])


def test_a_refused_password_change_keeps_the_tokens(member_a):
    key = factories.api_token(member_a)
    browser = Client()
    browser.force_login(member_a)
    response = browser.post(
        "/accounts/password_change/",
        {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 200
    assert _works(key)


def test_a_password_reset_revokes_every_token(member_a):
    # Regression: "a password reset leaves the old token working".
    key = factories.api_token(member_a)
    browser = Client()
    browser.post("/accounts/password_reset/", {"email": member_a.email})
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+)", mail.outbox[-1].body).group(1)
    form_page = browser.get(link, follow=True)
    assert _works(key)  # opening the link changes nothing yet

    done = browser.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert done.status_code == 302
    assert not _works(key)


def test_logging_in_keeps_the_tokens(member_a):
    key = factories.api_token(member_a)
    browser = Client()
    response = browser.post("/accounts/login/", {"username": member_a.email, "password": PASSWORD})
    assert response.status_code == 302
    assert _log_in(member_a.email).status_code == 200
    assert _works(key)


def test_deactivating_a_user_revokes_every_token_for_good(member_a):
    key = factories.api_token(member_a)
    user = User.objects.get(pk=member_a.pk)
    user.is_active = False
    user.save()
    assert not AuthToken.objects.filter(user=member_a).exists()
    user.is_active = True
    user.save()
    assert not _works(key)


def test_an_inactive_users_token_is_refused_however_it_was_deactivated(member_a):
    key = factories.api_token(member_a)
    User.objects.filter(pk=member_a.pk).update(is_active=False)  # no save(): knox checks too
    assert not _works(key)


def test_leaving_an_organization_revokes_the_members_tokens(company_a, admin_a, member_a):
    key, admin_key = factories.api_token(member_a), factories.api_token(admin_a)
    browser = Client()
    browser.force_login(admin_a)
    target = Membership.objects.get(user=member_a)

    browser.post(f"/organizations/{company_a.pk}/members/{target.pk}/", {"remove": "1"})

    assert not Membership.objects.filter(pk=target.pk).exists()
    assert not _works(key)
    assert _works(admin_key)


def test_a_role_change_keeps_the_tokens(company_a, admin_a, member_a):
    key = factories.api_token(member_a)
    browser = Client()
    browser.force_login(admin_a)
    target = Membership.objects.get(user=member_a)
    browser.post(f"/organizations/{company_a.pk}/members/{target.pk}/", {"role": "admin"})
    target.refresh_from_db()
    assert target.role == "admin"
    assert _works(key)
