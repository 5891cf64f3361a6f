"""A by-month chain introduction on a phone (issue 19): the company sees "plant to
plant" and its months on its introductions, follows the link to the draft deal, which
runs on those months and shows them as proposed; the facilitator's row names the
months. At 375 px nothing scrolls sideways."""

from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from marketplace.models import Deal
from optimizer import decisions
from optimizer.models import MatchProposal, OptimizationRun
from tests import factories
from tests.e2e.conftest import follow_link, login, screenshot
from tests.marketplace.conftest import company_c, market  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct-horse-9"  # tests.factories.UserFactory's


def _no_sideways_scroll(page) -> None:
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{overflow} px of sideways scroll"


def test_a_by_month_chain_introduction_on_a_phone(
    phone_page,
    market,  # noqa: F811
    facilitator,
    member_a,
):
    year = timezone.localdate().year + 1
    run = OptimizationRun.objects.create(
        created_by=facilitator, status="succeeded", factor_set=market.factor_set
    )
    common = {
        "run": run,
        "material": market.grain,
        "road_km": 7.0,
        "tonnes_diverted_from_landfill": 0.0,
        "transport_kg_co2e_added": 1.0,
        "net_kg_co2e_saved": 1000.0,
    }
    proposal = MatchProposal.objects.create(
        supply=market.supply,
        demand=market.demand,
        kind=MatchProposal.Kind.CHAIN,
        tonnes=300.0,
        tonnes_by_period={f"{year}-{m:02d}": 100.0 for m in (8, 9, 10)},
        **common,
    )
    decisions.proposal_approve(user=facilitator, proposal=proposal)
    deal = Deal.objects.get(proposal=proposal)
    assert (deal.start_date, deal.end_date) == (date(year, 8, 1), date(year, 10, 31))

    page = phone_page
    login(page, member_a.email, PASSWORD)
    page.goto(reverse("optimizer:my_proposals"))
    card = page.locator(f"#intro-{proposal.pk}")
    expect(card.get_by_test_id("kind")).to_have_text("plant to plant")
    expect(card.get_by_test_id("months")).to_have_text("by month: Aug–Oct")
    _no_sideways_scroll(page)
    screenshot(page, "seasonal-introduction-375")
    follow_link(page, f"Open deal #{deal.pk} (draft)")
    expect(page.get_by_test_id("proposed-by-month")).to_contain_text(f"Aug {year}: 100.0 t")
    expect(page.locator("#terms")).to_contain_text(f"Aug. 1, {year} – Oct. 31, {year}")
    _no_sideways_scroll(page)
    screenshot(page, "seasonal-deal-375")

    # The facilitator's results table: an open by-month proposal names its months.
    open_one = MatchProposal.objects.create(
        supply=market.supply,
        demand=factories.DemandListingFactory(
            organization=market.company_c, site=market.site_c, materials=[market.grain]
        ),
        kind=MatchProposal.Kind.DIRECT,
        tonnes=200.0,
        tonnes_by_period={f"{year}-11": 100.0, f"{year}-12": 50.0, f"{year + 1}-01": 50.0},
        **common,
    )
    page.context.clear_cookies()
    login(page, facilitator.email, PASSWORD)
    page.goto(reverse("optimizer:run_detail", args=[run.pk]))
    row = page.locator(f"#proposal-{open_one.pk}")
    expect(row.get_by_test_id("months")).to_have_text("Nov–Jan")
    expect(row.get_by_test_id("months")).to_be_visible()
    _no_sideways_scroll(page)
    screenshot(page, "seasonal-run-row-375")
