"""A listing's composition feeds the optimizer: its own moisture and C:N where it
states them, else its material's typical values (issue 18, part 2). The listing
page shows the same numbers (``SupplyListing.effective_*``)."""

from decimal import Decimal

import pytest

from optimizer.candidates import generate_arcs
from optimizer.instance import Instance
from optimizer.snapshot import build_snapshot
from symbiosis.models import FactorSet
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    grain = factories.MaterialFactory(
        slug="grain", moisture_percent=Decimal(78), carbon_to_nitrogen_ratio=Decimal(12)
    )
    feed = factories.UseFactory(slug="feed")
    factories.CompatibilityRuleFactory(material=grain, use=feed)
    fs = FactorSet.objects.create(
        version="c", name="c", transport_kg_co2e_per_tkm=1, is_active=True
    )
    supply = factories.SupplyListingFactory(material=grain)
    dry_feed = factories.DemandListingFactory(max_moisture_percent=Decimal(50))
    dry_feed.uses.set([feed])
    return fs, supply, dry_feed


def _instance(fs) -> Instance:
    return Instance.from_dict(build_snapshot(factor_set=fs, parameters={}).instance)


def test_the_materials_typical_values_count_when_the_listing_states_none(world):
    fs, supply, _demand = world
    quality = _instance(fs).supplies[0].quality
    assert quality == {"moisture_percent": 78.0, "cn_ratio": 12.0}
    assert supply.effective_moisture_percent == 78 and supply.dry_matter_percent == 22


def test_the_listings_own_values_override_the_materials(world):
    fs, supply, _demand = world
    supply.moisture_percent = Decimal("40")
    supply.cn_ratio = Decimal("30")
    supply.contamination_percent = Decimal("2")
    supply.particle_size_mm = Decimal("6")
    supply.save()
    quality = _instance(fs).supplies[0].quality
    assert quality == {
        "moisture_percent": 40.0,
        "cn_ratio": 30.0,
        "contamination_percent": 2.0,
        "particle_size_mm": 6.0,
    }
    assert supply.dry_matter_percent == 60


def test_a_demands_moisture_limit_reads_the_listings_own_moisture(world):
    fs, supply, _demand = world
    # The material's typical 78 % is too wet for a 50 % limit...
    assert len(generate_arcs(_instance(fs))) == 0
    # ... the listing's measured 40 % is not: the same number the page shows.
    supply.moisture_percent = Decimal("40")
    supply.save()
    assert len(generate_arcs(_instance(fs))) == 1


def test_a_plants_cn_limits_read_the_listings_own_cn(world):
    from optimizer.models import ProcessingPlant

    fs, supply, demand = world
    demand.max_moisture_percent = None
    demand.save()
    ProcessingPlant.objects.create(
        intake=demand, output_yield=0.5, treatment_kg_co2e_per_t=10, cn_min=20, cn_max=40
    )
    supply.material.carbon_to_nitrogen_ratio = None
    supply.material.save()
    # Neither the listing nor its material states a C:N: the plant cannot take it.
    assert len(generate_arcs(_instance(fs))) == 0
    supply.cn_ratio = Decimal("25")
    supply.save()
    assert _instance(fs).supplies[0].quality["cn_ratio"] == 25.0
    assert len(generate_arcs(_instance(fs))) == 1
