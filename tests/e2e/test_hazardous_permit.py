"""Hazardous waste needs a permitted receiver (issue 21), in a real browser.

The bus park's waste oil (13 02 05*) has no receiver within reach while the
re-refinery holds no verified permit, and an offer for it cannot be accepted; the
re-refinery uploads its permit, the facilitator opens the document and verifies
it; the oil's listing then shows the re-refinery within reach, and the deal is
accepted.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from marketplace import services
from symbiosis.demo import DEMO_PASSWORD, FACILITATOR_EMAIL, demo_listing
from symbiosis.models import DemandListing, SupplyListing, User, WastePermit
from tests.attachment_files import PDF
from tests.demo_snapshot import load_demo
from tests.e2e.conftest import login, screenshot

pytestmark = pytest.mark.e2e

BUS_PARK = "almaty-bus-park@demo.kz"
REFINERY = "kaz-oil-regeneration@demo.kz"


def _offer(oil: SupplyListing, demand: DemandListing):
    """The bus park offers its oil to the re-refinery (its services, as its page would)."""
    supplier = User.objects.get(email=BUS_PARK)
    today = timezone.localdate()
    deal = services.deal_create(
        user=supplier,
        supply=oil,
        demand=demand,
        tonnes_per_period=3,
        start_date=today,
        end_date=today + timedelta(days=180),
    )
    return services.deal_offer(user=supplier, deal=deal)


@pytest.mark.django_db(transaction=True)
def test_a_hazardous_listing_waits_for_a_verified_permit(browser, live_server, tmp_path):
    load_demo()
    # The demo's own pending permit is left out: the re-refinery uploads one here.
    WastePermit.objects.all().delete()
    oil = demo_listing(SupplyListing, "almaty-bus-park/waste-oil")
    demand = demo_listing(DemandListing, "kaz-oil-regeneration/waste-oil")
    deal = _offer(oil, demand)

    def new_page():
        context = browser.new_context(base_url=live_server.url, locale="en-US")
        context.set_default_timeout(15_000)
        return context.new_page()

    # The giver: what the law asks, and nobody within reach for want of a permit.
    giver = new_page()
    login(giver, BUS_PARK, DEMO_PASSWORD)
    giver.goto(f"/market/supply/{oil.pk}/")
    expect(giver.get_by_test_id("hazardous-note")).to_contain_text("waste passport")
    expect(giver.get_by_test_id("material-codes").first).to_contain_text("13 02 05*")
    reach = giver.get_by_test_id("listing-reach")
    expect(reach.get_by_test_id("reach-count")).to_contain_text("0 demands within reach")
    expect(reach.get_by_test_id("reach-permit")).to_contain_text(
        "No receiver with a valid permit for 13 02 05*: 1 would take it with one."
    )
    screenshot(giver, "hazardous-no-permit")

    # The receiver cannot accept the offer yet, and is told why.
    receiver = new_page()
    login(receiver, REFINERY, DEMO_PASSWORD)
    receiver.goto(f"/deals/{deal.pk}/")
    expect(receiver.get_by_test_id("permit-refusal")).to_contain_text("13 02 05*")

    # ... so it adds its permit with a scan.
    scan = tmp_path / "licence.pdf"
    scan.write_bytes(PDF)
    receiver.goto("/permits/")
    receiver.fill("#id_number", "KZ-E2E-7")
    receiver.fill("#id_issuer", "Ministry of Ecology")
    receiver.select_option("#id_activity", "recovery")
    receiver.fill("#id_codes", "13 02 05*")
    receiver.fill("#id_valid_from", (timezone.localdate() - timedelta(days=30)).isoformat())
    receiver.fill("#id_valid_until", (timezone.localdate() + timedelta(days=900)).isoformat())
    receiver.set_input_files("#id_document", str(scan))
    receiver.get_by_role("button", name="Add the permit").click()
    expect(receiver.get_by_test_id("permits")).to_contain_text("Waiting for a facilitator")
    permit = WastePermit.objects.get(number="KZ-E2E-7")

    # The facilitator opens the document and verifies the permit.
    facilitator = new_page()
    login(facilitator, FACILITATOR_EMAIL, DEMO_PASSWORD)
    facilitator.get_by_role("link", name="Permits to verify").click()
    row = facilitator.locator(f"#permit-{permit.pk}")
    expect(row).to_contain_text("KZ-E2E-7")
    document = facilitator.request.get(f"/permits/{permit.pk}/document/")
    assert document.ok and document.body().startswith(b"%PDF")
    row.get_by_label("Verify").check()
    row.get_by_role("button", name="Record the decision").click()
    expect(facilitator.locator(f"#permit-{permit.pk}")).to_contain_text("Permit verified.")
    screenshot(facilitator, "hazardous-permit-verified")

    # The giver's listing now finds the re-refinery within reach.
    giver.reload()
    expect(reach.get_by_test_id("reach-count")).to_contain_text("1 demand within reach")
    expect(reach).to_contain_text("Kaz Oil Regeneration")
    screenshot(giver, "hazardous-within-reach")

    # And the receiver accepts the deal.
    receiver.goto(f"/deals/{deal.pk}/")
    expect(receiver.get_by_test_id("permit-refusal")).to_have_count(0)
    with receiver.expect_response(lambda r: r.request.method == "POST"):
        receiver.get_by_role("button", name="Accept terms version 1").click()
    receiver.wait_for_load_state()
    deal.refresh_from_db()
    assert deal.state == "accepted"
