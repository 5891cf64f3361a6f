"""One accounting: a random flow scored as a proposal, as a deal and through the
city's roll-up gives the same figures, and the optimizer's objective scores it
the same way (issue 16 item 1).

Each example builds one flow in the database: a material with or without a factor
for the supply's current fate (of any tier, with a range), with or without a credit
for the receiver's use, a banned disposal or not, a receiver that runs a landfill or
not, and the flow direct, into a compost plant (with its own treatment factor and
an output) or out of one (a plant's output). Then:

- as a proposal: the snapshot of the listings (``optimizer.snapshot.build_snapshot``)
  scored by ``SnapshotReader.score``, which is what a run stores for each flow;
- by the optimizer: the arc's objective coefficient per tonne, from the numbers the
  optimizer core reads (``optimizer.candidates.generate_arcs``), and its road km;
- as a deal: ``marketplace.selectors.deal_impact`` of a deal between the listings;
- through the dashboard: the city headline after the deal's deliveries are confirmed.

On failure Hypothesis prints the example and a ``@reproduce_failure`` blob.
"""

from datetime import date
from decimal import Decimal

import numpy as np
import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from dashboard.selectors import CityFilters, headline
from dashboard.services import rates_refresh
from marketplace.selectors import deal_impact, road_km_between
from optimizer.candidates import generate_arcs
from optimizer.instance import Instance
from optimizer.models import ProcessingPlant
from optimizer.services import clean_run_parameters
from optimizer.snapshot import PROCESSOR_PREFIX, SnapshotReader, build_snapshot
from symbiosis.models import EmissionFactor, FactorSet, Organization
from tests import factories
from tests.dashboard.conftest import deliver, make_deal

pytestmark = pytest.mark.django_db

FATES = ["landfill", "open_dump", "stored_on_farm", "already_used", "incineration", "other"]
TIERS = ["published", "proxy", "estimate"]
KG = st.integers(-150_000, 400_000).map(lambda n: Decimal(n) / 100)  # -1,500 to 4,000 kg/t


@st.composite
def factor(draw, *, positive=False):
    """None (no factor: not counted) or (value, tier, low, high)."""
    if draw(st.booleans()) and draw(st.booleans()):
        return None
    value = draw(KG.map(abs) if positive else KG)
    tier = draw(st.sampled_from(TIERS))
    if tier == "published":
        return (value, tier, None, None)
    below = draw(st.integers(0, 50_000)) / Decimal(100)
    above = draw(st.integers(0, 50_000)) / Decimal(100)
    return (value, tier, value - below, value + above)


flows = st.fixed_dictionaries(
    {
        "fate": st.sampled_from(FATES),
        "evidence": st.sampled_from(["declared", "documented", "verified"]),
        "fate_factor": factor(),
        "credit": factor(positive=True),
        "credit_in_set": st.booleans(),  # the set holds the rule's credit, with its quality
        "banned": st.booleans(),
        "landfill_operator": st.booleans(),
        "kind": st.sampled_from(["direct", "direct", "into_plant", "from_plant"]),
        "treatment": factor(),
        "output_yield": st.sampled_from([0.0, 0.25, 0.4]),
        "output_fate_factor": factor(),
        "dx": st.integers(-300, 300),  # receiver's offset, 1/10,000 degree
        "dy": st.integers(-300, 300),
        "loads": st.lists(st.integers(1, 40_000).map(lambda n: Decimal(n) / 1000), min_size=1),
    }
)


def _factor(factor_set, material, kind, spec):
    if spec is None or kind not in EmissionFactor.Kind.values:
        return
    value, tier, low, high = spec
    EmissionFactor.objects.create(
        factor_set=factor_set,
        material=material,
        kind=kind,
        kg_co2e_per_t=value,
        source="test",
        tier=tier,
        is_estimate=tier != "published",
        low_kg_co2e_per_t=low,
        high_kg_co2e_per_t=high,
        basis="test range",
    )


