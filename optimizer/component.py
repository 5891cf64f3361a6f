"""Solving one component: the strategy for its kind and the honest result.

``solve_component`` is the unit a Celery group runs on many workers: a pure LP
goes to the exact min-cost flow (``optimizer.flow``); a min-lot component to the
LP-bound-and-repair heuristic (``optimizer.heuristic``) and then, unless that
already proves the gap, to the MIP solver started from it; anything else (and
the lexicographic "tonnes first" objective) to the PuLP model
(``optimizer.build``) with HiGHS or CBC (``optimizer.solvers``). Whatever the
solver returns is made exactly feasible before it is reported.
"""

from __future__ import annotations

import time

import numpy as np
import pulp

from optimizer.build import build_pulp, gc_paused, saving_objective
from optimizer.flow import solve_min_cost_flow
from optimizer.heuristic import lot_heuristic
from optimizer.problem import STATUS_RANK, ComponentProblem, ComponentResult
from optimizer.solvers import Outcome, run_cbc, run_highs

SOLVERS = ("auto", "highs", "cbc", "mcf")

# Stage two of "tonnes_then_co2e" may lose this fraction of the stage-one tonnage (at
# least 1e-7 t) so that solver tolerances cannot make it infeasible: the order of the
# solvers' feasibility tolerance; any more, and stage two trades tonnes for CO2e.
LEXICOGRAPHIC_TOL = 1e-7
# The least time a component is given, however little of the run's budget is left.
MIN_COMPONENT_TIME_S = 0.1


def _clean(problem: ComponentProblem, values: np.ndarray | None) -> np.ndarray:
    """Solver values made exactly feasible: clipped to [0, capacity], a plant's
    output scaled down to yield x its input where tolerances put it above, and an
    arc below its lot (integrality tolerance) set to 0, which only frees capacity."""
    if values is None:
        return np.zeros(problem.n_arcs)
    x = np.clip(values, 0.0, problem.arc_capacity_tonnes)
    x[x < 1e-9] = 0.0
    if problem.has_processors:
        _cap_outputs(problem, x)
    lot = problem.arc_min_lot_tonnes
    x[(lot > 0) & (x < lot * (1 - 1e-7))] = 0.0
    x[x < 1e-9] = 0.0
    return x


def _cap_outputs(problem: ComponentProblem, x: np.ndarray) -> None:
    for p in range(len(problem.processor_input_node)):
        out_node = problem.processor_output_node[p]
        if out_node < 0:
            continue
        out = problem.arc_supply == out_node
        sent = float(x[out].sum())
        made = problem.processor_yield[p] * float(
            x[problem.arc_demand == problem.processor_input_node[p]].sum()
        )
        if sent > made:
            x[out] *= made / sent


