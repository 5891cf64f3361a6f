"""The pure transport LP as an exact min-cost flow (OR-Tools).

Without lots every component is a transportation problem, and a network
algorithm solves it one to two orders of magnitude faster than a general LP
solver. OR-Tools wants integers, so:

* tonnes are scaled by the smallest power of ten K <= 10**6 that makes every
  capacity integral; if none does, we decline (``None``) and the caller uses
  the LP. Transportation polytopes with integral capacities have integral
  vertices, so scaling the tonnes loses nothing.
* the saving of one flow unit (1/K t) is rounded to a multiple of 1/C kg. If
  x~ is optimal for the rounded costs and x* for the true ones, each off by at
  most d = K/(2C) per tonne, then  w.x* - w.x~ <= d (|x*| + |x~|) <= 2 d F,  F = the most tonnes
  the component can move. That is the proven bound we report (as the bound and
  the gap). C makes the rounding 1e-9 of the largest saving per tonne, within
  what int64 arithmetic inside OR-Tools allows; the gap is then around 1e-9.
"""

from __future__ import annotations

import math
import time

import numpy as np
from ortools.graph.python import min_cost_flow

from optimizer.problem import ComponentProblem, ComponentResult

_MAX_TONNE_SCALE = 10**6
# OR-Tools multiplies costs by (nodes + 1) during cost scaling and sums cost x flow;
# keep both well inside int64.
_INT_BUDGET = 2.0**60
# Unit costs are rounded to this fraction of the largest saving per tonne.
COST_PRECISION = 1e-9


def tonne_scale(values: np.ndarray) -> int | None:
    """Smallest power of ten turning every value into an integer, or None."""
    if values.size == 0:
        return 1
    scale = 1
    while scale <= _MAX_TONNE_SCALE:
        scaled = values * scale
        if np.all(np.abs(scaled - np.round(scaled)) <= 1e-9 * np.maximum(1.0, scaled)):
            return scale
        scale *= 10
    return None


def _scales(problem: ComponentProblem):
    """(tonne scale K, supply units, demand units, most flow units, cost scale C), or
    None where the flow cannot take the component (see the module docstring)."""
    n_s, n_d = len(problem.supply_tonnes), len(problem.demand_tonnes)
    scale = tonne_scale(np.concatenate((problem.supply_tonnes, problem.demand_tonnes)))
    if scale is None:
        return None
    supply_units = np.round(problem.supply_tonnes * scale).astype(np.int64)
    demand_units = np.round(problem.demand_tonnes * scale).astype(np.int64)
    max_flow_units = float(min(supply_units.sum(), demand_units.sum()))
    saving = problem.arc_saving_kg_co2e_per_t
    max_saving = float(np.abs(saving).max()) if saving.size else 0.0
    if max_saving == 0.0:
        cost_scale = 1.0
    else:
        # Round each unit's cost to COST_PRECISION of the largest one: cost-scaling
        # min-cost flow runs in time growing with log(max cost), so finer rounding
        # than this buys nothing but time. int64 limits (see _INT_BUDGET) come first.
        wanted = scale / (COST_PRECISION * max_saving)
        limit = min(
            _INT_BUDGET / ((n_s + n_d + 2) * max_saving / scale),
            _INT_BUDGET / (max(max_flow_units, 1.0) * max_saving / scale),
        )
        if limit < 1.0:
            return None
        cost_scale = 2.0 ** math.floor(math.log2(min(limit, wanted)))
    return scale, supply_units, demand_units, max_flow_units, cost_scale


def rounded_savings(problem: ComponentProblem) -> np.ndarray | None:
    """The savings per tonne the flow actually optimises (each unit's cost rounded as
    ``solve_min_cost_flow`` rounds it), or None where it declines: duals read off
    its flow are exact for these (optimizer.pricing)."""
    scales = _scales(problem)
    if scales is None:
        return None
    scale, cost_scale = scales[0], scales[4]
    return np.round(problem.arc_saving_kg_co2e_per_t * (cost_scale / scale)) * (scale / cost_scale)


def solve_min_cost_flow(problem: ComponentProblem) -> ComponentResult | None:
    """Solve a lot-free component exactly, or return None when it cannot be done."""
    if not problem.is_pure_lp:
        return None
    t0 = time.perf_counter()
    n_s, n_d = len(problem.supply_tonnes), len(problem.demand_tonnes)
    scales = _scales(problem)
    if scales is None:
        return None
    scale, supply_units, demand_units, max_flow_units, cost_scale = scales
    arc_units = np.minimum(supply_units[problem.arc_supply], demand_units[problem.arc_demand])
    saving = problem.arc_saving_kg_co2e_per_t
    lexicographic = problem.objective == "tonnes_then_co2e"
    unit_cost = -np.round(saving * (cost_scale / scale)).astype(np.int64)

    sink = n_s + n_d
    demand_nodes = n_s + np.arange(n_d, dtype=np.int64)
    tails = [problem.arc_supply, demand_nodes]
    heads = [n_s + problem.arc_demand, np.full(n_d, sink, dtype=np.int64)]
    caps = [arc_units, demand_units]
    costs = [unit_cost, np.zeros(n_d, dtype=np.int64)]
    if not lexicographic:
        # What a supply does not send stays at its current fate: a free bypass to the sink.
        tails.append(np.arange(n_s, dtype=np.int64))
        heads.append(np.full(n_s, sink, dtype=np.int64))
        caps.append(supply_units)
        costs.append(np.zeros(n_s, dtype=np.int64))
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        np.concatenate(tails), np.concatenate(heads), np.concatenate(caps), np.concatenate(costs)
    )
    nodes = np.arange(n_s + n_d + 1, dtype=np.int64)
    node_supply = np.concatenate((supply_units, np.zeros(n_d, np.int64), [-supply_units.sum()]))
    flow.set_nodes_supplies(nodes, node_supply)
    built = time.perf_counter()
    status = flow.solve_max_flow_with_min_cost() if lexicographic else flow.solve()
    solved = time.perf_counter()
    if status != flow.OPTIMAL:
        # BAD_COST_RANGE and friends: the exact LP will do it instead.
        return None

    units = flow.flows(np.arange(problem.n_arcs, dtype=np.int64))
    tonnes = units / scale
    achieved = float(saving @ tonnes)
    # The bound of the module docstring: per tonne the rounding is at most d = K / (2C),
    # so 2 d F = (K / C) * (units / K) = units / C kg CO2e.
    rounding_kg = max_flow_units / cost_scale
    return ComponentResult(
        status="optimal",
        arc_ids=problem.arc_ids,
        tonnes=tonnes,
        saving_kg_co2e=achieved,
        saving_bound_kg_co2e=achieved + rounding_kg,
        solver="ortools-mcf",
        variables=problem.n_arcs,
        binaries=0,
        build_s=built - t0,
        solve_s=solved - built,
    )
