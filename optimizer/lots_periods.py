"""A bound and a first solution for a period piece with lots (``optimizer.heuristic``
for one period, adapted to time-expanded pieces with stores and plants).

The lots dropped, the piece is an LP whose optimum bounds the MILP: every
lot-feasible schedule is feasible for it. Its solution is then repaired by diving on
one HiGHS model (each round changes column bounds and re-solves from the last basis):
a column carrying less than its lot is either held open (its lower bound set to the
lot) or closed (bounds 0). Closing alone, round after round, left 1.3 to 3.3 % to
the LP bound on the 12-month bench's pieces: a demand whose need is below its lot
every month loses all its columns, where the optimum ships a lot every other month
and stores it. So per round each sink holds open its one column closest to its lot
(the LP then moves the rest of that sink's tonnes around it), columns under a quarter
of their lot close, and a column whose lot no longer fits what its ends can send or
take, given the columns already held open (``_fits``), closes too; the rest wait for
the next round. On that bench: 0.1 to 1.3 % per piece in the same seconds.

When time or rounds run out, every column still below its lot closes and that LP is
solved (closing keeps it feasible); failing that, where no plant is involved, the
columns below their lot are set to 0 and demand stores cut forward (``_rounded_down``).
What the dive ends with is lot-feasible (each column 0 or at least its lot), so it
is an incumbent; with the first LP's bound it proves a gap, sometimes within the MIP
gap asked for before any branch-and-bound, and is otherwise the MIP solver's start.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import highspy
import numpy as np

from optimizer.build import gc_paused
from optimizer.build_periods import PeriodModel, achieved_saving
from optimizer.period_problem import PeriodProblem
from optimizer.solvers import run_highs
from optimizer.timeline import DEMAND, SUPPLY

# Rounds at most (each holds at most one column open per sink; the bench's pieces
# needed 45 to 90).
DIVE_ROUNDS = 400
# A column below this share of its lot closes; above it, it waits for its sink's turn.
CLOSE_BELOW_SHARE = 0.25
# The first LP (the bound) gets at least this, however little time is left.
FIRST_LP_MIN_S = 1.0
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


def lot_dive(problem: PeriodProblem, time_limit_s: float) -> LotDive | None:
    """The LP bound and a lot-feasible schedule (``tonnes`` None when none was found
    in time), or None when not even the LP was solved."""
    t0 = time.perf_counter()
    deadline = t0 + time_limit_s
    with gc_paused():
        model = PeriodModel(_relaxed(problem, np.arange(problem.n_x)))
    prob = model.prob
    columns = model.xs + model.stock_vars
    if not columns:
        return None
    prob.setObjective(model.co2e_objective())
    first_s = max(deadline - time.perf_counter(), FIRST_LP_MIN_S)
    outcome = run_highs(prob, columns, first_s, 0.0, False)
    if outcome.status != "optimal" or outcome.objective_bound is None:
        return None
    bound = -outcome.objective_bound
    h = prob.solverModel
    x_index = np.fromiter((v.index for v in model.xs), dtype=np.int32, count=len(model.xs))
    all_index = np.fromiter((v.index for v in columns), dtype=np.int64, count=len(columns))
    lot, upper = problem.lot, problem.upper

    def resolve() -> np.ndarray | None:
        left = deadline - time.perf_counter()
        if left <= 0:
            return None
        h.setOptionValue("time_limit", float(left))
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        return np.asarray(h.getSolution().col_value)[all_index]

    def set_bounds(mask: np.ndarray, low: np.ndarray, high: np.ndarray) -> None:
        n = int(mask.sum())
        if n:
            h.changeColsBounds(n, x_index[mask], low[mask], high[mask])

    zeros = np.zeros(problem.n_x)
    room = _Room(problem)
    values, last_round_s = outcome.values, 0.0
    for round_ in range(DIVE_ROUNDS + 1):
        x = np.clip(values[: problem.n_x], 0.0, upper)
        below = _below(problem, x)
        if not below.any():
            return _found(problem, *model.unpack(values), bound, "pulp-highs", t0)
        # Another round only if one more fits in the time (about as long as the last).
        if round_ == DIVE_ROUNDS or deadline - time.perf_counter() < last_round_s:
            break
        started = time.perf_counter()
        hold, doomed = room.choose(x, below)
        close = doomed | (below & ~hold & (x < CLOSE_BELOW_SHARE * lot))
        set_bounds(close, zeros, zeros)
        set_bounds(hold, lot, upper)
        again = resolve()
        if again is None and hold.any():
            # Held open beyond what the ends can give over time (a store's loss, a
            # plant's yield: _fits is a necessary check only): close them instead.
            set_bounds(hold, zeros, zeros)
            room.release(hold)
            again = resolve()
        if again is None:
            break
        values, last_round_s = again, time.perf_counter() - started
    # Out of rounds or time: close what is still below its lot and solve that LP.
    x, stock = model.unpack(values)
    below = _below(problem, np.clip(values[: problem.n_x], 0.0, upper))
    set_bounds(below, zeros, zeros)
    again = resolve()
    if again is not None:
        return _found(problem, *model.unpack(again), bound, "pulp-highs", t0)
    return _rounded_down(problem, x, stock, below, bound, "pulp-highs", t0)


class _Room:
    """What each source can still send and each sink still take, given the columns
    held open at their lots, per period; lossless stores (a necessary check)."""

    def __init__(self, problem: PeriodProblem):
        self.problem = problem
        n_d, count = problem.n_demands, problem.count
        inf = [np.inf] * count
        self.made = problem.supply_tonnes.tolist() + [inf] * problem.n_processors
        self.taken = problem.demand_tonnes.tolist() + problem.processor_capacity.tolist()
        self.out_store = [0.0] * len(self.made)
        self.in_store = [0.0] * len(self.taken)
        for k, (kind, node) in enumerate(
            zip(problem.store_kind, problem.store_node.tolist(), strict=True)
        ):
            cap = float(problem.store_capacity[k])
            if kind == SUPPLY:
                self.out_store[node] = cap
            else:
                self.in_store[node if kind == DEMAND else n_d + node] = cap
        self.held_out = [[0.0] * count for _ in self.made]
        self.held_in = [[0.0] * count for _ in self.taken]

    def choose(self, x: np.ndarray, below: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Columns to hold open (per sink its one nearest its lot that still fits)
        and columns whose lot no longer fits (to close)."""
        p = self.problem
        hold = np.zeros(p.n_x, dtype=bool)
        doomed = np.zeros(p.n_x, dtype=bool)
        candidates = np.flatnonzero(below)
        candidates = candidates[np.argsort(-x[candidates] / p.lot[candidates], kind="stable")]
        served = set()
        for c, i, j, t, lot in zip(
            candidates.tolist(),
            p.source[candidates].tolist(),
            p.sink[candidates].tolist(),
            p.period[candidates].tolist(),
            p.lot[candidates].tolist(),
            strict=True,
        ):
            if not (
                _fits(self.held_out[i], t, lot, self.made[i], self.out_store[i], sending=True)
                and _fits(self.held_in[j], t, lot, self.taken[j], self.in_store[j], sending=False)
            ):
                doomed[c] = True
            elif j not in served:
                served.add(j)
                hold[c] = True
                self.held_out[i][t] += lot
                self.held_in[j][t] += lot
        return hold, doomed

    def release(self, hold: np.ndarray) -> None:
        p = self.problem
        for c in np.flatnonzero(hold).tolist():
            t, lot = int(p.period[c]), float(p.lot[c])
            self.held_out[int(p.source[c])][t] -= lot
            self.held_in[int(p.sink[c])][t] -= lot


def _fits(held: list, t: int, lot: float, tonnes: list, store: float, sending: bool) -> bool:
    """Can a node send (``sending``) or take what is held open plus ``lot`` in period
    t? Over every run of periods a..b around t: a source sends at most what it makes
    then plus what its store held before a; a sink takes at most its need (or a plant
    its capacity) then plus what its store holds after b (nothing after the last)."""
    count = len(tonnes)
    for a in range(t, -1, -1):
        flow = lot + sum(held[a:t])
        room = sum(tonnes[a:t])
        for b in range(t, count):
            flow += held[b]
            room += tonnes[b]
            carried = (a > 0) if sending else (b < count - 1)
            if flow > room + (store if carried else 0.0) + 1e-9:
                return False
    return True


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
