"""Runs by month (issue 19, the database side): profiles and stores become the
instance's periods fields, and a period solution becomes proposals with months."""

import io
import math
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from optimizer import services
from optimizer.forms import RunForm
from optimizer.instance import Instance
from optimizer.models import OptimizationRun
from optimizer.run_parameters import clean_run_parameters
from optimizer.seasons import months_from
from optimizer.snapshot import build_snapshot
from symbiosis import geo
from symbiosis.models import EmissionFactor, FactorSet
from tests import factories
from tests.optimizer.test_plants import plant_world  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

HARVEST = [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0]


@pytest.fixture
def world():
    """Slag (inert: no loss) at one point, a road-base demand 0.1 degree north."""
    slag = factories.MaterialFactory(slug="slag", category="minerals")
    grain = factories.MaterialFactory(slug="grain", category="biomass", moisture_percent=78)
    base = factories.UseFactory(slug="road-base")
    factories.CompatibilityRuleFactory(material=slag, use=base, credit_kg_co2e_per_t=Decimal(30))
    factories.CompatibilityRuleFactory(material=grain, use=base, credit_kg_co2e_per_t=Decimal(5))
    fs = FactorSet.objects.create(
        version="s", name="s", transport_kg_co2e_per_tkm=Decimal("0.1"), is_active=True
    )
    EmissionFactor.objects.create(
        factor_set=fs, material=slag, kind="landfill", kg_co2e_per_t=Decimal(20), source="x"
    )
    supply = factories.SupplyListingFactory(
        material=slag, quantity=90, recurrence="year", monthly_profile=HARVEST
    )
    demand = factories.DemandListingFactory(
        quantity=10, recurrence="month", available_from=None, available_until=None
    )
    demand.uses.set([base])
    demand.site.latitude = supply.site.latitude + Decimal("0.1")
    demand.site.save()
    return locals()


def _snap(world, start="2027-01", **params):
    params = clean_run_parameters({"periods_start": start, **params})
    return build_snapshot(factor_set=world["fs"], parameters=params)


def test_months_from_wraps_the_year():
    labels = [label for label, *_ in months_from("2027-09")]
    assert labels[:5] == ["2027-09", "2027-10", "2027-11", "2027-12", "2028-01"]
    assert months_from("2028-02", 1)[0][3] == date(2028, 2, 29)


def test_harvest_profile_spreads_by_hand(world):
    """90 t a year, harvest Aug-Oct: 30 t in each of those months, 0 elsewhere."""
    snap = _snap(world)
    supply = snap.instance["supplies"][0]
    assert supply["tonnes_per_period"] == [0] * 7 + [30, 30, 30] + [0, 0]
    assert supply["tonnes"] == 90
    # From September: August 2028 is past the window's end (2027-12-31), so the
    # year's 90 t fall in September and October.
    supply = _snap(world, "2027-09").instance["supplies"][0]
    assert supply["tonnes_per_period"] == [45, 45] + [0] * 10
    # Open-ended: Sep, Oct first, August last.
    world["supply"].available_until = None
    world["supply"].save()
    supply = _snap(world, "2027-09").instance["supplies"][0]
    assert supply["tonnes_per_period"] == [30, 30] + [0] * 9 + [30]


def test_profile_shares_only_the_months_in_the_window(world):
    """Window to 15 September: August and September are left of the harvest, 45 t each."""
    world["supply"].available_until = date(2027, 9, 15)
    world["supply"].save()
    supply = _snap(world).instance["supplies"][0]
    assert supply["tonnes_per_period"] == [0] * 7 + [45, 45] + [0] * 3


def test_custom_profile_by_hand(world):
    """10 t a month = 120 t; shares 1 in Jan-Jun and 3 in Jul-Dec: 120 x 1/24 = 5 and
    120 x 3/24 = 15."""
    supply = world["supply"]
    supply.quantity, supply.recurrence = 10, "month"
    supply.monthly_profile = [1] * 6 + [3] * 6
    supply.save()
    node = _snap(world).instance["supplies"][0]
    assert node["tonnes_per_period"] == [5] * 6 + [15] * 6
    assert node["tonnes"] == 120


