"""Bulk import in a real browser: two bad rows stop the whole file and are named;
a large file is checked and imported by the worker while the page shows progress."""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from symbiosis.demo import DEMO_PASSWORD
from symbiosis.models import SupplyListing
from tests.demo_snapshot import load_demo
from tests.e2e.conftest import login, screenshot

pytestmark = pytest.mark.e2e

BAD = """material,site,quantity,unit
brewery-spent-grain,Brewery,120,t
unobtainium,Brewery,5,t
food-waste,Brewery,10,t
food-waste,Brewery,-4,t
"""
GOOD = BAD.replace("unobtainium", "coffee-grounds").replace("-4", "4")


def _workspace(url: str) -> bool:
    return urlsplit(url).path == "/"


def _choose_file(page, name: str, text: str) -> None:
    page.set_input_files(
        "#id_file", files=[{"name": name, "mimeType": "text/csv", "buffer": text.encode()}]
    )


@pytest.mark.django_db(transaction=True)
def test_import_with_two_bad_rows_imports_nothing_then_a_good_file_imports_all(page):
    load_demo()
    before = SupplyListing.objects.count()
    login(page, "alatau-brewery@demo.kz", DEMO_PASSWORD)
    page.get_by_role("link", name="Import from a spreadsheet").click()
    expect(page.get_by_role("heading", name="Import listings")).to_be_visible()

    _choose_file(page, "bad.csv", BAD)
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#import-preview")).to_contain_text("2 rows have errors")
    expect(page.locator("#import-line-3")).to_contain_text("unobtainium")
    expect(page.locator("#import-line-5")).to_contain_text("above zero")
    expect(page.get_by_role("button", name="Import")).to_have_count(0)
    assert SupplyListing.objects.count() == before
    screenshot(page, "import-errors-desktop")

    _choose_file(page, "good.csv", GOOD)
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#import-preview")).to_contain_text("All 4 rows are ready")
    assert SupplyListing.objects.count() == before
    page.get_by_role("button", name="3. Import all 4 listings").click()
    page.wait_for_url(_workspace)
    expect(page.get_by_text("4 listings imported.")).to_be_visible()
    assert SupplyListing.objects.count() == before + 4


@pytest.fixture
def worker_queue(celery_worker_process):
    """Tasks the live server queues go to this test's own worker."""
    from symbiosis.celery import app

    before = app.conf.task_default_queue
    app.conf.task_default_queue = celery_worker_process.queue
    yield celery_worker_process.queue
    app.conf.task_default_queue = before


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_large_file_shows_progress_then_its_preview_then_imports(page, worker_queue):
    load_demo()
    before = SupplyListing.objects.count()
    rows = 260  # more than IMPORT_SYNC_MAX_ROWS (200): the worker checks and imports it
    text = "material,site,quantity\n" + "".join(
        f"brewery-spent-grain,Brewery,{number}\n" for number in range(1, rows + 1)
    )
    login(page, "alatau-brewery@demo.kz", DEMO_PASSWORD)
    page.goto("/listings/import/")
    _choose_file(page, "big.csv", text)
    page.get_by_role("button", name="Preview").click()
    # The progress card first (the worker has the file), with the import's own address.
    expect(page.locator("#import-status")).to_be_visible()
    page.wait_for_url("**/listings/import/*/")
    screenshot(page, "import-progress")
    expect(page.locator("#import-preview")).to_contain_text(
        f"All {rows} rows are ready", timeout=120_000
    )
    expect(page.locator("#import-status")).to_have_count(0)
    assert SupplyListing.objects.count() == before

    page.get_by_role("button", name=f"3. Import all {rows} listings").click()
    expect(page.locator("#import-status")).to_be_visible()
    page.wait_for_url(_workspace, timeout=120_000)
    expect(page.get_by_text(f"{rows} listings imported.")).to_be_visible()
    assert SupplyListing.objects.count() == before + rows
