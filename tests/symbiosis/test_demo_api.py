"""After load_demo, the demo logins see what the README promises.

The demo is loaded once for the module (tests/conftest.py's ``demo``)."""

import pytest
from rest_framework.test import APIClient

from symbiosis.models import DemandListing, SupplyListing, User

pytestmark = pytest.mark.django_db

DEMO_PASSWORD = "almaty-demo-2027"


def _login(email):
    client = APIClient()
    assert client.login(username=email, password=DEMO_PASSWORD)
    return client


def _all_pages(client, url):
    rows = []
    while url:
        body = client.get(url).json()
        rows += body["results"]
        url = body["next"]
    return rows


def test_facilitator_sees_every_demo_supply_and_demand(demo):
    client = _login("facilitator@demo.kz")
    supplies = _all_pages(client, "/api/v1/supplies/")
    assert {r["id"] for r in supplies} == set(SupplyListing.objects.values_list("pk", flat=True))
    demands = _all_pages(client, "/api/v1/demands/")
    assert {r["id"] for r in demands} == set(DemandListing.objects.values_list("pk", flat=True))


def test_analyst_sees_aggregates_but_no_listing(demo):
    client = _login("analyst@demo.kz")
    assert client.get("/api/v1/supplies/").status_code == 403
    assert client.get("/api/v1/aggregates/listings/").status_code == 200


def test_a_demo_company_sees_its_own_private_listings_and_no_one_elses(demo):
    private = SupplyListing.objects.filter(visibility="private").select_related("organization")
    assert private.exists()
    listing = private.first()
    owner = User.objects.filter(memberships__organization=listing.organization).first()
    own_ids = {r["id"] for r in _all_pages(_login(owner.email), "/api/v1/supplies/")}
    assert listing.pk in own_ids
    others_private = set(
        private.exclude(organization=listing.organization).values_list("pk", flat=True)
    )
    assert not own_ids & others_private
