"""The market at scale: distances sorted and filtered in SQL agree with
``symbiosis.geo`` (coarse cells for hidden owners), and the page's queries do
not grow with the number of listings (loadtest/ found a query per anonymous row)."""

import random
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from symbiosis import geo
from tests import factories
from tests.web.test_market import ids_in

pytestmark = pytest.mark.django_db


def _scatter(company, material, count, rng, visibility):
    made = []
    for n in range(count):
        site = factories.SiteFactory(
            organization=company,
            name=f"Yard {visibility} {n}",
            latitude=Decimal(f"{rng.uniform(43.15, 43.45):.6f}"),
            longitude=Decimal(f"{rng.uniform(76.75, 77.15):.6f}"),
        )
        made.append(
            factories.SupplyListingFactory(
                organization=company,
                site=site,
                material=material,
                visibility=visibility,
                quantity=Decimal(n + 1),
                tonnes=Decimal(n + 1),
            )
        )
    return made


def _expected_km(origin, listing) -> float:
    lat, lon = listing.site.latitude, listing.site.longitude
    if listing.visibility == "anonymous":
        lat, lon = geo.coarse(lat, lon)
    return geo.great_circle_km(origin.latitude, origin.longitude, lat, lon)


def test_nearest_first_and_within_km_match_python_distances(
    client_as, member_a, site_a, company_b, spent_grain
):
    rng = random.Random(7)
    made = _scatter(company_b, spent_grain, 8, rng, "public")
    made += _scatter(company_b, spent_grain, 8, rng, "anonymous")
    expected = sorted(made, key=lambda s: (_expected_km(site_a, s), -s.tonnes))
    client = client_as(member_a)

    text = client.get("/market/").content.decode()
    order = [int(p.split('"', 1)[0]) for p in text.split('id="market-supply-')[1:]]
    assert order == [s.pk for s in expected]

    limit_km = sorted(_expected_km(site_a, s) for s in made)[7] + 0.05
    within = {s.pk for s in made if _expected_km(site_a, s) <= limit_km}
    response = client.get("/market/", {"max_km": f"{limit_km:.1f}"})
    assert ids_in(response) == {
        s.pk for s in made if _expected_km(site_a, s) <= float(f"{limit_km:.1f}")
    }
    assert within  # the filter keeps some rows and drops others
    assert len(within) < len(made)


def test_page_queries_do_not_grow_with_the_listings(
    client_as, member_a, site_a, company_b, spent_grain
):
    rng = random.Random(3)
    _scatter(company_b, spent_grain, 3, rng, "anonymous")
    client = client_as(member_a)
    client.get("/market/")
    with CaptureQueriesContext(connection) as few:
        client.get("/market/")
    _scatter(company_b, spent_grain, 30, rng, "anonymous")
    with CaptureQueriesContext(connection) as many:
        response = client.get("/market/", {"kind": "supply"})
    assert len(ids_in(response)) == 20  # a full page
    assert len(many) == len(few)