def test_flat_listing_is_spread_by_the_core_as_today(world):
    snap = _snap(world)
    demand = snap.instance["demands"][0]
    assert "tonnes_per_period" not in demand and demand["tonnes"] == 120
    instance = Instance.from_dict(snap.instance)
    assert list(instance.seasons.demand_tonnes[0]) == [10.0] * 12


def test_period_snapshot_validates_and_sums(world):
    snap = _snap(world)
    assert snap.instance["periods"] == {"start": "2027-01", "count": 12, "unit": "month"}
    instance = Instance.from_dict(snap.instance)
    assert instance.seasons.labels[0] == "2027-01"
    assert math.isclose(instance.seasons.supply_tonnes.sum(), 90)
    # Without periods_start: no periods, today's snapshot.
    plain = build_snapshot(factor_set=world["fs"], parameters=clean_run_parameters({}))
    assert "periods" not in plain.instance
    assert "tonnes_per_period" not in plain.instance["supplies"][0]


def test_out_of_season_listing_is_left_out_and_noted(world):
    world["supply"].available_until = date(2027, 6, 30)  # harvest after the window
    world["supply"].save()
    snap = _snap(world)
    assert snap.instance["supplies"] == []
    assert snap.notes["listings_out_of_season"] == 1


def test_stores_take_the_material_figures(world):
    world["supply"].storage_capacity_tonnes = Decimal(40)
    world["supply"].save()
    grain = factories.SupplyListingFactory(
        material=world["grain"], quantity=12, storage_capacity_tonnes=Decimal(5)
    )
    world["demand"].storage_capacity_tonnes = Decimal(25)
    world["demand"].save()
    snap = _snap(world)
    supplies = {s["id"]: s for s in snap.instance["supplies"]}
    assert supplies[str(world["supply"].pk)]["storage"] == {
        "capacity_tonnes": 40.0,
        "loss_fraction_per_period": 0.0,
        "kg_co2e_per_t_period": 0.0,
        "kg_co2e_tier": "estimate",
    }
    # Wet grain (78 % moisture) rots: the flagged estimate of symbiosis.storage.
    assert supplies[str(grain.pk)]["storage"]["loss_fraction_per_period"] == 0.5
    # The demand accepts slag and grain: its store takes the more perishable.
    store = snap.instance["demands"][0]["storage"]
    assert store["capacity_tonnes"] == 25 and store["loss_fraction_per_period"] == 0.5
    Instance.from_dict(snap.instance)


def test_a_listing_that_stores_0_t_gets_no_store(world):
    # A store of 0 t would widen the listing's window (docs/optimizer.md) holding nothing.
    world["supply"].storage_capacity_tonnes = Decimal(0)
    world["supply"].save()
    world["demand"].storage_capacity_tonnes = Decimal(0)
    world["demand"].save()
    snap = _snap(world)
    assert snap.instance["supplies"] and snap.instance["demands"]
    assert all("storage" not in node for node in snap.instance["supplies"])
    assert all("storage" not in node for node in snap.instance["demands"])


def test_a_stated_material_figure_wins_and_counts_as_published(world):
    world["grain"].storage_loss_fraction_per_month = 0.1
    world["grain"].storage_kg_co2e_per_t_month = 3.0
    world["grain"].save()
    factories.SupplyListingFactory(
        material=world["grain"], quantity=12, storage_capacity_tonnes=Decimal(5)
    )
    store = next(s["storage"] for s in _snap(world).instance["supplies"] if "storage" in s)
    assert (store["loss_fraction_per_period"], store["kg_co2e_per_t_period"]) == (0.1, 3.0)
    assert store["kg_co2e_tier"] == "published"


def test_bad_start_month_is_refused():
    with pytest.raises(ValidationError) as exc:
        clean_run_parameters({"periods_start": "2027-13"})
    assert "periods_start" in exc.value.message_dict