def _world(flow):
    """The listings, plant and deal of one flow; returns what each path needs."""
    FactorSet.objects.filter(is_active=True).update(is_active=False)
    factor_set = FactorSet.objects.create(
        version="one-accounting",
        name="t",
        transport_kg_co2e_per_tkm=Decimal("0.10163"),
        is_active=True,
    )
    material = factories.MaterialFactory(
        slug="flow-material",
        landfill_banned=flow["banned"],
        landfill_ban_basis="a law" if flow["banned"] else "",
    )
    _factor(factor_set, material, flow["fate"], flow["fate_factor"])
    use = factories.UseFactory(slug="a-use")
    credit = flow["credit"]
    factories.CompatibilityRuleFactory(
        material=material,
        use=use,
        credit_kg_co2e_per_t=credit[0] if credit else None,
        is_estimate=bool(credit and credit[1] != "published"),
    )
    if credit and flow["credit_in_set"]:
        _factor(factor_set, material, "virgin_production", credit)
    supplier = factories.OrganizationFactory()
    receiver_kind = "landfill_operator" if flow["landfill_operator"] else "company"
    receiver = factories.OrganizationFactory(kind=receiver_kind)
    supplier_site = factories.SiteFactory(organization=supplier)
    receiver_site = factories.SiteFactory(
        organization=receiver,
        latitude=Decimal("43.25") + Decimal(flow["dy"]) / 10_000,
        longitude=Decimal("76.92") + Decimal(flow["dx"]) / 10_000,
    )
    supply = factories.SupplyListingFactory(
        organization=supplier,
        site=supplier_site,
        material=material,
        fate=flow["fate"],
        fate_evidence=flow["evidence"],
    )
    demand = factories.DemandListingFactory(
        organization=receiver, site=receiver_site, materials=[material], tonnes=Decimal("10000")
    )
    demand.uses.set([use])
    supply_node, demand_node = str(supply.pk), str(demand.pk)
    if flow["kind"] == "into_plant":
        output = None
        if flow["output_yield"]:
            compost = factories.MaterialFactory(slug="plant-output")
            output = factories.SupplyListingFactory(
                organization=receiver, site=receiver_site, material=compost, fate="landfill"
            )
            _factor(factor_set, compost, "landfill", flow["output_fate_factor"])
        _plant(demand, output, flow)
        demand_node = f"{PROCESSOR_PREFIX}{demand.pk}"
    elif flow["kind"] == "from_plant":
        # The supply is a plant's output: the plant's intake takes a feedstock of its own.
        feedstock = factories.MaterialFactory(slug="feedstock")
        intake_use = factories.UseFactory(slug="feedstock-use")
        factories.CompatibilityRuleFactory(material=feedstock, use=intake_use)
        intake = factories.DemandListingFactory(
            organization=supplier, site=supplier_site, materials=[feedstock]
        )
        intake.uses.set([intake_use])
        factories.SupplyListingFactory(material=feedstock)
        _plant(intake, supply, {**flow, "output_yield": 0.5})
        supply_node = f"{PROCESSOR_PREFIX}{intake.pk}"
    deal = make_deal(
        supply=supply, receiver_site=receiver_site, demand=demand, factor_set=factor_set
    )
    return factor_set, supply, demand, deal, supply_node, demand_node


def _plant(intake, output, flow):
    treatment = flow["treatment"] or (Decimal("-167.7"), "proxy", None, None)
    # A plant always has a treatment factor (the model requires one); its tier and range vary.
    value, tier, low, high = treatment
    ProcessingPlant.objects.create(
        intake=intake,
        output=output,
        output_yield=flow["output_yield"],
        treatment_kg_co2e_per_t=float(value),
        treatment_source="test",
        treatment_tier=tier,
        treatment_low_kg_co2e_per_t=None if low is None else float(low),
        treatment_high_kg_co2e_per_t=None if high is None else float(high),
    )


