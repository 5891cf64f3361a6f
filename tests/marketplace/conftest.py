"""A small market: company A gives away spent grain, company B feeds it to animals.

Company C is another company with no part in A and B's deals. ``make_deal``
puts a deal straight into any state (bypassing the services) so transitions
can be tested from every state.
"""

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import timezone

from marketplace import services
from marketplace.models import Deal
from symbiosis.models import EmissionFactor, FactorSet
from tests import factories

LANDFILL_KG_CO2E_PER_T = Decimal("500")
FEED_CREDIT_KG_CO2E_PER_T = Decimal("100")
TRANSPORT_KG_CO2E_PER_TKM = Decimal("0.1")
# Two Almaty sites about 7 km apart.
SITE_A = (Decimal("43.250000"), Decimal("76.900000"))
SITE_B = (Decimal("43.300000"), Decimal("76.950000"))


@pytest.fixture
def company_c(db):
    return factories.OrganizationFactory(name="Company C")


@pytest.fixture
def member_c(company_c):
    return factories.MembershipFactory(organization=company_c, role="member").user


@pytest.fixture
def market(company_a, company_b, company_c):
    grain = factories.MaterialFactory(
        slug="spent-grain", name_en="Brewery spent grain", ewc_code="02 07 04"
    )
    feed = factories.UseFactory(slug="animal-feed", name_en="Animal feed")
    factories.CompatibilityRuleFactory(
        material=grain, use=feed, credit_kg_co2e_per_t=FEED_CREDIT_KG_CO2E_PER_T
    )
    factor_set = FactorSet.objects.create(
        version="test-1",
        name="Test factors",
        transport_kg_co2e_per_tkm=TRANSPORT_KG_CO2E_PER_TKM,
        is_active=True,
    )
    EmissionFactor.objects.create(
        factor_set=factor_set,
        material=grain,
        kind="landfill",
        kg_co2e_per_t=LANDFILL_KG_CO2E_PER_T,
        source="test",
    )
    site_a = factories.SiteFactory(
        organization=company_a,
        name="Brewery yard",
        address="1 Malt Street",
        latitude=SITE_A[0],
        longitude=SITE_A[1],
    )
    site_b = factories.SiteFactory(
        organization=company_b, name="Farm", latitude=SITE_B[0], longitude=SITE_B[1]
    )
    site_c = factories.SiteFactory(organization=company_c, name="Bakery")
    # 100 t per month, no availability window, public.
    supply = factories.SupplyListingFactory(
        organization=company_a,
        site=site_a,
        material=grain,
        quantity=Decimal("100"),
        recurrence="month",
        available_from=None,
        available_until=None,
        price_kzt_per_t=Decimal("-500"),
    )
    demand = factories.DemandListingFactory(
        organization=company_b, site=site_b, materials=[grain], recurrence="month"
    )
    demand.uses.set([feed])
    return SimpleNamespace(
        grain=grain,
        feed=feed,
        factor_set=factor_set,
        company_a=company_a,
        company_b=company_b,
        company_c=company_c,
        site_a=site_a,
        site_b=site_b,
        site_c=site_c,
        supply=supply,
        demand=demand,
    )


@pytest.fixture
def make_deal(market):
    """``make_deal(state, **fields)``: a deal between A (supplier) and B, in ``state``."""

    def make(state=Deal.State.OFFERED, **fields):
        values = {
            "supplier": market.company_a,
            "receiver": market.company_b,
            "supply": market.supply,
            "demand": market.demand,
            "receiver_site": market.site_b,
            "material": market.grain,
            "tonnes_per_period": Decimal("10"),
            "period": "month",
            "price_kzt_per_t": Decimal("-500"),
            "transport_by": Deal.TransportBy.RECEIVER,
            "start_date": date(2026, 1, 1),
            "end_date": date(2026, 12, 31),
            "factor_set": market.factor_set,
            "initiator": Deal.Initiator.SUPPLIER,
        }
        values.update(fields)
        values["tonnes_total"] = services.tonnes_total_for(
            tonnes_per_period=values["tonnes_per_period"],
            period=values["period"],
            start_date=values["start_date"],
            end_date=values["end_date"],
        )
        if state in (Deal.State.ACCEPTED, Deal.State.ACTIVE, Deal.State.COMPLETED):
            values.setdefault("supplier_accepted_at", timezone.now())
            values.setdefault("receiver_accepted_at", timezone.now())
        if state in (Deal.State.DECLINED, Deal.State.CANCELLED):
            values.setdefault("closed_reason", "made so for a test")
        return Deal.objects.create(state=state, **values)

    return make


@pytest.fixture
def make_introduction(market, make_deal, facilitator):
    """``make_introduction(supplier_answer, receiver_answer, **fields)``: the draft deal
    of an approved proposal (a facilitator's introduction of A and B), with the
    companies' answers so far ("", "accepted" or "declined")."""
    from optimizer.models import MatchProposal, OptimizationRun

    def make(supplier_answer="", receiver_answer="", state=Deal.State.DRAFT, **fields):
        run = OptimizationRun.objects.create(created_by=facilitator, status="succeeded")
        proposal = MatchProposal.objects.create(
            run=run,
            supply=market.supply,
            demand=market.demand,
            material=market.grain,
            tonnes=120.0,
            road_km=9.5,
            tonnes_diverted_from_landfill=120.0,
            fate_kg_co2e_avoided=60000.0,
            transport_kg_co2e_added=114.0,
            virgin_kg_co2e_avoided=12000.0,
            net_kg_co2e_saved=71886.0,
            status=MatchProposal.Status.APPROVED,
            decided_by=facilitator,
            decided_at=timezone.now(),
            supplier_answer=supplier_answer,
            receiver_answer=receiver_answer,
        )
        values = {"initiator": Deal.Initiator.FACILITATOR, "proposal": proposal}
        values.update(fields)
        return make_deal(state, created_by=facilitator, **values)

    return make


@pytest.fixture
def make_by_month_proposal(market, facilitator):
    """``make_by_month_proposal(**fields)``: a proposal of a succeeded run by month, A's
    spent grain to B through plants ("plant to plant"), 100 t in each of next year's
    August, September and October."""
    from optimizer.models import MatchProposal, OptimizationRun

    def make(**fields):
        year = timezone.localdate().year + 1
        run = OptimizationRun.objects.create(
            created_by=facilitator, status="succeeded", factor_set=market.factor_set
        )
        values = {
            "run": run,
            "supply": market.supply,
            "demand": market.demand,
            "material": market.grain,
            "kind": MatchProposal.Kind.CHAIN,
            "tonnes": 300.0,
            "road_km": 7.0,
            "tonnes_diverted_from_landfill": 0.0,
            "transport_kg_co2e_added": 1.0,
            "net_kg_co2e_saved": 1000.0,
            "tonnes_by_period": {f"{year}-{m:02d}": 100.0 for m in (8, 9, 10)},
        }
        return MatchProposal.objects.create(**{**values, **fields})

    return make


@pytest.fixture
def actors(member_a, member_b, member_c, facilitator, analyst):
    """The five roles of the permission tests."""
    return {
        "supplier": member_a,
        "receiver": member_b,
        "other": member_c,
        "facilitator": facilitator,
        "analyst": analyst,
    }


@pytest.fixture
def client_as():
    """``client_as(user)``: an API client logged in with a session."""
    from rest_framework.test import APIClient

    def make(user=None):
        client = APIClient()
        if user is not None:
            client.force_login(user)
        return client

    return make
