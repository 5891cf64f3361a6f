"""Where an exchange runs, as a city analyst sees it: never finer than a coarse cell.

Issue 13 item 9: the exchanges export and the city map gave each end to 0.01
degree (about a kilometre), enough to find both companies. Every end is now the
centre of its ``symbiosis.geo.coarse`` cell (0.05 degree, the cell the market
shows for an anonymous listing), and exchanges whose ends share cells (and
districts and material) are one line, in the export, on the page's map and
nowhere finer on the public page.
"""

import csv
import io
import json
import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from dashboard import selectors
from dashboard.selectors import CityFilters
from symbiosis import geo
from tests import factories
from tests.dashboard.conftest import deliver, make_deal

EXCHANGES = reverse("api:city-table", args=["exchanges"])
COORDINATES = ("from_lat", "from_lon", "to_lat", "to_lon")


def is_cell_centre(degrees: float) -> bool:
    steps = degrees / geo.COARSE_STEP_DEG - 0.5
    return abs(steps - round(steps)) < 1e-9


def ends(line: dict) -> tuple[tuple[float, float], tuple[float, float]]:
    return (line["from_lat"], line["from_lon"]), (line["to_lat"], line["to_lon"])


def cell(site) -> tuple[float, float]:
    return geo.coarse(site.latitude, site.longitude)


def site_coordinates(city) -> set[float]:
    return {float(v) for s in city.sites.values() for v in (s.latitude, s.longitude)}


def export(client, analyst, fmt="json") -> list[dict]:
    client.force_login(analyst)
    response = client.get(EXCHANGES, {"format": fmt})
    assert response.status_code == 200
    if fmt == "json":
        return response.json()["rows"]
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def map_lines(client, user) -> list[dict]:
    client.force_login(user)
    text = client.get(reverse("dashboard:city")).content.decode()
    found = re.search(r'<script id="city-map-data" type="application/json">(.*?)</script>', text)
    return json.loads(found.group(1))["lines"]


@pytest.fixture
def second_brewery(city):
    """Another brewery 1.3 km from the first, in the same cell and district, sending
    spent grain to the same farm: 10 t confirmed."""
    brewery = factories.OrganizationFactory(name="Second Brewery", sector="C")
    site = factories.SiteFactory(
        organization=brewery,
        name="Second yard",
        district="almaly",
        latitude=Decimal("43.260000"),
        longitude=Decimal("76.910000"),
    )
    assert cell(site) == cell(city.sites["brewery"])
    supply = factories.SupplyListingFactory(
        organization=brewery, site=site, material=city.materials["grain"]
    )
    grain_deal = city.deals["grain"]
    deal = make_deal(
        supply=supply,
        receiver_site=city.sites["farm"],
        demand=grain_deal.demand,
        factor_set=city.factor_set,
    )
    deliver(deal, date(2026, 2, 10), "10.000")
    return site


@pytest.mark.django_db
def test_every_end_is_the_markets_cell_of_its_site(client, city, analyst):
    """The brewery sits on a cell edge (latitude 43.25): its end is the market's
    cell for it (``geo.coarse``), the cell that starts at that line, which the
    database picks too (``geo_sql``), so the map and the market together do not
    narrow it to the edge."""
    farm = cell(city.sites["farm"])
    supplier = {
        "Spent grain": city.sites["brewery"],
        "Steel slag": city.sites["builder"],
        "Old bread": city.sites["bakery"],
    }
    for fmt in ("json", "csv"):
        rows = export(client, analyst, fmt)
        assert len(rows) == 3
        for row in rows:
            (from_lat, from_lon), (to_lat, to_lon) = ends({k: float(row[k]) for k in COORDINATES})
            assert (from_lat, from_lon) == pytest.approx(cell(supplier[row["material"]]))
            assert (to_lat, to_lon) == pytest.approx(farm)
            for value in (from_lat, from_lon, to_lat, to_lon):
                assert is_cell_centre(value), (fmt, row)
    # 43.25 is a grid line: exactly, it starts the cell 43.25-43.30 (floats put it
    # in the cell below before the grid was defined on micro-degrees).
    assert cell(city.sites["brewery"])[0] == 43.275


