"""A fixture city: three suppliers, two receivers, deliveries in every status.

- grain (biomass) from a brewery (sector C, Almaly), landfilled (500 kg CO2e/t),
  to a farm's animal feed (credit 100 kg CO2e/t);
- slag (minerals) from a builder (sector F, Auezov), landfilled (20 kg CO2e/t, a
  proxy), to the farm with no known credit (that term is not counted);
- bread (biomass) from a bakery (sector I, Almaly) whose fate is "other": no
  factor, so its tonnes are put to use (not kept out of landfill) and its fate's
  CO2e is not counted; only its trucking is.
Every deal carries a price marker that must never reach the dashboard.
"""

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import timezone

from marketplace.models import Deal, Delivery
from symbiosis.models import EmissionFactor, FactorSet
from tests import factories

PRICE_MARKER = Decimal("-98765.43")
TRANSPORT = Decimal("0.1")


def make_deal(*, supply, receiver_site, demand, factor_set):
    return Deal.objects.create(
        supplier=supply.organization,
        receiver=receiver_site.organization,
        supply=supply,
        demand=demand,
        receiver_site=receiver_site,
        material=supply.material,
        tonnes_per_period=Decimal("100"),
        period="month",
        tonnes_total=Decimal("1200"),
        price_kzt_per_t=PRICE_MARKER,
        start_date=date(2026, 1, 1),
        end_date=date(2026, 12, 31),
        factor_set=factor_set,
        state=Deal.State.ACTIVE,
        initiator=Deal.Initiator.SUPPLIER,
        supplier_accepted_at=timezone.now(),
        receiver_accepted_at=timezone.now(),
    )


def deliver(deal, day, tonnes, status="confirmed", n=[0]):  # noqa: B006 (a ticket counter)
    n[0] += 1
    extra = {}
    if status == "confirmed":
        extra["confirmed_at"] = timezone.now()
    if status == "disputed":
        extra["dispute_reason"] = "wrong weight"
    return Delivery.objects.create(
        deal=deal,
        date=day,
        tonnes=Decimal(tonnes),
        ticket_number=f"T-{n[0]}",
        status=status,
        **extra,
    )


@pytest.fixture
def city(db):
    factor_set = FactorSet.objects.create(
        version="city-test-1",
        name="City test factors",
        transport_kg_co2e_per_tkm=TRANSPORT,
        transport_source="test transport source",
        is_active=True,
    )
    grain = factories.MaterialFactory(slug="grain", name_en="Spent grain", category="biomass")
    slag = factories.MaterialFactory(
        slug="slag", name_en="Steel slag", category="minerals", ewc_code="10 02 02"
    )
    bread = factories.MaterialFactory(
        slug="bread", name_en="Old bread", category="biomass", ewc_code="02 06 01"
    )
    feed = factories.UseFactory(slug="feed", name_en="Animal feed")
    base = factories.UseFactory(slug="base", name_en="Road base")
    factories.CompatibilityRuleFactory(material=grain, use=feed, credit_kg_co2e_per_t=100)
    factories.CompatibilityRuleFactory(material=slag, use=base, credit_kg_co2e_per_t=None)
    EmissionFactor.objects.create(
        factor_set=factor_set,
        material=grain,
        kind="landfill",
        kg_co2e_per_t=Decimal("500"),
        source="grain landfill source",
    )
    EmissionFactor.objects.create(
        factor_set=factor_set,
        material=slag,
        kind="landfill",
        kg_co2e_per_t=Decimal("20"),
        source="slag landfill source",
        is_estimate=True,
    )
    brewery = factories.OrganizationFactory(name="Secret Brewery", sector="C")
    builder = factories.OrganizationFactory(
        name="Named Builder", sector="F", agrees_to_be_named=True
    )
    bakery = factories.OrganizationFactory(name="Hidden Bakery", sector="I")
    farm = factories.OrganizationFactory(name="Private Farm", sector="A")
    idle = factories.OrganizationFactory(name="Idle Co", sector="C", agrees_to_be_named=True)
    site = {
        "brewery": factories.SiteFactory(
            organization=brewery,
            name="Brewery yard",
            district="almaly",
            latitude=Decimal("43.250000"),
            longitude=Decimal("76.900000"),
        ),
        "builder": factories.SiteFactory(
            organization=builder,
            name="Builder yard",
            district="auezov",
            latitude=Decimal("43.220000"),
            longitude=Decimal("76.850000"),
        ),
        "bakery": factories.SiteFactory(
            organization=bakery,
            name="Bakery yard",
            district="almaly",
            latitude=Decimal("43.260000"),
            longitude=Decimal("76.940000"),
        ),
        "farm": factories.SiteFactory(
            organization=farm,
            name="Farm gate",
            district="turksib",
            latitude=Decimal("43.340000"),
            longitude=Decimal("76.990000"),
        ),
    }
    supplies = {
        "grain": factories.SupplyListingFactory(
            organization=brewery, site=site["brewery"], material=grain, visibility="private"
        ),
        "slag": factories.SupplyListingFactory(
            organization=builder, site=site["builder"], material=slag
        ),
        "bread": factories.SupplyListingFactory(
            organization=bakery, site=site["bakery"], material=bread, fate="other"
        ),
    }
    feed_demand = factories.DemandListingFactory(
        organization=farm, site=site["farm"], materials=[grain]
    )
    feed_demand.uses.set([feed])
    base_demand = factories.DemandListingFactory(
        organization=farm, site=site["farm"], materials=[slag]
    )
    base_demand.uses.set([base])
    deals = {
        "grain": make_deal(
            supply=supplies["grain"],
            receiver_site=site["farm"],
            demand=feed_demand,
            factor_set=factor_set,
        ),
        "slag": make_deal(
            supply=supplies["slag"],
            receiver_site=site["farm"],
            demand=base_demand,
            factor_set=factor_set,
        ),
        "bread": make_deal(
            supply=supplies["bread"], receiver_site=site["farm"], demand=None, factor_set=factor_set
        ),
    }
    # An idle deal (no deliveries) with an organization that must not count.
    idle_supply = factories.SupplyListingFactory(
        organization=idle, site=factories.SiteFactory(organization=idle), material=grain
    )
    make_deal(
        supply=idle_supply, receiver_site=site["farm"], demand=feed_demand, factor_set=factor_set
    )
    deliver(deals["grain"], date(2026, 1, 10), "12.500")
    deliver(deals["grain"], date(2026, 1, 20), "7.250")
    deliver(deals["grain"], date(2026, 2, 3), "30.000")
    deliver(deals["grain"], date(2026, 2, 4), "999.000", status="logged")
    deliver(deals["grain"], date(2026, 2, 5), "888.000", status="disputed")
    deliver(deals["slag"], date(2026, 2, 14), "40.000")
    deliver(deals["slag"], date(2026, 3, 1), "60.125")
    deliver(deals["bread"], date(2026, 3, 2), "5.000")
    return SimpleNamespace(
        factor_set=factor_set,
        materials={"grain": grain, "slag": slag, "bread": bread},
        sites=site,
        deals=deals,
        organizations={"brewery": brewery, "builder": builder, "bakery": bakery, "farm": farm},
    )