def solve_with_pulp(
    problem: ComponentProblem,
    solver: str,
    time_limit_s: float,
    mip_gap: float,
    start_tonnes: np.ndarray | None = None,
) -> ComponentResult:
    """Build the component in PuLP and solve it with HiGHS or CBC, optionally from a
    lot-feasible starting solution (one tonnage per arc)."""
    run = {"highs": run_highs, "cbc": run_cbc}[solver]
    t0 = time.perf_counter()
    prob, xs, ys = build_pulp(problem)
    build_s = time.perf_counter() - t0
    is_mip = bool(ys)
    # The limit covers building as well. HiGHS counts its own limit to the deadline
    # (see optimizer.solvers); for CBC, writing the MPS file takes about as long as the
    # build, so that much is held back.
    deadline = t0 + time_limit_s
    solver_s = deadline - time.perf_counter() - (build_s if solver == "cbc" else 0.0)
    solver_s = max(solver_s, MIN_COMPONENT_TIME_S)
    saving = problem.arc_saving_kg_co2e_per_t
    statuses = []

    if problem.objective == "tonnes_then_co2e":
        # Tonnes leaving supplies; a plant's output is the same matter, not counted twice.
        residue = (~problem.arc_from_processor).tolist()
        moving = [x for x, r in zip(xs, residue, strict=True) if r]
        prob.setObjective(pulp.LpAffineExpression([(x, -1.0) for x in moving]))
        first = run(prob, xs, solver_s, mip_gap, is_mip)
        if first.status == "infeasible":
            return _infeasible(problem, "stage 1 (most tonnes) infeasible", build_s, t0, solver, ys)
        statuses.append(first.status)
        stage_one = _clean(problem, first.values)
        moved = float(stage_one[~problem.arc_from_processor].sum())
        with gc_paused():
            prob.addConstraint(
                pulp.LpConstraint(
                    pulp.LpAffineExpression([(x, 1.0) for x in moving]),
                    pulp.LpConstraintGE,
                    "tonnes",
                    max(moved - LEXICOGRAPHIC_TOL * max(moved, 1.0), 0.0),
                )
            )
            prob.setObjective(saving_objective(problem, xs))
        left = deadline - time.perf_counter()
        second = run(prob, xs, left, mip_gap, is_mip) if left > 0 else Outcome("time_limit", None)
        statuses.append(second.status if second.status != "infeasible" else "feasible")
        if second.values is not None and second.status != "infeasible":
            values, bound = _clean(problem, second.values), second.objective_bound
        else:
            values, bound = stage_one, None
    else:
        start = None
        if start_tonnes is not None:
            start = dict(zip(xs, start_tonnes.tolist(), strict=True))
            lot_rows = np.flatnonzero(problem.arc_min_lot_tonnes > 0).tolist()
            start.update({y: float(start_tonnes[k] > 0) for y, k in zip(ys, lot_rows, strict=True)})
        outcome = run(prob, xs, solver_s, mip_gap, is_mip, start)
        if outcome.status == "infeasible":
            return _infeasible(
                problem, "the solver reports the model infeasible", build_s, t0, solver, ys
            )
        statuses.append(outcome.status)
        values, bound = _clean(problem, outcome.values), outcome.objective_bound

    achieved = float(saving @ values)
    saving_bound = -bound if bound is not None else problem.upper_bound_kg_co2e()
    status = max(statuses, key=STATUS_RANK.__getitem__)
    return ComponentResult(
        status=status,
        arc_ids=problem.arc_ids,
        tonnes=values,
        saving_kg_co2e=achieved,
        saving_bound_kg_co2e=max(saving_bound, achieved),
        solver=f"pulp-{solver}",
        variables=len(xs) + len(ys),
        binaries=len(ys),
        build_s=build_s,
        solve_s=time.perf_counter() - t0 - build_s,
    )


def _infeasible(problem, message, build_s, t0, solver, ys) -> ComponentResult:
    return ComponentResult(
        status="infeasible",
        arc_ids=problem.arc_ids,
        tonnes=np.zeros(problem.n_arcs),
        saving_kg_co2e=0.0,
        saving_bound_kg_co2e=0.0,
        solver=f"pulp-{solver}",
        variables=problem.n_arcs + len(ys),
        binaries=len(ys),
        build_s=build_s,
        solve_s=time.perf_counter() - t0 - build_s,
        message=message,
    )


def solve_component(
    problem: ComponentProblem,
    solver: str = "auto",
    time_limit_s: float = 60.0,
    mip_gap: float = 1e-4,
) -> ComponentResult:
    """Solve one component.

    ``auto``: the exact min-cost flow for a pure LP, PuLP + HiGHS otherwise.
    ``mcf``: the same, named explicitly. ``highs`` / ``cbc``: always the PuLP model.
    The flow path declines (and PuLP + HiGHS takes over) when the tonnes cannot be
    scaled to integers exactly.
    """
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}; use one of {SOLVERS}")
    if problem.n_arcs == 0:
        return ComponentResult("optimal", problem.arc_ids, np.zeros(0), 0.0, 0.0, "none")
    if solver in ("auto", "mcf") and problem.is_pure_lp:
        result = solve_min_cost_flow(problem)
        if result is not None:
            return result
    name = "cbc" if solver == "cbc" else "highs"
    if problem.is_pure_lp or problem.objective != "co2e" or problem.has_processors:
        # Processors' yield and blend rows are no network: always the PuLP model.
        return solve_with_pulp(problem, name, time_limit_s, mip_gap)
    return _solve_lots(problem, name, time_limit_s, mip_gap)


def relative_gap(saving: float, bound: float) -> float:
    """How far a saving may be below the best one, relative to it (the proven gap)."""
    return max(bound - saving, 0.0) / max(abs(saving), 1e-9)


