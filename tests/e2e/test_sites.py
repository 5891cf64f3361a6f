"""The site form's map picker in a real browser, offline (tiles cannot load)."""

import pytest
from playwright.sync_api import expect

from symbiosis.demo import DEMO_PASSWORD
from symbiosis.models import Site
from tests.demo_snapshot import load_demo
from tests.e2e.conftest import login, screenshot

pytestmark = pytest.mark.e2e


@pytest.mark.django_db(transaction=True)
def test_a_site_is_placed_by_clicking_the_map_or_typing(page):
    load_demo()
    login(page, "alatau-brewery@demo.kz", DEMO_PASSWORD)
    page.get_by_role("link", name="Add a site").click()
    expect(page.locator("#site-map.leaflet-container")).to_be_visible()
    # This machine is offline: the tile layer fails and the form says so.
    expect(page.locator(".map-offline")).to_be_visible()

    page.fill("#id_name", "Malt store")
    page.select_option("#id_district", "turksib")
    page.locator("#site-map").click(position={"x": 120, "y": 90})
    latitude = page.input_value("#id_latitude")
    longitude = page.input_value("#id_longitude")
    assert 43.0 < float(latitude) < 43.5, latitude
    assert 76.6 < float(longitude) < 77.2, longitude
    expect(page.locator("#site-map .leaflet-marker-icon")).to_have_count(1)
    screenshot(page, "site-form-desktop")

    # Typed coordinates win; a bad one is an inline error, and the map comes back.
    page.fill("#id_latitude", "95")
    page.get_by_role("button", name="Save site").click()
    expect(page.locator("#field-latitude .errorlist")).to_be_visible()
    expect(page.locator("#site-map.leaflet-container")).to_be_visible()
    assert not Site.objects.filter(name="Malt store").exists()

    page.fill("#id_latitude", "43.300100")
    page.fill("#id_longitude", "76.950200")
    page.get_by_role("button", name="Save site").click()
    page.wait_for_url("**/#site-*")
    site = Site.objects.get(name="Malt store")
    assert str(site.latitude) == "43.300100"
    assert str(site.longitude) == "76.950200"
    expect(page.locator(f"#site-{site.pk}")).to_contain_text("Malt store")
