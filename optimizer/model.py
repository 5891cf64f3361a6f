"""The PuLP model of one component, its solve, and the whole in-process run.

``solve(instance)`` prepares the components (``optimizer.problem``), solves each
with ``solve_component`` and assembles one Solution. ``solve_component`` is the
unit a Celery group can run on many workers.

Building fast in PuLP (see DESIGN.md): each row is an ``LpConstraint`` over an
``LpAffineExpression`` made from (variable, coefficient) pairs, variables come
from ``prob.add_variable``, and the garbage collector is paused while millions of
small objects are made. Never ``lpSum([(x, 3.0)])``: that means x + 3.0.

Status is read from the solver itself, not from PuLP's summary: PuLP calls a
MIP that CBC stopped at its time limit "Optimal", and its HiGHS wrapper does the
same for HiGHS's kTimeLimit.
"""

from __future__ import annotations

import gc
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager, suppress

import numpy as np
import pulp

from optimizer.instance import Instance, Solution
from optimizer.problem import (
    STATUS_RANK,
    ComponentProblem,
    ComponentResult,
    Prepared,
    assemble,
    merge_problems,
    prepare,
)

SOLVERS = ("auto", "highs", "cbc", "mcf")

# Stage two of "tonnes_then_co2e" may lose this fraction of the stage-one tonnage (at
# least 1e-7 t) so that solver tolerances cannot make it infeasible: the order of the
# solvers' feasibility tolerance; any more, and stage two trades tonnes for CO2e.
LEXICOGRAPHIC_TOL = 1e-7
# Lot-free components smaller than this are merged into flow problems of about this size.
SMALL_BATCH_ARCS = 50_000
# The least time a component is given, however little of the run's budget is left.
MIN_COMPONENT_TIME_S = 0.1


# --------------------------------------------------------------------------- building


@contextmanager
def _gc_paused():
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _node_rows(prob, xs, arc_node, node_tonnes, arc_capacity, prefix: str, skip=None) -> int:
    """One "sum of a node's arcs <= its tonnes" row per node, unless the arcs'
    own upper bounds already imply it, or the node is in ``skip``. Returns the
    number of rows added."""
    n_nodes = len(node_tonnes)
    if skip is not None and len(skip):
        node_tonnes = node_tonnes.copy()
        node_tonnes[skip] = np.inf
    order = np.argsort(arc_node, kind="stable")
    bounds = np.searchsorted(arc_node[order], np.arange(n_nodes + 1))
    reach = np.bincount(arc_node, weights=arc_capacity, minlength=n_nodes)
    added = 0
    for node in np.flatnonzero(reach > node_tonnes * (1 + 1e-12)).tolist():
        members = order[bounds[node] : bounds[node + 1]].tolist()
        expr = pulp.LpAffineExpression([(xs[k], 1.0) for k in members])
        prob.addConstraint(
            pulp.LpConstraint(
                expr, pulp.LpConstraintLE, f"{prefix}{node}", float(node_tonnes[node])
            )
        )
        added += 1
    return added


