"""The market's map (symbiosis.market_map): places, cells, the map-area filter.

A listing whose owner is hidden from the viewer is placed and filtered at its
card's point (the centre of its site's coarse cell), never at its site.
"""

import json
from decimal import Decimal

import pytest

from symbiosis import geo, market_map, selectors, visibility
from symbiosis.market_map import BBox
from symbiosis.models import SupplyListing
from tests import factories

pytestmark = pytest.mark.django_db

# Company B's hidden site: 43.187654, 76.876543 lies in the coarse cell centred
# on 43.175, 76.875.
HIDDEN_LAT, HIDDEN_LON = Decimal("43.187654"), Decimal("76.876543")
CELL_LAT, CELL_LON = geo.coarse(HIDDEN_LAT, HIDDEN_LON)


@pytest.fixture
def world(company_a, company_b, member_a, facilitator):
    material = factories.MaterialFactory(name_en="Brewery spent grain")
    hidden_site = factories.SiteFactory(
        organization=company_b,
        name="Secret yard",
        latitude=HIDDEN_LAT,
        longitude=HIDDEN_LON,
    )
    open_site = factories.SiteFactory(
        organization=company_b,
        name="Open yard",
        latitude=Decimal("43.250000"),  # on a grid line
        longitude=Decimal("76.950000"),
    )
    return {
        "member_a": member_a,
        "facilitator": facilitator,
        "hidden": factories.SupplyListingFactory(
            organization=company_b, site=hidden_site, material=material, visibility="anonymous"
        ),
        "public": factories.SupplyListingFactory(
            organization=company_b,
            site=open_site,
            material=material,
            quantity=Decimal("12.5"),
            tonnes=Decimal("12.5"),
        ),
        # Public, at the same site as the hidden one: shown at the site itself.
        "public_at_hidden_site": factories.SupplyListingFactory(
            organization=company_b, site=hidden_site, material=material
        ),
    }


def market_of(user):
    return selectors.market_supply_list(user=user)


def in_box(user, bbox):
    viewer = visibility.viewer_for(user)
    return set(
        market_map.within_bbox(market_of(user), viewer=viewer, bbox=bbox).values_list(
            "pk", flat=True
        )
    )


def around(lat, lon, half=0.0005):
    return BBox(float(lon) - half, float(lat) - half, float(lon) + half, float(lat) + half)


# --- parsing -------------------------------------------------------------------------------


def test_a_bbox_is_four_numbers_west_south_east_north():
    assert market_map.parse_bbox("76.8,43.1,77.0,43.3") == BBox(76.8, 43.1, 77.0, 43.3)
    assert market_map.parse_bbox(" 76.8 , 43.1, 77 ,43.3 ") == BBox(76.8, 43.1, 77.0, 43.3)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "four numbers"),
        ("76.8,43.1,77.0", "four numbers"),
        ("76.8,43.1,77.0,43.3,1", "four numbers"),
        ("west,43.1,77.0,43.3", "four numbers"),
        ("nan,43.1,77.0,43.3", "four numbers"),
        ("76.8,43.1,inf,43.3", "four numbers"),
        ("-181,43.1,77.0,43.3", "between -180 and 180"),
        ("76.8,-91,77.0,43.3", "between -90 and 90"),
        ("77.0,43.1,76.8,43.3", "west before east"),
        ("76.8,43.3,77.0,43.3", "south before north"),
    ],
)
def test_a_bad_bbox_says_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=message):
        market_map.parse_bbox(text)


# --- the map-area filter -----------------------------------------------------------------


def test_a_box_on_a_hidden_site_does_not_find_it(world):
    """Panning a tiny box over the site finds the public listing there, not the hidden one."""
    found = in_box(world["member_a"], around(HIDDEN_LAT, HIDDEN_LON))
    assert world["hidden"].pk not in found
    assert world["public_at_hidden_site"].pk in found


def test_a_hidden_listing_is_found_at_its_coarse_cell(world):
    found = in_box(world["member_a"], around(CELL_LAT, CELL_LON))
    assert found == {world["hidden"].pk}


def test_a_facilitator_finds_it_at_its_site(world):
    assert world["hidden"].pk in in_box(world["facilitator"], around(HIDDEN_LAT, HIDDEN_LON))
    assert world["hidden"].pk not in in_box(world["facilitator"], around(CELL_LAT, CELL_LON))


def test_no_box_keeps_every_listing(world):
    viewer = visibility.viewer_for(world["member_a"])
    listings = market_of(world["member_a"])
    assert market_map.within_bbox(listings, viewer=viewer, bbox=None) is listings


def _edges(values) -> list[float]:
    """Box edges around coordinates: on each, just below and just above it."""
    return [e for v in values for e in (v - 1e-6, v, v + 1e-6)]


