"""Listings through the API at the edges of what they take: a 400 naming the field, nothing stored.

Regressions (issue 13, item 7): availability dates of year 1 and 9999 and a
description of any length were stored. Huge exponents were already refused by
the serializers' digit limits; they stay here so that no later change of a
field lets one through to the unit conversion.
"""

import pytest

from symbiosis.models import DemandListing, SupplyListing
from symbiosis.validators import DESCRIPTION_MAX_CHARS, business_date_window
from tests import factories

pytestmark = pytest.mark.django_db

KINDS = {"supplies": SupplyListing, "demands": DemandListing}


@pytest.fixture
def world(client_as, member_a, company_a):
    site = factories.SiteFactory(organization=company_a)
    material = factories.MaterialFactory(slug="spent-grain")
    factories.UseFactory(slug="animal-feed")
    return client_as(member_a), site, material


def body(kind: str, site, **changes) -> dict:
    data = {
        "site": site.id,
        "quantity": "12.5",
        "unit": "t",
        "recurrence": "month",
        "available_from": "2027-01-01",
        "available_until": "2027-12-31",
        "visibility": "public",
        "status": "active",
    }
    if kind == "supplies":
        data |= {"material": "spent-grain", "fate": "landfill"}
    else:
        data |= {"materials": ["spent-grain"], "uses": ["animal-feed"]}
    return data | changes


def post(client, kind, data):
    return client.post(f"/api/v1/{kind}/", data, format="json")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("quantity", "1E+1000000"),
        ("quantity", "1e-999999"),
        ("quantity", 1e308),
        ("piece_mass_kg", "1e999999"),
        ("max_km", "-1e999999"),
    ],
)
def test_huge_numbers_are_400_on_their_field(world, kind, field, value):
    client, site, _material = world
    data = body(kind, site, unit="pieces", piece_mass_kg="25") | {field: value}
    response = post(client, kind, data)
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert not KINDS[kind].objects.exists()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("available_from", "0001-01-01"),
        ("available_from", "1999-12-31"),
        ("available_until", "9999-12-31"),
    ],
)
def test_dates_outside_the_window_are_400_on_their_field(world, kind, field, value):
    client, site, _material = world
    earliest, latest = business_date_window()
    response = post(client, kind, body(kind, site, **{field: value}))
    assert response.status_code == 400
    assert response.json() == {
        field: [f"Give a date between {earliest.isoformat()} and {latest.isoformat()}."]
    }
    assert not KINDS[kind].objects.exists()


@pytest.mark.parametrize("kind", KINDS)
def test_a_description_over_the_cap_is_400_and_one_at_the_cap_is_stored(world, kind):
    client, site, _material = world
    for length in (DESCRIPTION_MAX_CHARS + 1, 1_000_000):
        response = post(client, kind, body(kind, site, description="ж" * length))
        assert response.status_code == 400
        assert list(response.json()) == ["description"]
        assert str(DESCRIPTION_MAX_CHARS) in response.json()["description"][0]
    assert not KINDS[kind].objects.exists()
    response = post(client, kind, body(kind, site, description="ж" * DESCRIPTION_MAX_CHARS))
    assert response.status_code == 201
    assert len(KINDS[kind].objects.get().description) == DESCRIPTION_MAX_CHARS


@pytest.mark.parametrize("kind", KINDS)
def test_a_patch_to_year_9999_changes_nothing(world, kind):
    client, site, _material = world
    created = post(client, kind, body(kind, site)).json()
    url = f"/api/v1/{kind}/{created['id']}/"
    response = client.patch(url, {"available_until": "9999-12-31"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["available_until"]
    assert str(KINDS[kind].objects.get().available_until) == "2027-12-31"


@pytest.mark.parametrize("kind", KINDS)
def test_a_product_too_large_for_the_tonnes_column_is_400_on_the_quantity(world, kind):
    client, site, _material = world
    data = body(kind, site, quantity="9999999999", unit="pieces", piece_mass_kg="999999999")
    response = post(client, kind, data)
    assert response.status_code == 400
    assert list(response.json()) == ["quantity"]
    assert "10,000,000,000 tonnes or more" in response.json()["quantity"][0]
    assert not KINDS[kind].objects.exists()