def build_pulp(problem: ComponentProblem) -> tuple[pulp.LpProblem, list, list]:
    """The component as a PuLP problem with the CO2e objective (minimise -saving).

    Returns the problem, the flow variables (one per arc) and the binaries.
    """
    prob = pulp.LpProblem("exchanges", pulp.LpMinimize)
    capacity = problem.arc_capacity_tonnes
    lot = problem.arc_min_lot_tonnes
    with _gc_paused():
        cap_list = capacity.tolist()
        xs = [prob.add_variable(f"x{k}", 0.0, cap_list[k]) for k in range(problem.n_arcs)]
        ys = []
        for k in np.flatnonzero(lot > 0).tolist():
            # x = 0 when y = 0, lot <= x <= capacity when y = 1.
            y = prob.add_variable(f"y{k}", 0, 1, pulp.LpBinary)
            ys.append(y)
            c = cap_list[k]
            prob.addConstraint(
                pulp.LpConstraint(
                    pulp.LpAffineExpression([(xs[k], 1.0), (y, -c)]),
                    pulp.LpConstraintLE,
                    f"u{k}",
                    0.0,
                )
            )
            prob.addConstraint(
                pulp.LpConstraint(
                    pulp.LpAffineExpression([(xs[k], 1.0), (y, -float(lot[k]))]),
                    pulp.LpConstraintGE,
                    f"l{k}",
                    0.0,
                )
            )
        # A plant's output node has the yield row instead of a tonnes row.
        outputs = problem.processor_output_node
        rows = _node_rows(
            prob,
            xs,
            problem.arc_supply,
            problem.supply_tonnes,
            capacity,
            "s",
            outputs[outputs >= 0],
        ) + _node_rows(prob, xs, problem.arc_demand, problem.demand_tonnes, capacity, "d")
        if problem.has_processors:
            rows += _processor_rows(prob, xs, problem)
        if rows == 0 and not ys:
            # Every row was implied by the bounds; CBC still wants one in its MPS file.
            prob.addConstraint(
                pulp.LpConstraint(
                    pulp.LpAffineExpression([(xs[0], 1.0)]), pulp.LpConstraintLE, "t0", cap_list[0]
                )
            )
        prob.setObjective(_saving_objective(problem, xs))
    return prob, xs, ys


def _processor_rows(prob, xs, problem: ComponentProblem) -> int:
    """Per plant: output <= yield x input, and its blend limits, linear in the input
    tonnes (see optimizer.problem). Its input capacity is its sink's tonnes row."""
    added = 0
    nitrogen, cn, moisture = (
        problem.arc_nitrogen_t_per_t,
        problem.arc_cn_ratio,
        problem.arc_moisture_percent,
    )
    for p in range(len(problem.processor_input_node)):
        into = np.flatnonzero(problem.arc_demand == problem.processor_input_node[p])
        out_node = int(problem.processor_output_node[p])
        if out_node >= 0:
            out = np.flatnonzero(problem.arc_supply == out_node)
            y = -float(problem.processor_yield[p])
            pairs = [(xs[a], 1.0) for a in out.tolist()]
            pairs += [(xs[a], y) for a in into.tolist() if y != 0.0]
            prob.addConstraint(
                pulp.LpConstraint(
                    pulp.LpAffineExpression(pairs), pulp.LpConstraintLE, f"yield{p}", 0.0
                )
            )
            added += 1
        r, n, m = cn[into], nitrogen[into], moisture[into]
        limits = (
            ("cnmin", problem.processor_cn_min[p], "cn", pulp.LpConstraintGE),
            ("cnmax", problem.processor_cn_max[p], "cn", pulp.LpConstraintLE),
            ("wmin", problem.processor_moisture_min[p], "moisture", pulp.LpConstraintGE),
            ("wmax", problem.processor_moisture_max[p], "moisture", pulp.LpConstraintLE),
        )
        for name, lim, prop, sense in limits:
            if not np.isfinite(lim):
                continue
            # C:N >= lim  <=>  sum C x >= lim sum N x  <=>  sum N (r - lim) x >= 0.
            coef = n * (r - lim) if prop == "cn" else m - lim
            if not np.all(np.isfinite(coef)):
                # Candidates leave out supplies lacking a limited property; never here.
                raise ValueError(f"processor row {name}{p}: an input lacks a blend property")
            pairs = [(xs[a], c) for a, c in zip(into.tolist(), coef.tolist(), strict=True) if c]
            if not pairs:
                continue
            prob.addConstraint(
                pulp.LpConstraint(pulp.LpAffineExpression(pairs), sense, f"{name}{p}", 0.0)
            )
            added += 1
    return added


def _saving_objective(problem: ComponentProblem, xs) -> pulp.LpAffineExpression:
    coef = (-problem.arc_saving_kg_co2e_per_t).tolist()
    return pulp.LpAffineExpression(list(zip(xs, coef, strict=True)))


# --------------------------------------------------------------------------- solving


