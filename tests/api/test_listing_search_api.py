"""The market's search through the API (``?q=``): the same matches as the page, and a
hidden description is no more searchable here than there."""

from decimal import Decimal

import pytest

from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def grain(company_b):
    material = factories.MaterialFactory(
        slug="spent-grain-x",
        name_en="Brewery spent grain",
        name_ru="Пивная дробина",
        ewc_code="02 07 04",
    )
    site = factories.SiteFactory(organization=company_b, name="Malt yard")
    return {
        "anonymous": factories.SupplyListingFactory(
            organization=company_b,
            site=site,
            material=material,
            visibility="anonymous",
            description="Kept under the kumys tent",
            tonnes=Decimal("40"),
        ),
        "other": factories.SupplyListingFactory(
            organization=company_b,
            site=site,
            material=factories.MaterialFactory(
                slug="slag-x", name_en="Steel slag", name_ru="Шлак", ewc_code="10 02 02"
            ),
        ),
    }


def _ids(client, query):
    response = client.get("/api/v1/supplies/", {"q": query})
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.mark.parametrize("query", ["пивная дробена", "spent grain", "020704", "02 07 04"])
def test_a_company_finds_the_listing_by_material_or_code(client_as, member_a, grain, query):
    assert _ids(client_as(member_a), query) == {grain["anonymous"].pk}


def test_a_hidden_description_is_found_by_its_owner_only(client_as, member_a, member_b, grain):
    assert _ids(client_as(member_a), "kumys") == set()
    assert _ids(client_as(member_b), "kumys") == {grain["anonymous"].pk}


def test_an_overlong_query_is_a_field_error(client_as, member_a, grain):
    response = client_as(member_a).get("/api/v1/supplies/", {"q": "x" * 201})
    assert response.status_code == 400
    assert "q" in response.json()
