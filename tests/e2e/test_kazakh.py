"""Kazakh in a real browser (issue 21): a company user presses ҚАЗ and walks every
page of the company journey (workspace, a new listing, the market and its search, a
listing, introductions, deals, a deal, a delivery, notifications); each page says
``<html lang="kk">`` and shows its heading and the menu in the kk catalogue's words.
On a 375 px phone the three buttons ҚАЗ / РУС / ENG fit.

The expected words are read from the catalogue here (``translation.override("kk")``),
and must differ from the English: the test fails while locale/kk is missing.

Screenshots: kazakh-<page> (1366 px), kazakh-switcher-375.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from marketplace import services
from tests.e2e.conftest import login, screenshot
from tests.marketplace.conftest import (  # noqa: F401  (fixtures)
    company_c,
    make_deal,
    make_introduction,
    market,
    member_c,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct-horse-9"  # tests/factories.py
GRAIN_KK = "Сыра сығындысы"
# The menu items a company member has, by their English msgids.
MENU = ("Market", "Introductions", "Deals", "Log out")


def _kk(msgid: str, **values) -> str:
    """``msgid`` in the kk catalogue; it must be translated (not the English back)."""
    with translation.override("kk"):
        text = gettext(msgid)
    assert text != msgid, f"locale/kk has no translation of {msgid!r}"
    return text % values if values else text


@pytest.fixture
def journey(market, make_deal, make_introduction, member_a, member_b):  # noqa: F811
    """What company B's member (the receiver) finds on each page: an introduction,
    an active deal and a delivery logged by the supplier to confirm (its notification)."""
    market.grain.name_kk = GRAIN_KK
    market.grain.save(update_fields=["name_kk"])
    make_introduction(tonnes_per_period=Decimal("10"))
    deal = make_deal("active", transport_by="supplier", tonnes_per_period=Decimal("20"))
    delivery = services.delivery_log(
        user=member_a,
        deal=deal,
        date=date(2026, 3, 2),
        tonnes=Decimal("12.5"),
        ticket_number="WB-1",
        vehicle="A123BC",
    )
    return deal, delivery


def _check(page, name: str, heading: str) -> None:
    expect(page.locator("html")).to_have_attribute("lang", "kk")
    expect(page.locator("main h1").first).to_have_text(heading)
    nav = page.locator("header.topbar nav")
    for item in MENU:
        expect(nav).to_contain_text(_kk(item))
    assert "{#" not in page.inner_text("main"), f"{name}: a template comment shows"
    expect(page.locator('.lang-switch button[value="kk"]')).to_have_attribute(
        "aria-pressed", "true"
    )
    screenshot(page, f"kazakh-{name}")


def test_a_company_user_walks_the_journey_in_kazakh(page, market, journey, member_b):  # noqa: F811
    deal, delivery = journey
    login(page, member_b.email, PASSWORD)
    page.get_by_role("button", name="ҚАЗ").click()
    page.wait_for_load_state()
    _check(page, "workspace", _kk("My workspace"))

    page.goto("/listings/supply/new/")
    _check(page, "listing-form", _kk("New supply listing"))

    # The market's search finds the supply by its Kazakh name, shown in Kazakh.
    page.goto("/market/")
    _check(page, "market", _kk("Market"))
    page.goto("/market/?kind=supply&q=сығындысы")
    _check(page, "market-search", _kk("Market"))
    results = page.locator("#market-results")
    expect(results).to_contain_text(GRAIN_KK)

    page.goto(f"/market/supply/{market.supply.pk}/")
    _check(page, "listing", GRAIN_KK)

    page.goto("/review/proposals/mine/")
    _check(page, "introductions", _kk("Introductions"))

    page.goto("/deals/")
    _check(page, "deals", _kk("My deals"))
    expect(page.locator("main")).to_contain_text(GRAIN_KK)

    page.goto(f"/deals/{deal.pk}/")
    _check(page, "deal", _kk("Deal #%(pk)s: %(material)s", pk=deal.pk, material=GRAIN_KK))

    page.goto(f"/deals/deliveries/{delivery.pk}/")
    _check(page, "delivery", _kk("Delivery #%(n)s", n=delivery.pk))
    # 12,5 t: a decimal comma, as Kazakh writes it.
    expect(page.locator("#figures")).to_contain_text("12,5")

    page.goto("/notifications/")
    _check(page, "notifications", _kk("Notifications"))


def test_the_three_language_buttons_fit_a_phone(phone_page, member_b):
    login(phone_page, member_b.email, PASSWORD)
    phone_page.get_by_role("button", name="ҚАЗ").click()
    phone_page.wait_for_load_state()
    expect(phone_page.locator("html")).to_have_attribute("lang", "kk")
    buttons = phone_page.locator(".lang-switch button")
    expect(buttons).to_have_text(["ҚАЗ", "РУС", "ENG"])
    for index in range(3):
        box = buttons.nth(index).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375, box
        # A finger's worth of height.
        assert box["height"] >= 24, box
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(phone_page, "kazakh-switcher-375")
