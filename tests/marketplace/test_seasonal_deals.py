"""A deal drafted from a by-month proposal (issue 19): it runs on the proposal's months
where one deal rate over one run of dates can say it, else keeps the year's flat rate;
the deal page always shows the months as proposed. Figures worked out by hand."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from marketplace.models import Deal
from marketplace.services.terms import terms_errors
from optimizer import decisions
from optimizer.models import MatchProposal, OptimizationRun

pytestmark = pytest.mark.django_db
TODAY = date(2026, 12, 7)
HARVEST = {"2027-08": 100.0, "2027-09": 100.0, "2027-10": 100.0}


def _months(**tonnes) -> dict:
    """{"2027-01": t, ...} for every month of 2027, the given ones (m1=..) non-zero."""
    return {f"2027-{m:02d}": float(tonnes.get(f"m{m}", 0.0)) for m in range(1, 13)}


def _proposal(market, facilitator, by_period: dict, tonnes=None) -> MatchProposal:
    run = OptimizationRun.objects.create(
        created_by=facilitator, status="succeeded", factor_set=market.factor_set
    )
    total = sum(by_period.values()) if tonnes is None else tonnes
    return MatchProposal.objects.create(
        run=run,
        supply=market.supply,
        demand=market.demand,
        material=market.grain,
        tonnes=total,
        road_km=7.0,
        tonnes_diverted_from_landfill=total,
        transport_kg_co2e_added=1.0,
        net_kg_co2e_saved=1000.0,
        tonnes_by_period=by_period,
    )


def _deal(market, terms) -> Deal:
    return Deal(
        supply=market.supply,
        price_kzt_per_t=0,
        transport_by="receiver",
        initiator=Deal.Initiator.FACILITATOR,
        **terms,
    )


def test_a_flat_monthly_listing_on_harvest_months_gets_those_months(market, facilitator):
    # 100 t a month offered; the pair carries 100 t in each of Aug, Sep and Oct.
    proposal = _proposal(market, facilitator, _months(m8=100, m9=100, m10=100))
    terms = decisions.draft_terms(proposal, today=TODAY)
    assert terms == {
        "period": "month",
        "tonnes_per_period": Decimal("100.000"),
        "start_date": date(2027, 8, 1),
        "end_date": date(2027, 10, 31),
    }
    # The deal's own check takes them, and its total is the proposal's 300 t.
    deal = _deal(market, terms)
    assert terms_errors(deal, market.supply) == {}
    assert deal.tonnes_total == Decimal(300)


def test_unequal_months_run_on_their_mean_and_across_the_new_year(market, facilitator):
    # Nov 2027 to Feb 2028, 40 + 80 + 60 + 20 = 200 t: 50 t a month over four months.
    by_period = {"2027-11": 40.0, "2027-12": 80.0, "2028-01": 60.0, "2028-02": 20.0}
    terms = decisions.draft_terms(_proposal(market, facilitator, by_period), today=TODAY)
    assert terms["tonnes_per_period"] == Decimal("50.000")
    assert (terms["start_date"], terms["end_date"]) == (date(2027, 11, 1), date(2028, 2, 29))


def test_a_yearly_listing_gets_a_yearly_rate_whose_total_is_the_proposals(market, facilitator):
    market.supply.quantity = Decimal(1200)
    market.supply.recurrence = "year"
    market.supply.save()
    proposal = _proposal(market, facilitator, _months(m8=100, m9=100, m10=100))
    terms = decisions.draft_terms(proposal, today=TODAY)
    # 300 t over 3 of 12 months is a rate of 1,200 t a year; the deal counts 3/12 of it.
    assert terms["period"] == "year"
    assert terms["tonnes_per_period"] == Decimal("1200.000")
    deal = _deal(market, terms)
    assert terms_errors(deal, market.supply) == {}
    assert deal.tonnes_total == Decimal(300)


@pytest.mark.parametrize(
    ("by_period", "why"),
    [
        # Two runs of months: one deal has one run of dates.
        (_months(m1=100, m3=100), "gaps"),
        # 400 t a month in Aug-Oct is more than the listing's 100 t a month.
        (_months(m8=400, m9=400, m10=400), "above the listing's rate"),
        # August 2026 is past on 7 December 2026.
        ({"2026-08": 100.0, "2026-09": 100.0}, "past"),
    ],
)
def test_otherwise_the_draft_keeps_the_years_flat_rate(market, facilitator, by_period, why):
    proposal = _proposal(market, facilitator, by_period)
    assert decisions.seasonal_terms(proposal, today=TODAY) is None, why
    terms = decisions.draft_terms(proposal, today=TODAY)
    total = Decimal(str(sum(by_period.values())))
    assert terms["tonnes_per_period"] == (total / 12).quantize(Decimal("0.001"))
    assert terms["start_date"] == TODAY


def test_a_listing_window_that_cuts_a_month_keeps_the_flat_rate(market, facilitator):
    market.supply.available_until = date(2027, 9, 15)  # October is outside
    market.supply.save()
    proposal = _proposal(market, facilitator, _months(m8=100, m9=100, m10=100))
    assert decisions.seasonal_terms(proposal, today=TODAY) is None
    # A window that starts within the first month keeps the month: Aug 10 - Oct 31.
    market.supply.available_until = None
    market.supply.available_from = date(2027, 8, 10)
    market.supply.save()
    terms = decisions.seasonal_terms(proposal, today=TODAY)
    assert (terms["start_date"], terms["end_date"]) == (date(2027, 8, 10), date(2027, 10, 31))


def test_a_one_period_proposal_keeps_todays_terms(market, facilitator):
    proposal = _proposal(market, facilitator, {}, tonnes=1200.0)
    assert decisions.seasonal_terms(proposal, today=TODAY) is None
    terms = decisions.draft_terms(proposal, today=TODAY)
    assert terms["tonnes_per_period"] == Decimal("100.000")
    assert (terms["start_date"], terms["end_date"]) == (TODAY, date(2027, 11, 30))


def test_approving_drafts_the_deal_on_the_months_and_its_page_shows_them(
    market, facilitator, client, member_a, member_b, member_c, analyst
):
    # Next year's harvest, whatever today is: the approval drafts with today's date.
    year = timezone.localdate().year + 1
    by_period = {f"{year}-{m:02d}": 100.0 for m in (8, 9, 10)}
    proposal = _proposal(market, facilitator, by_period)
    decisions.proposal_approve(user=facilitator, proposal=proposal)
    deal = Deal.objects.get(proposal=proposal)
    assert (deal.start_date, deal.end_date) == (date(year, 8, 1), date(year, 10, 31))
    assert deal.tonnes_total == Decimal(300)
    url = reverse("marketplace:deal-detail", args=[deal.pk])
    for user in (member_a, member_b, facilitator):
        client.force_login(user)
        page = client.get(url).content.decode()
        assert 'data-testid="proposed-by-month"' in page
        shown = page.split("proposed-by-month", 1)[1].split("</dd>", 1)[0]
        assert f"Aug {year}: 100.0 t · Sep {year}: 100.0 t · Oct {year}: 100.0 t" in shown, shown
    # Neither another company nor an analyst sees the deal.
    for user in (member_c, analyst):
        client.force_login(user)
        assert client.get(url).status_code in (403, 404)