def again_without_start_if_unproven(result, mip_gap: float, left_s: float, solve_from_scratch):
    """A MIP result from a start (``ComponentResult`` or the period path's
    ``PeriodResult``): HiGHS, given a start, can call "optimal" a schedule its own bound
    does not prove (its start handed back below a bound it proved, or the start with a
    bound it did not close: 5.9 % short on a 10 x 14 instance, and on 4- and 6-column
    period pieces). Then ``solve_from_scratch(seconds)`` solves again without the
    start, time allowing; the better schedule is kept, with the lower bound."""
    unproven = relative_gap(result.saving_kg_co2e, result.saving_bound_kg_co2e) > max(mip_gap, 1e-6)
    if result.status != "optimal" or not unproven or left_s <= MIN_COMPONENT_TIME_S:
        return result
    again = solve_from_scratch(left_s)
    if again.status == "infeasible":
        return result
    bound = min(result.saving_bound_kg_co2e, again.saving_bound_kg_co2e)
    if again.saving_kg_co2e >= result.saving_kg_co2e:
        result = again
    result.saving_bound_kg_co2e = max(bound, result.saving_kg_co2e)
    return result


def settle_status(result, mip_gap: float) -> None:
    """A result whose saving and bound are final: ``optimal`` when the gap is proven
    within ``mip_gap`` (both bounds are: the LP relaxation's, and the solver's own,
    which run_cbc / run_highs keep only when the solver recorded one); an "optimal"
    the bound does not bear out becomes ``feasible``; otherwise the solver's word
    ("time_limit": it ran out)."""
    gap = relative_gap(result.saving_kg_co2e, result.saving_bound_kg_co2e)
    if gap <= mip_gap:
        result.status = "optimal"
    elif result.status == "optimal" and gap > max(mip_gap, 1e-6):
        result.status = "feasible"


def _solve_lots(
    problem: ComponentProblem, solver: str, time_limit_s: float, mip_gap: float
) -> ComponentResult:
    """A min-lot component: the LP-bound-and-repair heuristic first; if it already
    proves the gap, done; otherwise the MIP solver starts from it, and the result
    keeps the better incumbent and the tighter of the two proven bounds."""
    started = time.perf_counter()
    heuristic = lot_heuristic(problem)
    if heuristic is None:
        return solve_with_pulp(problem, solver, time_limit_s, mip_gap)
    if relative_gap(heuristic.saving_kg_co2e, heuristic.saving_bound_kg_co2e) <= mip_gap:
        return ComponentResult(
            status="optimal",
            arc_ids=problem.arc_ids,
            tonnes=heuristic.tonnes,
            saving_kg_co2e=heuristic.saving_kg_co2e,
            saving_bound_kg_co2e=heuristic.saving_bound_kg_co2e,
            solver="ortools-mcf-lot-repair",
            variables=problem.n_arcs,
            binaries=0,
            solve_s=heuristic.seconds,
        )
    left = max(time_limit_s - (time.perf_counter() - started), MIN_COMPONENT_TIME_S)
    result = solve_with_pulp(problem, solver, left, mip_gap, start_tonnes=heuristic.tonnes)
    left = time_limit_s - (time.perf_counter() - started)
    result = again_without_start_if_unproven(
        result, mip_gap, left, lambda seconds: solve_with_pulp(problem, solver, seconds, mip_gap)
    )
    refuted = result.status == "infeasible"
    if refuted:
        # Cannot be (the start is feasible): trust the start and its own bound only.
        # An infeasible result's "bound" of 0 is no bound: taken as one, it would
        # close the gap at the start's saving and call the start optimal.
        result.status = "feasible"
        result.saving_bound_kg_co2e = heuristic.saving_bound_kg_co2e
    if refuted or result.saving_kg_co2e < heuristic.saving_kg_co2e:
        result.tonnes = heuristic.tonnes
        result.saving_kg_co2e = heuristic.saving_kg_co2e
    result.saving_bound_kg_co2e = max(
        min(result.saving_bound_kg_co2e, heuristic.saving_bound_kg_co2e), result.saving_kg_co2e
    )
    settle_status(result, mip_gap)
    result.message = None
    result.solve_s += heuristic.seconds
    return result


def solve_component_before(
    problem: ComponentProblem,
    solver: str,
    deadline_epoch_s: float,
    mip_gap: float,
    budget_s: float | None = None,
) -> ComponentResult:
    """``solve_component`` given ``budget_s`` seconds but never past a wall-clock
    deadline (what a worker process, or a Celery task started late, should get)."""
    left = deadline_epoch_s - time.time()
    if budget_s is not None:
        left = min(left, budget_s)
    return solve_component(problem, solver, max(left, MIN_COMPONENT_TIME_S), mip_gap)
