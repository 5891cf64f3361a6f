"""Sites through the API: create, validate coordinates, update, delete."""

from decimal import Decimal

import pytest

from symbiosis.models import Site
from tests import factories

pytestmark = pytest.mark.django_db

URL = "/api/v1/sites/"


@pytest.fixture
def client_a(client_as, member_a):
    return client_as(member_a)


def body(**changes):
    data = {
        "name": "Brewery, north gate",
        "address": "Raiymbek Ave 500",
        "district": "zhetysu",
        "latitude": "43.285000",
        "longitude": "76.905000",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_create_for_my_only_organization(client_a, company_a):
    response = client_a.post(URL, body(), format="json")

    assert response.status_code == 201, response.json()
    site = Site.objects.get()
    assert site.organization == company_a
    assert (site.latitude, site.longitude) == (Decimal("43.285"), Decimal("76.905"))
    assert response.json()["organization_name"] == company_a.name


BAD = [
    ("latitude 200", {"latitude": "200"}, "latitude"),
    ("latitude -90.5", {"latitude": "-90.5"}, "latitude"),
    ("longitude 181", {"longitude": "181"}, "longitude"),
    ("latitude not a number", {"latitude": "north"}, "latitude"),
    ("no district", {"district": None}, "district"),
    ("unknown district", {"district": "atlantis"}, "district"),
    ("no name", {"name": ""}, "name"),
    ("organization of another", {"organization": "OTHER_ORG"}, "organization"),
]


@pytest.mark.parametrize(("changes", "field"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_is_400_with_the_field_named(client_a, company_b, changes, field):
    changes = {k: company_b.id if v == "OTHER_ORG" else v for k, v in changes.items()}
    before = Site.objects.count()

    response = client_a.post(URL, body(**changes), format="json")

    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert Site.objects.count() == before


def test_a_member_of_two_organizations_must_say_which(client_as, member_a, company_b):
    factories.MembershipFactory(user=member_a, organization=company_b, role="member")

    response = client_as(member_a).post(URL, body(), format="json")

    assert response.status_code == 400
    assert "organization" in response.json()
    assert (
        client_as(member_a).post(URL, body(organization=company_b.id), format="json").status_code
        == 201
    )


@pytest.fixture
def site_a(company_a):
    return factories.SiteFactory(organization=company_a, district="medeu")


def test_update(client_a, site_a):
    response = client_a.patch(f"{URL}{site_a.id}/", {"latitude": "43.2"}, format="json")

    assert response.status_code == 200, response.json()
    site_a.refresh_from_db()
    assert site_a.latitude == Decimal("43.2")


def test_bad_update_changes_nothing(client_a, site_a):
    before = Site.objects.values().get(id=site_a.id)

    response = client_a.patch(
        f"{URL}{site_a.id}/", {"name": "Moved", "latitude": "200"}, format="json"
    )

    assert response.status_code == 400
    assert "latitude" in response.json()
    assert Site.objects.values().get(id=site_a.id) == before


def test_a_site_in_use_is_not_deleted(client_a, site_a):
    factories.SupplyListingFactory(organization=site_a.organization, site=site_a)

    response = client_a.delete(f"{URL}{site_a.id}/")

    assert response.status_code == 400
    assert "non_field_errors" in response.json()
    assert Site.objects.filter(id=site_a.id).exists()


def test_delete(client_a, site_a):
    assert client_a.delete(f"{URL}{site_a.id}/").status_code == 204
    assert not Site.objects.filter(id=site_a.id).exists()


def test_another_organizations_site_is_not_found(client_a, company_b):
    site_b = factories.SiteFactory(organization=company_b)

    assert client_a.get(f"{URL}{site_b.id}/").status_code == 404
    assert client_a.patch(f"{URL}{site_b.id}/", {"name": "x"}, format="json").status_code == 404


def test_filters(client_as, facilitator, company_a, company_b, site_a):
    site_b = factories.SiteFactory(organization=company_b, district="auezov")
    client = client_as(facilitator)

    def ids(query):
        return [row["id"] for row in client.get(f"{URL}?{query}").json()["results"]]

    assert ids("district=auezov") == [site_b.id]
    assert ids(f"organization={company_a.id}") == [site_a.id]