class _Outcome:
    """What one solver call proved: status, values, and a bound on the saving."""

    def __init__(self, status, values, objective_bound=None):
        self.status = status  # optimal | feasible | time_limit | infeasible
        self.values = values  # np.ndarray or None when there is no solution
        self.objective_bound = objective_bound  # of the minimised objective, or None


_highs_banner_done = False


def _swallow_highs_banner() -> None:
    """highspy prints a copyright banner to C stdout on its first Highs() in a
    process; `python -m optimizer solve x.json` writes the solution JSON to stdout,
    so the banner is sent to /dev/null once, with C's buffer flushed before fd 1
    comes back."""
    global _highs_banner_done
    if _highs_banner_done:
        return
    import ctypes

    import highspy

    sys.stdout.flush()
    saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        highspy.Highs()
        with suppress(OSError, AttributeError):
            ctypes.CDLL(None).fflush(None)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
        _highs_banner_done = True


class _HighsWithStart(pulp.HiGHS):
    """PuLP's in-memory HiGHS, handing HiGHS a starting incumbent before it runs, and
    a time limit counted to an absolute deadline: PuLP copies the model into HiGHS
    one column at a time inside ``prob.solve``, which takes seconds at 100k columns
    and would otherwise come on top of the limit."""

    def __init__(self, start: dict | None, deadline: float | None = None, **options):
        super().__init__(**options)
        self.start = start
        self.deadline = deadline

    def callSolver(self, lp):
        if self.deadline is not None:
            left = max(self.deadline - time.perf_counter(), 0.01)
            lp.solverModel.setOptionValue("time_limit", float(left))
        if self.start:
            index = np.array([v.index for v in self.start], dtype=np.int32)
            value = np.array(list(self.start.values()), dtype=float)
            lp.solverModel.setSolution(len(index), index, value)
        lp.solverModel.run()


def _run_highs(
    prob, xs, time_limit_s: float, mip_gap: float, is_mip: bool, start: dict | None = None
) -> _Outcome:
    import highspy

    _swallow_highs_banner()
    solver = _HighsWithStart(
        start,
        deadline=time.perf_counter() + time_limit_s,
        msg=False,
        timeLimit=max(time_limit_s, 0.01),
        gapRel=mip_gap,
    )
    # PuLP's status table lacks some HiGHS statuses; we read the status ourselves below.
    with suppress(KeyError):
        prob.solve(solver)
    h = prob.solverModel
    model_status = h.getModelStatus()
    info = h.getInfo()
    kind = highspy.HighsModelStatus
    if model_status in (kind.kInfeasible, kind.kUnboundedOrInfeasible):
        return _Outcome("infeasible", None)
    if model_status == kind.kOptimal:
        status = "optimal"
    elif model_status == kind.kTimeLimit:
        status = "time_limit"
    else:
        status = "feasible"
    # primal_solution_status 2 = feasible point available.
    values = None
    if info.primal_solution_status == 2:
        col = np.asarray(h.getSolution().col_value)
        values = col[np.fromiter((x.index for x in xs), dtype=np.int64, count=len(xs))]
    bound = None
    if is_mip and np.isfinite(info.mip_dual_bound):
        bound = float(info.mip_dual_bound)
    elif not is_mip and status == "optimal" and values is not None:
        bound = float(info.objective_function_value)
    return _Outcome(status, values, bound)


_CBC_RESULT = re.compile(r"^Result - (.*)$", re.MULTILINE)
_CBC_OBJECTIVE = re.compile(r"^Objective value:\s*(\S+)", re.MULTILINE)
_CBC_BOUND = re.compile(r"^Lower bound:\s*(\S+)", re.MULTILINE)
_CBC_TOTAL_WALL = re.compile(
    r"^Total time \(CPU seconds\):.*\(Wallclock seconds\):\s*(\S+)", re.MULTILINE
)
# CBC prints its "Lower bound" to 3 decimals and its times to 2.
_CBC_BOUND_ROUNDING = 5e-4
_CBC_TIME_ROUNDING = 0.01


