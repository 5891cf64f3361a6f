"""Matches a company can see: who on the market could take (or give) one listing.

"N demands within reach accept this material", and why not when none: computed
by the optimizer's own candidate rules, never restated here. A small instance is
built around the listing by ``optimizer.snapshot.build_snapshot`` (the listing on
one side, the market's counterparts on the other, with the pair rules and the
material acceptance of a run) and handed to ``optimizer.candidates.generate_arcs``;
each arc from (or to) the listing is a counterpart within reach. When there is
none, the same generator answers on copies of the instance with one rule lifted
at a time (distance limits, availability windows, quality limits, permits for a
hazardous code), which tells what stands in the way: "none within 50 km; 3 within
100 km", "no receiver with a valid permit for 13 02 05*".

Counterparts are what the listing's owner could meet on the market: active,
public or anonymous listings of other organizations (private listings stay
private, even as a count). A plant's output listing is offered by its plant
node, as in a run, so it is not counted on its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from django.db.models import Q

from optimizer.candidates import generate_arcs
from optimizer.instance import Instance
from optimizer.snapshot import PROCESSOR_PREFIX, build_snapshot
from symbiosis.clearances import imported_origin_withheld
from symbiosis.models import CompatibilityRule, DemandListing, FactorSet, SupplyListing
from symbiosis.models.listings import Status
from symbiosis.visibility import PUBLISHED_VISIBILITIES, listing_kind

# Radii (road km) at which counterparts beyond reach are counted, nearest first.
FURTHER_KM = (25, 50, 100, 200, 500, 1000)
# The best few shown (most CO2e saved a year on the arc, the run's own objective).
BEST_SHOWN = 5
# Distances are shown rounded: an anonymous counterpart's site stays unknown.
ROUND_KM = 5


@dataclass(frozen=True)
class Counterpart:
    listing_id: int
    road_km: float
    kg_co2e_saved_per_year: float

    @property
    def road_km_rounded(self) -> int:
        return max(ROUND_KM, ROUND_KM * round(self.road_km / ROUND_KM))


@dataclass
class Reach:
    """What one listing can meet. ``within`` are the counterparts within reach
    (every candidate rule holds), best first; the rest says why not."""

    kind: str  # of the listing: "supply" or "demand"
    within: list[Counterpart] = field(default_factory=list)
    # Counterparts whose acceptance matches (the material is accepted), reach aside.
    accepting: int = 0
    # The listing's own distance limit (km), None where only the others' limit it.
    limit_km: float | None = None
    # A plant's output listing: offered by the plant's node, as in a run.
    offered_by_plant: bool = False
    # A supply of imported origin whose material no facilitator has cleared: a run
    # leaves it out (``optimizer.snapshot``, ``symbiosis.clearances``).
    imported_origin_withheld: bool = False
    # Counts with one rule lifted (the others kept): distance, window, quality.
    without_distance: list[Counterpart] = field(default_factory=list)
    without_window: int = 0
    without_quality: int = 0
    # Counterparts that would match if the receiver held a valid permit for the
    # hazardous code (``hazardous_code``: the supply's; for a demand, the codes on offer).
    without_permit: int = 0
    hazardous_codes: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.within)

    @property
    def best(self) -> list[Counterpart]:
        return self.within[:BEST_SHOWN]

    @property
    def further(self) -> tuple[int, int] | None:
        """(radius km, count): the nearest radius of ``FURTHER_KM`` holding counterparts
        beyond reach when the distance limits are lifted; None where there are none."""
        if not self.without_distance:
            return None
        distances = [c.road_km for c in self.without_distance]
        for radius in FURTHER_KM:
            inside = sum(1 for d in distances if d <= radius)
            if inside:
                return radius, inside
        return math.ceil(max(distances)), len(distances)


# --- which listings are counterparts ----------------------------------------------------


def _market(model, listing=None):
    """Active published listings (of other organizations than ``listing``'s): what
    an owner could meet. The candidate rules drop pairs of one owner anyway."""
    found = model.objects.filter(status=Status.ACTIVE, visibility__in=PUBLISHED_VISIBILITIES)
    return found if listing is None else found.exclude(organization_id=listing.organization_id)


def _demands_accepting(material_ids, listing=None):
    """A superset of the demands that take one of ``material_ids``: named, or through
    a use it serves; the snapshot then applies the acceptance rule exactly."""
    uses = CompatibilityRule.objects.filter(material_id__in=material_ids).values("use_id")
    accepting = DemandListing.objects.filter(
        Q(materials__in=material_ids) | Q(uses__in=uses)
    ).values("pk")
    return _market(DemandListing, listing).filter(pk__in=accepting)


def _supplies_accepted(demand_ids, listing=None):
    """A superset of the supplies of a material one of ``demand_ids`` takes."""
    named = DemandListing.materials.through.objects.filter(demandlisting_id__in=demand_ids)
    by_use = CompatibilityRule.objects.filter(
        use_id__in=DemandListing.uses.through.objects.filter(
            demandlisting_id__in=demand_ids
        ).values("use_id")
    )
    return _market(SupplyListing, listing).filter(
        Q(material_id__in=named.values("material_id"))
        | Q(material_id__in=by_use.values("material_id"))
    )


# --- the instance and its arcs -----------------------------------------------------------


def _document(supplies, demands) -> dict | None:
    factor_set = FactorSet.objects.filter(is_active=True).first()
    if factor_set is None:
        return None
    snapshot = build_snapshot(
        factor_set=factor_set, parameters={}, supplies=supplies, demands=demands
    )
    return snapshot.instance


def _instance_document(listing) -> dict | None:
    if listing_kind(listing) == "supply":
        supplies = SupplyListing.objects.filter(pk=listing.pk)
        demands = _demands_accepting([listing.material_id], listing)
    else:
        supplies = _supplies_accepted([listing.pk], listing)
        demands = DemandListing.objects.filter(pk=listing.pk)
    return _document(supplies, demands)


def _lifted(document: dict, rule: str) -> dict:
    """A copy of the instance document with one family of rules lifted."""
    out = {**document}
    for side in ("supplies", "demands", "processors"):
        nodes = []
        for node in document.get(side) or []:
            node = {**node}
            if rule == "distance":
                node["max_km"] = None
                if node.get("output"):
                    node["output"] = {**node["output"], "max_km": None}
            elif rule == "window":
                for key in ("available_from", "available_until", "needed_from", "needed_until"):
                    node[key] = None
            elif rule == "permit":
                node.pop("hazardous_code", None)
            elif rule == "quality" and "accepts" in node:
                node["accepts"] = [
                    {k: v for k, v in a.items() if k != "quality_limits"} for a in node["accepts"]
                ]
                # A plant with blend limits takes only inputs whose C:N or moisture is
                # known: lifted with the rest, so "not stated" counts as a quality reason.
                node.pop("blend", None)
            nodes.append(node)
        out[side] = nodes
    return out


def _counterparts(document: dict, kind: str, listing_id: int) -> list[Counterpart]:
    """The counterparts the candidate generator joins to the listing, best first."""
    instance = Instance.from_dict(document)
    arcs = generate_arcs(instance)
    none = np.zeros(0, dtype=np.int64)
    if kind == "supply":
        own = instance.source_index.get(str(listing_id))
        rows = np.flatnonzero(arcs.supply == own) if own is not None else none
        others = [instance.sink_ids[k] for k in arcs.demand[rows]]
    else:
        # A plant's intake listing is the plant's node ("p" + its pk).
        own = instance.sink_index.get(str(listing_id))
        if own is None:
            own = instance.sink_index.get(f"{PROCESSOR_PREFIX}{listing_id}")
        # Supplies only: a plant's output (a source past the supplies) never reaches a
        # plant, and reaches a demand of the plant's own organization only internally.
        into = (arcs.demand == own) & (arcs.supply < len(instance.supplies))
        rows = np.flatnonzero(into) if own is not None else none
        others = [instance.source_ids[k] for k in arcs.supply[rows]]
    found: dict[int, Counterpart] = {}
    for row, other in zip(rows, others, strict=True):
        other_id = int(str(other).removeprefix(PROCESSOR_PREFIX))
        saved = float(arcs.net_kg_co2e_saved_per_t[row] * arcs.capacity_tonnes[row])
        candidate = Counterpart(other_id, float(arcs.road_km[row]), saved)
        if other_id not in found or saved > found[other_id].kg_co2e_saved_per_year:
            found[other_id] = candidate
    return sorted(found.values(), key=lambda c: (-c.kg_co2e_saved_per_year, c.road_km))


def _accepting(document: dict, kind: str, listing) -> int:
    """Counterparts whose material acceptance matches the listing, reach aside."""
    if kind == "supply":
        material = listing.material.slug
        nodes = [*document["demands"], *(document.get("processors") or [])]
        return sum(1 for n in nodes if any(a["material"] == material for a in n["accepts"]))
    own = [*document["demands"], *(document.get("processors") or [])]
    accepted = {a["material"] for n in own for a in n["accepts"]}
    return sum(1 for s in document["supplies"] if s["material"] in accepted)


def listing_reach(listing) -> Reach:
    """Who could take (supply) or give (demand) ``listing``, by the candidate rules,
    and what stands in the way when nobody can."""
    kind = listing_kind(listing)
    limit = float(listing.max_km) if listing.max_km is not None else None
    reach = Reach(kind=kind, limit_km=limit)
    if kind == "supply" and imported_origin_withheld(listing):
        reach.imported_origin_withheld = True
        return reach
    document = _instance_document(listing)
    if document is None:
        return reach
    if kind == "supply" and not any(s["id"] == str(listing.pk) for s in document["supplies"]):
        reach.offered_by_plant = True
        return reach
    reach.accepting = _accepting(document, kind, listing)
    if not reach.accepting:
        return reach
    reach.within = _counterparts(document, kind, listing.pk)
    if not reach.within:
        reach.without_distance = _counterparts(_lifted(document, "distance"), kind, listing.pk)
        reach.without_window = len(_counterparts(_lifted(document, "window"), kind, listing.pk))
        reach.without_quality = len(_counterparts(_lifted(document, "quality"), kind, listing.pk))
        reach.hazardous_codes = sorted(
            {s["hazardous_code"] for s in document["supplies"] if s.get("hazardous_code")}
        )
        if reach.hazardous_codes:
            lifted = _lifted(document, "permit")
            reach.without_permit = len(_counterparts(lifted, kind, listing.pk))
    return reach


def counterpart_listings(reach: Reach) -> list:
    """The listings of ``reach.best``, in its order, with what their cards show."""
    model = DemandListing if reach.kind == "supply" else SupplyListing
    ids = [c.listing_id for c in reach.best]
    rows = model.objects.filter(pk__in=ids).select_related("site", "organization")
    if model is SupplyListing:
        rows = rows.select_related("material")
    else:
        rows = rows.prefetch_related("materials", "uses")
    by_pk = {row.pk: row for row in rows}
    return [(c, by_pk[c.listing_id]) for c in reach.best if c.listing_id in by_pk]


def reach_counts(*, supplies, demands) -> dict[tuple[str, int], int]:
    """How many counterparts are within reach of each listing of two querysets (a
    company's own, for its workspace), as ``listing_reach(...).count`` would say:
    one instance per side, so a long list costs two candidate generations."""
    counts: dict[tuple[str, int], int] = {}
    supply_ids = list(supplies.values_list("pk", flat=True))
    if supply_ids:
        material_ids = supplies.values("material_id")
        document = _document(supplies, _demands_accepting(material_ids))
        for pk in supply_ids:
            counts[("supply", pk)] = 0
        if document is not None:
            _count_all(document, "supply", counts)
    demand_ids = list(demands.values_list("pk", flat=True))
    if demand_ids:
        document = _document(_supplies_accepted(demand_ids), demands)
        for pk in demand_ids:
            counts[("demand", pk)] = 0
        if document is not None:
            _count_all(document, "demand", counts)
    return counts


def _count_all(document: dict, kind: str, counts: dict) -> None:
    instance = Instance.from_dict(document)
    arcs = generate_arcs(instance)
    if kind == "supply":
        ends = zip(arcs.supply.tolist(), arcs.demand.tolist(), strict=True)
        # Sources past the supplies are plants' outputs, not the company's listings.
        n_supplies = len(instance.supplies)
        pairs = {(instance.source_ids[i], instance.sink_ids[j]) for i, j in ends if i < n_supplies}
    else:
        ends = zip(arcs.demand.tolist(), arcs.supply.tolist(), strict=True)
        n_supplies = len(instance.supplies)
        pairs = {(instance.sink_ids[j], instance.source_ids[i]) for j, i in ends if i < n_supplies}
    for own, _other in pairs:
        key = (kind, int(str(own).removeprefix(PROCESSOR_PREFIX)))
        if key in counts:
            counts[key] += 1
