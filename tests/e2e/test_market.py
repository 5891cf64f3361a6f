"""Another company browses the market in a real browser; a phone-sized run too."""

import re

import pytest
from playwright.sync_api import expect

from symbiosis.demo import DEMO_PASSWORD
from symbiosis.models import Material, SupplyListing
from tests.demo_snapshot import load_demo
from tests.e2e.conftest import follow_link, login, screenshot

pytestmark = pytest.mark.e2e

BREWERY = "alatau-brewery@demo.kz"
BAKERY = "baursak-bakery@demo.kz"


def create_anonymous_supply(page) -> SupplyListing:
    """As a company already logged in: a supply of food waste published anonymously."""
    page.goto("/listings/supply/new/")
    page.fill("#id_material_q", "пищевые")
    food_waste = Material.objects.get(slug="food-waste")
    expect(page.locator("#id_material")).to_have_value(str(food_waste.pk))
    page.fill("#id_quantity", "100")
    page.select_option("#id_unit", "m3")
    expect(page.locator("#tonnes-preview")).to_contain_text("= 41.9 t")
    page.select_option("#id_visibility", "anonymous")
    page.get_by_role("button", name="Save listing").click()
    page.wait_for_url("**/#supply-*")
    return SupplyListing.objects.latest("created_at")


def _log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()
    page.wait_for_load_state()


@pytest.mark.django_db(transaction=True)
def test_another_company_sees_an_anonymous_listing_without_its_owner(page):
    load_demo()
    login(page, BREWERY, DEMO_PASSWORD)
    created = create_anonymous_supply(page)
    _log_out(page)

    login(page, BAKERY, DEMO_PASSWORD)
    follow_link(page, "Market")
    expect(page.get_by_role("heading", name="Market")).to_be_visible()
    # Filters apply over htmx and land in the URL.
    page.select_option("#id_material", str(created.material_id))
    expect(page).to_have_url(re.compile(rf"/market/\?.*material={created.material_id}\b"))
    row = page.locator(f"#market-supply-{created.pk}")
    expect(row).to_be_visible()
    expect(row).to_contain_text("Food waste")
    expect(row).to_contain_text("41.9 t")
    expect(row).to_contain_text("Alatau")  # the district, named for everyone
    expect(row).to_contain_text("Anonymous")
    expect(row).not_to_contain_text("Alatau Brewery")
    expect(row).not_to_contain_text("Brewery ·")
    screenshot(page, "market-desktop")

    row.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Food waste")
    assert "Alatau Brewery" not in page.content()

    # The brewery's private listing cannot be opened by URL.
    private = SupplyListing.objects.filter(
        organization=created.organization, visibility="private"
    ).first() or SupplyListing.objects.create(
        organization=created.organization,
        site=created.site,
        material=created.material,
        quantity=1,
        visibility="private",
        status="active",
    )
    response = page.goto(f"/market/supply/{private.pk}/")
    assert response.status == 404
    response = page.goto(f"/listings/supply/{private.pk}/edit/")
    assert response.status == 404


def _no_horizontal_scroll(page) -> None:
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow} px"


@pytest.mark.django_db(transaction=True)
def test_phone_width_has_no_horizontal_scroll(phone_page):
    load_demo()
    page = phone_page
    login(page, BREWERY, DEMO_PASSWORD)
    for url, name in [
        ("/", "home-375"),
        ("/listings/supply/new/", "listing-form-375"),
        ("/listings/demand/new/", "demand-form-375"),
        ("/market/", "market-375"),
    ]:
        page.goto(url)
        _no_horizontal_scroll(page)
        screenshot(page, name)
    # An inline error must not widen the page either.
    page.goto("/listings/supply/new/")
    page.fill("#id_quantity", "-1")
    page.get_by_role("button", name="Save listing").click()
    expect(page.locator("#field-quantity .errorlist")).to_be_visible()
    _no_horizontal_scroll(page)
    screenshot(page, "listing-form-error-375")
