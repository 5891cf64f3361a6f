"""Matches you can see (optimizer.reach), checked against an independent reference.

``reference_counterparts`` is a plain double loop over the database written from
the documented rules (docs/optimizer.md, "Candidate arcs"; docs/market.md,
"Matches you can see"): the material is accepted (named, else through a use's
compatibility rule), the haversine distance times the road factor is within both
parties' limits, the availability windows overlap, the demand's quality limits
hold on the supply's stated (else its material's typical) values, a plant with
C:N or moisture limits takes only supplies whose values are known, no forbidden
pair, another organization, a hazardous waste only to an organization holding a
verified permit for its code valid today, and the counterpart is active and public
or anonymous. It shares no code with optimizer/.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from optimizer.models import PairRule, ProcessingPlant
from optimizer.reach import FURTHER_KM, listing_reach, reach_counts
from symbiosis.models import (
    CompatibilityRule,
    DemandListing,
    FactorSet,
    ImportedOriginClearance,
    SupplyListing,
    WastePermit,
)
from tests import factories
from tests.optimizer.helpers import haversine_km

pytestmark = pytest.mark.django_db

ROAD_FACTOR = 1.3
PUBLISHED = ("public", "anonymous")


class World:
    """The database read once: what the double loop below looks up per pair."""

    def __init__(self):
        rules = list(CompatibilityRule.objects.values_list("material_id", "use_id"))
        published = {"status": "active", "visibility__in": PUBLISHED}
        self.plants = {p.intake_id: p for p in ProcessingPlant.objects.all()}
        self.outputs = {p.output_id for p in self.plants.values() if p.output_id}
        self.forbidden = set(
            PairRule.objects.filter(kind=PairRule.Kind.FORBID).values_list("supply_id", "demand_id")
        )
        related = ("site", "material")
        self.supplies = list(
            SupplyListing.objects.filter(**published)
            .exclude(pk__in=self.outputs)
            .select_related(*related)
        )
        self.demands = list(
            DemandListing.objects.filter(**published)
            .select_related("site")
            .prefetch_related("materials", "uses")
        )
        # Imported-origin supplies count only where their material's latest decision
        # is "cleared" (symbiosis.clearances), read here straight from the table.
        latest = {}
        for material_id, outcome in ImportedOriginClearance.objects.order_by(
            "decided_at", "pk"
        ).values_list("material_id", "outcome"):
            latest[material_id] = outcome
        self.cleared = {pk for pk, outcome in latest.items() if outcome == "cleared"}
        self.accepted = {}
        for demand in [*self.demands]:
            self.accepted[demand.pk] = self.accepted_material_ids(demand, rules)
        # Hazardous codes each organization may receive today: verified permits of an
        # activity that takes waste in, valid today, by the codes' digits.
        today = timezone.localdate()
        self.permitted: dict[int, set[str]] = {}
        for permit in WastePermit.objects.filter(status="verified").exclude(activity="transport"):
            if permit.valid_from <= today and (
                permit.valid_until is None or today <= permit.valid_until
            ):
                codes = {re.sub(r"\D", "", c) for c in permit.codes}
                self.permitted.setdefault(permit.organization_id, set()).update(codes)

    @staticmethod
    def accepted_material_ids(demand, rules) -> set[int]:
        named = {m.pk for m in demand.materials.all()}
        if named:
            return named
        uses = {u.pk for u in demand.uses.all()}
        return {material for material, use in rules if use in uses}


def _road_km(supply, demand) -> float:
    return ROAD_FACTOR * haversine_km(
        float(supply.site.latitude),
        float(supply.site.longitude),
        float(demand.site.latitude),
        float(demand.site.longitude),
    )


def _overlap(supply, demand) -> bool:
    start = max(supply.available_from or date.min, demand.available_from or date.min)
    end = min(supply.available_until or date.max, demand.available_until or date.max)
    return start <= end


def _quality_ok(world, supply, demand) -> bool:
    moisture = supply.moisture_percent
    if moisture is None:
        moisture = supply.material.moisture_percent
    limits = (
        (demand.max_moisture_percent, moisture),
        (demand.max_contamination_percent, supply.contamination_percent),
    )
    for limit, value in limits:
        # A value not stated cannot be shown to meet a limit.
        if limit is not None and (value is None or value > limit):
            return False
    plant = world.plants.get(demand.pk)
    if plant is not None:
        cn = supply.cn_ratio or supply.material.carbon_to_nitrogen_ratio
        limits_cn = plant.cn_min is not None or plant.cn_max is not None
        if limits_cn and (not cn or moisture is None):
            return False  # neither nitrogen nor C:N can be told
        if plant.moisture_max_percent is not None and moisture is None:
            return False
    return True


def _pair_allowed(
    world, supply, demand, *, distance=True, window=True, quality=True, permit=True
) -> bool:
    if supply.organization_id == demand.organization_id:
        return False
    if supply.imported_origin and supply.material_id not in world.cleared:
        return False
    material = supply.material
    if permit and material.kz_hazardous and material.kz_code:
        code = re.sub(r"\D", "", material.kz_code)
        if code not in world.permitted.get(demand.organization_id, set()):
            return False
    if supply.material_id not in world.accepted[demand.pk]:
        return False
    if (supply.pk, demand.pk) in world.forbidden:
        return False
    km = _road_km(supply, demand)
    if distance:
        for limit in (supply.max_km, demand.max_km):
            if limit is not None and km > float(limit):
                return False
    if window and not _overlap(supply, demand):
        return False
    return not quality or _quality_ok(world, supply, demand)


def reference_counterparts(listing, world=None, **lifted) -> dict[int, float]:
    """Counterpart id -> road km, by the double loop."""
    world = world or World()
    found = {}
    if isinstance(listing, SupplyListing):
        if listing.pk in world.outputs:
            return {}
        for demand in world.demands:
            if _pair_allowed(world, listing, demand, **lifted):
                found[demand.pk] = _road_km(listing, demand)
    else:
        if listing.pk not in world.accepted:
            world.accepted[listing.pk] = World.accepted_material_ids(
                listing, list(CompatibilityRule.objects.values_list("material_id", "use_id"))
            )
        for supply in world.supplies:
            if _pair_allowed(world, supply, listing, **lifted):
                found[supply.pk] = _road_km(supply, listing)
    return found


# --- the demo, every listing --------------------------------------------------------------


def test_every_demo_listing_meets_whom_the_reference_says(demo):
    world = World()
    checked = 0
    for model in (SupplyListing, DemandListing):
        for listing in model.objects.select_related("site", "organization").order_by("pk"):
            expected = reference_counterparts(listing, world)
            reach = listing_reach(listing)
            got = {c.listing_id: c.road_km for c in reach.within}
            assert set(got) == set(expected), (model.__name__, listing.pk)
            for pk, km in expected.items():
                assert got[pk] == pytest.approx(km, rel=1e-6), (listing.pk, pk)
            checked += 1
    assert checked > 50
    # The demo has listings with and without matches, and ones blocked by each rule.
    reaches = [listing_reach(s) for s in SupplyListing.objects.all()]
    assert any(r.count for r in reaches) and any(not r.count for r in reaches)


def test_the_workspace_counts_equal_each_listings_reach(demo):
    world = World()
    counts = reach_counts(supplies=SupplyListing.objects.all(), demands=DemandListing.objects.all())
    for model, kind in ((SupplyListing, "supply"), (DemandListing, "demand")):
        for listing in model.objects.all():
            expected = len(reference_counterparts(listing, world))
            assert counts[(kind, listing.pk)] == expected, listing.pk


def test_why_not_agrees_with_the_reference_with_each_rule_lifted(demo):
    world = World()
    reasons = set()
    for model in (SupplyListing, DemandListing):
        for listing in model.objects.all():
            reach = listing_reach(listing)
            if reach.count or reach.offered_by_plant or not reach.accepting:
                continue
            far = reference_counterparts(listing, world, distance=False)
            assert {c.listing_id for c in reach.without_distance} == set(far), listing.pk
            window = reference_counterparts(listing, world, window=False)
            assert reach.without_window == len(window), listing.pk
            quality = reference_counterparts(listing, world, quality=False)
            assert reach.without_quality == len(quality), listing.pk
            permit = reference_counterparts(listing, world, permit=False)
            assert reach.without_permit == len(permit), listing.pk
            reasons |= {
                name for name, n in (("km", far), ("quality", quality), ("permit", permit)) if n
            }
    # The demo shows each reason (a receiver too far, a quality limit not met, no verified
    # permit for the waste oil: the demo's permit waits for the facilitator).
    assert reasons == {"km", "quality", "permit"}


# --- small worlds -------------------------------------------------------------------------


@pytest.fixture
def grain_market(market):
    """The optimizer's ``market`` fixture: a supply of grain at 43.2 N and demands for
    it (through the feed use) at 43.3 N and 43.5 N, same longitude."""
    supply, demands = market
    return supply, demands


def test_none_within_reach_then_the_nearest_radius_holding_some(grain_market):
    supply, demands = grain_market
    supply.max_km = Decimal("10")
    supply.save()
    reach = listing_reach(supply)
    assert reach.count == 0
    assert reach.accepting == 2
    assert reach.limit_km == 10
    # The reference: road km by haversine, counted within the documented radii.
    road = sorted(reference_counterparts(supply, distance=False).values())
    assert len(road) == 2 and road[0] > 10
    radius = next(r for r in FURTHER_KM if any(km <= r for km in road))
    assert reach.further == (radius, sum(1 for km in road if km <= radius))
    assert reach.further == (25, 1)  # 14.5 km and 43.4 km by road


def test_none_within_reach_because_of_dates(grain_market):
    supply, demands = grain_market
    for demand in demands:
        demand.available_from, demand.available_until = date(2029, 1, 1), date(2029, 6, 30)
        demand.save()
    reach = listing_reach(supply)
    assert reach.count == 0 and reach.further is None
    assert reach.without_window == 2 == len(reference_counterparts(supply, window=False))


def test_none_within_reach_because_of_quality(grain_market):
    supply, demands = grain_market
    demands[0].max_contamination_percent = Decimal("5")
    demands[0].save()
    demands[1].delete()
    reach = listing_reach(supply)
    # The supply does not state its contamination: it cannot be shown to meet 5 %.
    assert reach.count == 0 and reach.without_quality == 1
    supply.contamination_percent = Decimal("2")
    supply.save()
    assert listing_reach(supply).count == 1 == len(reference_counterparts(supply))


def test_no_demand_accepts_the_material(db):
    FactorSet.objects.create(version="r", name="r", transport_kg_co2e_per_tkm=1, is_active=True)
    supply = factories.SupplyListingFactory()
    reach = listing_reach(supply)
    assert reach.count == 0 and reach.accepting == 0


def test_private_listings_and_own_listings_are_not_counted(grain_market):
    supply, demands = grain_market
    demands[0].visibility = "private"
    demands[0].save()
    demands[1].organization = supply.organization
    demands[1].site.organization = supply.organization
    demands[1].site.save()
    demands[1].save()
    assert listing_reach(supply).count == 0
    assert reference_counterparts(supply) == {}


def test_a_demands_reach_counts_supplies(grain_market):
    supply, demands = grain_market
    reach = listing_reach(demands[0])
    assert [c.listing_id for c in reach.within] == [supply.pk]
    assert reach.within[0].road_km_rounded % 5 == 0


def test_a_forbidden_pair_is_out_of_reach(grain_market, facilitator):
    supply, demands = grain_market
    PairRule.objects.create(
        supply=supply, demand=demands[0], kind=PairRule.Kind.FORBID, created_by=facilitator
    )
    assert {c.listing_id for c in listing_reach(supply).within} == {demands[1].pk}
    assert set(reference_counterparts(supply)) == {demands[1].pk}
