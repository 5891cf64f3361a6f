"""The whole in-process run: prepare an instance, batch its small components,
share the time limit among them, solve them in turn or in a process pool, and
assemble one Solution.

``solve(instance)`` is the entry point; ``solve_prepared`` takes components
already prepared (``optimizer.problem``), as the Celery path does. A priced run
(``optimizer.pricing``) goes group by group (``solve_groups``: the material
groups of ``optimizer.groups``, each priced or enumerated and solved on its own). Each
component is solved by ``optimizer.component.solve_component``. An instance
with periods goes to ``solve_periods``: its pieces (``optimizer.period_problem``)
share the time by ``optimizer.period_turns`` (lot pieces dived first, then the MIP
where the summed gap is), in turn or in a process pool.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed

from optimizer import period_turns
from optimizer.component import (
    MIN_COMPONENT_TIME_S,
    SOLVERS,
    solve_component,
    solve_component_before,
)
from optimizer.groups import describe, material_groups, merge, pair_count
from optimizer.instance import Instance, Solution
from optimizer.period_problem import SMALL_BATCH_COLUMNS
from optimizer.pricing import prepare_priced, unpriceable_reason, use_pricing
from optimizer.problem import (
    ComponentProblem,
    ComponentResult,
    Prepared,
    assemble,
    merge_problems,
    prepare,
)
from optimizer.solve_periods import PreparedPeriods, assemble_period_results, prepare_periods

# Lot-free components smaller than this are merged into flow problems of about this size.
SMALL_BATCH_ARCS = 50_000


# A priced instance's material groups (``solve_groups``) are priced under ``auto`` down to
# this many same-material pairs, below which enumerating is cheaper than a pricing round.
# Not by each group's own estimate against PRICING_MIN_ARCS: at 10,000 x 10,000 (5 groups
# of about 1 M arcs, 2 shared cores, load average about 3) the groups enumerated took
# 16.4 s and 428 MiB, priced 12.5 s and 222 MiB.
GROUP_PRICING_MIN_PAIRS = 50_000


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
    pricing: str = "auto",
) -> Solution:
    """Prepare and solve an instance in-process; see ``solve_prepared``. ``pricing``
    (auto | on | off): find the arcs by pricing rather than enumerate them all
    (``optimizer.pricing``; auto: for transport LPs of ``PRICING_MIN_ARCS`` arcs up)."""
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}; use one of {SOLVERS}")
    if instance.seasons is not None:
        # Periods: the time-expanded model; an instance without them never comes here.
        return solve_periods(instance, solver, time_limit_s, mip_gap, workers)
    started = time.perf_counter()
    limit = instance.parameters.time_limit_s if time_limit_s is None else time_limit_s
    deadline = time.time() + limit  # wall clock: comparable across processes
    priced, decision = use_pricing(instance, pricing)
    if priced or priced_in_parts(instance, decision):
        return solve_groups(
            instance, solver, mip_gap, workers, pricing, started=started, deadline_epoch_s=deadline
        )
    prepared = prepare(instance)
    prepared.pricing = decision
    return solve_prepared(
        prepared,
        solver,
        time_limit_s,
        mip_gap,
        workers,
        started=started,
        deadline_epoch_s=deadline,
    )


def priced_in_parts(instance: Instance, decision: dict | None) -> bool:
    """Whether an instance that cannot be priced whole is priced group by group: its
    pricing was in question (``decision``, from ``use_pricing``: large enough, or asked
    for) and only lots or plants stood in the way, which belong to some material
    groups. The other groups are then priced and those enumerated, each saying why in
    ``stats.pricing.groups``."""
    if decision is None or decision.get("used") or instance.parameters.objective != "co2e":
        return False
    groups = material_groups(instance)
    return len(groups) > 1 and any(unpriceable_reason(g) is None for g in groups)


def takes_a_time_share(group: Instance) -> bool:
    """A group with lots or plants is solved by a MILP or LP solver that uses the time
    it is given; a transport LP group ends when its flows (and rounds) are done."""
    return bool(group.processors) or bool((group.demand_min_lot_tonnes > 0).any())


def _group_order(groups: list[Instance]) -> list[Instance]:
    """Transport LP groups first (fast; what they leave of the time passes on), then
    the others, each largest first."""
    return sorted(groups, key=lambda g: (takes_a_time_share(g), -pair_count(g)))


def _group_deadline(group, deadline: float, shared_pairs_left: int, workers: int = 1) -> float:
    """The deadline of a group started now: the run's for a transport LP group, for the
    others their share of the time left by pairs (times ``workers`` running side by
    side), as MILP components share it (``_solve_in_turn``)."""
    if not takes_a_time_share(group):
        return deadline
    left = max(deadline - time.time(), 0.0)
    share = left * workers * pair_count(group) / max(shared_pairs_left, 1)
    return min(deadline, time.time() + max(share, MIN_COMPONENT_TIME_S))


def group_time_limits(groups: list[Instance], time_limit_s: float) -> list[float]:
    """Each group's time limit when all run side by side (Celery): the whole limit for
    a transport LP group, a share by pairs for the others (at least 1 s)."""
    shared = sum(pair_count(g) for g in groups if takes_a_time_share(g))
    return [
        max(time_limit_s * pair_count(g) / max(shared, 1), 1.0)
        if takes_a_time_share(g)
        else time_limit_s
        for g in groups
    ]


def solve_groups(
    instance: Instance,
    solver: str = "auto",
    mip_gap: float | None = None,
    workers: int = 1,
    pricing: str = "auto",
    on_group: Callable[[int, int], None] | None = None,
    *,
    started: float | None = None,
    deadline_epoch_s: float | None = None,
) -> Solution:
    """A priced run: the instance's material groups (``optimizer.groups``) solved one
    by one, transport LP groups first and then those with lots or plants (sharing the
    time left by size), each largest first; each priced where it can be (else
    enumerated, and saying why: ``solve_group``), its arcs gone before the next starts;
    with ``workers`` > 1 in that many processes, and the groups left over after whole
    waves with all workers on each one's flows. The groups' solutions merged into one
    (``optimizer.groups.merge``)."""
    started = time.perf_counter() if started is None else started
    mip_gap = instance.parameters.mip_gap if mip_gap is None else mip_gap
    if deadline_epoch_s is None:
        deadline_epoch_s = time.time() + instance.parameters.time_limit_s
    groups = _group_order(material_groups(instance))
    report = on_group or (lambda done, total: None)
    shared_left = sum(pair_count(g) for g in groups if takes_a_time_share(g))

    def one(group: Instance, workers: int) -> Solution:
        nonlocal shared_left
        deadline = _group_deadline(group, deadline_epoch_s, shared_left)
        if takes_a_time_share(group):
            shared_left -= pair_count(group)
        return solve_group(group, solver, mip_gap, pricing, deadline, workers)

    if workers > 1 and len(groups) > 1:
        # Whole waves of groups go to the pool; the few left over (the last in order) follow
        # one at a time with every worker on their rounds' flows, instead of one worker
        # solving the last group alone while the others wait (5 equal groups on 2
        # workers: 3 groups' time became 2 groups' and a half).
        pooled = len(groups) - (len(groups) % workers if len(groups) > workers else 0)
        # Side by side, a group with lots or plants may use its share of workers x time.
        deadlines = [
            _group_deadline(g, deadline_epoch_s, shared_left, workers) for g in groups[:pooled]
        ]
        shared_left -= sum(pair_count(g) for g in groups[:pooled] if takes_a_time_share(g))
        solutions = _groups_in_processes(
            groups[:pooled],
            solver,
            mip_gap,
            pricing,
            deadlines,
            workers,
            lambda done, _: report(done, len(groups)),
        )
        for group in groups[pooled:]:
            solutions.append(one(group, workers))
            report(len(solutions), len(groups))
    else:
        solutions = []
        for group in groups:
            solutions.append(one(group, workers))
            report(len(solutions), len(groups))
    return merge(instance, solutions, started)


def solve_group(
    group: Instance,
    solver: str,
    mip_gap: float,
    pricing: str,
    deadline_epoch_s: float,
    workers: int = 1,
) -> Solution:
    """One material group, priced (``use_pricing``; under ``auto`` unless it has fewer
    than ``GROUP_PRICING_MIN_PAIRS`` pairs), solved and assembled; its arcs are released
    on return, only its flows kept."""
    started = time.perf_counter()
    if pricing == "auto":
        # The instance is priced (or it would not be in groups): so is each group but
        # the smallest, whatever its own estimate (see GROUP_PRICING_MIN_PAIRS).
        pricing = "on" if pair_count(group) >= GROUP_PRICING_MIN_PAIRS else "off"
    priced, decision = use_pricing(group, pricing)
    if priced:
        prepared = prepare_priced(group, decision, workers, deadline_epoch_s)
    else:
        prepared = prepare(group)
        prepared.pricing = decision
    solution = solve_prepared(
        prepared, solver, None, mip_gap, workers, started=started, deadline_epoch_s=deadline_epoch_s
    )
    solution.stats["group"] = describe(group)
    return solution


def solve_group_document(
    document: dict, solver: str, time_limit_s: float, mip_gap: float, pricing: str
) -> dict:
    """A group as a Celery task gets and returns it: the group's instance as a dict,
    its solution as a dict, within ``time_limit_s`` from now."""
    group = Instance.from_dict(document)
    return solve_group(group, solver, mip_gap, pricing, time.time() + time_limit_s).to_dict()


def _groups_in_processes(groups, solver, mip_gap, pricing, deadlines, workers, report):
    context = _pool_context()
    with ProcessPoolExecutor(max_workers=min(workers, len(groups)), mp_context=context) as pool:
        # In the order given (largest first), so the small ones fill in at the end.
        futures = [
            pool.submit(solve_group, g, solver, mip_gap, pricing, deadline)
            for g, deadline in zip(groups, deadlines, strict=True)
        ]
        for done, _ in enumerate(as_completed(futures), start=1):
            report(done, len(futures))
        return [f.result() for f in futures]


def _pool_context():
    # forkserver: children start from a clean process, never from a fork of one whose
    # solver thread pools are already running (a forked HiGHS pool can deadlock).
    context = multiprocessing.get_context(
        "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    )
    if context.get_start_method() == "forkserver":
        context.set_forkserver_preload(["optimizer.component"])
    return context


def solve_periods(
    instance: Instance,
    solver: str = "auto",
    time_limit_s: float | None = None,
    mip_gap: float | None = None,
    workers: int = 1,
    *,
    whole: bool = False,
    batch_columns: int = SMALL_BATCH_COLUMNS,
) -> Solution:
    """An instance with periods: its time-expanded problem split into independent
    pieces (``whole``: one piece, the unsplit model; ``batch_columns``: see
    ``optimizer.period_problem.split``), solved in turn or in ``workers`` processes
    as components are, and assembled into one Solution."""
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}; use one of {SOLVERS}")
    started = time.perf_counter()
    limit = instance.parameters.time_limit_s if time_limit_s is None else time_limit_s
    deadline = time.time() + limit  # from before the expansion, which counts against it
    prepared = prepare_periods(instance, whole=whole, batch_columns=batch_columns)
    return solve_prepared_periods(
        prepared, solver, time_limit_s, mip_gap, workers, started=started, deadline_epoch_s=deadline
    )


def solve_prepared_periods(
    prepared: PreparedPeriods,
    solver: str = "auto",
    time_limit_s: float | None = None,
    mip_gap: float | None = None,
    workers: int = 1,
    *,
    started: float | None = None,
    deadline_epoch_s: float | None = None,
) -> Solution:
    """The pieces of an expanded period instance (``prepare_periods``) solved in turn
    or in ``workers`` processes, and assembled into one Solution; a run's service
    calls this with the pieces it has already prepared."""
    started = time.perf_counter() if started is None else started
    params = prepared.timeline.instance.parameters
    limit = params.time_limit_s if time_limit_s is None else time_limit_s
    mip_gap = params.mip_gap if mip_gap is None else mip_gap
    deadline = time.time() + limit if deadline_epoch_s is None else deadline_epoch_s
    problems = prepared.problems
    # The pieces' time is shared where the summed gap is (optimizer.period_turns).
    if workers > 1 and len(problems) > 1:
        results = period_turns.solve_in_processes(problems, solver, deadline, mip_gap, workers)
    else:
        results = period_turns.solve_in_turn(problems, solver, deadline, mip_gap)
    return assemble_period_results(prepared, results, started, mip_gap)


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
    if prepared.solved is not None:
        return assemble(prepared, prepared.solved, started)

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


def _solve_in_processes(
    problems, solver, deadline, mip_gap, workers, report
) -> list[ComponentResult]:
    context = _pool_context()
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
