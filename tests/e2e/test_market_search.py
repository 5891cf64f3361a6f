"""A company searches the market on a phone: a Russian query with a typo, the
results updated over htmx as it types, no sideways scrolling."""

import re

import pytest
from playwright.sync_api import expect

from symbiosis.demo import DEMO_PASSWORD
from symbiosis.models import SupplyListing
from tests.demo_snapshot import load_demo
from tests.e2e.conftest import login, screenshot

pytestmark = pytest.mark.e2e

BAKERY = "baursak-bakery@demo.kz"


@pytest.mark.django_db(transaction=True)
def test_a_russian_query_with_a_typo_finds_spent_grain_on_a_phone(phone_page):
    load_demo()
    page = phone_page
    spent_grain = SupplyListing.objects.get(demo_key="alatau-brewery/spent-grain")
    login(page, BAKERY, DEMO_PASSWORD)
    page.goto("/market/")
    # A listing of something else on the first page.
    shown = [
        int(row.get_attribute("id").rsplit("-", 1)[1])
        for row in page.locator("li.market-row").all()
    ]
    other = SupplyListing.objects.filter(pk__in=shown).exclude(material=spent_grain.material)[0]
    expect(page.locator(f"#market-supply-{other.pk}")).to_be_visible()
    # The page is loaded once: everything after this comes over htmx.
    page.evaluate("window.loadedOnce = true")

    box = page.get_by_role("searchbox", name="Search")
    expect(box).to_be_visible()
    box.press_sequentially("пивная дробена", delay=40)

    row = page.locator(f"#market-supply-{spent_grain.pk}")
    expect(row).to_be_visible()
    expect(row).to_contain_text("Brewery spent grain")
    expect(row).to_contain_text("KZT/t")  # a public listing's price
    expect(page.locator(f"#market-supply-{other.pk}")).to_have_count(0)
    expect(page.locator("#results-title")).to_contain_text("3 listings")
    expect(page).to_have_url(re.compile(r"/market/\?.*q=%D0%BF%D0%B8%D0%B2"))
    assert page.evaluate("window.loadedOnce") is True, "the page was reloaded, not swapped"

    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the market scrolls sideways by {overflow} px"
    screenshot(page, "market-search-375")

    # Emptying the box brings every listing back.
    box.fill("")
    box.press("Enter")
    expect(page.locator(f"#market-supply-{other.pk}")).to_be_visible()
