"""A saved search brings a company back: it filters the market and saves the search,
another company publishes a matching listing, the daily digest names it (in the
app, with a link to the listing, and by e-mail, without the anonymous owner), and
the e-mail's unsubscribe link works without logging in."""

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from playwright.sync_api import expect

from symbiosis import saved_searches
from symbiosis.demo import DEMO_PASSWORD
from symbiosis.models import Material, SavedSearch
from tests.demo_snapshot import load_demo
from tests.e2e.conftest import follow_link, login, screenshot
from tests.e2e.test_market import create_anonymous_supply

pytestmark = pytest.mark.e2e

BREWERY = "alatau-brewery@demo.kz"
BAKERY = "baursak-bakery@demo.kz"


def _log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()
    page.wait_for_load_state()


def _save_a_search(page, food_waste) -> SavedSearch:
    follow_link(page, "Market")
    page.select_option("#id_material", str(food_waste.pk))
    expect(page).to_have_url(re.compile(rf"/market/\?.*material={food_waste.pk}\b"))
    page.fill("#id_min_tonnes", "10")
    expect(page).to_have_url(re.compile(r"min_tonnes=10\b"))
    page.get_by_role("button", name="Save this search").click()
    name = page.locator("#id_saved_search_name")
    expect(name).to_have_value(re.compile("Food waste"))  # a name suggested from the filters
    # The market's URL stays: saving happens beside it.
    expect(page).to_have_url(re.compile(r"/market/\?"))
    name.fill("Food waste for our ovens")
    page.get_by_role("button", name="Save and alert me daily").click()
    expect(page.locator("#save-search")).to_contain_text("Search saved: “Food waste for our ovens”")
    screenshot(page, "saved-search-saved")
    search = SavedSearch.objects.get(name="Food waste for our ovens")
    assert search.query["material"] == str(food_waste.pk)
    assert search.query["min_tonnes"] == "10"

    page.locator("#save-search").get_by_role("link", name="Your saved searches").click()
    row = page.locator(f"#saved-search-{search.pk}")
    expect(row).to_contain_text("Material: Food waste")
    expect(row).to_contain_text("Alerts on")
    screenshot(page, "saved-searches")
    return search


@pytest.mark.django_db(transaction=True)
def test_a_saved_search_produces_a_digest_and_unsubscribes_without_log_in(
    page, browser, live_server
):
    load_demo()
    food_waste = Material.objects.get(slug="food-waste")
    login(page, BAKERY, DEMO_PASSWORD)
    search = _save_a_search(page, food_waste)
    _log_out(page)

    login(page, BREWERY, DEMO_PASSWORD)
    created = create_anonymous_supply(page)
    _log_out(page)

    # The daily pass, as Celery beat runs it.
    mail.outbox.clear()
    assert saved_searches.saved_search_digests_send() == {"users": 1, "listings": 1}
    assert saved_searches.saved_search_digests_send() == {"users": 0, "listings": 0}

    login(page, BAKERY, DEMO_PASSWORD)
    page.goto("/notifications/")
    digest = page.get_by_role("link", name=re.compile("New on the market: 1 listing matches"))
    expect(digest).to_be_visible()
    screenshot(page, "saved-search-digest")
    digest.click()
    expect(page).to_have_url(re.compile(rf"/market/supply/{created.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Food waste")
    assert "Alatau Brewery" not in page.content()

    (email,) = mail.outbox
    assert f"/market/supply/{created.pk}/" in email.body
    assert "Alatau Brewery" not in email.body
    link = re.search(r"https?://\S+/market/saved/unsubscribe/\S+/", email.body).group(0)
    assert search.unsubscribe_token in link

    # The link, opened in a browser that is not logged in: it asks, then stops.
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    try:
        stranger = context.new_page()
        stranger.goto(urlsplit(link).path)
        expect(stranger.get_by_role("heading", name="Stop alerts")).to_be_visible()
        search.refresh_from_db()
        assert search.active  # opening the link changes nothing
        stranger.get_by_role("button", name="Stop these alerts").click()
        expect(stranger.locator("main")).to_contain_text("“Food waste for our ovens” are stopped")
        screenshot(stranger, "saved-search-unsubscribed")
    finally:
        context.close()
    search.refresh_from_db()
    assert not search.active

    # Back on the saved searches page, the search shows as paused; on a phone too.
    page.goto("/market/saved/")
    expect(page.locator(f"#saved-search-{search.pk}")).to_contain_text("Paused")
    page.set_viewport_size({"width": 375, "height": 812})
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the saved searches page scrolls sideways by {overflow} px"
    screenshot(page, "saved-searches-375")
