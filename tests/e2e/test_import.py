"""Bulk import in a real browser: two bad rows stop the whole file and are named."""

import pytest
from playwright.sync_api import expect

from symbiosis.demo import DEMO_PASSWORD, load_demo
from symbiosis.models import SupplyListing
from tests.e2e.conftest import login, screenshot

pytestmark = pytest.mark.e2e

BAD = """material,site,quantity,unit
brewery-spent-grain,Brewery,120,t
unobtainium,Brewery,5,t
food-waste,Brewery,10,t
food-waste,Brewery,-4,t
"""
GOOD = BAD.replace("unobtainium", "coffee-grounds").replace("-4", "4")


@pytest.mark.django_db(transaction=True)
def test_import_with_two_bad_rows_imports_nothing_then_a_good_file_imports_all(page):
    load_demo()
    before = SupplyListing.objects.count()
    login(page, "alatau-brewery@demo.kz", DEMO_PASSWORD)
    page.get_by_role("link", name="Import from a spreadsheet").click()
    expect(page.get_by_role("heading", name="Import listings")).to_be_visible()

    page.set_input_files(
        "#id_file", files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": BAD.encode()}]
    )
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#import-preview")).to_contain_text("2 rows have errors")
    expect(page.locator("#import-line-3")).to_contain_text("unobtainium")
    expect(page.locator("#import-line-5")).to_contain_text("above zero")
    expect(page.get_by_role("button", name="Import")).to_have_count(0)
    assert SupplyListing.objects.count() == before
    screenshot(page, "import-errors-desktop")

    page.set_input_files(
        "#id_file", files=[{"name": "good.csv", "mimeType": "text/csv", "buffer": GOOD.encode()}]
    )
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#import-preview")).to_contain_text("All 4 rows are ready")
    assert SupplyListing.objects.count() == before
    page.get_by_role("button", name="3. Import all 4 listings").click()
    page.wait_for_url("**/")
    expect(page.get_by_text("4 listings imported.")).to_be_visible()
    assert SupplyListing.objects.count() == before + 4
