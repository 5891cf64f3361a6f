"""A deal from the market to a confirmed delivery, through two browsers: one party
logs the load (gross and tare), the other confirms it."""

import math
from datetime import date

import pytest
from playwright.sync_api import expect

from marketplace.models import Deal
from symbiosis.models import SupplyListing
from tests.demo_snapshot import load_demo
from tests.e2e.conftest import login, screenshot

pytestmark = pytest.mark.e2e
PASSWORD = "almaty-demo-2027"


def _haversine_km(a, b):
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def _as(browser, live_server, email):
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    login(page, email, PASSWORD)
    return page


def _click_and_wait(page, name):
    with page.expect_response(lambda r: r.request.method == "POST"):
        page.get_by_role("button", name=name).click()
    page.wait_for_load_state()


@pytest.mark.django_db(transaction=True)
def test_offer_accept_deliver_confirm(browser, live_server):
    load_demo()
    supply = SupplyListing.objects.get(demo_key="baursak-bakery/bread")
    # The demo listings start in 2027; a delivery cannot be dated in the future.
    SupplyListing.objects.filter(pk=supply.pk).update(available_from=date(2026, 1, 1))
    today = date.today()

    brewery = _as(browser, live_server, "alatau-brewery@demo.kz")
    brewery.goto(f"/market/supply/{supply.pk}/")
    brewery.get_by_role("link", name="Offer a deal for this residue").click()
    brewery.get_by_label("Your demand listing it answers").select_option(index=1)
    # The bakery gives away 25 t of bread a year (symbiosis/fixtures/README.md).
    brewery.get_by_label("Tonnes per period").fill("20")
    brewery.get_by_label("Period:", exact=True).select_option("year")
    brewery.get_by_label("Price (KZT per tonne)").fill("0")
    brewery.get_by_label("Start:", exact=True).fill(today.replace(day=1).isoformat())
    brewery.get_by_label("End:", exact=True).fill(date(today.year + 1, 10, 31).isoformat())
    brewery.get_by_role("button", name="Send the offer").click()
    brewery.wait_for_url("**/deals/*/")
    deal = Deal.objects.get(supply=supply)
    assert deal.state == "offered"

    # Sending the offer accepted it for the brewery: it has nothing to accept or decline.
    brewery.goto(f"/deals/{deal.pk}/")
    expect(brewery.get_by_role("button", name="Accept terms version 1")).to_have_count(0)
    expect(brewery.get_by_text("Decline", exact=True)).to_have_count(0)

    bakery = _as(browser, live_server, "baursak-bakery@demo.kz")
    bakery.goto(f"/deals/{deal.pk}/")
    _click_and_wait(bakery, "Accept terms version 1")
    deal.refresh_from_db()
    assert deal.state == "accepted"
    bakery.goto(f"/deals/{deal.pk}/")
    # Deliveries start today (the later of today and the agreed start, the 1st).
    expect(bakery.get_by_label("Deliveries start on")).to_have_value(today.isoformat())
    _click_and_wait(bakery, "Start deliveries")
    deal.refresh_from_db()
    assert (deal.state, deal.deliveries_from) == ("active", today)

    bakery.goto(f"/deals/{deal.pk}/")
    bakery.get_by_text("Log a delivery").click()
    bakery.get_by_label("Date:", exact=True).fill(today.isoformat())
    # Gross and tare from the weighbridge; the net (12.5 t) is computed.
    bakery.get_by_label("Gross (t)").fill("20.5")
    bakery.get_by_label("Tare (t)").fill("8")
    bakery.get_by_label("Ticket number").fill("WB-0042")
    bakery.get_by_label("Vehicle").fill("A 777 KZ")
    _click_and_wait(bakery, "Log the delivery")
    # The party that logged it never confirms it: the other party does.
    bakery.goto(f"/deals/{deal.pk}/")
    expect(bakery.locator("#deliveries")).to_contain_text("Awaiting confirmation by")
    expect(bakery.get_by_role("button", name="Confirm", exact=True)).to_have_count(0)

    # The brewery confirms from the delivery's own page, where the figures are.
    delivery = deal.deliveries.get()
    brewery.goto(f"/deals/deliveries/{delivery.pk}/")
    expect(brewery.locator("#figures")).to_contain_text("WB-0042")
    expect(brewery.locator("#figures")).to_contain_text("12.5 t")
    _click_and_wait(brewery, "Confirm")
    delivery.refresh_from_db()
    assert delivery.status == "confirmed"

    # 12.5 t of bread: landfill 1094.1 + malt credit 724.8 - 0.10163 x road km.
    a, b = supply.site, deal.receiver_site
    km = (
        _haversine_km(
            (float(a.latitude), float(a.longitude)), (float(b.latitude), float(b.longitude))
        )
        * 1.3
    )
    expected_kg = 12.5 * (1094.1 + 724.8 - 0.10163 * km)
    for page in (brewery, bakery):
        page.goto(f"/deals/{deal.pk}/")
        # A unit follows its number by a no-break space (symbiosis.numbers).
        text = page.inner_text("#deal").replace("\u00a0", " ")
        assert "12.5 t" in text
        assert f"{expected_kg:.0f} kg" in text.replace(",", "")
    screenshot(brewery, "deal-delivered")

    # The same deal and delivery on a 375 px phone, in Russian: nothing wider than the
    # screen, the next step and the history in words.
    phone = browser.new_context(
        base_url=live_server.url,
        locale="ru-RU",
        viewport={"width": 375, "height": 812},
        is_mobile=True,
        has_touch=True,
        extra_http_headers={"Accept-Language": "ru"},
    )
    page = phone.new_page()
    login(page, "baursak-bakery@demo.kz", PASSWORD)
    for url in (f"/deals/{deal.pk}/", f"/deals/deliveries/{delivery.pk}/"):
        page.goto(url)
        expect(page.locator("#next-step")).to_contain_text("Следующий шаг")
        expect(page.locator("#timeline")).to_contain_text("Поставка подтверждена")
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 375, url
    screenshot(page, "deal-delivered-phone-ru")
    phone.close()