def _log_number(pattern: re.Pattern, log: str) -> float | None:
    match = pattern.search(log)
    if match is None:
        return None
    try:
        return float(match.group(1))
    except ValueError:
        return None


def _cbc_reached_limit(log: str, limit_s: float) -> bool:
    """Whether CBC's own clock may have reached its time limit. Its closing "Total
    time" counts from before the limit's clock starts, so a total below the limit
    proves the limit never fired; no total (CBC did not finish normally) proves nothing."""
    wall = _log_number(_CBC_TOTAL_WALL, log)
    return wall is None or wall + _CBC_TIME_ROUNDING >= limit_s


def _run_cbc(
    prob, xs, time_limit_s: float, mip_gap: float, is_mip: bool, start: dict | None = None
) -> _Outcome:
    """CBC through PuLP's bundled 2.10.3 binary, its verdict read from its own log.

    When its time limit fires early, CBC 2.10.3 says things PuLP passes on as proof.
    Stopped in preprocessing, it logs "Pre-processing says infeasible or unbounded"
    and writes "Integer infeasible" (PuLP: Infeasible) for a model whose start is
    feasible. Its "Lower bound" is min(best possible, incumbent): the incumbent itself
    when no node bound was recorded. Its source turns a root LP cut short by the limit
    into an "infeasible" root, reported as "Optimal solution found". An LP stopped on
    time comes back with a point that breaks its rows. And it can crash after a
    time-limited search. So optimality or infeasibility counts only when CBC's own
    clock shows it stopped short of its limit (or it stopped on its proven gap), and
    a bound only when it lies below the incumbent.
    """
    if start:
        for var, value in start.items():
            var.setInitialValue(value, check=False)
    limit = max(time_limit_s, 0.01)
    with tempfile.TemporaryDirectory() as tmp:
        log_path = os.path.join(tmp, "cbc.log")
        solver = pulp.PULP_CBC_CMD(
            msg=False,
            timeLimit=limit,
            gapRel=mip_gap,
            logPath=log_path,
            timeMode="elapsed",
            warmStart=bool(start),
        )
        started = time.perf_counter()
        try:
            prob.solve(solver)
        except pulp.PulpSolverError:
            # CBC 2.10.3 can die (SIGSEGV) undoing its preprocessing after a
            # time-limited search: no result, but no error of the model either.
            if time.perf_counter() - started < limit:
                raise
            return _Outcome("time_limit", None)
        with open(log_path, encoding="utf-8", errors="replace") as f:
            log = f.read()
    result = _CBC_RESULT.search(log)
    result = result.group(1).lower() if result else ""
    reached = _cbc_reached_limit(log, limit)
    if prob.status == pulp.LpStatusInfeasible or "infeasible" in result:
        return _Outcome("time_limit" if reached else "infeasible", None)
    claims_optimal = prob.sol_status == pulp.LpSolutionOptimal
    if not is_mip:
        # Clp's LP verdict is sound; a point it was stopped at may break its rows.
        if claims_optimal:
            values = np.array([x.varValue or 0.0 for x in xs], dtype=float)
            return _Outcome("optimal", values, float(pulp.value(prob.objective) or 0.0))
        return _Outcome("time_limit" if "time" in result or reached else "feasible", None)
    if claims_optimal and ("gap" in result or not reached):
        status = "optimal"
    elif "time" in result or reached:
        status = "time_limit"
    else:
        status = "feasible"
    values = None
    if prob.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        values = np.array([x.varValue or 0.0 for x in xs], dtype=float)
    incumbent = _log_number(_CBC_OBJECTIVE, log)
    if incumbent is None and values is not None:
        incumbent = float(pulp.value(prob.objective) or 0.0)
    bound = _log_number(_CBC_BOUND, log)
    if bound is not None:
        bound -= _CBC_BOUND_ROUNDING
    if status == "optimal":
        bound = incumbent if bound is None else bound
    elif bound is not None and (incumbent is None or bound >= incumbent - 2 * _CBC_BOUND_ROUNDING):
        # CBC's min(best possible, incumbent) with no best possible behind it: no proof.
        bound = None
    return _Outcome(status, values, bound)


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
    run = {"highs": _run_highs, "cbc": _run_cbc}[solver]
    t0 = time.perf_counter()
    prob, xs, ys = build_pulp(problem)
    build_s = time.perf_counter() - t0
    is_mip = bool(ys)
    # The limit covers building as well. HiGHS counts its own limit to the deadline
    # (see _HighsWithStart); for CBC, writing the MPS file takes about as long as the
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
        with _gc_paused():
            prob.addConstraint(
                pulp.LpConstraint(
                    pulp.LpAffineExpression([(x, 1.0) for x in moving]),
                    pulp.LpConstraintGE,
                    "tonnes",
                    max(moved - LEXICOGRAPHIC_TOL * max(moved, 1.0), 0.0),
                )
            )
            prob.setObjective(_saving_objective(problem, xs))
        left = deadline - time.perf_counter()
        second = run(prob, xs, left, mip_gap, is_mip) if left > 0 else _Outcome("time_limit", None)
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
        from optimizer.flow import solve_min_cost_flow

        result = solve_min_cost_flow(problem)
        if result is not None:
            return result
    name = "cbc" if solver == "cbc" else "highs"
    if problem.is_pure_lp or problem.objective != "co2e" or problem.has_processors:
        # Processors' yield and blend rows are no network: always the PuLP model.
        return solve_with_pulp(problem, name, time_limit_s, mip_gap)
    return _solve_lots(problem, name, time_limit_s, mip_gap)