def test_run_form_by_month_needs_its_month():
    form = RunForm(
        data={
            "objective": "co2e",
            "landfill_weight_kg_co2e_per_t": 0,
            "road_factor": 1.3,
            "time_limit_s": 30,
            "by_month": "on",
        }
    )
    assert not form.is_valid() and "periods_start" in form.errors
    form = RunForm(
        data={
            "objective": "co2e",
            "landfill_weight_kg_co2e_per_t": 0,
            "road_factor": 1.3,
            "time_limit_s": 30,
            "periods_start": "2027-03",
        }
    )
    assert form.is_valid(), form.errors
    assert form.parameters()["periods_start"] is None  # off: today's run


def _run(facilitator, **params):
    run = services.run_create(
        user=facilitator, parameters={"periods_start": "2027-01", **params}, enqueue=False
    )
    services.run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    return run


def test_run_by_month_without_store_moves_the_harvest_months_need(world, facilitator):
    """The demand uses 10 t a month; slag comes in Aug-Oct only: 30 t."""
    run = _run(facilitator)
    (proposal,) = run.proposals.all()
    assert proposal.tonnes == pytest.approx(30)
    # Every month is there (for its chart); only the harvest has tonnes.
    assert proposal.tonnes_by_period == pytest.approx(
        {f"2027-{m:02d}": 10 if m in (8, 9, 10) else 0 for m in range(1, 13)}
    )
    assert proposal.stock_by_period == {}


def test_a_demand_store_carries_the_harvest_into_winter(world, facilitator):
    """With 100 t of store (slag loses nothing) the demand also covers November and
    December from October's stock: 50 t, 20 t held at the end of October, 10 t at the
    end of November. Per tonne: landfill 20 + credit 30 - 0.1 x road km."""
    world["demand"].storage_capacity_tonnes = Decimal(100)
    world["demand"].save()
    run = _run(facilitator)
    (proposal,) = run.proposals.all()
    assert proposal.tonnes == pytest.approx(50)
    assert sum(proposal.tonnes_by_period.values()) == pytest.approx(50)
    moved = {k for k, t in proposal.tonnes_by_period.items() if t > 1e-9}
    assert moved <= {"2027-08", "2027-09", "2027-10"}
    stock = proposal.stock_by_period["demand"]
    assert stock["2027-10"] == pytest.approx(20) and stock["2027-11"] == pytest.approx(10)
    site_s, site_d = world["supply"].site, world["demand"].site
    km = 1.3 * geo.great_circle_km(
        float(site_s.latitude),
        float(site_s.longitude),
        float(site_d.latitude),
        float(site_d.longitude),
    )
    assert proposal.road_km == pytest.approx(km)
    per_t = 20 + 30 - 0.1 * km
    assert proposal.net_kg_co2e_saved == pytest.approx(50 * per_t)
    assert sum(proposal.kg_co2e_by_period.values()) == pytest.approx(50 * per_t)
    by_month = {row["period"]: row for row in run.stats["by_month"]}
    assert sum(r["tonnes"] for r in by_month.values()) == pytest.approx(run.tonnes_moved)
    assert run.tonnes_moved == pytest.approx(50)
    assert {row["node"] for row in run.stats["stock"]} == {str(world["demand"].pk)}


def test_one_period_run_is_unchanged(world, facilitator):
    run = services.run_create(user=facilitator, enqueue=False)
    services.run_execute(run_id=run.pk)
    run.refresh_from_db()
    (proposal,) = run.proposals.all()
    assert proposal.tonnes == pytest.approx(90)  # 90 t of slag, the demand takes 120
    assert proposal.tonnes_by_period == {} and "by_month" not in run.stats


