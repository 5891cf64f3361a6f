"""Chains from the database (issue 19): a plant that sends its output to other plants
gets ``output.to_processors`` in a run by month, and a ``chain`` flow becomes a
proposal of kind "chain" scored by ``symbiosis.impact.score_flow``.

The world, by hand: 100 t a year of panels (landfill, 50 kg CO2e/t) -> a shredder
(treatment 5 kg/t, 0.5 t of chips per t; chips left where they are: landfill, 20 kg/t)
-> a board plant (accepts chips with a credit of 40 kg/t, treatment 10 kg/t, 0.8 t of
boards per t; boards' fate landfill, 5 kg/t) -> a furniture maker (boards, credit 100
kg/t). Each site 0.05 degree north of the last; transport 0.1 kg CO2e per t km.
"""

from decimal import Decimal

import pytest
from django.urls import reverse

from dashboard.potential import month_potential
from dashboard.selectors import CityFilters, potential
from optimizer import decisions, services
from optimizer.candidates import processor_chain_arcs
from optimizer.instance import Instance
from optimizer.models import MatchProposal, ProcessingPlant
from optimizer.run_parameters import clean_run_parameters
from optimizer.snapshot import build_snapshot
from symbiosis import geo
from symbiosis.models import EmissionFactor, FactorSet
from tests import factories

pytestmark = pytest.mark.django_db

TRANSPORT = 0.1


def _north(listing, steps: int):
    listing.site.latitude = Decimal("43.25") + Decimal("0.05") * steps
    listing.site.save()
    return listing


def _km(a, b) -> float:
    """The snapshot's road km: 1.3 x great circle (the default road factor)."""
    return 1.3 * geo.great_circle_km(
        float(a.site.latitude), float(a.site.longitude), float(b.site.latitude),
        float(b.site.longitude),
    )  # fmt: skip


@pytest.fixture
def chain_world():
    panels = factories.MaterialFactory(slug="panels", category="minerals")
    chips = factories.MaterialFactory(slug="chips", category="minerals")
    boards = factories.MaterialFactory(slug="boards", category="minerals")
    shredding = factories.UseFactory(slug="shredding")
    board_making = factories.UseFactory(slug="board-making")
    furniture_use = factories.UseFactory(slug="furniture")
    factories.CompatibilityRuleFactory(material=panels, use=shredding, credit_kg_co2e_per_t=0)
    factories.CompatibilityRuleFactory(
        material=chips, use=board_making, credit_kg_co2e_per_t=Decimal(40)
    )
    factories.CompatibilityRuleFactory(
        material=boards, use=furniture_use, credit_kg_co2e_per_t=Decimal(100)
    )
    fs = FactorSet.objects.create(
        version="c", name="c", transport_kg_co2e_per_tkm=Decimal("0.1"), is_active=True
    )
    for material, kg in ((panels, 50), (chips, 20), (boards, 5)):
        EmissionFactor.objects.create(
            factor_set=fs, material=material, kind="landfill", kg_co2e_per_t=kg, source="x"
        )
    supply = _north(factories.SupplyListingFactory(material=panels, quantity=100, tonnes=100), 0)

    def plant(use, steps, output_material, output_yield, treatment, **kwargs):
        intake = _north(
            factories.DemandListingFactory(
                quantity=1000, tonnes=1000, available_from=None, available_until=None
            ),
            steps,
        )
        intake.uses.set([use])
        output = factories.SupplyListingFactory(
            organization=intake.organization,
            site=intake.site,
            material=output_material,
            quantity=999,
            tonnes=999,
            fate="landfill",
        )
        return ProcessingPlant.objects.create(
            intake=intake,
            output=output,
            output_yield=output_yield,
            treatment_kg_co2e_per_t=treatment,
            treatment_source="test",
            **kwargs,
        )

    shredder = plant(shredding, 1, chips, 0.5, 5.0, send_output_to_processors=True)
    board_plant = plant(board_making, 2, boards, 0.8, 10.0)
    furniture = _north(
        factories.DemandListingFactory(
            quantity=1000, tonnes=1000, available_from=None, available_until=None
        ),
        3,
    )
    furniture.uses.set([furniture_use])
    return locals()


def _run(user, **params):
    run = services.run_create(user=user, parameters=params, enqueue=False)
    services.run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    return run


def test_only_runs_by_month_offer_the_flagged_plants_output_to_plants(chain_world):
    w = chain_world
    by_month = build_snapshot(
        factor_set=w["fs"], parameters=clean_run_parameters({"periods_start": "2027-01"})
    ).instance
    outputs = {p["id"]: p["output"] for p in by_month["processors"]}
    assert outputs[f"p{w['shredder'].intake_id}"]["to_processors"] is True
    assert "to_processors" not in outputs[f"p{w['board_plant'].intake_id}"]
    one_period = build_snapshot(factor_set=w["fs"], parameters=clean_run_parameters({}))
    assert all("to_processors" not in p["output"] for p in one_period.instance["processors"])
    # Without the flag a run by month offers no chain.
    ProcessingPlant.objects.update(send_output_to_processors=False)
    again = build_snapshot(
        factor_set=w["fs"], parameters=clean_run_parameters({"periods_start": "2027-01"})
    )
    assert all("to_processors" not in p["output"] for p in again.instance["processors"])