@pytest.mark.django_db
def test_no_coordinate_finer_than_a_cell_reaches_an_analyst(client, city, analyst, facilitator):
    exact = site_coordinates(city)
    rounded = {round(v, 2) for v in exact}
    for lines in (
        export(client, analyst),
        selectors.exchanges(CityFilters(), localized=True),
    ):
        for value in (v for line in lines for end in ends(line) for v in end):
            assert is_cell_centre(value)
            assert value not in exact | rounded
    for user in (analyst, facilitator):
        for line in map_lines(client, user):
            for value in (*line["from"], *line["to"]):
                assert is_cell_centre(value)
                assert value not in exact | rounded


@pytest.mark.django_db
def test_two_exchanges_in_one_cell_are_one_line(client, city, analyst, second_brewery):
    rows = export(client, analyst)
    grain = [row for row in rows if row["material"] == "Spent grain"]
    assert len(rows) == 3 and len(grain) == 1
    assert grain[0]["exchanges"] == 2
    assert grain[0]["tonnes"] == pytest.approx(49.75 + 10)
    # Every confirmed tonne of grain runs on this line: its figures are the material's.
    (material,) = [
        r for r in selectors.by_material(CityFilters()) if r["material"] == "Spent grain"
    ]
    # The export gives kg CO2e with 1 decimal (symbiosis.numbers.EXPORT_PLACES).
    assert grain[0]["kg_co2e"] == pytest.approx(material["kg_co2e"], abs=0.05)
    assert grain[0]["exchanges"] == material["exchanges"]
    lines = map_lines(client, analyst)
    assert len(lines) == 3
    assert sorted(line["tonnes"] for line in lines) == pytest.approx([5, 59.75, 100.125])
    top, total = selectors.largest_exchanges(CityFilters(), 2)
    assert total == 3
    assert [line["material"] for line in top] == ["Steel slag", "Spent grain"]
    assert top[1]["exchanges"] == 2


@pytest.mark.django_db
def test_the_map_ranks_lines_after_merging(city, second_brewery):
    """Lines are ranked after merging: three grain sites in one cell (49.75 + 10 +
    45 = 104.75 t) outrank slag's 100.125 t, though each grain deal is smaller."""
    third = factories.SiteFactory(
        organization=second_brewery.organization,
        district="almaly",
        latitude=Decimal("43.270000"),
        longitude=Decimal("76.920000"),
    )
    assert cell(third) == cell(second_brewery)
    supply = factories.SupplyListingFactory(
        organization=third.organization, site=third, material=city.materials["grain"]
    )
    deal = make_deal(
        supply=supply,
        receiver_site=city.sites["farm"],
        demand=city.deals["grain"].demand,
        factor_set=city.factor_set,
    )
    deliver(deal, date(2026, 3, 10), "45.000")
    top, total = selectors.largest_exchanges(CityFilters(), 1)
    assert total == 3
    assert top[0]["material"] == "Spent grain"
    assert top[0]["tonnes"] == pytest.approx(49.75 + 10 + 45)
    assert top == selectors.exchanges(CityFilters())[:1]


@pytest.mark.django_db
def test_the_public_page_shows_no_coordinates(client, city, settings):
    settings.CITY_PUBLIC_PAGE = True
    text = client.get(reverse("dashboard:public")).content.decode()
    for value in site_coordinates(city):
        for shown in (f"{value:.6f}", f"{value:.2f}"):
            assert shown not in text
    assert "city-map" not in text


@pytest.mark.django_db
def test_sites_on_grid_lines_get_the_markets_cell_from_the_database(client, city, analyst):
    """The same through the database: one supplier per coordinate (its own
    material), on lines, beside them and inside cells, to the farm."""
    coordinates = [
        ("43.250000", "76.900000"),
        ("43.300000", "76.950000"),
        ("43.249999", "76.950001"),
        ("43.250001", "76.899999"),
        ("43.150000", "76.800000"),
        ("43.212345", "76.987654"),
    ]
    sites = {}
    for i, (lat, lon) in enumerate(coordinates):
        material = factories.MaterialFactory(slug=f"edge-{i}", name_en=f"Edge {i}")
        site = factories.SiteFactory(latitude=Decimal(lat), longitude=Decimal(lon))
        supply = factories.SupplyListingFactory(
            organization=site.organization, site=site, material=material
        )
        deal = make_deal(
            supply=supply, receiver_site=city.sites["farm"], demand=None, factor_set=city.factor_set
        )
        deliver(deal, date(2026, 3, 5), "1.000")
        sites[material.name_en] = site
    rows = {row["material"]: row for row in export(client, analyst)}
    for name, site in sites.items():
        assert (rows[name]["from_lat"], rows[name]["from_lon"]) == pytest.approx(cell(site))
