"""The demo city analyst opens the city dashboard after a few confirmed deliveries."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from marketplace import selectors as market_selectors
from marketplace import services
from symbiosis.demo import ANALYST_EMAIL, DEMO_PASSWORD, FACILITATOR_EMAIL, load_demo
from symbiosis.models import DemandListing, Membership, SupplyListing, User
from tests.e2e.conftest import SCREENSHOTS, login, screenshot

pytestmark = pytest.mark.e2e


def _member(organization):
    return Membership.objects.filter(organization=organization).first().user


def _pairs(count: int):
    """Public demo supplies with a public demand of another company that accepts them."""
    found = []
    # The demo's availability windows start next year: open them so loads can
    # have arrived already.
    SupplyListing.objects.update(available_from=None, available_until=None)
    available = SupplyListing.objects.filter(visibility="public", status="active")
    for supply in available.order_by("pk"):
        demand = (
            DemandListing.objects.filter(
                visibility="public", status="active", materials=supply.material
            )
            .exclude(organization=supply.organization)
            .order_by("pk")
            .first()
        )
        if demand is not None and supply.material_id not in {s.material_id for s, _ in found}:
            found.append((supply, demand))
        if len(found) == count:
            break
    return found


def _confirmed_deal(supply, demand, loads):
    facilitator = User.objects.get(email=FACILITATOR_EMAIL)
    supplier, receiver = _member(supply.organization), _member(demand.organization)
    today = timezone.localdate()
    deal = services.deal_create(
        user=facilitator,
        supply=supply,
        demand=demand,
        tonnes_per_period=Decimal("1"),
        period=supply.recurrence,
        start_date=today - timedelta(days=60),
        end_date=today + timedelta(days=30),
    )
    deal = services.deal_offer(user=facilitator, deal=deal)
    deal = services.deal_accept(user=supplier, deal=deal, terms_version=deal.terms_version)
    deal = services.deal_accept(user=receiver, deal=deal, terms_version=deal.terms_version)
    deal = services.deal_activate(user=supplier, deal=deal)
    for i, tonnes in enumerate(loads):
        delivery = services.delivery_log(
            user=supplier,
            deal=deal,
            date=today - timedelta(days=40 - 15 * i),
            tonnes=Decimal(tonnes),
            ticket_number=f"E2E-{deal.pk}-{i}",
        )
        services.delivery_confirm(user=receiver, delivery=delivery)
    # One more load, logged but never confirmed: it must not count.
    services.delivery_log(
        user=supplier, deal=deal, date=today, tonnes=Decimal("500"), ticket_number="E2E-open"
    )
    return deal


def _number(text: str) -> float:
    return float(re.search(r"-?[\d,]+(?:\.\d+)?", text).group(0).replace(",", ""))


@pytest.mark.django_db(transaction=True)
def test_demo_analyst_sees_confirmed_figures_charts_sankey_and_map(page, settings):
    settings.CITY_DASHBOARD_REFRESH_SECONDS = 0  # the live server is in this process
    load_demo()
    pairs = _pairs(3)
    assert len(pairs) == 3, "the demo data should hold three public supply-demand pairs"
    loads = [["12.5", "20"], ["7.5"], ["30", "4.5"]]
    deals = [_confirmed_deal(s, d, t) for (s, d), t in zip(pairs, loads, strict=True)]
    expected_tonnes = sum(float(t) for ts in loads for t in ts)
    # The deal pages' own figure (marketplace.selectors), summed deal by deal.
    expected_t_co2e = (
        sum(market_selectors.deal_impact(deal=d).so_far.net_kg_co2e_saved or 0.0 for d in deals)
        / 1000
    )

    login(page, ANALYST_EMAIL, DEMO_PASSWORD)
    page.goto("/city/")
    expect(
        page.get_by_role("heading", name="What the platform has kept out of landfill")
    ).to_be_visible()
    tonnes = page.get_by_test_id("tonnes-diverted")
    expect(tonnes).to_have_text(f"{expected_tonnes:,.1f} t")
    co2e = _number(page.get_by_test_id("co2e-avoided").inner_text())
    assert co2e == pytest.approx(expected_t_co2e, abs=0.06)
    expect(page.get_by_test_id("exchanges")).to_have_text("3")
    expect(page.locator("#month-chart rect.bar")).not_to_have_count(0)
    expect(page.locator("#sankey path.sankey-link")).to_have_count(6)
    expect(page.locator("#city-map path.exchange-line")).to_have_count(3)
    expect(page.locator("body")).not_to_contain_text("KZT")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    screenshot(page, "city-dashboard")
    page.locator("#month-chart").screenshot(path=str(SCREENSHOTS / "city-month-chart.png"))
    page.locator("#category-chart").screenshot(path=str(SCREENSHOTS / "city-category-chart.png"))
    page.locator("#sankey").screenshot(path=str(SCREENSHOTS / "city-sankey.png"))
    page.locator("#city-map").screenshot(path=str(SCREENSHOTS / "city-map.png"))

    # A district filter lands in the URL and narrows the figures.
    district = pairs[0][0].site.district
    page.select_option("select[name=district]", district)
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(rf"district={district}"))
    narrowed = _number(page.get_by_test_id("tonnes-diverted").inner_text())
    assert 0 < narrowed <= expected_tonnes

    page.goto("/city/methodology/")
    expect(page.locator("#factors tbody tr")).not_to_have_count(0)
    screenshot(page, "city-methodology")
