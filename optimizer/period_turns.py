"""How a run's time is shared among the pieces of an instance with periods
(``optimizer.period_problem``), in one process or in a pool.

The run's proven gap is the sum's: the pieces' bounds summed against their savings
summed. So time goes where the sum's gap is, in two phases:

1. Pieces without lots (exact flow or LP: they finish) first, with all the time
   left; pieces that go straight to a MIP (no dive: CBC, or "tonnes first") next, by
   size; then every lot piece is dived (``optimizer.lots_periods``), smallest first,
   each with the time left by its size among those still to dive (a dive stops by
   itself once its schedule is lot-feasible and passes the rest on; all of it, not a
   part kept for the MIP: on the bench the dive is what closes the gap, and one run
   under heavy load with 3/4 of it ended at 2.2 %). The dives give each piece a
   schedule and the LP's bound.
2. What is left goes to the MIP (``optimizer.solve_periods.improve_dive``) of the
   pieces whose gap counts most: a piece without a dive schedule first (by size),
   then the piece with the largest absolute gap, with a share of the time in
   proportion to it, piece after piece, until the summed gap is proven within the
   MIP gap asked for or the time is up. A piece not taken keeps its dive schedule.

Before, the pieces ran smallest first, each its dive and then its MIP with a share by
size: on the 12-month bench city (1,000 x 1,000, plants and lots) the small pieces'
MIPs found nothing in 8 to 10 s each while the largest, run last, finished early:
18 s of the 60 unused, proven gap 1.86 %.

``improvement_plan`` and ``dive_budget`` are pure (the tests call them with made-up
pieces); ``solve_in_turn`` takes a clock for the same reason.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from optimizer.build_periods import PeriodResult
from optimizer.component import MIN_COMPONENT_TIME_S, relative_gap
from optimizer.lots_periods import LotDive, lot_dive
from optimizer.period_problem import PeriodProblem
from optimizer.solve_periods import (
    dive_result,
    dives_first,
    improve_dive,
    solve_period_problem,
)


@dataclass(frozen=True)
class Piece:
    """What the plan needs of a dived piece: its size, its schedule's saving and
    proven bound (``scheduled`` False: the dive found none), whether it is done."""

    size: int
    saving_kg_co2e: float
    bound_kg_co2e: float
    scheduled: bool = True
    done: bool = False


def dive_budget(left_s: float, size: int, sizes_to_dive: int) -> float:
    """A piece's dive: the time left, by its share of the columns still to dive
    (itself included)."""
    return left_s * size / max(sizes_to_dive, 1)


def improvement_plan(
    pieces: list[Piece], left_s: float, mip_gap: float, workers: int = 1
) -> list[tuple[int, float]]:
    """Which dived pieces go to the MIP next, in order, each with its time budget:
    those without a schedule first (largest first; by size), then, while the summed
    gap is not within ``mip_gap`` and time is left, those whose own gap is not, largest
    absolute gap first (by that gap). ``workers`` pieces run at once, so the shares are
    of ``workers`` x the time left, never more than the time left."""
    pending = [k for k, p in enumerate(pieces) if not p.done]
    capacity = left_s * workers
    unscheduled = sorted(
        (k for k in pending if not pieces[k].scheduled), key=lambda k: -pieces[k].size
    )
    pending_size = sum(pieces[k].size for k in pending)
    plan = [
        (
            k,
            max(
                min(left_s, capacity * pieces[k].size / max(pending_size, 1)), MIN_COMPONENT_TIME_S
            ),
        )
        for k in unscheduled
    ]
    scheduled = [p for p in pieces if p.scheduled]
    saving = sum(p.saving_kg_co2e for p in scheduled)
    bound = sum(p.bound_kg_co2e for p in scheduled)
    if left_s <= MIN_COMPONENT_TIME_S or (
        not unscheduled and relative_gap(saving, bound) <= mip_gap
    ):
        return plan
    gaps = {
        k: pieces[k].bound_kg_co2e - pieces[k].saving_kg_co2e
        for k in pending
        if pieces[k].scheduled
        and relative_gap(pieces[k].saving_kg_co2e, pieces[k].bound_kg_co2e) > mip_gap
    }
    total = sum(gaps.values())
    for k in sorted(gaps, key=lambda k: (-gaps[k], k)):
        plan.append((k, max(min(left_s, capacity * gaps[k] / total), MIN_COMPONENT_TIME_S)))
    return plan


def _piece(problem: PeriodProblem, dive: LotDive | None) -> Piece:
    if dive is None or dive.tonnes is None:
        return Piece(problem.n_x, 0.0, 0.0, scheduled=False)
    return Piece(problem.n_x, dive.saving_kg_co2e, dive.saving_bound_kg_co2e)


def _done(problem: PeriodProblem, result: PeriodResult) -> Piece:
    return Piece(problem.n_x, result.saving_kg_co2e, result.saving_bound_kg_co2e, done=True)


def _name(solver: str) -> str:
    return "cbc" if solver == "cbc" else "highs"


def solve_in_turn(
    problems: list[PeriodProblem],
    solver: str,
    deadline_epoch_s: float,
    mip_gap: float,
    report: Callable[[int, int], None] = lambda done, total: None,
    clock: Callable[[], float] = time.time,
) -> list[PeriodResult]:
    """The pieces in one process, in the two phases of the module's docstring."""
    results: list[PeriodResult | None] = [None] * len(problems)
    dived = [k for k in range(len(problems)) if dives_first(problems[k], solver)]
    others = sorted(set(range(len(problems))) - set(dived))
    finished = 0

    def left() -> float:
        return max(deadline_epoch_s - clock(), 0.0)

    def record(k: int, result: PeriodResult) -> None:
        nonlocal finished
        results[k] = result
        finished += 1
        report(finished, len(problems))

    # Phase 1: the others (LPs first), then the dives.
    mip_size = sum(problems[k].n_x for k in range(len(problems)) if problems[k].has_lots)
    for k in sorted(others, key=lambda k: (problems[k].has_lots, problems[k].n_x)):
        share = left()
        if problems[k].has_lots:
            share = left() * problems[k].n_x / max(mip_size, 1)
            mip_size -= problems[k].n_x
        budget = max(share, MIN_COMPONENT_TIME_S)
        record(k, solve_period_problem(problems[k], solver, budget, mip_gap))
    dives: dict[int, LotDive | None] = {}
    to_dive = sum(problems[k].n_x for k in dived)
    for k in sorted(dived, key=lambda k: problems[k].n_x):
        budget = max(dive_budget(left(), problems[k].n_x, to_dive), MIN_COMPONENT_TIME_S)
        dives[k] = lot_dive(problems[k], budget)
        to_dive -= problems[k].n_x

    # Phase 2: the MIPs where the summed gap is.
    pieces = {k: _piece(problems[k], dives[k]) for k in dived}
    while True:
        order = list(pieces)
        plan = improvement_plan([pieces[k] for k in order], left(), mip_gap)
        if not plan:
            break
        k, budget = order[plan[0][0]], plan[0][1]
        record(k, improve_dive(problems[k], dives[k], _name(solver), budget, mip_gap))
        pieces[k] = _done(problems[k], results[k])
    status = "time_limit" if left() <= MIN_COMPONENT_TIME_S else "feasible"
    for k in dived:
        if results[k] is None:
            record(k, dive_result(problems[k], dives[k], mip_gap, status))
    return results


