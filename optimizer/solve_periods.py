"""Solving an instance with periods: the time-expanded problem
(``optimizer.timeline``) as an exact min-cost flow where it is a network
(``optimizer.flow_periods``), else the PuLP model (``optimizer.build_periods``);
then the Solution, with a flow per arc and period, the stock per node and period,
and totals per period.

``optimizer.orchestrate.solve`` sends an instance here only when it has
``periods``; one without is solved exactly as before, by the code it always used.
The whole time-expanded problem is one model (no split into components yet).
"""

from __future__ import annotations

import time

import numpy as np

from optimizer.build_periods import PeriodResult, solve_with_pulp
from optimizer.flow_periods import solve_time_flow
from optimizer.instance import DIRECT, FROM_PROCESSOR, TO_PROCESSOR, Flow, Instance, Solution
from optimizer.problem import FLOW_EPS_TONNES
from optimizer.timeline import DEMAND, PROCESSOR, SUPPLY, Timeline, expand

# A flow from one processor's output to another's input (optimizer.chains).
CHAIN = "chain"


def solve_periods(
    instance: Instance,
    solver: str = "auto",
    time_limit_s: float | None = None,
    mip_gap: float | None = None,
) -> Solution:
    """Solve an instance with periods (``solver`` as for ``optimizer.model.solve``)."""
    started = time.perf_counter()
    params = instance.parameters
    limit = params.time_limit_s if time_limit_s is None else time_limit_s
    gap = params.mip_gap if mip_gap is None else mip_gap
    tl = expand(instance)
    candidates_s = time.perf_counter() - started
    result = None
    if solver in ("auto", "mcf"):
        result = solve_time_flow(tl)
    if result is None:
        remaining = limit - (time.perf_counter() - started)
        result = solve_with_pulp(tl, "cbc" if solver == "cbc" else "highs", remaining, gap)
    return assemble_periods(tl, result, started, candidates_s)


def baseline_kg_co2e(instance: Instance) -> float:
    """Every tonne of the horizon at its fate, with the landfill weight."""
    seasons = instance.seasons
    weight = instance.parameters.landfill_weight_kg_co2e_per_t
    per_t = instance.supply_fate_kg_co2e_per_t + weight * instance.supply_is_landfill
    return float(per_t @ seasons.supply_tonnes.sum(axis=1))


def assemble_periods(
    tl: Timeline, result: PeriodResult, started: float, candidates_s: float
) -> Solution:
    instance, seasons, arcs = tl.instance, tl.seasons, tl.arcs
    baseline = baseline_kg_co2e(instance)
    stats = {
        "arcs": tl.n_x,
        "candidate_arcs": tl.candidate_arcs,
        "periods": tl.count,
        "components": 1 if tl.n_x else 0,
        "variables": result.variables,
        "binaries": result.binaries,
        "seconds": {
            "candidates": candidates_s,
            "build": result.build_s,
            "solve": result.solve_s,
            "total": time.perf_counter() - started,
        },
        "solver": result.solver,
    }
    if result.status == "infeasible":
        return Solution(
            status="infeasible",
            objective_kg_co2e=None,
            baseline_kg_co2e=baseline,
            saved_kg_co2e=0.0,
            tonnes_moved=0.0,
            landfill_tonnes_avoided=0.0,
            bound_kg_co2e=None,
            gap=None,
            flows=[],
            stats=stats,
            message=result.message,
            stock=[],
            periods=[],
        )
    x, stock = result.tonnes, result.stock
    cols = np.flatnonzero(x > FLOW_EPS_TONNES)
    # By supply, then demand, then period: easy to read and the same on every run.
    cols = cols[np.lexsort((tl.period[cols], tl.sink[cols], tl.source[cols]))]
    n_s, n_d = len(instance.supplies), len(instance.demands)
    source_ids, sink_ids = instance.source_ids, instance.sink_ids
    materials = [s.material for s in instance.supplies] + [
        p.output.material if p.output else None for p in instance.processors
    ]
    src, snk, per, t_x = tl.source[cols], tl.sink[cols], tl.period[cols], x[cols]
    rows = tl.arc[cols]
    net = tl.net[cols] * t_x
    value = arcs.economic_value_kzt_per_t[rows] * t_x
    flows = [
        Flow(
            supply=source_ids[i],
            demand=sink_ids[j],
            tonnes=float(t),
            road_km=float(km),
            net_kg_co2e_saved=float(n),
            economic_value_kzt=float(v),
            kind=_kind(i >= n_s, j >= n_d),
            material=materials[i],
            period=seasons.labels[p],
        )
        for i, j, p, t, km, n, v in zip(
            src.tolist(),
            snk.tolist(),
            per.tolist(),
            t_x.tolist(),
            arcs.road_km[rows].tolist(),
            net.tolist(),
            value.tolist(),
            strict=True,
        )
    ]
    held_cost = tl.store_cost_net[:, None] * stock  # physical kg CO2e, (stores, periods)
    saving = result.saving_kg_co2e
    bound_saving = max(result.saving_bound_kg_co2e, saving)
    gap_abs = bound_saving - saving
    gap = 0.0 if gap_abs <= 1e-9 * max(1.0, abs(saving)) else gap_abs / max(abs(saving), 1e-9)
    from_supply = src < n_s
    moved_by_period = np.bincount(per[from_supply], weights=t_x[from_supply], minlength=tl.count)
    saved_by_period = np.bincount(per, weights=net, minlength=tl.count) - held_cost.sum(axis=0)
    summaries = _plant_summaries(tl, src, snk, rows, t_x, stock) if instance.processors else None
    return Solution(
        status=result.status,
        objective_kg_co2e=baseline - saving,
        baseline_kg_co2e=baseline,
        saved_kg_co2e=float(net.sum() - held_cost.sum()),
        tonnes_moved=float(t_x[from_supply].sum()),
        landfill_tonnes_avoided=float(t_x[instance.source_is_landfill[src]].sum()),
        bound_kg_co2e=baseline - bound_saving,
        gap=gap,
        flows=flows,
        stats=stats,
        message=result.message,
        processors=summaries,
        stock=_stock_entries(tl, stock),
        periods=[
            {"period": label, "tonnes_moved": float(m), "saved_kg_co2e": float(s)}
            for label, m, s in zip(
                seasons.labels, moved_by_period.tolist(), saved_by_period.tolist(), strict=True
            )
        ],
    )


