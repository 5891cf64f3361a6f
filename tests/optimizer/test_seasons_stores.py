"""What a run by month's stores emit and lose, in the run's headline (docs/accounting.md,
"Stores in runs by month"): net of the stores, lost tonnes neither moved nor kept out of
landfill, every figure computed here by hand from the instance's numbers."""

import math
from decimal import Decimal

import pytest
from django.urls import reverse

from optimizer import run_pages, seasons, services
from optimizer.snapshot import build_snapshot
from symbiosis import geo, impact
from tests.optimizer.test_seasons import _run, world  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

OCTOBER_ONLY = [0] * 9 + [1, 0, 0]
LOSS, KG_PER_T_MONTH = 0.2, 10.0  # symbiosis.storage's estimate for dry biomass
FATE, CREDIT, TRANSPORT = 20.0, 30.0, 0.1  # the world's landfill, credit, kg/t-km


@pytest.fixture
def rotting(world):  # noqa: F811
    """The world's residue made dry biomass (40 % moisture: the estimate of 0.2 lost and
    10 kg CO2e per tonne a month, tier "estimate"), all 90 t of it made in October;
    the demand uses 10 t a month and can store 100 t."""
    for material in (world["slag"], world["grain"]):
        material.category, material.moisture_percent = "biomass", Decimal(40)
        material.save()
    world["supply"].monthly_profile = OCTOBER_ONLY
    world["supply"].save()
    world["demand"].storage_capacity_tonnes = Decimal(100)
    world["demand"].save()
    return world


def _per_t(nodes) -> float:
    site_s, site_d = nodes["supply"].site, nodes["demand"].site
    km = 1.3 * geo.great_circle_km(
        float(site_s.latitude),
        float(site_s.longitude),
        float(site_d.latitude),
        float(site_d.longitude),
    )
    return FATE + CREDIT - TRANSPORT * km


def test_the_snapshot_store_is_the_estimate(rotting):
    params = services.clean_run_parameters({"periods_start": "2027-01"})
    snap = build_snapshot(factor_set=rotting["fs"], parameters=params).instance
    (demand,) = snap["demands"]
    assert demand["storage"] == {
        "capacity_tonnes": 100.0,
        "loss_fraction_per_period": LOSS,
        "kg_co2e_per_t_period": KG_PER_T_MONTH,
        "kg_co2e_tier": impact.ESTIMATE,
    }
    assert snap["supplies"][0]["tonnes_per_period"] == [0] * 9 + [90, 0, 0]


def test_a_rotting_store_is_taken_off_the_headline(rotting, facilitator):
    """Only October has material, so November and December are met from the store.
    Holding 1 t a month costs 10 kg + 0.2 x 50 kg (its lost saving, before transport)
    = 20 kg, less than the ~48.5 kg a delivered tonne saves, so the plan stores all it
    can use: December's 10 t need 12.5 t at the end of November (0.2 lost), which with
    November's 10 t need 28.125 t at the end of October; 38.125 t delivered in October,
    8.125 t of it lost."""
    stock_oct = (10 + 10 / (1 - LOSS)) / (1 - LOSS)
    stock_nov = 10 / (1 - LOSS)
    delivered = 10 + stock_oct
    lost = LOSS * (stock_oct + stock_nov)
    assert (stock_oct, stock_nov, delivered, lost) == pytest.approx((28.125, 12.5, 38.125, 8.125))
    assert delivered - lost == pytest.approx(30)  # used: 10 t in each of Oct, Nov, Dec

    run = _run(facilitator)
    (proposal,) = run.proposals.all()
    per_t = _per_t(rotting)
    gross = delivered * per_t
    emitted = (stock_oct + stock_nov) * KG_PER_T_MONTH  # tonnes x months x factor
    lost_saving = lost * (FATE + CREDIT)  # its transport was spent
    # The proposal stays gross: what the pair delivers, as a deal would count it.
    assert proposal.tonnes == pytest.approx(delivered)
    assert proposal.net_kg_co2e_saved == pytest.approx(gross)
    # The headline is net.
    assert run.saved_kg_co2e == pytest.approx(gross - emitted - lost_saving)
    assert run.tonnes_moved == pytest.approx(delivered - lost)
    assert run.landfill_tonnes_avoided == pytest.approx(delivered - lost)
    accounting = run.stats["accounting"]
    assert accounting["tonnes_by_category"][impact.KEPT_OUT_OF_LANDFILL] == pytest.approx(30)
    stores = accounting["stores"]
    assert stores["kg_co2e_emitted"] == pytest.approx(emitted)
    # The store factor is an estimate: it rests with the proxies and estimates.
    assert stores["kg_co2e_emitted_estimated"] == pytest.approx(emitted)
    assert stores["kg_co2e_emitted_published"] == 0
    assert stores["lost_tonnes"] == pytest.approx(lost)
    assert stores["lost_kg_co2e"] == pytest.approx(lost_saving)
    assert accounting["kg_co2e_published"] + accounting["kg_co2e_proxy"] == pytest.approx(
        run.saved_kg_co2e
    )
    assert accounting["kg_co2e_low"] <= run.saved_kg_co2e <= accounting["kg_co2e_high"]

    rows = {row["period"]: row for row in run.stats["by_month"]}
    assert rows["2027-10"]["stock"] == pytest.approx(stock_oct)
    assert rows["2027-10"]["lost_tonnes"] == pytest.approx(LOSS * stock_oct)
    assert rows["2027-10"]["store_kg_co2e"] == pytest.approx(
        stock_oct * (KG_PER_T_MONTH + LOSS * (FATE + CREDIT))
    )
    assert rows["2027-10"]["kg_co2e"] == pytest.approx(
        delivered * per_t - rows["2027-10"]["store_kg_co2e"]
    )
    assert rows["2027-11"]["kg_co2e"] == pytest.approx(
        -stock_nov * (KG_PER_T_MONTH + LOSS * (FATE + CREDIT))
    )
    # The months add up to the headline.
    assert math.fsum(r["kg_co2e"] for r in rows.values()) == pytest.approx(run.saved_kg_co2e)
    assert math.fsum(r["tonnes"] - r["lost_tonnes"] for r in rows.values()) == pytest.approx(
        run.tonnes_moved
    )


