"""Starting a deal: who may, with what, and the defaults it takes from the listing."""

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError

from marketplace import services
from optimizer.models import MatchProposal, OptimizationRun
from tests import factories

pytestmark = pytest.mark.django_db

TERMS = {
    "tonnes_per_period": Decimal("30"),
    "start_date": date(2027, 1, 1),
    "end_date": date(2027, 6, 30),
}


def test_a_receiver_starts_a_draft_on_a_public_supply(market, member_b):
    deal = services.deal_create(user=member_b, supply=market.supply, demand=market.demand, **TERMS)

    assert (deal.state, deal.initiator) == ("draft", "receiver")
    assert (deal.supplier, deal.receiver) == (market.company_a, market.company_b)
    assert deal.receiver_site == market.site_b  # the demand's site
    assert deal.material == market.grain
    assert deal.period == "month"  # the listing's
    assert deal.price_kzt_per_t == Decimal("-500")  # the listing's asking price
    assert deal.factor_set == market.factor_set  # the active set
    assert deal.tonnes_total == Decimal("180")
    assert deal.created_by == member_b
    assert list(deal.events.values_list("action", "from_state", "to_state")) == [
        ("create", "", "draft")
    ]


def test_a_receiver_without_a_demand_names_nothing_when_it_has_one_site(market, member_b):
    deal = services.deal_create(user=member_b, supply=market.supply, **TERMS)

    assert deal.demand is None
    assert (deal.receiver, deal.receiver_site) == (market.company_b, market.site_b)


def test_a_receiver_with_several_sites_says_which(market, member_b):
    factories.SiteFactory(organization=market.company_b, name="Second farm")

    with pytest.raises(ValidationError) as refused:
        services.deal_create(user=member_b, supply=market.supply, **TERMS)

    assert "receiver_site" in refused.value.message_dict


def test_a_supplier_answers_a_public_demand(market, member_a):
    deal = services.deal_create(user=member_a, supply=market.supply, demand=market.demand, **TERMS)

    assert (deal.initiator, deal.receiver) == ("supplier", market.company_b)


def test_a_supplier_must_name_the_demand(market, member_a):
    with pytest.raises(ValidationError) as refused:
        services.deal_create(user=member_a, supply=market.supply, **TERMS)

    assert "demand" in refused.value.message_dict


@pytest.mark.parametrize("visibility", ["anonymous", "private"])
def test_a_supplier_cannot_deal_with_an_unnamed_demand(market, member_a, visibility):
    market.demand.visibility = visibility
    market.demand.save()

    with pytest.raises(ValidationError, match="facilitator"):
        services.deal_create(user=member_a, supply=market.supply, demand=market.demand, **TERMS)


@pytest.mark.parametrize("visibility", ["anonymous", "private"])
def test_a_receiver_cannot_deal_with_an_unnamed_supply(market, member_c, visibility):
    market.supply.visibility = visibility
    market.supply.save()

    with pytest.raises(ValidationError, match="facilitator"):
        services.deal_create(
            user=member_c, supply=market.supply, receiver_site=market.site_c, **TERMS
        )


def test_a_facilitator_introduces_any_two_parties(market, facilitator):
    market.supply.visibility = "anonymous"
    market.supply.save()

    deal = services.deal_create(
        user=facilitator, supply=market.supply, receiver_site=market.site_c, **TERMS
    )

    assert (deal.initiator, deal.receiver) == ("facilitator", market.company_c)


def test_a_deal_can_come_from_an_optimizer_proposal(market, facilitator):
    run = OptimizationRun.objects.create(status="succeeded")
    proposal = MatchProposal.objects.create(
        run=run,
        supply=market.supply,
        demand=market.demand,
        material=market.grain,
        tonnes=180,
        road_km=9,
        tonnes_diverted_from_landfill=180,
        fate_kg_co2e_avoided=1,
        transport_kg_co2e_added=1,
        virgin_kg_co2e_avoided=1,
        net_kg_co2e_saved=1,
    )
    deal = services.deal_create(
        user=facilitator, supply=market.supply, demand=market.demand, proposal=proposal, **TERMS
    )
    assert deal.proposal == proposal

    other_demand = factories.DemandListingFactory(
        organization=market.company_c, site=market.site_c, materials=[market.grain]
    )
    with pytest.raises(ValidationError) as refused:
        services.deal_create(
            user=facilitator, supply=market.supply, demand=other_demand, proposal=proposal, **TERMS
        )
    assert "proposal" in refused.value.message_dict


@pytest.mark.parametrize("role", ["analyst", "anonymous"])
def test_users_without_an_organization_make_no_deals(market, analyst, role):
    user = analyst if role == "analyst" else AnonymousUser()

    with pytest.raises(PermissionDenied):
        services.deal_create(user=user, supply=market.supply, receiver_site=market.site_c, **TERMS)


def test_a_company_does_not_deal_for_another(market, member_c):
    with pytest.raises(PermissionDenied):
        services.deal_create(user=member_c, supply=market.supply, demand=market.demand, **TERMS)


def test_a_company_does_not_deal_with_itself(market, member_a):
    with pytest.raises(ValidationError) as refused:
        services.deal_create(
            user=member_a, supply=market.supply, receiver_site=market.site_a, **TERMS
        )

    assert "receiver" in refused.value.message_dict


def test_the_demand_must_accept_the_material(market, member_b):
    market.demand.materials.set([factories.MaterialFactory(slug="slag")])
    market.demand.uses.clear()

    with pytest.raises(ValidationError, match="does not accept"):
        services.deal_create(user=member_b, supply=market.supply, demand=market.demand, **TERMS)


def test_a_demand_accepting_a_use_of_the_material_is_enough(market, member_b):
    market.demand.materials.clear()  # market.demand still accepts animal feed

    deal = services.deal_create(user=member_b, supply=market.supply, demand=market.demand, **TERMS)

    assert deal.demand == market.demand


def test_demand_and_site_must_be_one_organization(market, member_b):
    with pytest.raises(ValidationError) as refused:
        services.deal_create(
            user=member_b,
            supply=market.supply,
            demand=market.demand,
            receiver_site=market.site_c,
            **TERMS,
        )

    assert "receiver_site" in refused.value.message_dict


def test_all_term_errors_are_reported_at_once(market, member_b):
    with pytest.raises(ValidationError) as refused:
        services.deal_create(
            user=member_b,
            supply=market.supply,
            demand=market.demand,
            tonnes_per_period=Decimal("500"),
            period="once",
            start_date=date(2027, 6, 1),
            end_date=date(2027, 1, 1),
        )

    assert {"period", "end_date"} <= set(refused.value.message_dict)


def test_a_draft_is_not_shown_to_the_other_party_until_offered(market, member_a, member_b):
    from marketplace import selectors

    deal = services.deal_create(user=member_b, supply=market.supply, demand=market.demand, **TERMS)
    assert not selectors.deal_list(user=member_a).filter(pk=deal.pk).exists()

    services.deal_offer(user=member_b, deal=deal)
    assert selectors.deal_list(user=member_a).filter(pk=deal.pk).exists()
