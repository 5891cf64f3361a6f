"""The time-expanded problem as an exact min-cost flow (OR-Tools), where it is one:
no lot, no processor, no store that loses material.

The graph has a node per (supply, period) and (demand, period) and one sink. A
supply-period node is given its tonnes; it sends along the period's arcs (cost
-saving per tonne), into its store for the next period (cost = the store's kg CO2e
per tonne held, capacity = the store's), or, with objective ``co2e``, straight to
the sink (its fate, cost 0). A demand-period node sends to the sink up to its need
that period, or into its store for the next period. The last period has no store
arc: stock at the end of the horizon is 0.

Scaling and rounding are ``optimizer.flow``'s: tonnes times the smallest power of
ten that makes every capacity integral (else we decline and the LP solves it), and
unit costs rounded to ``COST_PRECISION`` of the largest. A unit of flow crosses at
most ``periods`` costed arcs (stores up to its arc's period, the arc, stores after),
so the proven bound on what rounding can cost is units x periods / C kg CO2e.
"""

from __future__ import annotations

import math
import time

import numpy as np
from ortools.graph.python import min_cost_flow

from optimizer.build_periods import PeriodResult, achieved_saving
from optimizer.flow import _INT_BUDGET, COST_PRECISION, tonne_scale
from optimizer.period_problem import PeriodProblem
from optimizer.timeline import SUPPLY


def solve_time_flow(tl: PeriodProblem) -> PeriodResult | None:
    """Solve a network-shaped time-expanded problem exactly, or None when it cannot
    be scaled to integers (or is not a network)."""
    if not tl.is_network:
        return None
    t0 = time.perf_counter()
    count = tl.count
    n_s, n_d = tl.n_supplies, tl.n_demands
    produced, needed = tl.supply_tonnes, tl.demand_tonnes
    scale = tonne_scale(
        np.concatenate((produced.ravel(), needed.ravel(), tl.store_capacity, tl.upper))
    )
    if scale is None:
        return None

    def units(values) -> np.ndarray:
        return np.round(np.asarray(values, dtype=float) * scale).astype(np.int64)

    def supply_node(i, t):
        return np.asarray(i) * count + np.asarray(t)

    def demand_node(j, t):
        return n_s * count + np.asarray(j) * count + np.asarray(t)

    sink = (n_s + n_d) * count
    lexicographic = tl.objective == "tonnes_then_co2e"
    tails, heads, caps, costs_kg = [], [], [], []

    def add(tail, head, cap, cost_kg):
        tail = np.atleast_1d(np.asarray(tail, dtype=np.int64))
        tails.append(tail)
        heads.append(np.broadcast_to(np.asarray(head, dtype=np.int64), tail.shape))
        caps.append(np.broadcast_to(units(cap), tail.shape))
        costs_kg.append(np.broadcast_to(np.asarray(cost_kg, dtype=float), tail.shape))

    # The time-expanded arcs come first, so their flows are the first n_x.
    add(supply_node(tl.source, tl.period), demand_node(tl.sink, tl.period), tl.upper, -tl.saving)
    n_arcs = tl.n_x
    store_arcs = []  # (store, first arc index) for reading the stock back
    for k, (kind, node) in enumerate(zip(tl.store_kind, tl.store_node.tolist(), strict=True)):
        if count < 2 or tl.store_capacity[k] <= 0:
            continue
        t = np.arange(count - 1)
        node_of = supply_node if kind == SUPPLY else demand_node
        store_arcs.append((k, n_arcs))
        add(node_of(node, t), node_of(node, t + 1), tl.store_capacity[k], tl.store_cost[k])
        n_arcs += count - 1
    j, t = np.divmod(np.arange(n_d * count), count)
    add(demand_node(j, t), sink, needed.ravel(), 0.0)
    if not lexicographic:
        # What a supply does not send (now or from its store) meets its fate: free.
        i, t = np.divmod(np.arange(n_s * count), count)
        add(supply_node(i, t), sink, np.cumsum(produced, axis=1).ravel(), 0.0)

    cost_kg = np.concatenate(costs_kg)
    node_supply = np.concatenate(
        (units(produced.ravel()), np.zeros(n_d * count, np.int64), [-units(produced).sum()])
    )
    total_units = float(node_supply[:-1].sum())
    max_cost = float(np.abs(cost_kg).max()) if cost_kg.size else 0.0
    if max_cost == 0.0:
        cost_scale = 1.0
    else:
        n_nodes = sink + 1
        wanted = scale / (COST_PRECISION * max_cost)
        limit = min(
            _INT_BUDGET / ((n_nodes + 1) * max_cost / scale),
            _INT_BUDGET / (max(total_units * count, 1.0) * max_cost / scale),
        )
        if limit < 1.0:
            return None
        cost_scale = 2.0 ** math.floor(math.log2(min(limit, wanted)))
    unit_cost = np.round(cost_kg * (cost_scale / scale)).astype(np.int64)

    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        np.concatenate(tails), np.concatenate(heads), np.concatenate(caps), unit_cost
    )
    flow.set_nodes_supplies(np.arange(sink + 1, dtype=np.int64), node_supply)
    built = time.perf_counter()
    status = flow.solve_max_flow_with_min_cost() if lexicographic else flow.solve()
    solved = time.perf_counter()
    if status != flow.OPTIMAL:
        return None
    values = flow.flows(np.arange(n_arcs, dtype=np.int64)) / scale
    tonnes = values[: tl.n_x]
    stock = np.zeros((len(tl.store_kind), count))
    for k, first in store_arcs:
        stock[k, : count - 1] = values[first : first + count - 1]
    achieved = achieved_saving(tl, tonnes, stock)
    # Per unit at most `count` costed arcs, each rounded by at most 1/(2C) kg: the
    # optimum for the rounded costs is within units x count / C of the true optimum.
    rounding_kg = total_units * count / cost_scale if max_cost else 0.0
    return PeriodResult(
        status="optimal",
        column_ids=tl.column_ids,
        store_ids=tl.store_ids,
        tonnes=tonnes,
        stock=stock,
        saving_kg_co2e=achieved,
        saving_bound_kg_co2e=achieved + rounding_kg,
        solver="ortools-mcf",
        variables=n_arcs,
        binaries=0,
        build_s=built - t0,
        solve_s=solved - built,
    )
