"""The market's map in a real browser, offline: tile requests are refused.

Markers (and clusters) still show on a blank background; moving or zooming the
map narrows the list to the map's area (the URL carries it); an anonymous
listing sits at its coarse cell and its popup names no owner; a phone switches
between the map and the list from the keyboard; no script or style breaks the
Content-Security-Policy.
"""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from symbiosis import geo, market_map
from symbiosis.demo import DEMO_PASSWORD
from symbiosis.models import Material, Organization, SupplyListing
from tests.demo_snapshot import load_demo
from tests.e2e.conftest import login, screenshot
from tests.e2e.test_csp import CspWatch

pytestmark = pytest.mark.e2e

BREWERY = "alatau-brewery@demo.kz"
BAKERY = "baursak-bakery@demo.kz"


def _block_tiles(page, live_server) -> list[str]:
    """Refuse every request that leaves the live server (the tiles); returns them."""
    refused: list[str] = []

    def handle(route):
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.context.route("**/*", handle)
    return refused


def _bbox_of(url: str) -> str:
    """The map's area in a page's address, as "west,south,east,north" ("" if none)."""
    return parse_qs(urlsplit(url).query).get("bbox", [""])[0]


def _listed(page) -> int:
    heading = page.locator("#results-title").inner_text()
    return int(re.match(r"(\d+)", heading.replace(",", "")).group(1))


# The map has loaded the data of the area in the page's address (the list's).
SETTLED = """() => {
  const canvas = document.getElementById("market-map");
  const wanted = new URLSearchParams(location.search).get("bbox") || "";
  const loaded = new URLSearchParams(canvas.dataset.query || "").get("bbox");
  return canvas.dataset.ready === "true" && loaded !== null && loaded === wanted;
}"""


def _map_total(page) -> int:
    page.wait_for_function(SETTLED)
    return int(page.locator("#market-map").get_attribute("data-total"))


def _anonymous_supply():
    brewery = Organization.objects.get(memberships__user__email=BREWERY)
    site = brewery.sites.first()
    return (
        SupplyListing.objects.create(
            organization=brewery,
            site=site,
            material=Material.objects.get(slug="food-waste"),
            quantity=77,
            unit="t",
            tonnes=77,
            recurrence="month",
            fate="landfill",
            visibility="anonymous",
            status="active",
            description="Brewery secret note",
        ),
        site,
    )


