"""Fixtures for the Django side of the optimizer."""

from decimal import Decimal

import pytest

from symbiosis.models import EmissionFactor, FactorSet
from tests import factories


@pytest.fixture
def market(db):
    """One supply of 100 t, a near demand of 60 t and a far one of 60 t, same point
    longitudes so road km are easy to compute by hand."""
    grain = factories.MaterialFactory(slug="grain")
    feed = factories.UseFactory(slug="feed")
    factories.CompatibilityRuleFactory(material=grain, use=feed, credit_kg_co2e_per_t=Decimal(50))
    fs = FactorSet.objects.create(
        version="t", name="t", transport_kg_co2e_per_tkm=Decimal("0.1"), is_active=True
    )
    EmissionFactor.objects.create(
        factor_set=fs, material=grain, kind="landfill", kg_co2e_per_t=Decimal(400), source="x"
    )
    supply = factories.SupplyListingFactory(material=grain, quantity=100)
    supply.site.latitude, supply.site.longitude = Decimal("43.2"), Decimal("76.9")
    supply.site.save()
    demands = []
    for lat in ("43.3", "43.5"):
        demand = factories.DemandListingFactory(quantity=60)
        demand.uses.set([feed])
        demand.site.latitude, demand.site.longitude = Decimal(lat), Decimal("76.9")
        demand.site.save()
        demands.append(demand)
    return supply, demands


@pytest.fixture
def succeeded_run(facilitator, market):
    from optimizer import services

    run = services.run_create(user=facilitator, enqueue=False)
    services.run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    return run
