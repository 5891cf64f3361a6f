"""The import preview in a real browser: the chosen file's name stays in sight, and rows
that repeat a listing are marked; the user imports them or leaves them out.
Screenshots at 1366 px and on a 375 px phone."""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from symbiosis.demo import DEMO_PASSWORD
from symbiosis.models import SupplyListing
from tests.demo_snapshot import load_demo
from tests.e2e.conftest import login, screenshot

pytestmark = pytest.mark.e2e

# The demo brewery has an active yearly spent grain supply at its site "Brewery".
REPEATS = """material,site,quantity,unit,recurrence
brewery-spent-grain,Brewery,120,t,year
food-waste,Brewery,10,t,month
food-waste,Brewery,12,t,month
coffee-grounds,Brewery,2,t,month
"""


def _preview(page, name: str) -> None:
    login(page, "alatau-brewery@demo.kz", DEMO_PASSWORD)
    page.goto("/listings/import/")
    page.set_input_files(
        "#id_file", files=[{"name": name, "mimeType": "text/csv", "buffer": REPEATS.encode()}]
    )
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#import-preview")).to_contain_text("All 4 rows are ready")


def _no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.django_db(transaction=True)
def test_duplicates_are_marked_and_left_out_on_request(page):
    page.set_viewport_size({"width": 1366, "height": 900})
    load_demo()
    before = SupplyListing.objects.count()
    _preview(page, "brewery residues 2027.csv")
    preview = page.locator("#import-preview")
    expect(preview.get_by_test_id("import-file")).to_contain_text("brewery residues 2027.csv")
    expect(preview.get_by_test_id("import-duplicates")).to_contain_text("2 rows may repeat")
    expect(page.locator("#import-line-2")).to_contain_text("already exists")
    expect(page.locator("#import-line-4")).to_contain_text("duplicate of line 3")
    expect(page.locator("#import-line-5")).to_contain_text("OK")
    expect(preview).to_contain_text("from brewery residues 2027.csv")
    screenshot(page, "import-duplicates-1366")

    page.get_by_label("Leave out the 2 rows marked as possible duplicates").check()
    page.get_by_role("button", name="3. Import all 4 listings").click()
    page.wait_for_url(lambda url: urlsplit(url).path == "/")
    expect(page.get_by_text("2 listings imported.")).to_be_visible()
    assert SupplyListing.objects.count() == before + 2


@pytest.mark.django_db(transaction=True)
def test_on_a_phone_the_preview_names_the_file_and_imports_duplicates_by_default(phone_page):
    page = phone_page
    load_demo()
    before = SupplyListing.objects.count()
    _preview(page, "a-rather-long-file-name-from-the-accounting-department-2027.csv")
    expect(page.locator("#import-preview").get_by_test_id("import-file")).to_contain_text(
        "a-rather-long-file-name-from-the-accounting-department-2027.csv"
    )
    expect(
        page.get_by_label("Leave out the 2 rows marked as possible duplicates")
    ).not_to_be_checked()
    assert _no_sideways_scroll(page)
    screenshot(page, "import-duplicates-375")

    page.get_by_role("button", name="3. Import all 4 listings").tap()
    page.wait_for_url(lambda url: urlsplit(url).path == "/")
    assert SupplyListing.objects.count() == before + 4
