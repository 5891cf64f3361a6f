"""The market at scale: distances sorted and filtered in SQL agree with
``symbiosis.geo`` (coarse cells for hidden owners), and the page's queries do
not grow with the number of listings (loadtest/ found a query per anonymous row)."""

import random
from decimal import Decimal
from math import asin, atan2, cos, degrees, radians, sin
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given, settings
from hypothesis import strategies as st

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


def _in_box(box, lat: float, lon: float) -> bool:
    bounds = dict(box.children)
    lat_lo, lat_hi = bounds.get("site__latitude__range", (-90.0, 90.0))
    lon_lo, lon_hi = bounds.get("site__longitude__range", (-180.0, 180.0))
    return lat_lo <= lat <= lat_hi and lon_lo <= lon <= lon_hi


@settings(max_examples=400, deadline=None, derandomize=True)
@given(
    origin_lat=st.floats(-89.0, 89.0),
    origin_lon=st.floats(-179.9, 179.9),
    max_km=st.floats(0.01, 5000.0),
    bearing_deg=st.floats(0.0, 360.0),
    fraction=st.floats(0.0, 1.0),
    hidden=st.booleans(),
)
def test_the_km_box_holds_every_site_within_reach(
    origin_lat, origin_lon, max_km, bearing_deg, fraction, hidden
):
    """Every site whose distance (to the site, or to its coarse cell for a hidden
    owner) is within max_km lies in the box: the box may only spare work."""
    from symbiosis.market_query import _within_box_q

    origin = SimpleNamespace(latitude=origin_lat, longitude=origin_lon)
    box = _within_box_q(origin, max_km)
    # A point at fraction x max_km along a bearing (spherical destination formula),
    # and for hidden owners a site anywhere in the cell whose centre that point is.
    r = fraction * max_km / geo.EARTH_RADIUS_KM
    phi1, lam1, theta = radians(origin_lat), radians(origin_lon), radians(bearing_deg)
    phi2 = asin(sin(phi1) * cos(r) + cos(phi1) * sin(r) * cos(theta))
    lam2 = lam1 + atan2(sin(theta) * sin(r) * cos(phi1), cos(r) - sin(phi1) * sin(phi2))
    lat, lon = degrees(phi2), (degrees(lam2) + 540.0) % 360.0 - 180.0
    if hidden:
        half = geo.COARSE_STEP_DEG / 2 * 0.999
        candidates = [(lat + dy * half, lon + dx * half) for dy in (-1, 1) for dx in (-1, 1)]
    else:
        candidates = [(lat, lon)]
    for site_lat, site_lon in candidates:
        if abs(site_lat) > 90:
            continue
        point = geo.coarse(site_lat, site_lon) if hidden else (site_lat, site_lon)
        if geo.great_circle_km(origin_lat, origin_lon, *point) <= max_km:
            assert _in_box(box, site_lat, site_lon), (site_lat, site_lon, box)


def test_within_km_matches_python_distances_at_every_limit(
    client_as, member_a, site_a, company_b, spent_grain
):
    """With the box in front of the haversine, every limit still keeps exactly the
    listings Python finds within it, public and anonymous (distance to the cell)."""
    rng = random.Random(11)
    made = _scatter(company_b, spent_grain, 10, rng, "public")
    made += _scatter(company_b, spent_grain, 9, rng, "anonymous")  # 19: one page
    client = client_as(member_a)
    distances = sorted(_expected_km(site_a, s) for s in made)
    limits = {round(d, 1) for d in distances} | {0.1, 3.0, 50.0}
    for limit in sorted(limits):
        response = client.get("/market/", {"max_km": f"{limit:.1f}", "kind": "supply"})
        expected = {s.pk for s in made if _expected_km(site_a, s) <= limit}
        assert ids_in(response) == expected, limit