def lot_dive_before(
    problem: PeriodProblem, deadline_epoch_s: float, budget_s: float
) -> LotDive | None:
    """``lot_dive`` given ``budget_s`` but never past a wall-clock deadline."""
    left = min(deadline_epoch_s - time.time(), budget_s)
    return lot_dive(problem, max(left, MIN_COMPONENT_TIME_S))


def improve_dive_before(
    problem: PeriodProblem,
    dive: LotDive | None,
    solver: str,
    deadline_epoch_s: float,
    mip_gap: float,
    budget_s: float,
) -> PeriodResult:
    """``improve_dive`` given ``budget_s`` but never past a wall-clock deadline."""
    left = min(deadline_epoch_s - time.time(), budget_s)
    return improve_dive(problem, dive, solver, max(left, MIN_COMPONENT_TIME_S), mip_gap)


def solve_before(
    problem: PeriodProblem, solver: str, deadline_epoch_s: float, mip_gap: float, budget_s: float
) -> PeriodResult:
    left = min(deadline_epoch_s - time.time(), budget_s)
    return solve_period_problem(problem, solver, max(left, MIN_COMPONENT_TIME_S), mip_gap)


def solve_in_processes(
    problems: list[PeriodProblem],
    solver: str,
    deadline_epoch_s: float,
    mip_gap: float,
    workers: int,
    report: Callable[[int, int], None] = lambda done, total: None,
) -> list[PeriodResult]:
    """The pieces in ``workers`` processes, in the same two phases: every piece's
    solve or dive at once (largest first; shares of workers x the time left by
    size), then the MIPs of ``improvement_plan`` at once."""
    # forkserver: children start from a clean process, never from a fork of one whose
    # solver thread pools are already running (a forked HiGHS pool can deadlock).
    context = multiprocessing.get_context(
        "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    )
    if context.get_start_method() == "forkserver":
        context.set_forkserver_preload(["optimizer.period_turns"])
    results: list[PeriodResult | None] = [None] * len(problems)
    dived = [k for k in range(len(problems)) if dives_first(problems[k], solver)]
    order = sorted(range(len(problems)), key=lambda k: -problems[k].n_x)
    workers = min(workers, len(problems))
    left = max(deadline_epoch_s - time.time(), 0.0)
    lot_size = max(sum(p.n_x for p in problems if p.has_lots), 1)
    finished = 0
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {}
        for k in order:
            p = problems[k]
            share = left * workers * p.n_x / lot_size
            if k in dived:
                args = (lot_dive_before, p, deadline_epoch_s, share)
            else:
                budget = share if p.has_lots else left
                args = (solve_before, p, solver, deadline_epoch_s, mip_gap, budget)
            futures[k] = pool.submit(*args)
        dives = {}
        for k, future in futures.items():
            if k in dived:
                dives[k] = future.result()
            else:
                results[k] = future.result()
                finished += 1
                report(finished, len(problems))
        pieces = [_piece(problems[k], dives[k]) for k in dived]
        left = max(deadline_epoch_s - time.time(), 0.0)
        plan = improvement_plan(pieces, left, mip_gap, workers)
        futures = {
            dived[i]: pool.submit(
                improve_dive_before,
                problems[dived[i]],
                dives[dived[i]],
                _name(solver),
                deadline_epoch_s,
                mip_gap,
                budget,
            )
            for i, budget in plan
        }
        for k, future in futures.items():
            results[k] = future.result()
            finished += 1
            report(finished, len(problems))
    status = "time_limit" if deadline_epoch_s - time.time() <= MIN_COMPONENT_TIME_S else "feasible"
    for k in dived:
        if results[k] is None:
            results[k] = dive_result(problems[k], dives[k], mip_gap, status)
    return results
