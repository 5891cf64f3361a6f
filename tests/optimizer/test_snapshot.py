"""The database becomes an optimizer instance the way the docs say."""

from decimal import Decimal

import pytest

from optimizer.instance import Instance
from optimizer.models import PairRule
from optimizer.services import clean_run_parameters
from optimizer.snapshot import build_snapshot, instance_sha256
from symbiosis.models import EmissionFactor, FactorSet
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    grain = factories.MaterialFactory(slug="grain", category="biomass", moisture_percent=78)
    slag = factories.MaterialFactory(slug="slag", category="minerals", ewc_code="10 02 02")
    feed = factories.UseFactory(slug="feed")
    factories.CompatibilityRuleFactory(material=grain, use=feed, credit_kg_co2e_per_t=Decimal(90))
    fs = FactorSet.objects.create(
        version="t1", name="test", transport_kg_co2e_per_tkm=Decimal("0.2"), is_active=True
    )
    EmissionFactor.objects.create(
        factor_set=fs, material=grain, kind="landfill", kg_co2e_per_t=Decimal(500), source="x"
    )
    yearly = factories.SupplyListingFactory(material=grain, quantity=100, recurrence="year")
    monthly = factories.SupplyListingFactory(material=grain, quantity=10, recurrence="month")
    other_fate = factories.SupplyListingFactory(material=grain, quantity=5, fate="other")
    draft = factories.SupplyListingFactory(material=grain, status="draft")
    slag_supply = factories.SupplyListingFactory(material=slag, quantity=7)
    slag_supply.site.district = "turksib"
    slag_supply.site.save()
    by_use = factories.DemandListingFactory(quantity=80, max_moisture_percent=Decimal(80))
    by_use.uses.set([feed])
    explicit = factories.DemandListingFactory(quantity=30, min_lot_tonnes=Decimal(10))
    explicit.materials.set([grain, slag])
    return locals()


def _snap(world, **params):
    return build_snapshot(factor_set=world["fs"], parameters=clean_run_parameters(params))


def test_supplies_are_annualised_and_drafts_left_out(world):
    snap = _snap(world)
    tonnes = {s["id"]: s["tonnes"] for s in snap.instance["supplies"]}
    assert tonnes[str(world["yearly"].pk)] == 100
    assert tonnes[str(world["monthly"].pk)] == 120
    assert str(world["draft"].pk) not in tonnes


def test_missing_fate_factor_is_noted_not_silently_zero(world):
    snap = _snap(world)
    assert snap.notes["supplies_without_fate_factor"] == 2  # fate "other" and the slag
    landfill = {s["id"]: s["fate_kg_co2e_per_t"] for s in snap.instance["supplies"]}
    assert landfill[str(world["yearly"].pk)] == 500


def test_demand_by_use_accepts_the_rule_materials_with_their_credit(world):
    snap = _snap(world)
    demand = next(d for d in snap.instance["demands"] if d["id"] == str(world["by_use"].pk))
    rule = world["feed"].rules.get()
    assert demand["accepts"] == [
        {
            "material": "grain",
            "credit_kg_co2e_per_t": 90.0,
            # The credit's quality: a rule's credit the set does not hold is its own.
            "credit_factor": {
                "kg_co2e_per_t": 90.0,
                "tier": "published",
                "low_kg_co2e_per_t": None,
                "high_kg_co2e_per_t": None,
                "ref": f"rule:{rule.pk}",
            },
            "quality_limits": {"moisture_percent": {"max": 80.0}},
        }
    ]
    supply = next(s for s in snap.instance["supplies"] if s["id"] == str(world["yearly"].pk))
    # The supply's own moisture is unknown, so the material's default is used.
    assert supply["quality"] == {"moisture_percent": 78.0}


def test_explicit_materials_without_a_use_have_no_counted_credit(world):
    snap = _snap(world)
    demand = next(d for d in snap.instance["demands"] if d["id"] == str(world["explicit"].pk))
    assert {a["material"]: a["credit_kg_co2e_per_t"] for a in demand["accepts"]} == {
        "grain": 0.0,
        "slag": 0.0,
    }
    assert demand["min_lot_tonnes"] == 10
    assert snap.notes["accepts_without_credit"] >= 2


def test_category_and_district_filters(world):
    minerals = _snap(world, categories=["minerals"])
    assert [s["material"] for s in minerals.instance["supplies"]] == ["slag"]
    assert all(a["material"] == "slag" for d in minerals.instance["demands"] for a in d["accepts"])
    turksib = _snap(world, districts=["turksib"])
    assert [s["id"] for s in turksib.instance["supplies"]] == [str(world["slag_supply"].pk)]


def test_cap_and_default_lot_apply(world):
    snap = _snap(world, max_km_cap=25, min_lot_tonnes=3)
    assert all(s["max_km"] == 25 for s in snap.instance["supplies"])
    lots = {d["id"]: d["min_lot_tonnes"] for d in snap.instance["demands"]}
    assert lots[str(world["by_use"].pk)] == 3  # default from the run
    assert lots[str(world["explicit"].pk)] == 10  # the listing's own lot wins


def test_pair_rules_become_pins_and_forbidden_pairs(world):
    PairRule.objects.create(supply=world["yearly"], demand=world["by_use"], kind="pin", tonnes=40)
    PairRule.objects.create(supply=world["monthly"], demand=world["by_use"], kind="forbid")
    PairRule.objects.create(supply=world["draft"], demand=world["by_use"], kind="forbid")
    snap = _snap(world)
    assert snap.instance["pins"] == [
        {"supply": str(world["yearly"].pk), "demand": str(world["by_use"].pk), "tonnes": 40}
    ]
    assert snap.instance["forbidden"] == [
        {"supply": str(world["monthly"].pk), "demand": str(world["by_use"].pk)}
    ]
    assert snap.notes["rules_outside_snapshot"] == 1


def test_snapshot_is_a_valid_instance_with_a_stable_hash(world):
    a, b = _snap(world), _snap(world)
    Instance.from_dict(a.instance)
    assert a.sha256 == b.sha256 == instance_sha256(b.instance)
    assert a.instance["parameters"]["transport_kg_co2e_per_tkm"] == 0.2