def test_the_run_page_shows_the_store_line(rotting, facilitator, analyst, client):
    run = _run(facilitator)
    client.force_login(analyst)  # a city analyst reads the run's aggregates
    page = client.get(reverse("optimizer:run_detail", args=[run.pk])).content.decode()
    assert 'data-testid="term-stores"' in page and 'data-testid="run-stores-note"' in page
    # The page's terms add up to the run's net headline, stores line included.
    terms = run_pages.run_summary_context(run)["summary"]["terms"]
    stores = next(t for t in terms if t["key"] == "stores")
    assert -stores["saved"] == pytest.approx(
        run.stats["accounting"]["stores"]["kg_co2e_emitted"]
        + run.stats["accounting"]["stores"]["lost_kg_co2e"]
    )
    assert math.fsum(t["saved"] for t in terms) == pytest.approx(run.saved_kg_co2e)
    assert 'data-testid="results-count"' not in page  # no proposal table for an analyst


def test_a_run_without_stores_is_unchanged(world, facilitator):  # noqa: F811
    run = _run(facilitator)
    (proposal,) = run.proposals.all()
    assert run.saved_kg_co2e == pytest.approx(proposal.net_kg_co2e_saved)
    assert run.tonnes_moved == pytest.approx(proposal.tonnes) == pytest.approx(30)
    stores = run.stats["accounting"]["stores"]
    assert all(v == 0 for k, v in stores.items() if k in seasons.STORE_TOTALS)
    assert run.stats["stores"] == []
    assert all(row["kg_co2e"] == row["kg_co2e_gross"] for row in run.stats["by_month"])


def test_store_flows_by_hand():
    """The one computation of lost tonnes: stock x loss, and stock x factor emitted."""
    instance = {
        "supplies": [{"id": "s", "storage": {"loss_fraction_per_period": 0.5}}],
        "demands": [
            {
                "id": "d",
                "storage": {
                    "loss_fraction_per_period": 0.1,
                    "kg_co2e_per_t_period": 3.0,
                    "kg_co2e_tier": "published",
                },
            }
        ],
    }
    stock = [
        {"node": "s", "kind": "supply", "period": "2027-01", "tonnes": 4.0},
        {"node": "d", "kind": "demand", "period": "2027-01", "tonnes": 20.0},
    ]
    supply, demand = seasons.store_flows(stock, instance)
    assert (supply["lost_tonnes"], supply["kg_co2e_emitted"], supply["tier"]) == (
        2.0,
        0.0,
        impact.ESTIMATE,
    )
    assert (demand["lost_tonnes"], demand["kg_co2e_emitted"], demand["tier"]) == (
        pytest.approx(2.0),
        60.0,
        "published",
    )


def test_the_proposals_api_stays_gross_and_says_so(rotting, facilitator):
    """The pair's own figure is what it delivers; the stores are the run's line."""
    from rest_framework.test import APIClient

    run = _run(facilitator)
    client = APIClient()
    client.force_authenticate(facilitator)
    (row,) = client.get(f"/api/v1/proposals/?run={run.pk}").json()["results"]
    assert row["tonnes"] == pytest.approx(38.125)
    assert row["net_kg_co2e_saved"] == pytest.approx(38.125 * _per_t(rotting))
    assert row["net_kg_co2e_saved"] > run.saved_kg_co2e
    schema = client.get("/api/schema/?format=json").json()
    field = schema["components"]["schemas"]["ProposalOutput"]["properties"]["net_kg_co2e_saved"]
    assert "before the run's stores" in field["description"]
