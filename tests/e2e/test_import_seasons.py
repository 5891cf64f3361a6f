"""Seasons in the import, in a real browser on a phone (issue 19): the import page
lists the new columns; a bad season names its line and imports nothing; the fixed file
imports with its profile and store; at 375 px nothing scrolls sideways."""

import pytest
from playwright.sync_api import expect

from symbiosis.models import SupplyListing
from tests import factories
from tests.e2e.conftest import login, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct-horse-9"  # tests.factories.UserFactory's

BAD = """material,site,quantity,season,monthly_profile,storage_capacity_tonnes
spent-grain,Brewhouse,10,harvest,,40
spent-grain,Brewhouse,20,winter,,
"""
GOOD = BAD.replace("winter,,", ',"1;1;1;0;0;0;0;0;0;0;0;2",')


def _choose_file(page, text: str) -> None:
    page.set_input_files(
        "#id_file", files=[{"name": "seasons.csv", "mimeType": "text/csv", "buffer": text.encode()}]
    )


def test_seasons_in_an_import_on_a_phone(phone_page, company_a, member_a):
    factories.SiteFactory(organization=company_a, name="Brewhouse")
    factories.MaterialFactory(slug="spent-grain", name_en="Spent grain")
    page = phone_page
    login(page, member_a.email, PASSWORD)
    page.goto("/listings/import/")
    for column in ("season", "monthly_profile", "storage_capacity_tonnes"):
        expect(page.locator("code", has_text=column).first).to_be_attached()

    _choose_file(page, BAD)
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#import-preview")).to_contain_text("1 row has errors")
    expect(page.locator("#import-line-3")).to_contain_text("unknown season “winter”")
    assert not SupplyListing.objects.exists()
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{overflow} px of sideways scroll"
    screenshot(page, "import-season-error-375")

    _choose_file(page, GOOD)
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#import-preview")).to_contain_text("All 2 rows are ready")
    page.get_by_role("button", name="3. Import all 2 listings").click()
    expect(page.get_by_text("2 listings imported.")).to_be_visible()
    by_quantity = {int(s.quantity): s for s in SupplyListing.objects.all()}
    assert by_quantity[10].monthly_profile == [0.0] * 7 + [1.0, 1.0, 1.0, 0.0, 0.0]
    assert by_quantity[10].storage_capacity_tonnes == 40
    assert by_quantity[20].monthly_profile == [1.0, 1.0, 1.0] + [0.0] * 8 + [2.0]
