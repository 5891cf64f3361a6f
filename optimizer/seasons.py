"""Runs by month on the database side (issue 19): a snapshot's periods from the
listings' monthly profiles and stores, and a period solution read back per pair.

``add_periods`` is called by ``optimizer.snapshot.build_snapshot`` when the run's
``periods_start`` is set; ``pair_flows`` by ``proposals_from_solution`` when the
solution has periods. The optimizer core (``optimizer.periods``) defines what the
fields mean (docs/optimizer.md, "Periods and storage"); here is only how the
database fills them:

* ``tonnes_per_period``: the listing's tonnes in the horizon (as today: per month x
  12, per year or a one-off batch as it is) spread over the 12 periods by its
  profile's share of each period's calendar month, among the months its window
  covers (``symbiosis.profiles.spread``). A flat listing gets no list: the core
  spreads it evenly over its window, exactly as the flat profile would. A listing
  whose profile's months all fall outside its window has nothing in the horizon
  and is left out (note ``listings_out_of_season``).
* ``storage``: a listing's ``storage_capacity_tonnes`` with the loss and emissions
  of its material (``symbiosis.storage``); a demand's or a plant's store takes the
  most perishable of the materials it accepts in the instance (the largest loss and
  emission: never flattering). A material without figures gives no store (note
  ``stores_without_factors``).
* a plant's intake listing gives its ``capacity_tonnes_per_period`` and its store
  (of inputs) the same way.
* pins are not applied by month (the core refuses them with periods): counted in
  ``pins_not_applied_by_month``.
* chains: a plant whose ``ProcessingPlant.send_output_to_processors`` is set offers
  its output to other plants (``output.to_processors``); only here, so a one-period
  run never has chains; a cycle among them is refused naming their organizations.
  A ``chain`` flow becomes a proposal like the others.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from optimizer.chains import find_cycle  # the core's own cycle search
from optimizer.models import INTO_PLANT_KINDS, PLANT_OUTPUT_KINDS, ProcessingPlant
from symbiosis import profiles
from symbiosis.impact import (
    ESTIMATE,
    PUBLISHED,
    PUT_TO_USE,
    TONNES_COUNTED_CATEGORIES,
)
from symbiosis.models import DemandListing, Material, SupplyListing
from symbiosis.storage import storage_factors

PERIOD_COUNT = 12
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def valid_month(value) -> bool:
    return isinstance(value, str) and bool(_MONTH.match(value))


def months_from(start: str, count: int = PERIOD_COUNT) -> list[tuple[str, int, date, date]]:
    """(label, calendar month, first day, last day) of each period."""
    year, month = int(start[:4]), int(start[5:7])
    out = []
    for _ in range(count):
        first = date(year, month, 1)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        out.append(
            (first.strftime("%Y-%m"), first.month, first, date(year, month, 1) - timedelta(1))
        )
    return out


def _active(node: dict, periods, start_key: str, end_key: str) -> list[bool]:
    start = date.fromisoformat(node[start_key]) if node.get(start_key) else None
    end = date.fromisoformat(node[end_key]) if node.get(end_key) else None
    return [
        (start is None or start <= last) and (end is None or end >= first)
        for _label, _m, first, last in periods
    ]


def _spread(node: dict, key: str, profile, periods, active) -> bool:
    """Write ``<key>_per_period`` from the profile; False when nothing is left."""
    values = profiles.spread(node[key], profile, [p[1] for p in periods], active)
    values = [round(v, 6) for v in values]
    if not any(v > 0 for v in values):
        return False
    node[f"{key}_per_period"] = values
    node[key] = math.fsum(values)
    return True


def _store(listing, materials: list[Material], notes: Counter) -> dict | None:
    if not listing.storage_capacity_tonnes:
        # None or 0 t: no store. A store of 0 t would still open the listing's window
        # on its store's side (docs/optimizer.md) while holding nothing.
        return None
    factors = [storage_factors(m) for m in materials]
    if not factors or any(f is None for f in factors):
        notes["stores_without_factors"] += 1
        return None
    worst = max(factors, key=lambda f: (f.loss_fraction_per_month, f.kg_co2e_per_t_month))
    return {
        "capacity_tonnes": float(listing.storage_capacity_tonnes),
        "loss_fraction_per_period": worst.loss_fraction_per_month,
        "kg_co2e_per_t_period": worst.kg_co2e_per_t_month,
        "kg_co2e_tier": worst.tier,
    }


def add_periods(instance: dict, notes: Counter, *, start: str, processor_prefix: str) -> None:
    """Turn a one-period snapshot into 12 months from ``start``, in place."""
    periods = months_from(start)
    materials = {m.slug: m for m in Material.objects.all()}
    supplies = SupplyListing.objects.in_bulk([int(s["id"]) for s in instance["supplies"]])
    kept = []
    for node in instance["supplies"]:
        listing = supplies[int(node["id"])]
        active = _active(node, periods, "available_from", "available_until")
        if listing.monthly_profile is not None and not _spread(
            node, "tonnes", listing.monthly_profile, periods, active
        ):
            notes["listings_out_of_season"] += 1
            continue
        store = _store(listing, [materials[node["material"]]], notes)
        if store:
            node["storage"] = store
        kept.append(node)
    instance["supplies"] = kept

    processors = instance.get("processors", [])
    intake_ids = [int(p["id"][len(processor_prefix) :]) for p in processors]
    demands = DemandListing.objects.in_bulk(
        [int(d["id"]) for d in instance["demands"]] + intake_ids
    )
    kept, plants = [], []
    for node, key, window in [
        *((d, "tonnes", ("needed_from", "needed_until")) for d in instance["demands"]),
        *((p, "capacity_tonnes", ("available_from", "available_until")) for p in processors),
    ]:
        pk = int(node["id"][len(processor_prefix) :] if key == "capacity_tonnes" else node["id"])
        listing = demands[pk]
        active = _active(node, periods, *window)
        if listing.monthly_profile is not None and not _spread(
            node, key, listing.monthly_profile, periods, active
        ):
            notes["listings_out_of_season"] += 1
            continue
        accepted = [materials[a["material"]] for a in node["accepts"]]
        store = _store(listing, accepted, notes)
        if store:
            node["storage"] = store
        (kept if key == "tonnes" else plants).append(node)
    instance["demands"] = kept
    if processors:
        instance["processors"] = processors = plants
        _offer_chains(processors, processor_prefix)

    ids = {n["id"] for n in [*instance["supplies"], *instance["demands"], *processors]}
    if instance.get("pins"):
        notes["pins_not_applied_by_month"] += len(instance["pins"])
    instance["pins"] = []
    instance["forbidden"] = [
        f for f in instance.get("forbidden", []) if f["supply"] in ids and f["demand"] in ids
    ]
    instance["periods"] = {"start": start, "count": PERIOD_COUNT, "unit": "month"}


def _offer_chains(processors: list[dict], processor_prefix: str) -> None:
    """``output.to_processors`` on the plants that send their output to other plants.

    A cycle among them (each accepting the next one's output) is refused here with
    the plants' organizations named, before the core refuses it by node id."""
    chaining = {
        f"{processor_prefix}{plant.intake_id}": plant.intake.organization.name
        for plant in ProcessingPlant.objects.filter(send_output_to_processors=True)
        .select_related("intake__organization")
        .only("intake_id", "intake__organization__name")
    }
    successors = {}
    for k, node in enumerate(processors):
        if node["id"] in chaining and node.get("output"):
            node["output"]["to_processors"] = True
            material = node["output"]["material"]
            successors[k] = [
                m
                for m, other in enumerate(processors)
                if any(a["material"] == material for a in other["accepts"])
            ]
    cycle = find_cycle(successors)
    if cycle:
        names = " -> ".join(chaining.get(processors[k]["id"], processors[k]["id"]) for k in cycle)
        raise ValueError(
            f"plants that send their output to other plants form a cycle ({names}); "
            "a chain must end: clear 'Send our output to other processors too' on one of them"
        )


@dataclass
class PairFlow:
    """A (supply, demand) pair's flows over the periods, summed."""

    supply: str
    demand: str
    kind: str
    road_km: float
    tonnes: float = 0.0
    economic_value_kzt: float | None = 0.0
    tonnes_by_period: dict = field(default_factory=dict)
    # The stock at the pair's two ends at the end of each period (None: no store).
    stock_by_period: dict = field(default_factory=dict)


def pair_flows(solution) -> list[PairFlow]:
    """One entry per (kind, supply, demand) of a period solution, in the solution's
    order, with tonnes by period label and the stock at its ends."""
    stock = defaultdict(dict)
    for row in solution.stock or []:
        stock[(row["kind"], row["node"])][row["period"]] = row["tonnes"]
    labels = [row["period"] for row in solution.periods or []]
    pairs: dict[tuple, PairFlow] = {}
    for flow in solution.flows:
        if flow.tonnes <= 0:
            continue
        key = (flow.kind, flow.supply, flow.demand)
        pair = pairs.get(key)
        if pair is None:
            pair = pairs[key] = PairFlow(flow.supply, flow.demand, flow.kind, flow.road_km)
            pair.tonnes_by_period = dict.fromkeys(labels, 0.0)  # every month, for its chart
            ends = {
                # A plant's output is not stored; its input store is the plant's.
                "supply": None
                if flow.kind in ("from_processor", "chain")
                else stock.get(("supply", flow.supply)),
                "demand": stock.get(
                    (
                        "processor" if flow.kind in ("to_processor", "chain") else "demand",
                        flow.demand,
                    )
                ),
            }
            pair.stock_by_period = {k: dict(v) for k, v in ends.items() if v}
        pair.tonnes += flow.tonnes
        pair.tonnes_by_period[flow.period] = pair.tonnes_by_period.get(flow.period, 0) + flow.tonnes
        if flow.economic_value_kzt is None or pair.economic_value_kzt is None:
            pair.economic_value_kzt = None
        else:
            pair.economic_value_kzt += flow.economic_value_kzt
    return list(pairs.values())


_NODE_KINDS = (("supply", "supplies"), ("demand", "demands"), ("processor", "processors"))


def store_flows(stock: list[dict], instance: dict) -> list[dict]:
    """Each stock row of a period solution with what its store emits holding it
    (``kg_co2e_emitted``: tonnes x ``kg_co2e_per_t_period``) and what it loses before
    the next month (``lost_tonnes``: tonnes x ``loss_fraction_per_period``), both
    charged to the month at whose end the stock is held, as the solver charges them
    (docs/optimizer.md, "The time-expanded model"). ``tier`` is the store factor's
    (none stated: ``estimate``, never flattering). Pure: the one place lost tonnes
    are computed (the solution reports the stock, not the losses)."""
    stores = {
        (kind, node["id"]): node["storage"]
        for kind, key in _NODE_KINDS
        for node in instance.get(key, [])
        if node.get("storage")
    }
    rows = []
    for row in stock:
        store = stores.get((row["kind"], row["node"]), {})
        rows.append(
            {
                **row,
                "kg_co2e_emitted": row["tonnes"] * store.get("kg_co2e_per_t_period", 0.0),
                "lost_tonnes": row["tonnes"] * store.get("loss_fraction_per_period", 0.0),
                "tier": store.get("kg_co2e_tier") or ESTIMATE,
            }
        )
    return rows


# What a run's stores take back, in the accounting's own terms (docs/accounting.md,
# "Stores in runs by month"): emissions by tier and the saving of lost tonnes.
STORE_TOTALS = (
    "kg_co2e_emitted",
    "kg_co2e_emitted_published",
    "kg_co2e_emitted_estimated",
    "lost_tonnes",
    "lost_tonnes_counted",
    "lost_kg_co2e",
    "lost_published_kg_co2e",
    "lost_proxy_kg_co2e",
    "lost_low_kg_co2e",
    "lost_high_kg_co2e",
)


def store_account(proposals, solution, instance: dict, score_lost, between) -> dict:
    """A run by month's stores as one run-level line: ``lines`` (``store_flows`` with,
    for a receiver's losses, the saving they take back and the proposal charged) and
    their ``totals`` (``STORE_TOTALS``, the headline's deductions: emissions of every
    store, losses charged to exchanges between organizations).

    A tonne lost in a demand's or plant's store was delivered and scored; it is used
    by no one, so its saving before transport is taken back and it is neither moved
    nor kept out of landfill. The stock's mix of deliveries is not tracked: the loss is
    charged to the proposal into that node whose saving per tonne before transport is
    the largest (the solver's own rule, never overstating the net), scored by
    ``score_lost(supply_node, demand_node, tonnes)`` (``symbiosis.impact.score_flow``
    at 0 km). ``proposals`` carry ``nodes`` (their instance node ids, set by
    ``proposals_from_solution``); ``between(p)``: an exchange between organizations.
    A supply's lost tonnes were never sent and stay at its fate: nothing to take back.
    """
    charged = {}
    for p in proposals:
        node = ("processor" if p.kind in INTO_PLANT_KINDS else "demand", p.nodes[1])
        per_t = score_lost(*p.nodes, 1.0).net_kg_co2e_saved
        if node not in charged or per_t > charged[node][0]:
            charged[node] = (per_t, p)
    totals = dict.fromkeys(STORE_TOTALS, 0.0)
    totals["lost_tonnes_by_category"] = {}
    lines = store_flows(solution.stock or [], instance)
    for line in lines:
        published = line["tier"] == PUBLISHED
        totals["kg_co2e_emitted"] += line["kg_co2e_emitted"]
        totals["kg_co2e_emitted_published" if published else "kg_co2e_emitted_estimated"] += line[
            "kg_co2e_emitted"
        ]
        owner = charged.get((line["kind"], line["node"]))
        if line["kind"] == "supply" or line["lost_tonnes"] <= 0 or owner is None:
            continue
        p = owner[1]
        score = score_lost(*p.nodes, line["lost_tonnes"])
        line.update(
            proposal=p.pk,
            category=p.tonnes_category or PUT_TO_USE,
            between=bool(between(p)),
            lost_kg_co2e=score.net_kg_co2e_saved,
            lost_published_kg_co2e=score.net_published_kg_co2e,
            lost_proxy_kg_co2e=score.net_proxy_kg_co2e,
            lost_low_kg_co2e=score.net_low_kg_co2e,
            lost_high_kg_co2e=score.net_high_kg_co2e,
        )
        if not line["between"]:
            continue  # internal reuse is kept apart from the headline
        counted = line["category"] in TONNES_COUNTED_CATEGORIES
        totals["lost_tonnes"] += line["lost_tonnes"]
        totals["lost_tonnes_counted"] += line["lost_tonnes"] if counted else 0.0
        by_category = totals["lost_tonnes_by_category"]
        by_category[line["category"]] = by_category.get(line["category"], 0.0) + line["lost_tonnes"]
        for key in STORE_TOTALS:
            if key.startswith("lost_") and key.endswith("kg_co2e"):
                totals[key] += line[key]
    return {"totals": totals, "lines": lines}


def month_totals(proposals, solution, stores: dict) -> list[dict]:
    """The run's tonnes and CO2e by month, net of its stores (``store_account``), one
    row per period: ``tonnes`` leaving supplies in the month (what moves then),
    ``lost_tonnes`` what receivers' stores lose of them after the month's end (the
    stock held then x its loss: the delivery month of a lost tonne is not tracked, so
    the loss is a column of its own, not taken off a month's moves), ``kg_co2e`` the
    proposals' figures (``symbiosis.impact.score_flow``, stored on each proposal, in
    ``kg_co2e_gross``) less ``store_kg_co2e`` (what the stores emit holding the
    month's end stock and the saving of what they lose of it), ``stock`` the tonnes
    held at the month's end. Sums: tonnes - lost_tonnes and kg_co2e are the run's
    headline."""
    by_period = {
        row["period"]: {
            "period": row["period"],
            "tonnes": 0.0,
            "kg_co2e": 0.0,
            "kg_co2e_gross": 0.0,
            "stock": 0.0,
            "lost_tonnes": 0.0,
            "store_kg_co2e": 0.0,
        }
        for row in solution.periods
    }
    for p in proposals:
        for period, tonnes in (p.tonnes_by_period or {}).items():
            row = by_period[period]
            if p.kind not in PLANT_OUTPUT_KINDS:  # a plant's output adds no tonnes
                row["tonnes"] += tonnes
            row["kg_co2e_gross"] += (p.kg_co2e_by_period or {}).get(period, 0.0)
    for line in stores["lines"]:
        row = by_period[line["period"]]
        row["stock"] += line["tonnes"]
        row["store_kg_co2e"] += line["kg_co2e_emitted"]
        if line.get("between"):
            row["store_kg_co2e"] += line["lost_kg_co2e"]
            if line["category"] in TONNES_COUNTED_CATEGORIES:
                row["lost_tonnes"] += line["lost_tonnes"]
    for row in by_period.values():
        row["kg_co2e"] = row["kg_co2e_gross"] - row["store_kg_co2e"]
    return list(by_period.values())


def scale_months(proposal, tonnes: float, reader) -> None:
    """A by-month proposal adjusted to ``tonnes`` (at most its own: lowering every
    month in proportion keeps each month feasible; raising one could break a month's
    limit): its months scaled, each rescored by the same function. The stock at its
    ends is the nodes', shared with other pairs, and is left as the run found it."""
    if not proposal.tonnes_by_period or proposal.tonnes <= 0:
        return
    ratio = tonnes / proposal.tonnes
    proposal.tonnes_by_period = {k: v * ratio for k, v in proposal.tonnes_by_period.items()}
    proposal.kg_co2e_by_period = {
        k: reader.impact(
            proposal.supply_id, proposal.demand_id, tonnes=t, road_km=proposal.road_km
        ).net_kg_co2e_saved
        for k, t in proposal.tonnes_by_period.items()
    }