def _relative_gap(saving: float, bound: float) -> float:
    return max(bound - saving, 0.0) / max(abs(saving), 1e-9)


def _solve_lots(
    problem: ComponentProblem, solver: str, time_limit_s: float, mip_gap: float
) -> ComponentResult:
    """A min-lot component: the LP-bound-and-repair heuristic first; if it already
    proves the gap, done; otherwise the MIP solver starts from it, and the result
    keeps the better incumbent and the tighter of the two proven bounds."""
    from optimizer.heuristic import lot_heuristic

    started = time.perf_counter()
    heuristic = lot_heuristic(problem)
    if heuristic is None:
        return solve_with_pulp(problem, solver, time_limit_s, mip_gap)
    if _relative_gap(heuristic.saving_kg_co2e, heuristic.saving_bound_kg_co2e) <= mip_gap:
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
    gap = _relative_gap(result.saving_kg_co2e, result.saving_bound_kg_co2e)
    if gap <= mip_gap:
        # Both bounds are proven (the LP relaxation's, and the solver's own, which
        # _run_cbc / _run_highs keep only when the solver recorded one).
        result.status = "optimal"
    # Otherwise keep the solver's word: "optimal" means it proved the gap within its
    # own tolerances (which the bound it reports reflects), "time_limit" that it ran out.
    result.message = None
    result.solve_s += heuristic.seconds
    return result


def batch_small_lp_components(
    problems: list[ComponentProblem], batch_arcs: int = SMALL_BATCH_ARCS
) -> list[ComponentProblem]:
    """Merge small lot-free components into flow problems of up to ``batch_arcs`` arcs.

    Thousands of tiny components would each pay the per-call overhead; but merging
    large ones is a loss, because the flow algorithm's time grows faster than
    linearly (five 1 M-arc components: 15 s one by one, 36 s as one problem).
    """
    out, batch, size = [], [], 0
    for problem in problems:
        if not problem.is_pure_lp or problem.n_arcs >= batch_arcs:
            out.append(problem)
            continue
        batch.append(problem)
        size += problem.n_arcs
        if size >= batch_arcs:
            out.append(merge_problems(batch))
            batch, size = [], 0
    if batch:
        out.append(merge_problems(batch) if len(batch) > 1 else batch[0])
    return out