def test_a_run_by_month_proposes_the_chain_with_its_breakdown(chain_world, facilitator):
    w = chain_world
    run = _run(facilitator, periods_start="2027-01")
    by_kind = {p.kind: p for p in run.proposals.all()}
    assert set(by_kind) == {"to_processor", "chain", "from_processor"}
    into, chain, out = by_kind["to_processor"], by_kind["chain"], by_kind["from_processor"]
    shredder, board_plant = w["shredder"], w["board_plant"]
    # Listings: the shredder's output listing -> the board plant's intake listing.
    assert (chain.supply_id, chain.demand_id) == (shredder.output_id, board_plant.intake_id)
    assert chain.material.slug == "chips"
    # Yields compound: 100 t of panels, 50 t of chips, 40 t of boards.
    assert into.tonnes == pytest.approx(100)
    assert chain.tonnes == pytest.approx(50)
    assert out.tonnes == pytest.approx(40)
    assert sum(chain.tonnes_by_period.values()) == pytest.approx(50)
    # The breakdown by hand (docs/optimizer.md, Processors "Accounting" and Chains).
    km = _km(shredder.output, board_plant.intake)
    assert chain.road_km == pytest.approx(km)
    assert chain.fate_kg_co2e_avoided == pytest.approx(50 * 20)  # chips' fate avoided
    assert chain.virgin_kg_co2e_avoided == pytest.approx(50 * 40)  # the board plant's credit
    assert chain.treatment_kg_co2e_added == pytest.approx(50 * 10)
    assert chain.transport_kg_co2e_added == pytest.approx(50 * TRANSPORT * km)
    per_t = 20 + 40 - TRANSPORT * km - 10 - 0.8 * 5
    assert chain.net_kg_co2e_saved == pytest.approx(50 * per_t)
    assert sum(chain.kg_co2e_by_period.values()) == pytest.approx(50 * per_t)
    # Counted on the way into the shredder, never again.
    assert chain.tonnes_category == "plant_output"
    assert chain.tonnes_diverted_from_landfill == 0
    # The chain proposal's net is the solver's saving on that arc x its tonnes.
    instance = Instance.from_dict(run.input_snapshot)
    arcs = processor_chain_arcs(instance)
    assert len(arcs) == 1
    assert chain.net_kg_co2e_saved == pytest.approx(50 * float(arcs.net_kg_co2e_saved_per_t[0]))
    # The run's tonnes: the 100 t leaving the panel supply, once.
    assert run.tonnes_moved == pytest.approx(100)
    assert run.landfill_tonnes_avoided == pytest.approx(100)
    assert sum(row["tonnes"] for row in run.stats["by_month"]) == pytest.approx(100)
    # Its CO2e adds the three proposals' nets, the chain's once.
    assert sum(row["kg_co2e"] for row in run.stats["by_month"]) == pytest.approx(
        into.net_kg_co2e_saved + chain.net_kg_co2e_saved + out.net_kg_co2e_saved
    )


def test_one_period_run_has_no_chain(chain_world, facilitator):
    run = _run(facilitator)
    assert not run.proposals.filter(kind="chain").exists()
    assert run.proposals.filter(kind="to_processor").exists()


def test_a_chain_proposal_shows_plant_to_plant_and_is_approved(chain_world, facilitator, client):
    run = _run(facilitator, periods_start="2027-01")
    chain = run.proposals.get(kind="chain")
    client.force_login(facilitator)
    page = client.get(reverse("optimizer:run_detail", args=[run.pk]), {"open": chain.pk})
    assert page.status_code == 200
    assert "plant to plant" in page.content.decode()
    detail = client.get(reverse("optimizer:proposal_detail", args=[chain.pk]))
    assert detail.status_code == 200
    assert 'data-testid="proposal-kind">plant to plant<' in detail.content.decode()
    decisions.proposal_approve(user=facilitator, proposal=chain)
    chain.refresh_from_db()
    assert chain.status == MatchProposal.Status.APPROVED
    # Like every flow through a plant, it cannot be adjusted (its yield ties it).
    assert decisions.feasible_tonnes_range(chain) == (chain.tonnes, chain.tonnes)


def test_a_cycle_of_plants_fails_the_run_with_the_plants_named(chain_world, facilitator):
    """The board plant also sends its boards to plants and the shredder takes boards:
    shredder -> board plant -> shredder is refused, and the run names both plants'
    organizations and what to change."""
    w = chain_world
    factories.CompatibilityRuleFactory(
        material=w["boards"], use=w["shredding"], credit_kg_co2e_per_t=0
    )
    ProcessingPlant.objects.update(send_output_to_processors=True)
    run = services.run_create(
        user=facilitator, parameters={"periods_start": "2027-01"}, enqueue=False
    )
    services.run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "failed"
    assert "form a cycle" in run.error and "Send our output to other processors" in run.error
    shredder = w["shredder"].intake.organization.name
    boards = w["board_plant"].intake.organization.name
    assert f"({shredder} -> {boards} -> {shredder})" in run.error
    # A one-period run never offers chains, so the same plants run as before.
    assert _run(facilitator).proposals.filter(kind="to_processor").exists()


def test_the_city_potential_counts_the_chain_tonnes_once(chain_world, facilitator):
    """The city page's potential: 100 t a year leave the panel supply; the chips and
    boards add none, approved or proposed."""
    run = _run(facilitator, periods_start="2027-01")
    run.proposals.update(status=MatchProposal.Status.APPROVED)
    out = month_potential(CityFilters(), [])
    assert out["run"] == run.pk
    assert sum(r["run_tonnes"] for r in out["rows"]) == pytest.approx(100)
    assert sum(r["approved_tonnes"] for r in out["rows"]) == pytest.approx(100)
    assert potential(CityFilters())["approved"]["tonnes"] == pytest.approx(100)
