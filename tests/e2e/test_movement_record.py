"""A company confirms a delivery in the browser, then downloads its movement records
from the deals page (issue 21): the CSV holds the confirmed load, the JSON validates
against the schema; on a phone the form works too."""

import csv
import io
import json
from datetime import date, timedelta
from decimal import Decimal

import jsonschema
import pytest
from django.utils import timezone
from playwright.sync_api import expect

from marketplace import movement, services
from marketplace.models import Deal, Delivery
from tests import factories
from tests.e2e.conftest import login, screenshot

pytestmark = pytest.mark.e2e
PASSWORD = "correct-horse-9"  # tests.factories.UserFactory's
TICKET = "WB-MR-77"


def _world():
    grain = factories.MaterialFactory(
        slug="spent-grain", name_en="Brewery spent grain", ewc_code="02 07 04"
    )
    brewery, farm = (
        factories.OrganizationFactory(name="Alatau Brewery"),
        factories.OrganizationFactory(name="Talgar Farm"),
    )
    giver = factories.MembershipFactory(organization=brewery, role="admin").user
    taker = factories.MembershipFactory(organization=farm, role="admin").user
    yard = factories.SiteFactory(organization=brewery, name="Brewery yard")
    barn = factories.SiteFactory(organization=farm, name="Barn")
    supply = factories.SupplyListingFactory(
        organization=brewery,
        site=yard,
        material=grain,
        quantity=Decimal("100"),
        recurrence="month",
        available_from=None,
        available_until=None,
    )
    today = timezone.localdate()
    start = today.replace(day=1)
    deal = Deal.objects.create(
        supplier=brewery,
        receiver=farm,
        supply=supply,
        receiver_site=barn,
        material=grain,
        tonnes_per_period=Decimal("30"),
        period="month",
        tonnes_total=Decimal("360"),
        transport_by=Deal.TransportBy.RECEIVER,
        start_date=start,
        end_date=start + timedelta(days=360),
        state=Deal.State.ACTIVE,
        initiator=Deal.Initiator.SUPPLIER,
        supplier_accepted_at=timezone.now(),
        receiver_accepted_at=timezone.now(),
    )
    delivery = services.delivery_log(
        user=giver,
        deal=deal,
        date=today,
        gross_tonnes=Decimal("21.5"),
        tare_tonnes=Decimal("9"),
        ticket_number=TICKET,
        vehicle="777 ABC 02",
    )
    return giver, taker, delivery


def _download(page, fmt: str) -> tuple[str, str]:
    page.goto("/deals/")
    form = page.get_by_test_id("movement-export")
    expect(form).to_be_visible()
    today = timezone.localdate()
    form.get_by_label("From").fill(date(today.year, 1, 1).isoformat())
    form.get_by_label("Until").fill(today.isoformat())
    form.get_by_label("Format").select_option(fmt)
    with page.expect_download() as info:
        form.get_by_role("button", name="Download").click()
    download = info.value
    with open(download.path(), encoding="utf-8") as handle:
        return download.suggested_filename, handle.read()


@pytest.mark.django_db(transaction=True)
def test_a_company_confirms_a_delivery_then_downloads_its_movement_record(browser, live_server):
    giver, taker, delivery = _world()
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    context.set_default_timeout(15_000)
    page = context.new_page()
    login(page, taker.email, PASSWORD)

    page.goto(f"/deals/deliveries/{delivery.pk}/")
    confirm = page.get_by_role("button", name="Confirm", exact=True)
    with page.expect_response(lambda r: r.request.method == "POST"):
        confirm.click()
    expect(page.locator("#figures")).to_contain_text("Confirmed")
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.CONFIRMED
    expect(page.get_by_test_id("movement-record-link")).to_be_visible()

    name, text = _download(page, "csv")
    screenshot(page, "movement-export")
    today = timezone.localdate()
    assert name == f"movements-{today.year}-01-01-{today.isoformat()}.csv"
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 1
    row = rows[0]
    assert (row["record_id"], row["actual.ticket_number"], row["vehicle_plate"]) == (
        f"MR-{delivery.pk}",
        TICKET,
        "777 ABC 02",
    )
    assert (float(row["actual.tonnes_net"]), row["giver.name"], row["receiver.name"]) == (
        12.5,
        "Alatau Brewery",
        "Talgar Farm",
    )
    assert row["confirmations.confirmed.email"] == taker.email

    _name, text = _download(page, "json")
    document = json.loads(text)
    schema = json.loads(movement.SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(document["records"][0])
    assert document["records"][0] == movement.movement_record(delivery)
    context.close()

    # On a phone, the supplier's export holds the same record.
    phone = browser.new_context(
        base_url=live_server.url,
        locale="en-US",
        viewport={"width": 375, "height": 812},
        is_mobile=True,
        has_touch=True,
    )
    phone.set_default_timeout(15_000)
    page = phone.new_page()
    login(page, giver.email, PASSWORD)
    _name, text = _download(page, "csv")
    screenshot(page, "movement-export-phone")
    assert [r["record_id"] for r in csv.DictReader(io.StringIO(text))] == [f"MR-{delivery.pk}"]
    phone.close()
