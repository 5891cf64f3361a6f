"""The company workspace at "/" and the landing page for visitors."""

import pytest

from tests import factories

pytestmark = pytest.mark.django_db


def test_a_visitor_sees_the_landing_page_with_a_login_link(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"/accounts/login/" in response.content
    assert b"My workspace" not in response.content


def test_a_member_sees_organizations_sites_listings_and_the_attention_place(
    client_as, member_a, company_a, site_a, spent_grain
):
    factories.SupplyListingFactory(
        organization=company_a, site=site_a, material=spent_grain, status="paused"
    )
    factories.DemandListingFactory(organization=company_a, site=site_a, materials=[spent_grain])
    response = client_as(member_a).get("/")
    text = response.content.decode()
    assert response.status_code == 200
    assert "Company A" in text
    assert "Brewhouse" in text
    assert "Brewery spent grain" in text
    assert "Paused" in text
    assert "Proposals and deals needing your attention" in text
    assert "Nothing needs your attention" in text


def test_the_workspace_shows_no_other_companys_listing(
    client_as, member_a, company_b, site_b, spent_grain
):
    factories.SupplyListingFactory(
        organization=company_b, site=site_b, material=spent_grain, visibility="private"
    )
    text = client_as(member_a).get("/").content.decode()
    assert "Bakery yard" not in text
    assert "No supply listing yet." in text


@pytest.mark.parametrize("who", ["facilitator", "analyst"])
def test_staff_without_membership_get_a_workspace_explaining_their_role(client_as, request, who):
    user = request.getfixturevalue(who)
    response = client_as(user).get("/")
    assert response.status_code == 200
    assert b"My supply listings" not in response.content


def test_healthz_answers_ok(client, db):
    assert client.get("/healthz").json()["status"] == "ok"
