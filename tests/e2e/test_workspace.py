"""A company creates a listing in a real browser: material search, live tonnes, warnings."""

import pytest
from playwright.sync_api import expect

from symbiosis.demo import DEMO_PASSWORD
from symbiosis.models import Material, SupplyListing
from tests.demo_snapshot import load_demo
from tests.e2e.conftest import login, screenshot

pytestmark = pytest.mark.e2e

BREWERY = "alatau-brewery@demo.kz"


@pytest.mark.django_db(transaction=True)
def test_a_company_creates_a_supply_listing_with_search_and_live_tonnes(page):
    load_demo()
    before = SupplyListing.objects.count()
    login(page, BREWERY, DEMO_PASSWORD)
    expect(page.get_by_role("heading", name="My workspace")).to_be_visible()
    expect(page.get_by_text("Proposals and deals needing your attention")).to_be_visible()
    screenshot(page, "home-desktop")

    page.get_by_role("link", name="New supply listing").click()
    spent_grain = Material.objects.get(slug="brewery-spent-grain")
    # Search by the Russian name: the best match is chosen in the select.
    page.fill("#id_material_q", "дробина")
    expect(page.locator("#id_material")).to_have_value(str(spent_grain.pk))
    # The brewery already offers spent grain at its only site: a warning, not a block.
    expect(page.locator("#duplicate-warning")).to_contain_text("already exists")

    # Spent grain has no known density: m3 cannot be converted.
    page.fill("#id_quantity", "100")
    page.select_option("#id_unit", "m3")
    expect(page.locator("#tonnes-preview")).to_contain_text("no known density")

    food_waste = Material.objects.get(slug="food-waste")
    page.fill("#id_material_q", "food waste")
    expect(page.locator("#id_material")).to_have_value(str(food_waste.pk))
    expect(page.locator("#tonnes-preview")).to_contain_text("= 41.9 t")
    expect(page.locator("#duplicate-warning")).not_to_contain_text("already exists")

    # A bad quantity: an inline error in place, nothing saved, no page load.
    page.evaluate("window.__marker = 'same page'")
    page.fill("#id_quantity", "-3")
    page.get_by_role("button", name="Save listing").click()
    expect(page.locator("#field-quantity .errorlist")).to_be_visible()
    assert page.evaluate("window.__marker") == "same page"
    assert SupplyListing.objects.count() == before
    screenshot(page, "listing-form-error-desktop")

    page.fill("#id_quantity", "100")
    page.select_option("#id_visibility", "anonymous")
    page.get_by_role("button", name="Save listing").click()
    page.wait_for_url("**/#supply-*")
    created = SupplyListing.objects.latest("created_at")
    assert created.material == food_waste
    assert str(created.tonnes.normalize()) == "41.9"
    row = page.locator(f"#supply-{created.pk}")
    expect(row).to_contain_text("41.9 t")
    expect(row).to_contain_text("Food waste")

    # Pause it from its row (htmx swaps the row only).
    row.get_by_role("button", name="Pause").click()
    expect(page.locator(f"#supply-{created.pk}")).to_contain_text("Paused")
    created.refresh_from_db()
    assert created.status == "paused"