def _arc(instance: Instance, supply_node: str, demand_node: str):
    """The optimizer's arc for this pair: (net kg CO2e saved per tonne, road km)."""
    arcs = generate_arcs(instance)
    sources = [s.id for s in instance.supplies] + [p.id for p in instance.processors]
    sinks = [d.id for d in instance.demands] + [p.id for p in instance.processors]
    rows = np.flatnonzero(
        (arcs.supply == sources.index(supply_node)) & (arcs.demand == sinks.index(demand_node))
    )
    assert len(rows) == 1, (supply_node, demand_node)
    return float(arcs.net_kg_co2e_saved_per_t[rows[0]]), float(arcs.road_km[rows[0]])


def _close(a, b):
    return a == pytest.approx(b, rel=1e-9, abs=1e-6)


@settings(
    max_examples=30,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(flow=flows)
def test_a_flow_scores_the_same_as_a_proposal_a_deal_and_in_the_city(flow):
    with transaction.atomic():
        factor_set, supply, demand, deal, supply_node, demand_node = _world(flow)
        road_km = road_km_between(supply.site, deal.receiver_site)
        for n, tonnes in enumerate(flow["loads"]):
            deliver(deal, date(2026, 1 + n % 12, 10), str(tonnes))
        tonnes = float(sum(flow["loads"]))

        # As a proposal: the stored snapshot scored as a run scores its flows.
        snapshot = build_snapshot(factor_set=factor_set, parameters=clean_run_parameters({}))
        proposal = SnapshotReader(snapshot.instance).score(
            supply_node, demand_node, tonnes=tonnes, road_km=road_km
        )
        note(f"proposal: {proposal.as_dict()}")

        # The optimizer core: the same net per tonne, a term not counted entering as 0.
        per_t, arc_km = _arc(Instance.from_dict(snapshot.instance), supply_node, demand_node)
        assert _close(arc_km, road_km)
        assert _close(per_t * tonnes, proposal.net_kg_co2e_saved)

        # As a deal.
        so_far = deal_impact(deal=deal).so_far
        assert so_far.category == proposal.category
        assert so_far.not_counted == proposal.not_counted
        for name in (
            "net_kg_co2e_saved",
            "net_published_kg_co2e",
            "net_proxy_kg_co2e",
            "net_low_kg_co2e",
            "net_high_kg_co2e",
        ):
            assert _close(getattr(so_far, name), getattr(proposal, name)), name
        assert so_far.fate_kg_co2e_avoided == (
            None
            if proposal.fate_kg_co2e_avoided is None
            else pytest.approx(proposal.fate_kg_co2e_avoided)
        )
        assert _close(so_far.tonnes_diverted_from_landfill, proposal.tonnes_kept_out_of_landfill)

        # Through the city's roll-up.
        rates_refresh()
        city = headline(CityFilters())
        assert _close(city["kg_co2e"], proposal.net_kg_co2e_saved)
        assert _close(city["kg_co2e_published"], proposal.net_published_kg_co2e)
        assert _close(city["kg_co2e_proxy"], proposal.net_proxy_kg_co2e)
        assert _close(city["kg_co2e_low"], proposal.net_low_kg_co2e)
        assert _close(city["kg_co2e_high"], proposal.net_high_kg_co2e)
        assert _close(city["tonnes"], proposal.tonnes_counted)
        assert _close(city[f"tonnes_{proposal.category}"], tonnes)
        assert _close(
            city["tonnes_co2e_not_counted"], tonnes if "fate" in proposal.not_counted else 0
        )
        assert _close(
            city["tonnes_credit_not_counted"], tonnes if "virgin" in proposal.not_counted else 0
        )
        published = headline(CityFilters(co2e="published"))
        assert _close(published["kg_co2e"], proposal.net_published_kg_co2e)
        transaction.set_rollback(True)


def test_a_deal_inside_one_organization_cannot_exist(city):
    """Exchanges within one organization are never exchanges: the city cannot count
    one, because the database refuses the deal."""
    from django.db import IntegrityError

    grain = city.deals["grain"]
    with pytest.raises(IntegrityError), transaction.atomic():
        make_deal(
            supply=grain.supply,
            receiver_site=grain.supply.site,
            demand=None,
            factor_set=city.factor_set,
        )
    assert Organization.objects.filter(deals_as_supplier__receiver=grain.supplier).count() == 0