@pytest.mark.django_db(transaction=True)
def test_the_map_shows_markers_without_tiles_and_the_list_follows_it(page, live_server):
    load_demo()
    listing, site = _anonymous_supply()
    refused = _block_tiles(page, live_server)
    watch = CspWatch(page)
    login(page, BAKERY, DEMO_PASSWORD)
    page.set_viewport_size({"width": 1366, "height": 900})

    watch.visit("/market/")
    canvas = page.locator("#market-map")
    expect(canvas).to_be_visible()
    total = _map_total(page)
    assert total == _listed(page) > 10
    # Markers on a blank background: the tiles were asked for and refused.
    expect(page.locator("#market-map .leaflet-marker-icon").first).to_be_visible()
    assert any("tile" in url for url in refused), refused
    expect(page.locator("#market-map-status")).to_contain_text(f"{total} listings on the map")
    screenshot(page, "market-map-1366")

    # Zooming in narrows the list to the map's area, through the URL.
    for _ in range(3):
        page.locator("#market-map .leaflet-control-zoom-in").click()
        page.wait_for_timeout(400)
    expect(page).to_have_url(re.compile(r"/market/\?.*bbox="))
    zoomed = _map_total(page)
    assert zoomed < total
    expect(page.locator("#results-title")).to_contain_text(f"{zoomed} listing")
    bbox = _bbox_of(page.url)
    box = market_map.parse_bbox(bbox)

    # Panning from the keyboard moves the area and the list with it.
    canvas.focus()
    for _ in range(4):
        page.keyboard.press("ArrowRight")
        page.wait_for_timeout(200)
    page.wait_for_url(lambda url: _bbox_of(url) != bbox)
    moved = market_map.parse_bbox(_bbox_of(page.url))
    assert moved.west > box.west
    expect(page.locator("#results-title")).to_contain_text(f"{_map_total(page)} listing")
    # Back restores the previous area's list, and a live map with it.
    panned = _bbox_of(page.url)
    with page.expect_event("domcontentloaded"):  # the page loads again, map and all
        page.go_back()
    assert _bbox_of(page.url) != panned
    expect(canvas).to_have_attribute("data-ready", "true")
    expect(page.locator("#market-map .leaflet-marker-icon").first).to_be_visible()
    restored = _bbox_of(page.url)
    page.locator("#market-map .leaflet-control-zoom-out").click()
    page.wait_for_url(lambda url: _bbox_of(url) not in (restored, panned))
    expect(page.locator("#results-title")).to_contain_text(f"{_map_total(page)} listing")

    # The anonymous listing is on the map at its coarse cell: a box around the site
    # does not find it, one around the cell does; its popup names no owner.
    cell_lat, cell_lon = geo.coarse(site.latitude, site.longitude)
    lat, lon = float(site.latitude), float(site.longitude)
    at_site = f"{lon - 0.001},{lat - 0.001},{lon + 0.001},{lat + 0.001}"
    watch.visit(f"/market/?bbox={at_site}")
    expect(page.locator(f"#market-supply-{listing.pk}")).to_have_count(0)
    at_cell = f"{cell_lon - 0.002},{cell_lat - 0.002},{cell_lon + 0.002},{cell_lat + 0.002}"
    watch.visit(f"/market/?material={listing.material_id}&bbox={at_cell}")
    expect(page.locator(f"#market-supply-{listing.pk}")).to_be_visible()
    assert _map_total(page) == _listed(page) == 1
    marker = page.locator("#market-map .leaflet-marker-icon.market-marker-anonymous")
    expect(marker).to_have_count(1)
    marker.click()
    popup = page.locator("#market-map .leaflet-popup-content")
    expect(popup).to_contain_text("Food waste")
    expect(popup).to_contain_text("Anonymous")
    expect(popup).not_to_contain_text("Alatau Brewery")
    expect(popup).not_to_contain_text(site.name)
    expect(popup.get_by_role("link")).to_have_attribute("href", f"/market/supply/{listing.pk}/")
    assert "Brewery secret note" not in page.content()
    # "Whole market" leaves the map's area.
    page.locator("#market-map-everywhere").click()
    expect(page).not_to_have_url(re.compile(r"bbox=\d"))
    assert watch.refused == [], watch.refused


@pytest.mark.django_db(transaction=True)
def test_many_listings_are_counted_by_area_and_a_click_zooms_in(page, live_server, monkeypatch):
    load_demo()
    monkeypatch.setattr(market_map, "POINTS_MAX", 5)
    _block_tiles(page, live_server)
    login(page, BAKERY, DEMO_PASSWORD)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/market/")
    total = _map_total(page)
    expect(page.locator("#market-map")).to_have_attribute("data-mode", "cells")
    expect(page.locator("#market-map-status")).to_contain_text("counted by area")
    cells = page.locator("#market-map .market-cell")
    assert cells.count() > 1
    counts = [int(t.replace(",", "")) for t in cells.all_inner_texts()]
    assert sum(counts) == total
    # The largest cell, from the keyboard: its listings fill the list.
    largest = cells.nth(counts.index(max(counts)))
    largest.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"bbox="))
    assert _map_total(page) < total
    assert _listed(page) == _map_total(page)


@pytest.mark.django_db(transaction=True)
def test_a_phone_switches_between_map_and_list(phone_page, live_server):
    page = phone_page
    load_demo()
    _block_tiles(page, live_server)
    login(page, BAKERY, DEMO_PASSWORD)
    page.goto("/market/")
    results = page.locator("#market-results")
    canvas = page.locator("#market-map")
    to_map = page.get_by_role("button", name="Map", exact=True)
    to_list = page.get_by_role("button", name="List", exact=True)
    expect(results).to_be_visible()
    expect(canvas).to_be_hidden()
    expect(to_list).to_have_attribute("aria-pressed", "true")
    # From the keyboard.
    to_map.focus()
    page.keyboard.press("Enter")
    expect(canvas).to_be_visible()
    expect(results).to_be_hidden()
    expect(to_map).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#market-map .leaflet-marker-icon").first).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], width
    screenshot(page, "market-map-375")
    to_list.focus()
    page.keyboard.press("Space")
    expect(results).to_be_visible()
    expect(canvas).to_be_hidden()
