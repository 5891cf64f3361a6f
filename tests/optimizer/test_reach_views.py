"""Matches you can see, as pages: who may see a listing's matches, and what they say."""

import html
import re

import pytest

from tests import factories

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def text_of(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


@pytest.fixture
def owner(market):
    supply, _demands = market
    return factories.MembershipFactory(organization=supply.organization).user


def test_the_owner_sees_its_supplys_matches(client, market, owner):
    supply, demands = market
    client.force_login(owner)
    response = client.get(f"/review/reach/supply/{supply.pk}/", **HTMX)
    assert response.status_code == 200
    words = text_of(response)
    assert f"2 demands within reach accept {supply.material.name}" in words
    # The best first, named only where the visibility rule shows the owner.
    assert demands[0].organization.name in words  # public listings
    assert "km by road" in words


def test_an_anonymous_counterpart_stays_anonymous(client, market, owner):
    supply, demands = market
    for demand in demands:
        demand.visibility = "anonymous"
        demand.save()
    client.force_login(owner)
    words = text_of(client.get(f"/review/reach/supply/{supply.pk}/", **HTMX))
    assert "2 demands within reach" in words and "Anonymous" in words
    for demand in demands:
        assert demand.organization.name not in words and demand.site.name not in words


def test_none_within_reach_says_why(client, market, owner):
    supply, _demands = market
    supply.max_km = 10
    supply.save()
    client.force_login(owner)
    words = text_of(client.get(f"/review/reach/supply/{supply.pk}/", **HTMX))
    assert "0 demands within reach" in words
    assert f"No receiver of {supply.material.name} within 10 km; 1 within 25 km." in words


def test_a_demands_owner_sees_the_supplies_within_reach(client, market):
    _supply, demands = market
    user = factories.MembershipFactory(organization=demands[0].organization).user
    client.force_login(user)
    words = text_of(client.get(f"/review/reach/demand/{demands[0].pk}/", **HTMX))
    assert "1 supply within reach offers what you need" in words


def test_only_the_owner_and_facilitators_see_a_listings_matches(
    client, market, member_b, facilitator, analyst
):
    supply, demands = market
    url = f"/review/reach/supply/{supply.pk}/"
    # Another company (one of the demands' owners, who sees the public listing): 404.
    other = factories.MembershipFactory(organization=demands[0].organization).user
    for user, status in ((other, 404), (member_b, 404), (facilitator, 200), (analyst, 403)):
        client.force_login(user)
        assert client.get(url).status_code == status, user
    client.logout()
    assert client.get(url).status_code == 302


def test_the_listing_page_loads_the_matches_for_its_owner_only(client, market, owner):
    supply, demands = market
    client.force_login(owner)
    page = client.get(f"/market/supply/{supply.pk}/").content.decode()
    assert f'hx-get="/review/reach/supply/{supply.pk}/"' in page
    other = factories.MembershipFactory(organization=demands[0].organization).user
    client.force_login(other)
    page = client.get(f"/market/supply/{supply.pk}/").content.decode()
    assert "/review/reach/" not in page


def test_the_workspace_fills_each_rows_count(client, market, owner):
    supply, _demands = market
    client.force_login(owner)
    page = client.get("/").content.decode()
    assert 'hx-get="/review/reach/"' in page
    assert f'id="reach-supply-{supply.pk}"' in page
    counts = client.get("/review/reach/", **HTMX)
    assert counts.status_code == 200
    body = counts.content.decode()
    assert f'id="reach-supply-{supply.pk}"' in body and 'hx-swap-oob="true"' in body
    assert "2 demands within reach" in text_of(counts)


def test_the_workspace_counts_only_the_members_own_listings(client, market, member_b):
    supply, _demands = market
    client.force_login(member_b)
    body = client.get("/review/reach/", **HTMX).content.decode()
    assert f"reach-supply-{supply.pk}" not in body
