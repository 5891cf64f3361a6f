"""The solver adapters: PuLP's in-memory HiGHS and its bundled CBC binary, each
run to a time limit, with the status read from the solver itself.

PuLP's summary is not trusted: it calls a MIP that CBC stopped at its time limit
"Optimal", and its HiGHS wrapper does the same for HiGHS's kTimeLimit. So HiGHS's
own model status is read, and CBC's log is parsed (its result line, incumbent,
bound and wall time). Each adapter returns an :class:`Outcome`: the status it
can prove, the flow values, and a bound only when the solver recorded one.
"""

from __future__ import annotations

import ctypes
import os
import re
import sys
import tempfile
import time
from contextlib import suppress

import highspy
import numpy as np
import pulp


class Outcome:
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


def run_highs(
    prob,
    xs,
    time_limit_s: float,
    mip_gap: float,
    is_mip: bool,
    start: dict | None = None,
    options: dict | None = None,
) -> Outcome:
    """HiGHS in memory through PuLP, from ``start`` (variable -> value) when given,
    with HiGHS ``options`` on top; the status and bound are HiGHS's own."""
    _swallow_highs_banner()
    solver = _HighsWithStart(
        start,
        deadline=time.perf_counter() + time_limit_s,
        msg=False,
        timeLimit=max(time_limit_s, 0.01),
        gapRel=mip_gap,
        **(options or {}),
    )
    # PuLP's status table lacks some HiGHS statuses; we read the status ourselves below.
    with suppress(KeyError):
        prob.solve(solver)
    h = prob.solverModel
    model_status = h.getModelStatus()
    info = h.getInfo()
    kind = highspy.HighsModelStatus
    if model_status in (kind.kInfeasible, kind.kUnboundedOrInfeasible):
        return Outcome("infeasible", None)
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
    return Outcome(status, values, bound)


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


def run_cbc(
    prob, xs, time_limit_s: float, mip_gap: float, is_mip: bool, start: dict | None = None
) -> Outcome:
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
            return Outcome("time_limit", None)
        with open(log_path, encoding="utf-8", errors="replace") as f:
            log = f.read()
    result = _CBC_RESULT.search(log)
    result = result.group(1).lower() if result else ""
    reached = _cbc_reached_limit(log, limit)
    if prob.status == pulp.LpStatusInfeasible or "infeasible" in result:
        return Outcome("time_limit" if reached else "infeasible", None)
    claims_optimal = prob.sol_status == pulp.LpSolutionOptimal
    if not is_mip:
        # Clp's LP verdict is sound; a point it was stopped at may break its rows.
        if claims_optimal:
            values = np.array([x.varValue or 0.0 for x in xs], dtype=float)
            return Outcome("optimal", values, float(pulp.value(prob.objective) or 0.0))
        return Outcome("time_limit" if "time" in result or reached else "feasible", None)
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
    return Outcome(status, values, bound)