def solve(
    instance: Instance,
    solver: str = "auto",
    time_limit_s: float | None = None,
    mip_gap: float | None = None,
    workers: int = 1,
) -> Solution:
    """Prepare and solve an instance in-process; see ``solve_prepared``."""
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}; use one of {SOLVERS}")
    started = time.perf_counter()
    limit = instance.parameters.time_limit_s if time_limit_s is None else time_limit_s
    deadline = time.time() + limit  # wall clock: comparable across processes
    return solve_prepared(
        prepare(instance),
        solver,
        time_limit_s,
        mip_gap,
        workers,
        started=started,
        deadline_epoch_s=deadline,
    )


def solve_prepared(
    prepared: Prepared,
    solver: str = "auto",
    time_limit_s: float | None = None,
    mip_gap: float | None = None,
    workers: int = 1,
    on_component: Callable[[int, int], None] | None = None,
    *,
    started: float | None = None,
    deadline_epoch_s: float | None = None,
) -> Solution:
    """Solve prepared components and assemble the Solution.

    ``time_limit_s`` (default: the instance's) is for the whole run. One worker
    solves the lot-free components first (they are fast) and then shares the
    time left among the MILP components in proportion to their size, smallest
    first, so time a small one does not use passes on to the large ones. With
    ``workers`` > 1 the components go to that many processes, largest first.
    ``on_component(done, total)`` is called as components finish (for progress).
    """
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}; use one of {SOLVERS}")
    params = prepared.instance.parameters
    time_limit_s = params.time_limit_s if time_limit_s is None else time_limit_s
    mip_gap = params.mip_gap if mip_gap is None else mip_gap
    started = time.perf_counter() if started is None else started
    deadline = time.time() + time_limit_s if deadline_epoch_s is None else deadline_epoch_s
    if prepared.infeasible:
        return assemble(prepared, [], started)

    problems = prepared.problems
    if solver in ("auto", "mcf"):
        problems = batch_small_lp_components(problems)
    report = on_component or (lambda done, total: None)
    if workers > 1 and len(problems) > 1:
        results = _solve_in_processes(problems, solver, deadline, mip_gap, workers, report)
    else:
        results = _solve_in_turn(problems, solver, deadline, mip_gap, report)
    return assemble(prepared, results, started)


def _solve_in_turn(problems, solver, deadline, mip_gap, report) -> list[ComponentResult]:
    results = []
    milp_arcs = sum(p.n_arcs for p in problems if not p.is_pure_lp)
    for problem in sorted(problems, key=lambda p: (not p.is_pure_lp, p.n_arcs)):
        left = max(deadline - time.time(), 0.0)
        if problem.is_pure_lp:
            share = left
        else:
            share = left * problem.n_arcs / max(milp_arcs, 1)
            milp_arcs -= problem.n_arcs
        results.append(solve_component(problem, solver, max(share, MIN_COMPONENT_TIME_S), mip_gap))
        report(len(results), len(problems))
    return results


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


def _solve_in_processes(
    problems, solver, deadline, mip_gap, workers, report
) -> list[ComponentResult]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # forkserver: children start from a clean process, never from a fork of one whose
    # solver thread pools are already running (a forked HiGHS pool can deadlock).
    context = multiprocessing.get_context(
        "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    )
    if context.get_start_method() == "forkserver":
        context.set_forkserver_preload(["optimizer.model", "optimizer.flow"])
    order = sorted(problems, key=lambda p: -p.n_arcs)
    workers = min(workers, len(order))
    # Each MILP component's budget is its share of workers x time, by size, so the
    # queue ends near the deadline instead of the last ones starting after it.
    left = max(deadline - time.time(), 0.0)
    milp_arcs = max(sum(p.n_arcs for p in order if not p.is_pure_lp), 1)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [
            pool.submit(
                solve_component_before,
                p,
                solver,
                deadline,
                mip_gap,
                None if p.is_pure_lp else left * workers * p.n_arcs / milp_arcs,
            )
            for p in order
        ]
        for done, _ in enumerate(as_completed(futures), start=1):
            report(done, len(futures))
        return [f.result() for f in futures]
