"""The menu on a 375 px phone, without JavaScript: every item reachable, nothing
sticking out sideways, counts of what waits; a notification opened from the bell."""

import re
from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from marketplace import services
from symbiosis import notifications
from tests import factories
from tests.e2e.conftest import login, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "Steppe-eagle-2027"


def _receiver_with_things_waiting():
    from marketplace.models import Deal

    supplier_org = factories.OrganizationFactory(name="Alatau Brewery")
    receiver_org = factories.OrganizationFactory(name="Talgar Farm")
    supplier = factories.MembershipFactory(organization=supplier_org).user
    receiver = factories.MembershipFactory(organization=receiver_org).user
    receiver.set_password(PASSWORD)
    receiver.save()
    grain = factories.MaterialFactory(name_en="Brewery spent grain", name_ru="Пивная дробина")
    supply = factories.SupplyListingFactory(
        organization=supplier_org,
        material=grain,
        quantity=Decimal(100),
        recurrence="month",
        available_from=None,
        available_until=None,
    )
    deal = Deal.objects.create(
        supplier=supplier_org,
        receiver=receiver_org,
        supply=supply,
        receiver_site=factories.SiteFactory(organization=receiver_org),
        material=grain,
        tonnes_per_period=Decimal(10),
        period="month",
        tonnes_total=Decimal(120),
        start_date=date(2026, 1, 1),
        end_date=date(2026, 12, 31),
        initiator=Deal.Initiator.SUPPLIER,
        state=Deal.State.ACTIVE,
        supplier_accepted_at="2026-01-01T00:00Z",
        receiver_accepted_at="2026-01-01T00:00Z",
    )
    services.delivery_log(
        user=supplier, deal=deal, date=date(2026, 3, 2), ticket_number="WB-7", tonnes=5
    )
    return receiver, deal


@pytest.mark.parametrize("javascript", [False, True], ids=["no-js", "js"])
def test_the_menu_fits_a_phone_and_leads_to_what_waits(browser, live_server, javascript):
    receiver, deal = _receiver_with_things_waiting()
    context = browser.new_context(
        base_url=live_server.url,
        locale="en-US",
        viewport={"width": 375, "height": 812},
        is_mobile=True,
        has_touch=True,
        java_script_enabled=javascript,
    )
    page = context.new_page()
    try:
        login(page, receiver.email, PASSWORD)
        page.goto("/")
        nav = page.locator("header.topbar nav")
        deals = nav.locator('[data-nav="deals"]')
        bell = nav.locator('[data-nav="notifications"]')
        expect(deals).to_contain_text("Deals 1")
        expect(bell).to_contain_text("1")
        # Nothing overflows the 375 px screen: the menu wraps onto more lines.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, screenshot(page, f"menu-375-{'js' if javascript else 'no-js'}")
        for item in nav.locator("a, button").all():
            box = item.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 375, item.inner_text()

        bell.click()
        page.wait_for_url("**/notifications/")
        headline = page.get_by_role("link", name=f"Deal #{deal.pk}: a delivery to confirm")
        expect(headline.locator("strong")).to_be_visible()  # unread: bold
        headline.click()
        # The delivery's own page (or its line on the deal page).
        page.wait_for_url(re.compile(rf"/deals/(deliveries/\d+/|{deal.pk}/#delivery-\d+)$"))
        expect(page.locator("main")).to_contain_text("WB-7")
        assert notifications.notifications_unread_count(user=receiver) == 0
    finally:
        context.close()