def test_the_filter_agrees_with_the_cards_on_every_edge(world):
    """The SQL filter keeps exactly the listings whose card point lies in the box,
    for box edges on, just inside and just outside every place shown (hidden
    owners' cell centres, sites, grid lines), each side of the box in turn."""
    lats = _edges({float(HIDDEN_LAT), CELL_LAT, 43.25, 43.15, 43.2})
    lons = _edges({float(HIDDEN_LON), CELL_LON, 76.95, 76.85, 76.9})
    boxes = [
        *(BBox(76.0, lat, 77.0, 44.0) for lat in lats),  # south edge
        *(BBox(76.0, 43.0, 77.0, lat) for lat in lats),  # north edge
        *(BBox(lon, 43.0, 77.0, 44.0) for lon in lons),  # west edge
        *(BBox(76.0, 43.0, lon, 44.0) for lon in lons),  # east edge
    ]
    for user in (world["member_a"], world["facilitator"]):
        viewer = visibility.viewer_for(user)
        cards = [visibility.listing_card(user=viewer, listing=x) for x in market_of(user)]
        for box in boxes:
            expected = {
                c.pk
                for c in cards
                if box.south <= c.latitude <= box.north and box.west <= c.longitude <= box.east
            }
            assert in_box(user, box) == expected, (user, box)


# --- points and cells ----------------------------------------------------------------------


def test_points_show_a_hidden_owner_only_at_its_coarse_cell_and_never_named(world):
    viewer = visibility.viewer_for(world["member_a"])
    data = market_map.map_data(market_of(world["member_a"]), viewer=viewer, bbox=None)
    assert data["mode"] == "points"
    assert data["total"] == 3
    by_id = {p["id"]: p for p in data["points"]}
    hidden = by_id[world["hidden"].pk]
    assert (hidden["lat"], hidden["lon"]) == (CELL_LAT, CELL_LON)
    assert hidden["hidden"] is True
    assert hidden["owner"] is None
    assert hidden["url"] == f"/market/supply/{world['hidden'].pk}/"
    public = by_id[world["public"].pk]
    assert (public["lat"], public["lon"]) == (43.25, 76.95)
    assert public["owner"] == "Company B · Open yard"
    assert public["title"] == "Brewery spent grain"
    assert public["tonnes"] == 12.5
    # Nothing in the hidden point names its owner or its site.
    text = json.dumps(hidden)
    for secret in ("Company B", "Secret yard", "43.187654", "76.876543", "43.18765", "76.87654"):
        assert secret not in text
    # The map fits the places shown, not the hidden site.
    west, south, east, north = data["extent"]
    assert south < CELL_LAT < north and west < CELL_LON < east


def test_a_facilitator_sees_the_owner_and_the_site(world):
    viewer = visibility.viewer_for(world["facilitator"])
    data = market_map.map_data(market_of(world["facilitator"]), viewer=viewer, bbox=None)
    hidden = next(p for p in data["points"] if p["id"] == world["hidden"].pk)
    assert (hidden["lat"], hidden["lon"]) == (float(HIDDEN_LAT), float(HIDDEN_LON))
    assert hidden["owner"] == "Company B · Secret yard"


def test_many_listings_are_counted_in_cells_at_their_visible_places(world):
    viewer = visibility.viewer_for(world["member_a"])
    data = market_map.map_data(market_of(world["member_a"]), viewer=viewer, bbox=None, points_max=2)
    assert data["mode"] == "cells"
    assert "points" not in data
    assert sum(c["n"] for c in data["cells"]) == data["total"] == 3
    places = {(c["lat"], c["lon"]) for c in data["cells"] if c["n"] == 1}
    # Cells of 2^k degrees; the extent here spans ~0.1 degrees, so each place has its own.
    assert data["cell_deg"] == 2.0**-8
    assert (CELL_LAT, CELL_LON) in places
    assert (float(HIDDEN_LAT), float(HIDDEN_LON)) in places  # the public listing there
    for cell in data["cells"]:
        west, south, east, north = cell["bounds"]
        assert south <= cell["lat"] < north and west <= cell["lon"] < east
    text = json.dumps(data)
    assert "Company B" not in text and "Secret yard" not in text


def test_a_cell_mean_is_over_visible_places_only(world, company_b):
    """Two hidden listings at two sites of one coarse cell make one place, its centre."""
    other_site = factories.SiteFactory(
        organization=company_b, latitude=Decimal("43.160001"), longitude=Decimal("76.899999")
    )
    factories.SupplyListingFactory(organization=company_b, site=other_site, visibility="anonymous")
    viewer = visibility.viewer_for(world["member_a"])
    places = market_map.visible_places(
        market_of(world["member_a"]), viewer=viewer, introduced_ids=set()
    )
    assert (CELL_LAT, CELL_LON, 2) in places


def test_an_empty_market_answers_no_point(member_a):
    viewer = visibility.viewer_for(member_a)
    data = market_map.map_data(
        SupplyListing.objects.none(), viewer=viewer, bbox=BBox(76, 43, 77, 44)
    )
    assert data == {"mode": "points", "total": 0, "extent": None, "points": []}


def test_cells_are_powers_of_two_about_sixteen_across():
    assert market_map.cell_deg_for(BBox(76.0, 43.0, 77.0, 43.5)) == 2.0**-4
    assert market_map.cell_deg_for(BBox(76.9, 43.2, 76.92, 43.21)) == 2.0**-10
