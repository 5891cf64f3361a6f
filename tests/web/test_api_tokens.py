"""The page /accounts/tokens/: a user's API tokens, made and revoked in the browser."""

import pytest
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests import factories
from tests.web.conftest import HTMX

pytestmark = pytest.mark.django_db

PAGE = "/accounts/tokens/"


def _works(key) -> bool:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/v1/organizations/").status_code == 200


def test_the_page_needs_a_log_in(client):
    for url in (PAGE, PAGE + "new/", PAGE + "revoke-all/", PAGE + "abc/revoke/"):
        response = client.post(url) if url != PAGE else client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    assert not AuthToken.objects.exists()


@pytest.mark.parametrize("who", ["member_a", "facilitator", "analyst"])
def test_everyone_logged_in_has_the_page(client_as, request, who):
    user = request.getfixturevalue(who)
    response = client_as(user).get(PAGE)
    assert response.status_code == 200
    assert "You have no API tokens" in response.content.decode()


def test_the_page_lists_own_tokens_by_their_first_characters_only(client_as, member_a, member_b):
    key = factories.api_token(member_a)
    other = factories.api_token(member_b)
    text = client_as(member_a).get(PAGE).content.decode()
    assert f"{key[:8]}…" in text
    assert key[:9] not in text
    assert other[:8] not in text
    assert text.count('class="api-token"') == 1


def test_creating_a_token_shows_its_key_once(client_as, member_a):
    client = client_as(member_a)
    response = client.post(PAGE + "new/", **HTMX)
    assert response.status_code == 200
    text = response.content.decode()
    assert text.lstrip().startswith('<div id="api-tokens">')
    token = AuthToken.objects.get(user=member_a)
    key = text.split('<code id="new-token">', 1)[1].split("</code>", 1)[0]
    assert key.startswith(token.token_key)
    assert _works(key)
    assert key not in client.get(PAGE).content.decode()


def test_creating_without_htmx_shows_the_whole_page_with_the_key(client_as, member_a):
    response = client_as(member_a).post(PAGE + "new/")
    assert response.status_code == 200
    assert '<code id="new-token">' in response.content.decode()
    assert "<html" in response.content.decode()


def test_revoking_a_token_on_the_page(client_as, member_a):
    keep, drop = factories.api_token(member_a), factories.api_token(member_a)
    digest = AuthToken.objects.get(token_key=drop[:15]).digest
    client = client_as(member_a)
    assert f"/accounts/tokens/{digest}/revoke/" in client.get(PAGE).content.decode()

    response = client.post(f"{PAGE}{digest}/revoke/", **HTMX)

    assert response.status_code == 200
    assert "1 token revoked" in response.content.decode()
    assert not _works(drop)
    assert _works(keep)


def test_another_users_token_cannot_be_revoked(client_as, member_a, member_b):
    theirs = factories.api_token(member_b)
    digest = AuthToken.objects.get(user=member_b).digest
    response = client_as(member_a).post(f"{PAGE}{digest}/revoke/")
    assert response.status_code == 404
    assert _works(theirs)


def test_revoking_all_on_the_page(client_as, member_a, member_b):
    mine = [factories.api_token(member_a) for _ in range(3)]
    theirs = factories.api_token(member_b)
    response = client_as(member_a).post(PAGE + "revoke-all/")
    assert response.status_code == 302
    assert response["Location"] == PAGE
    assert not any(_works(key) for key in mine)
    assert _works(theirs)


def test_the_post_routes_refuse_get(client_as, member_a):
    client = client_as(member_a)
    assert client.get(PAGE + "new/").status_code == 405
    assert client.get(PAGE + "revoke-all/").status_code == 405
    assert not AuthToken.objects.exists()


def test_the_page_is_linked_from_the_menu_and_the_organization_page(client_as, member_a, company_a):
    client = client_as(member_a)
    assert f'href="{PAGE}"' in client.get("/").content.decode()
    assert f'href="{PAGE}"' in client.get(f"/organizations/{company_a.pk}/").content.decode()
