"""Hazardous waste and permits in the snapshot and in "Matches you can see"
(issue 21): a demand of an organization without a valid permit gets no hazardous
supply, and the reach says why."""

from __future__ import annotations

from datetime import date

import pytest

from optimizer.candidates import generate_arcs
from optimizer.instance import Instance
from optimizer.reach import listing_reach, reach_counts
from optimizer.snapshot import build_snapshot
from symbiosis.models import FactorSet, SupplyListing
from tests import factories

pytestmark = pytest.mark.django_db

OIL = "13 02 05*"


@pytest.fixture
def oil_world(db, attachment_storage):
    factor_set = FactorSet.objects.create(
        version="t-1", name="Test", transport_kg_co2e_per_tkm=0.1, is_active=True
    )
    oil = factories.MaterialFactory(
        slug="waste-oil-t", ewc_code=OIL, kz_code=OIL, kz_hazardous=True, category="fossil"
    )
    refining = factories.UseFactory(slug="re-refining-t")
    factories.CompatibilityRuleFactory(material=oil, use=refining)
    supply = factories.SupplyListingFactory(material=oil, available_from=None, available_until=None)
    refinery = factories.OrganizationFactory(name="Re-refinery")
    demand = factories.DemandListingFactory(organization=refinery, materials=[oil])
    demand.uses.set([refining])
    return factor_set, supply, demand, refinery


def test_the_snapshot_carries_the_code_and_the_permits(oil_world):
    factor_set, supply, demand, refinery = oil_world
    doc = build_snapshot(factor_set=factor_set, parameters={}).instance
    assert doc["supplies"][0]["hazardous_code"] == OIL
    assert "permitted_codes" not in doc["demands"][0]
    assert len(generate_arcs(Instance.from_dict(doc))) == 0
    factories.WastePermitFactory(organization=refinery, codes=[OIL])
    doc = build_snapshot(factor_set=factor_set, parameters={}).instance
    assert doc["demands"][0]["permitted_codes"] == [OIL]
    assert len(generate_arcs(Instance.from_dict(doc))) == 1
    # On a day after the permit ends, the snapshot gives it no more.
    later = build_snapshot(factor_set=factor_set, parameters={}, permit_day=date(2036, 1, 1))
    assert "permitted_codes" not in later.instance["demands"][0]


def test_a_snapshot_without_hazardous_supplies_has_no_new_keys(oil_world):
    factor_set, supply, demand, refinery = oil_world
    factories.WastePermitFactory(organization=refinery, codes=[OIL])
    SupplyListing.objects.filter(pk=supply.pk).update(status="paused")
    grain = factories.SupplyListingFactory()
    doc = build_snapshot(
        factor_set=factor_set, parameters={}, supplies=SupplyListing.objects.filter(pk=grain.pk)
    ).instance
    assert all("hazardous_code" not in s for s in doc["supplies"])
    assert all("permitted_codes" not in d for d in doc["demands"])


def test_the_reach_says_no_receiver_holds_a_permit_until_one_does(oil_world, client):
    factor_set, supply, demand, refinery = oil_world
    found = listing_reach(supply)
    assert (found.count, found.accepting, found.without_permit) == (0, 1, 1)
    assert found.hazardous_codes == [OIL]
    member = factories.MembershipFactory(organization=supply.organization).user
    client.force_login(member)
    html = client.get(f"/review/reach/supply/{supply.pk}/").content.decode()
    assert f"No receiver with a valid permit for {OIL}" in html
    # The receiver's own demand says what it misses.
    assert listing_reach(demand).without_permit == 1
    assert reach_counts(
        supplies=SupplyListing.objects.filter(pk=supply.pk),
        demands=demand.__class__.objects.filter(pk=demand.pk),
    ) == {("supply", supply.pk): 0, ("demand", demand.pk): 0}

    factories.WastePermitFactory(organization=refinery, codes=[OIL])
    found = listing_reach(supply)
    assert [c.listing_id for c in found.within] == [demand.pk]
    assert found.without_permit == 0
