"""Organizations through the API: registering one makes you its admin."""

import pytest

from symbiosis.models import Membership, Organization
from tests import factories

pytestmark = pytest.mark.django_db

URL = "/api/v1/organizations/"


def test_registering_an_organization_makes_me_its_admin(client_as, db):
    user = factories.UserFactory(email="founder@example.kz")

    response = client_as(user).post(
        URL,
        {"name": "Almaty Mushrooms LLP", "bin": factories.valid_bin(55_000_001), "sector": "A"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    organization = Organization.objects.get(name="Almaty Mushrooms LLP")
    assert Membership.objects.get(user=user, organization=organization).role == "admin"
    assert [row["id"] for row in client_as(user).get(URL).json()["results"]] == [organization.id]


@pytest.mark.parametrize(
    ("bin_", "field"),
    [("12345", "bin"), ("123456789012", "bin")],
    ids=["short", "bad check digit"],
)
def test_a_bad_bin_is_400_and_nothing_is_stored(client_as, member_a, bin_, field):
    before = (Organization.objects.count(), Membership.objects.count())

    response = client_as(member_a).post(
        URL, {"name": "Typo LLP", "bin": bin_, "sector": "C"}, format="json"
    )

    assert response.status_code == 400
    assert field in response.json()
    assert (Organization.objects.count(), Membership.objects.count()) == before


def test_a_taken_bin_is_400(client_as, member_a, company_b):
    response = client_as(member_a).post(
        URL, {"name": "Copycat", "bin": company_b.bin, "sector": "C"}, format="json"
    )

    assert response.status_code == 400
    assert "bin" in response.json()


def test_an_admin_renames_the_organization(client_as, admin_a, company_a):
    response = client_as(admin_a).patch(
        f"{URL}{company_a.id}/", {"name": "Company A Holding"}, format="json"
    )

    assert response.status_code == 200, response.json()
    company_a.refresh_from_db()
    assert company_a.name == "Company A Holding"
