"""A bound and a first solution for a period piece with lots (``optimizer.heuristic``
for one period, adapted to time-expanded pieces with stores and plants).

The lots dropped, the piece is an LP (an exact flow where it is a network), whose
optimum bounds the MILP: every lot-feasible schedule is feasible for it. Its
solution is then repaired by diving: the columns carrying less than their lot are
removed and the LP solved again on the rest, round after round while time allows. A
column cannot always be set to 0 here, as in one period: a store or a plant's output
may depend on what it brought. So what is still below its lot after the rounds is set
to 0 only where no plant is involved (demand stores then cut forward to what they
still received); otherwise every lot is decided (a column at its lot or above is held
there, the rest closed) and that LP solved. What the dive ends with is lot-feasible (each column 0
or at least its lot), so it is an incumbent; with the first LP's bound it proves a
gap, sometimes within the MIP gap asked for before any branch-and-bound, and is
otherwise the MIP solver's starting point.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import highspy
import numpy as np

from optimizer.build import gc_paused
from optimizer.build_periods import PeriodModel, PeriodResult, achieved_saving, solve_with_pulp
from optimizer.flow_periods import solve_time_flow
from optimizer.period_problem import PeriodProblem
from optimizer.solvers import run_highs

# Rounds at most before what is still below its lot is set to 0. A flow round is a
# fresh solve, so the flow dive also stops when its time is up (each round removes
# columns below their lot and moves tonnes onto the rest: on the 12-month bench's
# pieces 6 rounds left 2.3 to 4.9 % to the LP bound, 20 rounds 1.6 to 3.5 %); a HiGHS
# round re-solves from the last basis.
DIVE_ROUNDS = 100
HIGHS_DIVE_ROUNDS = 20
_COLUMN_FIELDS = ("source", "sink", "period", "upper", "lot", "saving")
_BLEND_FIELDS = ("nitrogen", "cn", "moisture")


@dataclass(eq=False)
class LotDive:
    tonnes: np.ndarray | None  # lot-feasible, per column of the piece (None: not found)
    stock: np.ndarray | None
    saving_kg_co2e: float
    saving_bound_kg_co2e: float  # the LP relaxation's proven bound
    solver: str
    seconds: float


def _relaxed(problem: PeriodProblem, keep: np.ndarray) -> PeriodProblem:
    """The piece on the kept columns, lots dropped; column_ids = indices in ``problem``."""
    fields = {name: getattr(problem, name)[keep] for name in _COLUMN_FIELDS}
    if problem.n_processors:
        fields.update({name: getattr(problem, name)[keep] for name in _BLEND_FIELDS})
    fields["lot"] = np.zeros(len(keep))
    return replace(problem, column_ids=keep, **fields)


def _solve_lp(problem: PeriodProblem, time_limit_s: float) -> PeriodResult | None:
    result = solve_time_flow(problem)
    if result is None:
        result = solve_with_pulp(problem, "highs", time_limit_s, 0.0)
    return result if result.status == "optimal" else None


def lot_dive(problem: PeriodProblem, time_limit_s: float) -> LotDive | None:
    """The LP bound and a lot-feasible schedule (``tonnes`` None when none was found
    in time), or None when not even the LP was solved."""
    t0 = time.perf_counter()
    relaxed = _relaxed(problem, np.arange(problem.n_x))
    if not relaxed.is_network:
        return _highs_dive(problem, relaxed, t0, t0 + time_limit_s)
    deadline = t0 + time_limit_s
    keep = np.arange(problem.n_x)
    first = _solve_lp(relaxed, time_limit_s)
    if first is None:
        return None
    bound, result = first.saving_bound_kg_co2e, first
    last_round_s = time.perf_counter() - t0
    for round_ in range(DIVE_ROUNDS + 1):
        tonnes = np.zeros(problem.n_x)
        tonnes[keep] = result.tonnes
        below = _below(problem, tonnes)
        if not below.any():
            return _found(problem, tonnes, result.stock, bound, result.solver, t0)
        # Another round only if one more fits in the time (about as long as the last).
        if round_ == DIVE_ROUNDS or deadline - time.perf_counter() < last_round_s:
            return _rounded_down(problem, tonnes, result.stock, below, bound, result.solver, t0)
        started = time.perf_counter()
        again = _solve_lp(_relaxed(problem, keep[~below[keep]]), deadline - started)
        if again is None:
            return _rounded_down(problem, tonnes, result.stock, below, bound, result.solver, t0)
        keep, result = keep[~below[keep]], again
        last_round_s = time.perf_counter() - started
    return _bound_only(bound, t0)


def _bound_only(bound: float, t0: float) -> LotDive:
    """No schedule (out of time, or rounding down would break a plant's balance),
    but the LP's bound holds."""
    return LotDive(None, None, -np.inf, bound, "none", time.perf_counter() - t0)


def _below(problem: PeriodProblem, x: np.ndarray) -> np.ndarray:
    return (x > 0) & (x < problem.lot * (1 - 1e-9))


def _rounded_down(problem, x, stock, below, bound, solver, t0) -> LotDive:
    """The dive's last schedule with the columns still below their lot set to 0, and
    demand stores cut to what they still received (a forward pass: stock at the end
    of t at most what came in during t plus what was kept from t-1, so no period
    uses a negative amount, and none uses more than before). Only where no such
    column touches a plant (a plant's output rests on its input): else the bound only."""
    if (problem.source[below] >= problem.n_supplies).any() or (
        problem.sink[below] >= problem.n_demands
    ).any():
        return _bound_only(bound, t0)
    x = np.where(below, 0.0, x)
    stock = stock.copy()
    for k in np.flatnonzero(np.array(problem.store_kind) == "demand").tolist():
        j, keep = int(problem.store_node[k]), 1.0 - float(problem.store_loss[k])
        into = problem.sink == j
        received = np.bincount(problem.period[into], weights=x[into], minlength=problem.count)
        carried = 0.0
        for t in range(problem.count - 1):
            stock[k, t] = max(0.0, min(stock[k, t], received[t] + carried))
            carried = keep * stock[k, t]
    return _found(problem, x, stock, bound, solver, t0)


def _found(problem, tonnes, stock, bound, solver, t0) -> LotDive:
    saving = achieved_saving(problem, tonnes, stock)
    seconds = time.perf_counter() - t0
    return LotDive(tonnes, stock, saving, max(bound, saving), solver, seconds)


def _highs_dive(problem: PeriodProblem, relaxed: PeriodProblem, t0: float, deadline: float):
    """The dive on one HiGHS model, built once: each round closes the removed
    columns (bounds 0) and re-solves from the last basis, where rebuilding the PuLP
    model would cost seconds a round."""
    with gc_paused():
        model = PeriodModel(relaxed)
    prob = model.prob
    columns = model.xs + model.stock_vars
    if not columns:
        return None
    prob.setObjective(model.co2e_objective())
    outcome = run_highs(prob, columns, max(deadline - time.perf_counter(), 0.01), 0.0, False)
    if outcome.status != "optimal" or outcome.objective_bound is None:
        return None
    bound = -outcome.objective_bound
    h = prob.solverModel
    x_index = np.fromiter((v.index for v in model.xs), dtype=np.int32, count=len(model.xs))
    all_index = np.fromiter((v.index for v in columns), dtype=np.int64, count=len(columns))
    values = outcome.values

    def resolve() -> np.ndarray | None:
        left = deadline - time.perf_counter()
        if left <= 0:
            return None
        h.setOptionValue("time_limit", float(left))
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        return np.asarray(h.getSolution().col_value)[all_index]

    for round_ in range(HIGHS_DIVE_ROUNDS + 1):
        x, stock = model.unpack(values)
        below = _below(problem, x)
        if not below.any():
            return _found(problem, x, stock, bound, "pulp-highs", t0)
        if round_ == HIGHS_DIVE_ROUNDS:
            done = _rounded_down(problem, x, stock, below, bound, "pulp-highs", t0)
            if done.tonnes is not None:
                return done
            # A plant in the way: decide every lot (carrying at least it: open, at
            # least the lot; else closed) and solve that LP, lot-feasible by its bounds.
            lotted = problem.lot > 0
            at_lot = lotted & (x >= problem.lot * (1 - 1e-9))
            shut = lotted & ~at_lot
            h.changeColsBounds(
                int(shut.sum()), x_index[shut], np.zeros(int(shut.sum())), np.zeros(int(shut.sum()))
            )
            h.changeColsBounds(
                int(at_lot.sum()), x_index[at_lot], problem.lot[at_lot], problem.upper[at_lot]
            )
            values = resolve()
            if values is None:
                return _bound_only(bound, t0)
            x, stock = model.unpack(values)
            return _found(problem, x, stock, bound, "pulp-highs", t0)
        idx = x_index[below]
        zeros = np.zeros(len(idx))
        h.changeColsBounds(len(idx), idx, zeros, zeros)
        values = resolve()
        if values is None:
            return _bound_only(bound, t0)
    return _bound_only(bound, t0)
