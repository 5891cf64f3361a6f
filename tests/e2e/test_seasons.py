"""Seasons in a real browser (issue 19): a company marks its listing "harvest
Aug-Oct", a facilitator runs the optimizer by month, and the proposal shows its
months; at 375 px nothing scrolls sideways."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from optimizer.models import OptimizationRun
from symbiosis.models import EmissionFactor, FactorSet, SupplyListing
from tests import factories
from tests.e2e.conftest import login, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct-horse-9"  # tests.factories.UserFactory's


@pytest.fixture
def world():
    pomace = factories.MaterialFactory(slug="apple-pomace", name_en="Apple pomace")
    feed = factories.UseFactory(slug="feed", name_en="Animal feed")
    factories.CompatibilityRuleFactory(material=pomace, use=feed, credit_kg_co2e_per_t=Decimal(80))
    fs = FactorSet.objects.create(
        version="e2e", name="e2e", transport_kg_co2e_per_tkm=Decimal("0.1"), is_active=True
    )
    EmissionFactor.objects.create(
        factor_set=fs, material=pomace, kind="landfill", kg_co2e_per_t=Decimal(300), source="x"
    )
    juicer = factories.MembershipFactory(organization__name="Juice works").user
    supply = factories.SupplyListingFactory(
        organization=juicer.memberships.get().organization,
        material=pomace,
        quantity=Decimal(90),
        recurrence="year",
        available_from=None,
        available_until=None,
    )
    farm = factories.OrganizationFactory(name="Dairy farm")
    demand = factories.DemandListingFactory(
        organization=farm, quantity=Decimal(20), recurrence="month"
    )
    demand.uses.set([feed])
    demand.site.latitude = supply.site.latitude + Decimal("0.05")
    demand.site.save()
    facilitator = factories.UserFactory(email="facilitator@example.kz")
    from django.contrib.auth.models import Group

    facilitator.groups.add(Group.objects.get_or_create(name="facilitator")[0])
    return {"juicer": juicer, "supply": supply, "facilitator": facilitator}


def _no_sideways_scroll(page) -> None:
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{overflow} px of sideways scroll"


def test_harvest_listing_run_by_month_shows_its_months(browser, live_server, world):
    supply = world["supply"]
    context = browser.new_context(
        base_url=live_server.url,
        locale="en-US",
        viewport={"width": 375, "height": 812},
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        # The company sets the season on its listing, on a phone.
        login(page, world["juicer"].email, PASSWORD)
        page.goto(f"/listings/supply/{supply.pk}/edit/")
        page.locator("#profile-months summary").click()  # the 12 numbers of "custom"
        expect(page.locator("#id_profile_12")).to_be_visible()
        _no_sideways_scroll(page)
        page.locator("#profile-months").screenshot(
            path=str(screenshot(page, "seasons-form-375").with_name("seasons-months-375.png"))
        )
        page.select_option("#id_profile_preset", "harvest_aug_oct")
        page.get_by_role("button", name="Save changes").click()
        page.wait_for_url(f"**/#supply-{supply.pk}")
        supply.refresh_from_db()
        assert supply.monthly_profile == [0] * 7 + [1, 1, 1, 0, 0]
        page.goto(f"/market/supply/{supply.pk}/")
        expect(page.get_by_test_id("monthly-profile")).to_contain_text("Harvest: August to October")
        _no_sideways_scroll(page)
        screenshot(page, "seasons-listing-375")
        context.clear_cookies()

        # The facilitator runs by month from January 2027.
        login(page, world["facilitator"].email, PASSWORD)
        page.goto("/review/runs/new/")
        page.check("#id_by_month")
        page.fill("#id_periods_start", "2027-01")
        page.get_by_role("button", name="Start the run").click()
        page.wait_for_url("**/review/runs/*/")
        page.wait_for_selector("#proposal-table", timeout=120_000)
        run = OptimizationRun.objects.latest("created_at")
        assert run.status == "succeeded", run.error
        assert run.parameters["periods_start"] == "2027-01"
        by_month = page.get_by_test_id("run-by-month")
        expect(by_month.locator("tbody tr")).to_have_count(12)
        # 90 t in Aug-Oct, 30 t a month; the farm takes up to 20 t a month: 20 each.
        expect(by_month.locator("tr[data-period='2027-08'] td").first).to_have_text("20.0")
        expect(by_month.locator("tr[data-period='2027-01'] td").first).to_have_text("0.0")
        _no_sideways_scroll(page)

        proposal = run.proposals.get()
        assert proposal.supply_id == supply.pk
        row = page.locator(f"#proposal-{proposal.pk}")
        row.locator("summary").click()
        months = row.get_by_test_id("proposal-months")
        expect(months).to_be_visible()
        expect(months.get_by_test_id("proposal-month-list")).to_have_text(
            "Aug 2027: 20.0 t · Sep 2027: 20.0 t · Oct 2027: 20.0 t"
        )
        expect(months.locator("svg rect")).to_have_count(12)
        _no_sideways_scroll(page)
        screenshot(page, "seasons-run-375")
    finally:
        context.close()
    assert SupplyListing.objects.get(pk=supply.pk).monthly_profile is not None
