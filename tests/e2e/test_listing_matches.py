"""A company opens its listing and sees who could take it, and why nobody can."""

import pytest
from playwright.sync_api import expect

from symbiosis.demo import DEMO_PASSWORD
from symbiosis.models import SupplyListing
from tests.demo_snapshot import load_demo
from tests.e2e.conftest import login, screenshot

pytestmark = pytest.mark.e2e

POWER_PLANT = "alatau-heat-power@demo.kz"


@pytest.mark.django_db(transaction=True)
def test_a_company_sees_its_listings_matches_and_why_none(page):
    load_demo()
    fly_ash = SupplyListing.objects.get(demo_key="alatau-heat-power/fly-ash")
    login(page, POWER_PLANT, DEMO_PASSWORD)

    # The workspace row counts them once the page has loaded.
    page.goto("/")
    row_count = page.locator(f"#reach-supply-{fly_ash.pk}")
    expect(row_count).to_have_text("1 demand within reach")

    # The listing's own page: the count, and the best few (the cement works ~85 km off).
    row_count.click()
    reach = page.get_by_test_id("listing-reach")
    expect(reach.get_by_test_id("reach-count")).to_have_text(
        "1 demand within reach accepts Coal fly ash"
    )
    expect(reach).to_contain_text("km by road")
    screenshot(page, "listing-matches-desktop")

    # Within 50 km nobody takes it: the page says so, and how far the nearest is.
    page.goto(f"/listings/supply/{fly_ash.pk}/edit/")
    page.fill("#id_max_km", "50")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(f"**/#supply-{fly_ash.pk}")
    expect(page.locator(f"#reach-supply-{fly_ash.pk}")).to_have_text("0 demands within reach")
    page.goto(f"/market/supply/{fly_ash.pk}/")
    expect(reach.get_by_test_id("reach-count")).to_have_text(
        "0 demands within reach accept Coal fly ash"
    )
    expect(reach.get_by_test_id("reach-why")).to_have_text(
        "No receiver of Coal fly ash within 50 km; 1 within 100 km."
    )
    page.set_viewport_size({"width": 375, "height": 812})
    screenshot(page, "listing-matches-phone")
