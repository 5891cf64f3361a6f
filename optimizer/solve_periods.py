"""Solving an instance with periods: the time-expanded problem
(``optimizer.timeline``) split into independent pieces (``optimizer.period_problem``),
each solved as an exact min-cost flow where it is a network
(``optimizer.flow_periods``), else by the PuLP model (``optimizer.build_periods``);
then one Solution, with a flow per arc and period, the stock per node and period,
and totals per period.

``optimizer.orchestrate.solve`` sends an instance here only when it has
``periods`` (``orchestrate.solve_periods`` runs the pieces in turn or in
processes, the Celery path one task per piece); one without is solved exactly as
before, by the code it always used.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from optimizer.build_periods import PeriodResult, solve_with_pulp
from optimizer.component import (
    MIN_COMPONENT_TIME_S,
    again_without_start_if_unproven,
    relative_gap,
    settle_status,
)
from optimizer.flow_periods import solve_time_flow
from optimizer.instance import DIRECT, FROM_PROCESSOR, TO_PROCESSOR, Flow, Instance, Solution
from optimizer.lots_periods import LotDive, lot_dive
from optimizer.period_problem import SMALL_BATCH_COLUMNS, PeriodProblem, split
from optimizer.problem import FLOW_EPS_TONNES, STATUS_RANK
from optimizer.timeline import DEMAND, PROCESSOR, SUPPLY, Timeline, expand

# A flow from one processor's output to another's input (optimizer.chains).
CHAIN = "chain"
# The share of a lot piece's time its LP dive may use; the MIP gets the rest.
DIVE_SHARE = 0.75


@dataclass(eq=False)
class PreparedPeriods:
    """The time-expanded problem and its independent pieces."""

    timeline: Timeline
    problems: list[PeriodProblem]
    candidates_s: float

    @property
    def components(self) -> int:
        return sum(p.components for p in self.problems)


def prepare_periods(
    instance: Instance, whole: bool = False, batch_columns: int = SMALL_BATCH_COLUMNS
) -> PreparedPeriods:
    """Expand an instance with periods and split it (``whole``: one piece;
    ``batch_columns`` as for ``optimizer.period_problem.split``)."""
    t0 = time.perf_counter()
    tl = expand(instance)
    problems = split(tl, batch_columns, whole=whole)
    return PreparedPeriods(tl, problems, time.perf_counter() - t0)


def solve_period_problem(
    problem: PeriodProblem, solver: str = "auto", time_limit_s: float = 60.0, mip_gap: float = 1e-4
) -> PeriodResult:
    """One piece: the exact flow where it is a network (``auto``, ``mcf``; it declines
    when tonnes do not scale to integers), else PuLP with HiGHS (CBC for ``cbc``)."""
    if solver in ("auto", "mcf"):
        result = solve_time_flow(problem)
        if result is not None:
            return result
    name = "cbc" if solver == "cbc" else "highs"
    if dives_first(problem, solver):
        return _solve_lots(problem, name, time_limit_s, mip_gap)
    return solve_with_pulp(problem, name, time_limit_s, mip_gap)


def dives_first(problem: PeriodProblem, solver: str) -> bool:
    """Does ``solve_period_problem`` start this piece with the lot dive?"""
    return problem.has_lots and problem.objective == "co2e" and solver != "cbc"


def _solve_lots(
    problem: PeriodProblem, solver: str, time_limit_s: float, mip_gap: float
) -> PeriodResult:
    """A piece with lots: the LP dive first (``optimizer.lots_periods``), then
    ``improve_dive`` with the time left."""
    started = time.perf_counter()
    dive = lot_dive(problem, time_limit_s * DIVE_SHARE)
    left = max(time_limit_s - (time.perf_counter() - started), MIN_COMPONENT_TIME_S)
    return improve_dive(problem, dive, solver, left, mip_gap)


def dive_result(problem: PeriodProblem, dive: LotDive, mip_gap: float, status: str) -> PeriodResult:
    """The dive's schedule as the piece's result, without a MIP: ``optimal`` when its
    gap is proven within ``mip_gap``, else ``status`` (the caller's reason to stop)."""
    proven = relative_gap(dive.saving_kg_co2e, dive.saving_bound_kg_co2e) <= mip_gap
    return PeriodResult(
        status="optimal" if proven else status,
        column_ids=problem.column_ids,
        store_ids=problem.store_ids,
        tonnes=dive.tonnes,
        stock=dive.stock,
        saving_kg_co2e=dive.saving_kg_co2e,
        saving_bound_kg_co2e=dive.saving_bound_kg_co2e,
        solver=f"{dive.solver}-lot-dive",
        variables=problem.n_x,
        solve_s=dive.seconds,
    )


def improve_dive(
    problem: PeriodProblem,
    dive: LotDive | None,
    solver: str,
    time_limit_s: float,
    mip_gap: float,
) -> PeriodResult:
    """A dived piece finished: if the dive's gap is proven within ``mip_gap``, its
    schedule; else the MIP from it, keeping the better schedule and the tighter bound
    (as ``optimizer.component`` does for one period); without a dive schedule, the MIP
    from scratch, its bound tightened by the LP's."""
    started = time.perf_counter()
    if dive is None:
        return solve_with_pulp(problem, solver, time_limit_s, mip_gap)
    if dive.tonnes is None:
        result = solve_with_pulp(problem, solver, time_limit_s, mip_gap)
        if result.status != "infeasible":
            result.saving_bound_kg_co2e = max(
                min(result.saving_bound_kg_co2e, dive.saving_bound_kg_co2e), result.saving_kg_co2e
            )
        result.solve_s += dive.seconds
        return result
    if relative_gap(dive.saving_kg_co2e, dive.saving_bound_kg_co2e) <= mip_gap:
        return dive_result(problem, dive, mip_gap, "optimal")
    result = solve_with_pulp(
        problem, solver, time_limit_s, mip_gap, start=(dive.tonnes, dive.stock)
    )
    left = time_limit_s - (time.perf_counter() - started)
    result = again_without_start_if_unproven(
        result, mip_gap, left, lambda seconds: solve_with_pulp(problem, solver, seconds, mip_gap)
    )
    if result.status == "infeasible":
        # Cannot be (the start is feasible): keep the start and its own bound only.
        result.status, result.message = "feasible", None
        result.saving_bound_kg_co2e = dive.saving_bound_kg_co2e
        result.saving_kg_co2e = -np.inf
    if result.saving_kg_co2e < dive.saving_kg_co2e:
        result.tonnes, result.stock = dive.tonnes, dive.stock
        result.saving_kg_co2e = dive.saving_kg_co2e
    result.saving_bound_kg_co2e = max(
        min(result.saving_bound_kg_co2e, dive.saving_bound_kg_co2e), result.saving_kg_co2e
    )
    settle_status(result, mip_gap)
    result.solve_s += dive.seconds
    return result


def solve_period_problem_before(
    problem: PeriodProblem,
    solver: str,
    deadline_epoch_s: float,
    mip_gap: float,
    budget_s: float | None = None,
) -> PeriodResult:
    """``solve_period_problem`` given ``budget_s`` but never past a wall-clock deadline."""
    left = deadline_epoch_s - time.time()
    if budget_s is not None:
        left = min(left, budget_s)
    return solve_period_problem(problem, solver, max(left, MIN_COMPONENT_TIME_S), mip_gap)


def merge_results(
    prepared: PreparedPeriods, results: list[PeriodResult], mip_gap: float | None = None
) -> PeriodResult:
    """The pieces' results as one over the whole Timeline: tonnes and stock put back
    in place, savings and bounds summed, the worst status, solvers named. With
    ``mip_gap``: ``optimal`` when the summed gap is proven within it, though a piece's
    own may not be (the run's gap is the sum's, ``optimizer.period_turns``)."""
    tl = prepared.timeline
    tonnes = np.zeros(tl.n_x)
    stock = np.zeros((len(tl.store_kind), tl.count))
    for r in results:
        tonnes[r.column_ids] = r.tonnes
        if len(r.store_ids):
            stock[r.store_ids] = r.stock
    status = max((r.status for r in results), key=STATUS_RANK.__getitem__, default="optimal")
    saving = sum(r.saving_kg_co2e for r in results)
    bound = sum(r.saving_bound_kg_co2e for r in results)
    if mip_gap is not None and status != "infeasible" and relative_gap(saving, bound) <= mip_gap:
        status = "optimal"
    messages = [r.message for r in results if r.message and r.status == status]
    return PeriodResult(
        status=status,
        column_ids=np.arange(tl.n_x),
        store_ids=np.arange(len(tl.store_kind)),
        tonnes=tonnes,
        stock=stock,
        saving_kg_co2e=saving,
        saving_bound_kg_co2e=bound,
        solver="+".join(sorted({r.solver for r in results} - {"none"})) or "none",
        variables=sum(r.variables for r in results),
        binaries=sum(r.binaries for r in results),
        build_s=sum(r.build_s for r in results),
        solve_s=sum(r.solve_s for r in results),
        message="; ".join(dict.fromkeys(messages)) or None,
    )


def assemble_period_results(
    prepared: PreparedPeriods,
    results: list[PeriodResult],
    started: float | None = None,
    mip_gap: float | None = None,
) -> Solution:
    """The Solution of a run whose pieces were solved (in-process or by a chord);
    ``mip_gap`` as for ``merge_results``."""
    result = merge_results(prepared, results, mip_gap)
    started = time.perf_counter() if started is None else started
    solution = assemble_periods(prepared.timeline, result, started, prepared.candidates_s)
    solution.stats["components"] = prepared.components
    solution.stats["problems"] = len(prepared.problems)
    return solution


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
        "components": 1 if tl.n_x else 0,  # the caller sets the count
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
        return Solution.infeasible(
            baseline_kg_co2e=baseline, stats=stats, message=result.message, stock=[], periods=[]
        )
    x, stock = result.tonnes, result.stock
    cols = np.flatnonzero(x > FLOW_EPS_TONNES)
    # By supply, then demand, then period: easy to read and the same on every run.
    cols = cols[np.lexsort((tl.period[cols], tl.sink[cols], tl.source[cols]))]
    n_s, n_d = len(instance.supplies), len(instance.demands)
    source_ids, sink_ids = instance.source_ids, instance.sink_ids
    materials = instance.source_materials
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