def _kind(from_plant: bool, to_plant: bool) -> str:
    if from_plant:
        return CHAIN if to_plant else FROM_PROCESSOR
    return TO_PROCESSOR if to_plant else DIRECT


def _plant_summaries(tl: Timeline, src, snk, rows, tonnes, stock) -> list[dict]:
    """Per plant, over the horizon: input (from supplies and, in chains, from plants),
    output made (yield x what was treated: input less what its store lost) and sent on,
    and the input blend's C:N and moisture (null without input or where unknown)."""
    instance = tl.instance
    n_s, n_d = len(instance.supplies), len(instance.demands)
    out = []
    for k, plant in enumerate(instance.processors):
        into = snk == n_d + k
        x, base = tonnes[into], rows[into]
        total = float(x.sum())
        n, cn, m = tl.arc_nitrogen[base], tl.arc_cn[base], tl.arc_moisture[base]
        n_total = float(n @ x)
        mix_cn = float((cn * n) @ x / n_total) if total > 0 and n_total > 0 else None
        mix_m = float(m @ x / total) if total > 0 else None
        store = tl.store_index(PROCESSOR, k)
        lost = float(tl.store_loss[store] * stock[store].sum()) if store >= 0 else 0.0
        yield_ = plant.output.yield_t_per_t if plant.output else 0.0
        out.append(
            {
                "id": plant.id,
                "input_tonnes": total,
                "capacity_tonnes": plant.capacity_tonnes,
                "output_material": plant.output.material if plant.output else None,
                "output_tonnes": yield_ * (total - lost),
                "output_sent_tonnes": float(tonnes[src == n_s + k].sum()),
                "cn_ratio": mix_cn if mix_cn is not None and np.isfinite(mix_cn) else None,
                "moisture_percent": mix_m if mix_m is not None and np.isfinite(mix_m) else None,
            }
        )
    return out


def _stock_entries(tl: Timeline, stock: np.ndarray) -> list[dict]:
    """Stock at the end of each period where there is any, by node then period."""
    instance = tl.instance
    nodes = {SUPPLY: instance.supplies, DEMAND: instance.demands, PROCESSOR: instance.processors}
    out = []
    for k, (kind, n) in enumerate(zip(tl.store_kind, tl.store_node.tolist(), strict=True)):
        for t in np.flatnonzero(stock[k] > FLOW_EPS_TONNES).tolist():
            out.append(
                {
                    "node": nodes[kind][n].id,
                    "kind": kind,
                    "period": tl.seasons.labels[t],
                    "tonnes": float(stock[k, t]),
                }
            )
    return out
