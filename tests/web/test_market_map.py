"""The market's map data (/market/map.json) and the list following the map's area."""

import json
from decimal import Decimal

import pytest

from symbiosis import geo
from tests import factories
from tests.web.conftest import HTMX
from tests.web.test_market import ids_in

pytestmark = pytest.mark.django_db

MAP = "/market/map.json"
FAR_LAT, FAR_LON = Decimal("43.600000"), Decimal("77.400000")
CELL_LAT, CELL_LON = geo.coarse(FAR_LAT, FAR_LON)


@pytest.fixture
def listings(company_a, company_b, site_a, site_b, spent_grain, steel_slag):
    far = factories.SiteFactory(
        organization=company_b,
        name="Far depot",
        district="almaty_region",
        latitude=FAR_LAT,
        longitude=FAR_LON,
    )
    return {
        "public": factories.SupplyListingFactory(
            organization=company_b, site=site_b, material=spent_grain
        ),
        "anonymous": factories.SupplyListingFactory(
            organization=company_b, site=far, material=steel_slag, visibility="anonymous"
        ),
        "private": factories.SupplyListingFactory(
            organization=company_b, site=site_b, material=steel_slag, visibility="private"
        ),
        "own": factories.SupplyListingFactory(
            organization=company_a, site=site_a, material=spent_grain
        ),
        "demand": factories.DemandListingFactory(
            organization=company_b, site=far, materials=[spent_grain], visibility="anonymous"
        ),
    }


def box(lat, lon, half=0.001):
    return f"{float(lon) - half},{float(lat) - half},{float(lon) + half},{float(lat) + half}"


# --- who may read it --------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(MAP)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_city_analysts_are_refused_like_the_market(client_as, analyst, listings):
    assert client_as(analyst).get(MAP).status_code == 403


def test_it_answers_get_only(client_as, member_a):
    assert client_as(member_a).post(MAP).status_code == 405


def test_a_company_sees_others_published_listings_the_owner_hidden_where_anonymous(
    client_as, member_a, listings
):
    response = client_as(member_a).get(MAP)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "private" in response["Cache-Control"]
    data = response.json()
    assert data["mode"] == "points"
    by_id = {p["id"]: p for p in data["points"]}
    assert set(by_id) == {listings["public"].pk, listings["anonymous"].pk}
    anonymous = by_id[listings["anonymous"].pk]
    assert (anonymous["lat"], anonymous["lon"]) == (CELL_LAT, CELL_LON)
    assert anonymous["owner"] is None
    assert by_id[listings["public"].pk]["owner"] == "Company B · Bakery yard"
    text = response.content.decode()
    assert "Far depot" not in text and "43.6," not in text and "77.4," not in text


def test_a_facilitator_sees_every_owner_and_site(client_as, facilitator, listings):
    data = client_as(facilitator).get(MAP).json()
    by_id = {p["id"]: p for p in data["points"]}
    assert by_id[listings["anonymous"].pk]["owner"] == "Company B · Far depot"
    assert (by_id[listings["anonymous"].pk]["lat"], by_id[listings["anonymous"].pk]["lon"]) == (
        43.6,
        77.4,
    )


def test_the_map_takes_the_lists_filters(client_as, member_a, listings):
    data = client_as(member_a).get(MAP, {"kind": "demand"}).json()
    assert [(p["kind"], p["id"]) for p in data["points"]] == [("demand", listings["demand"].pk)]
    assert data["points"][0]["title"] == "Brewery spent grain"
    data = client_as(member_a).get(MAP, {"category": "minerals"}).json()
    assert [p["id"] for p in data["points"]] == [listings["anonymous"].pk]


def test_a_box_on_an_anonymous_site_finds_nothing_but_its_cell_finds_it(
    client_as, member_a, listings
):
    client = client_as(member_a)
    assert client.get(MAP, {"bbox": box(FAR_LAT, FAR_LON)}).json()["total"] == 0
    data = client.get(MAP, {"bbox": box(CELL_LAT, CELL_LON)}).json()
    assert [p["id"] for p in data["points"]] == [listings["anonymous"].pk]
    assert data["extent"] is None  # the map keeps the user's view


def test_a_bad_bbox_is_a_400_with_the_fields_error(client_as, member_a, listings):
    response = client_as(member_a).get(MAP, {"bbox": "76.9,43.2,76.8"})
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == ["bbox"]
    assert "west,south,east,north" in errors["bbox"][0]


# --- the list follows the map -----------------------------------------------------------------


def test_the_list_shows_what_is_in_the_maps_area(client_as, member_a, listings):
    client = client_as(member_a)
    assert ids_in(client.get("/market/", {"bbox": box(43.22, 76.9)}, **HTMX)) == {
        listings["public"].pk
    }
    # The anonymous listing is in the list at its coarse cell, not at its site.
    assert ids_in(client.get("/market/", {"bbox": box(FAR_LAT, FAR_LON)})) == set()
    assert ids_in(client.get("/market/", {"bbox": box(CELL_LAT, CELL_LON)})) == {
        listings["anonymous"].pk
    }


def test_the_list_counts_the_maps_area(client_as, member_a, listings):
    text = client_as(member_a).get("/market/", {"bbox": box(43.22, 76.9)}).content.decode()
    assert "1 listing" in text


def test_a_bad_bbox_on_the_list_says_so_and_lists_everything(client_as, member_a, listings):
    response = client_as(member_a).get("/market/", {"bbox": "east,43,77,44"})
    assert response.status_code == 200
    text = response.content.decode()
    assert "Map area: Give the map area as four numbers" in text
    assert ids_in(response) == {listings["public"].pk, listings["anonymous"].pk}


def test_the_market_page_carries_the_map_and_its_data_url(client_as, member_a, listings):
    text = client_as(member_a).get("/market/").content.decode()
    assert 'id="market-map"' in text
    assert 'data-url="/market/map.json"' in text
    assert "leaflet.markercluster.js" in text
    assert 'name="bbox"' in text
    assert 'data-market-view="map"' in text
    # No inline script: data comes from the JSON endpoint.
    assert "<script>" not in text


def test_points_for_a_map_keep_to_the_json_shape(client_as, member_a, listings):
    data = client_as(member_a).get(MAP).json()
    json.dumps(data)
    assert set(data) == {"mode", "total", "extent", "points"}
    assert set(data["points"][0]) >= {
        "kind",
        "id",
        "lat",
        "lon",
        "title",
        "tonnes",
        "recurrence",
        "district",
        "hidden",
        "owner",
        "url",
    }