def test_a_plant_intake_gives_capacity_by_month_and_a_store(plant_world, facilitator):  # noqa: F811
    """Intake 150 t a year, spring: 50 t in each of March, April and May; its store of
    inputs takes the more perishable input (manure at 70 % moisture: 0.5 a month)."""
    intake = plant_world["intake"]
    intake.monthly_profile = [0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    intake.storage_capacity_tonnes = Decimal(30)
    intake.save()
    params = clean_run_parameters({"periods_start": "2027-01"})
    snap = build_snapshot(factor_set=plant_world["fs"], parameters=params)
    (node,) = snap.instance["processors"]
    assert node["capacity_tonnes_per_period"] == [0, 0, 50, 50, 50] + [0] * 7
    assert node["storage"]["loss_fraction_per_period"] == 0.5
    Instance.from_dict(snap.instance)
    run = _run(facilitator)
    into_plant = [p for p in run.proposals.all() if p.kind == "to_processor"]
    assert into_plant
    for p in run.proposals.all():
        assert sum(p.tonnes_by_period.values()) == pytest.approx(p.tonnes)
    # The plant treats only in spring: what reaches it arrives by May (its store holds
    # inputs from earlier months, never later ones).
    late = {f"2027-{m:02d}" for m in range(6, 13)}
    assert all(p.tonnes_by_period[k] == 0 for p in into_plant for k in late)


def test_the_command_runs_by_month(world):
    call_command("optimize", "--by-month", "2027-01", stdout=io.StringIO())
    run = OptimizationRun.objects.latest("created_at")
    assert run.status == "succeeded" and run.parameters["periods_start"] == "2027-01"
    assert [row["period"] for row in run.stats["by_month"]][0] == "2027-01"
    assert len(run.stats["by_month"]) == 12


def test_adjusting_a_by_month_proposal_scales_its_months(world, facilitator):
    """30 t over Aug-Oct lowered to 15 t: 5 t a month, each rescored; raising it is
    refused (a month's limit could break)."""
    from optimizer import decisions

    run = _run(facilitator)
    (proposal,) = run.proposals.all()
    per_t = proposal.net_kg_co2e_saved / proposal.tonnes
    with pytest.raises(ValidationError):
        decisions.proposal_adjust(user=facilitator, proposal=proposal, tonnes=31)
    decisions.proposal_adjust(user=facilitator, proposal=proposal, tonnes=15)
    proposal.refresh_from_db()
    assert proposal.tonnes == 15
    moved = {k: t for k, t in proposal.tonnes_by_period.items() if t}
    assert moved == pytest.approx({"2027-08": 5, "2027-09": 5, "2027-10": 5})
    assert proposal.kg_co2e_by_period["2027-08"] == pytest.approx(5 * per_t)


def test_the_api_gives_a_proposals_months(world, facilitator):
    from rest_framework.test import APIClient

    run = _run(facilitator)
    client = APIClient()
    client.force_authenticate(facilitator)
    (row,) = client.get(f"/api/v1/proposals/?run={run.pk}").json()["results"]
    assert row["tonnes_by_period"]["2027-08"] == pytest.approx(10)
    assert len(row["tonnes_by_period"]) == 12


def test_store_emissions_by_month(world, facilitator):
    """Slag held at the demand at 2 kg CO2e per tonne and month (a stated figure): the
    plan holds just what November and December need, 20 t at the end of October and
    10 t at the end of November, so 40 and 20 kg; storing earlier would only cost more."""
    world["slag"].storage_loss_fraction_per_month = 0.0
    world["slag"].storage_kg_co2e_per_t_month = 2.0
    world["slag"].save()
    world["demand"].storage_capacity_tonnes = Decimal(100)
    world["demand"].save()
    run = _run(facilitator)
    rows = {row["period"]: row for row in run.stats["by_month"]}
    assert rows["2027-10"]["store_kg_co2e"] == pytest.approx(40)
    assert rows["2027-11"]["store_kg_co2e"] == pytest.approx(20)
    assert sum(r["store_kg_co2e"] for r in rows.values()) == pytest.approx(60)
    assert sum(r["stock"] for r in rows.values()) == pytest.approx(30)
