"""Processing plants: an intake listing becomes a processor node; its flows become
proposals with the impact.py processing breakdown."""

from decimal import Decimal

import pytest

from optimizer import services
from optimizer.instance import Instance
from optimizer.models import PairRule, ProcessingPlant
from optimizer.services import clean_run_parameters
from optimizer.snapshot import build_snapshot
from symbiosis.models import EmissionFactor, FactorSet
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def plant_world(db):
    manure = factories.MaterialFactory(
        slug="manure", carbon_to_nitrogen_ratio=6, moisture_percent=70
    )
    straw = factories.MaterialFactory(
        slug="straw", carbon_to_nitrogen_ratio=80, moisture_percent=12
    )
    compost = factories.MaterialFactory(slug="compost")
    feedstock = factories.UseFactory(slug="compost-feedstock")
    soil = factories.UseFactory(slug="soil")
    for m in (manure, straw):
        factories.CompatibilityRuleFactory(material=m, use=feedstock, credit_kg_co2e_per_t=0)
    factories.CompatibilityRuleFactory(material=compost, use=soil, credit_kg_co2e_per_t=Decimal(30))
    fs = FactorSet.objects.create(
        version="p", name="p", transport_kg_co2e_per_tkm=Decimal("0.1"), is_active=True
    )
    for m in (manure, straw):
        EmissionFactor.objects.create(
            factor_set=fs, material=m, kind="landfill", kg_co2e_per_t=Decimal(300), source="x"
        )
    manure_supply = factories.SupplyListingFactory(material=manure, quantity=100)
    straw_supply = factories.SupplyListingFactory(material=straw, quantity=100)
    intake = factories.DemandListingFactory(quantity=150)
    intake.uses.set([feedstock])
    output = factories.SupplyListingFactory(
        organization=intake.organization, site=intake.site, material=compost, quantity=999
    )
    farm = factories.DemandListingFactory(quantity=1000)
    farm.uses.set([soil])
    plant = ProcessingPlant.objects.create(
        intake=intake,
        output=output,
        output_yield=0.5,
        treatment_kg_co2e_per_t=-100,
        treatment_source="test",
        cn_min=20,
        cn_max=40,
    )
    return locals()


def test_intake_becomes_a_processor_node_and_its_output_no_supply(plant_world):
    w = plant_world
    snap = build_snapshot(factor_set=w["fs"], parameters=clean_run_parameters({}))
    instance = Instance.from_dict(snap.instance)
    (node,) = snap.instance["processors"]
    assert node["id"] == f"p{w['intake'].pk}"
    assert node["capacity_tonnes"] == 150 and node["treatment_kg_co2e_per_t"] == -100
    assert node["output"]["material"] == "compost" and node["output"]["yield"] == 0.5
    assert node["blend"] == {"cn_min": 20, "cn_max": 40}
    assert str(w["output"].pk) not in {s["id"] for s in snap.instance["supplies"]}
    assert str(w["intake"].pk) not in {d["id"] for d in snap.instance["demands"]}
    assert len(instance.processors) == 1


def test_forbidding_an_intake_pair_forbids_the_processor_arc(plant_world):
    w = plant_world
    PairRule.objects.create(supply=w["straw_supply"], demand=w["intake"], kind="forbid")
    snap = build_snapshot(factor_set=w["fs"], parameters=clean_run_parameters({}))
    assert snap.instance["forbidden"] == [
        {"supply": str(w["straw_supply"].pk), "demand": f"p{w['intake'].pk}"}
    ]


def test_run_through_the_plant_respects_the_blend_and_counts_treatment(facilitator, plant_world):
    w = plant_world
    run = services.run_create(user=facilitator, enqueue=False)
    services.run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    into = {p.supply.material.slug: p for p in run.proposals.filter(kind="to_processor")}
    assert set(into) == {"manure", "straw"}
    # C:N of the blend, with nitrogen per wet tonne ~ (1 - moisture)/(1 + C:N):
    n = {"manure": (1 - 0.70) / 7, "straw": (1 - 0.12) / 81}
    c = {k: n[k] * r for k, r in (("manure", 6), ("straw", 80))}
    blend_cn = sum(c[k] * into[k].tonnes for k in into) / sum(n[k] * into[k].tonnes for k in into)
    assert 20 - 1e-6 <= blend_cn <= 40 + 1e-6
    assert sum(p.tonnes for p in into.values()) <= 150 + 1e-6
    for p in into.values():
        # Processing breakdown by hand: 300 avoided + 100 treatment credit - transport.
        assert p.treatment_kg_co2e_added == pytest.approx(-100 * p.tonnes)
        assert p.net_kg_co2e_saved == pytest.approx(p.tonnes * (300 + 100 - 0.1 * p.road_km))
    out = list(run.proposals.filter(kind="from_processor"))
    assert out and out[0].supply == w["output"] and out[0].demand == w["farm"]
    assert out[0].tonnes <= 0.5 * sum(p.tonnes for p in into.values()) + 1e-6
    assert out[0].tonnes_diverted_from_landfill == 0
    assert run.tonnes_moved == pytest.approx(sum(p.tonnes for p in into.values()))
