"""Optimization runs: create, execute (in a worker), cancel.

Views, the API, the management command and the Celery tasks all call these.
A run's proposals are written in one transaction together with its final
status, so a failed, cancelled or interrupted run never leaves half a result.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from celery import chord
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

# The thin tasks call these services and these services queue the tasks: a module
# import both ways, each side reading the other's names only when called.
from optimizer import run_accounting, seasons, tasks
from optimizer.instance import Instance, Solution
from optimizer.models import AuditEntry, MatchProposal, OptimizationRun
from optimizer.problem import ComponentResult, assemble, prepare
from optimizer.run_parameters import clean_run_parameters
from optimizer.snapshot import build_snapshot, proposals_from_solution
from symbiosis import impact
from symbiosis.models import FactorSet
from symbiosis.roles import is_facilitator

log = logging.getLogger(__name__)

# A run redelivered this many times (its worker died each time) is given up.
MAX_ATTEMPTS = 3


class RunCancelled(Exception):
    pass


def run_create(
    *, user, parameters: dict | None = None, enqueue: bool = True, as_system: bool = False
) -> OptimizationRun:
    """A queued run; ``as_system`` is for the shell command, which has no web user."""
    if not (as_system or is_facilitator(user)):
        raise PermissionDenied("Only facilitators start optimization runs.")
    params = clean_run_parameters(parameters)
    run = OptimizationRun.objects.create(created_by=user, parameters=params, stage="queued")
    AuditEntry.objects.create(
        actor=user, action=AuditEntry.Action.RUN_STARTED, run=run, details=params
    )
    if enqueue:
        transaction.on_commit(lambda: _enqueue(run.pk))
    return run


def _enqueue(run_id: int) -> None:
    try:
        result = tasks.run_optimization.delay(run_id)
    except OperationalError as exc:
        # Broker (Redis) unreachable: no message exists, so no worker would ever
        # pick the run up; fail it now in plain words rather than leave it queued.
        log.error("run %s not queued: %s", run_id, exc)
        run_mark_failed(
            run_id=run_id,
            message="The task queue could not be reached, so the run was not started; "
            "start it again in a minute.",
        )
        return
    OptimizationRun.objects.filter(pk=run_id).update(celery_task_id=result.id or "")


def run_cancel(*, user, run: OptimizationRun) -> OptimizationRun:
    if not is_facilitator(user):
        raise PermissionDenied("Only facilitators cancel runs.")
    with transaction.atomic():
        run = OptimizationRun.objects.select_for_update().get(pk=run.pk)
        if run.is_finished:
            raise ValidationError("This run has already finished.")
        run.status = OptimizationRun.Status.CANCELLED
        run.stage = "cancelled"
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "stage", "finished_at"])
        AuditEntry.objects.create(actor=user, action=AuditEntry.Action.RUN_CANCELLED, run=run)
    return run


def _progress(run_id: int, stage: str, percent: int, **fields) -> None:
    """Record progress; stop here if a facilitator cancelled the run meanwhile."""
    updated = OptimizationRun.objects.filter(
        pk=run_id, status=OptimizationRun.Status.RUNNING
    ).update(stage=stage, progress_percent=percent, **fields)
    if not updated:
        raise RunCancelled


def _claim(run_id: int) -> OptimizationRun | None:
    """Mark the run running, or None when there is nothing (more) to do."""
    with transaction.atomic():
        run = OptimizationRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.is_finished:
            return None
        if run.stats.get("attempts", 0) >= MAX_ATTEMPTS:
            _fail(run, f"Gave up after {MAX_ATTEMPTS} attempts: the worker stopped each time.")
            return None
        run.stats = {**run.stats, "attempts": run.stats.get("attempts", 0) + 1}
        run.status = OptimizationRun.Status.RUNNING
        run.started_at = timezone.now()
        run.stage, run.progress_percent, run.error = "snapshot", 5, ""
        run.save()
    return run


def _fail(run: OptimizationRun, message: str) -> None:
    OptimizationRun.objects.filter(pk=run.pk).exclude(
        status__in=[OptimizationRun.Status.SUCCEEDED, OptimizationRun.Status.CANCELLED]
    ).update(
        status=OptimizationRun.Status.FAILED,
        stage="failed",
        error=message,
        finished_at=timezone.now(),
    )


def run_snapshot(run: OptimizationRun) -> Instance:
    """Snapshot the listings into the run: its instance."""
    factor_set = FactorSet.objects.filter(is_active=True).first()
    if factor_set is None:
        raise ValueError("No active emission factor set: run `manage.py load_factors` first.")
    snapshot = build_snapshot(factor_set=factor_set, parameters=run.parameters)
    _progress(
        run.pk,
        "candidates",
        15,
        factor_set=factor_set,
        input_snapshot=snapshot.instance,
        input_sha256=snapshot.sha256,
    )
    OptimizationRun.objects.filter(pk=run.pk).update(
        stats={**run.stats, "snapshot_notes": dict(snapshot.notes)}
    )
    return Instance.from_dict(snapshot.instance)


def run_prepare(run: OptimizationRun, instance: Instance | None = None):
    """Snapshot the listings into the run (unless ``instance`` is already its
    snapshot) and prepare the model's components."""
    instance = run_snapshot(run) if instance is None else instance
    if instance.seasons is not None:
        # A run by month: its time-expanded problem in independent pieces, which
        # the chord spreads over workers as it does a one-period run's components.
        # Heavy (PuLP, OR-Tools): loaded where a run is solved.
        from optimizer.solve_periods import prepare_periods

        return instance, prepare_periods(instance)
    return instance, prepare(instance)


def run_execute(*, run_id: int) -> None:
    """The whole run in this process: snapshot, candidates, solve, save."""
    # Heavy (PuLP, OR-Tools, HiGHS): loaded where a run is solved, not by every web process.
    from optimizer.orchestrate import solve_prepared, solve_prepared_periods

    run = _claim(run_id)
    if run is None:
        return
    try:
        instance = run_snapshot(run)
        params = run.parameters
        if instance.seasons is None and priced(instance):
            # Priced (optimizer.pricing): no arc is enumerated here; each material
            # group finds its own arcs where it is solved.
            _solve_groups(run_id, instance, params)
            return
        instance, prepared = run_prepare(run, instance)
        by_month = instance.seasons is not None
        if use_parallel(prepared):
            _dispatch_parallel(run_id, prepared, params, by_month=by_month)
            return
        if by_month:
            _progress(run_id, "solving by month", 20)
            solution = solve_prepared_periods(
                prepared,
                solver=params["solver"],
                time_limit_s=params["time_limit_s"],
                mip_gap=params["mip_gap"],
            )
            run_finish(run_id=run_id, solution=solution)
            return
        n = max(len(prepared.problems), 1)

        def on_component(done: int, total: int) -> None:
            _progress(run_id, f"solving ({done}/{total} components)", 20 + 70 * done // n)

        _progress(run_id, "solving", 20)
        solution = solve_prepared(
            prepared,
            solver=params["solver"],
            time_limit_s=params["time_limit_s"],
            mip_gap=params["mip_gap"],
            on_component=on_component,
        )
        run_finish(run_id=run_id, solution=solution)
    except RunCancelled:
        log.info("run %s cancelled", run_id)
    except Exception as exc:  # the run records what went wrong, in plain words
        log.exception("run %s failed", run_id)
        _fail(run, _plain_error(exc))


def _plain_error(exc: Exception) -> str:
    if isinstance(exc, ValueError):
        return f"The input could not be optimized: {exc}"
    return f"The optimizer stopped with an unexpected error ({type(exc).__name__}: {exc})."


def run_finish(*, run_id: int, solution: Solution) -> None:
    """Write proposals and totals in one transaction, unless the run was cancelled.

    The solver's objective, baseline, bound and gap are stored as it reported
    them; the headline figures (``saved_kg_co2e``, ``tonnes_moved``,
    ``landfill_tonnes_avoided``, ``stats["proposals"]``) are the exchanges
    between organizations, internal reuse (proposed only with
    ``allow_internal``) being in ``stats["internal"]`` (``internal_totals``).
    """
    with transaction.atomic():
        run = OptimizationRun.objects.select_for_update().get(pk=run_id)
        if run.status != OptimizationRun.Status.RUNNING:
            return
        if solution.status == "infeasible":
            run.status = OptimizationRun.Status.FAILED
            run.error = f"No feasible exchange plan: {solution.message or 'infeasible'}"
            proposals = []
        else:
            run.status = OptimizationRun.Status.SUCCEEDED
            proposals = proposals_from_solution(
                run=run, instance=run.input_snapshot, solution=solution
            )
        MatchProposal.objects.filter(run=run).delete()
        MatchProposal.objects.bulk_create(proposals, batch_size=2000)
        owners = run_accounting.owners_of(proposals)
        internal = run_accounting.internal_totals(proposals, owners=owners)
        run.solver = solution.stats.get("solver", "")
        run.solver_status = solution.status
        run.objective_kg_co2e = solution.objective_kg_co2e
        run.baseline_kg_co2e = solution.baseline_kg_co2e
        run.bound_kg_co2e = solution.bound_kg_co2e
        run.gap = solution.gap
        # The headline figures are the proposals' own breakdowns (symbiosis.impact,
        # as a deal and the city count them) of the exchanges between organizations;
        # internal reuse (allowed by the run's parameters) is kept apart in stats.
        between = [p for p in proposals if not run_accounting.is_internal(p, owners)]
        accounting = run_accounting.accounting_totals(between, run.factor_set)
        stores = None
        if solution.periods is not None:
            # A run by month: its headline is net of what its stores emit and lose
            # (docs/accounting.md, "Stores in runs by month").
            stores = run_accounting.store_account(proposals, solution, run.input_snapshot, owners)
            accounting = run_accounting.net_of_stores(accounting, stores["totals"])
        run.saved_kg_co2e = accounting["kg_co2e_saved"]
        run.tonnes_moved = accounting["tonnes_moved"]
        run.landfill_tonnes_avoided = accounting["tonnes_by_category"][impact.KEPT_OUT_OF_LANDFILL]
        run.stats = {
            **run.stats,
            **solution.stats,
            "proposals": len(proposals) - internal["proposals"],
            "internal": internal,
            "accounting": accounting,
        }
        if stores is not None:  # a run by month: its months and stores
            run.stats["by_month"] = seasons.month_totals(between, solution, stores)
            run.stats["stock"] = solution.stock or []
            run.stats["stores"] = stores["lines"]
        run.stage = "done" if proposals or solution.status != "infeasible" else "failed"
        run.progress_percent = 100
        run.finished_at = timezone.now()
        run.save()


def use_parallel(prepared) -> bool:
    """Spread components over workers when there are several and enough work."""
    if len(prepared.problems) < 2 or not settings.OPTIMIZER_PARALLEL:
        return False
    return sum(p.n_arcs for p in prepared.problems) >= settings.OPTIMIZER_PARALLEL_MIN_ARCS


def _dispatch_parallel(run_id: int, prepared, params: dict, *, by_month: bool = False) -> None:
    """A Celery chord: one task per component (a run by month: per piece of its
    time-expanded problem), then one that merges and saves."""
    total_arcs = sum(p.n_arcs for p in prepared.problems)
    solve_task = tasks.solve_period_component_task if by_month else tasks.solve_component_task
    header = [
        solve_task.s(
            p.to_dict(),
            params["solver"],
            # Components run side by side, so each may use its share of the whole limit.
            max(params["time_limit_s"] * p.n_arcs / total_arcs, 1.0),
            params["mip_gap"],
        )
        for p in prepared.problems
    ]
    _chord(
        run_id, header, f"solving {len(header)} components in parallel", tasks.finish_parallel_run
    )


def _chord(run_id: int, header: list, stage: str, callback_task) -> None:
    """Send the header's tasks; ``callback_task`` merges their results (a failure in
    any marks the run failed)."""
    _progress(run_id, stage, 25)
    callback = callback_task.s(run_id)
    callback.link_error(tasks.mark_run_failed.si(run_id))
    chord(header)(callback)


def _finish_merged(run_id: int, merge: Callable[[Instance], Solution]) -> None:
    """A chord's callback: the run's instance from its snapshot, ``merge`` of the
    tasks' results into one Solution, saved by ``run_finish`` (unless cancelled)."""
    run = OptimizationRun.objects.get(pk=run_id)
    if run.status != OptimizationRun.Status.RUNNING:
        return
    try:
        _progress(run_id, "merging", 92)
        solution = merge(Instance.from_dict(run.input_snapshot))
        solution.stats["seconds"]["total"] = run.elapsed_s
        run_finish(run_id=run_id, solution=solution)
    except RunCancelled:
        pass
    except Exception as exc:
        log.exception("run %s failed while merging", run_id)
        _fail(run, _plain_error(exc))


def run_finish_parallel(*, run_id: int, results: list[dict]) -> None:
    """Merge the component results of a chord; the snapshot is re-prepared (deterministic)."""

    def merge(instance: Instance) -> Solution:
        if instance.seasons is not None:
            from optimizer.build_periods import PeriodResult  # heavy, as above
            from optimizer.solve_periods import assemble_period_results, prepare_periods

            # The run's gap is the summed one, as in-process (optimizer.period_turns).
            solution = assemble_period_results(
                prepare_periods(instance),
                [PeriodResult.from_dict(r) for r in results],
                mip_gap=instance.parameters.mip_gap,
            )
        else:
            solution = assemble(prepare(instance), [ComponentResult.from_dict(r) for r in results])
        solution.stats["parallel_components"] = len(results)
        return solution

    _finish_merged(run_id, merge)


def priced(instance: Instance) -> bool:
    """Whether the run's arcs are priced rather than enumerated (``OPTIMIZER_PRICING``),
    whole or group by group (``orchestrate.priced_in_parts``)."""
    from optimizer import orchestrate  # heavy (HiGHS, SciPy), as above
    from optimizer.pricing import use_pricing

    whole, decision = use_pricing(instance, settings.OPTIMIZER_PRICING)
    return whole or orchestrate.priced_in_parts(instance, decision)


def _solve_groups(run_id: int, instance: Instance, params: dict) -> None:
    """A priced run: its material groups (``optimizer.groups``) as a Celery chord, one
    task per group, largest first, whose callback merges their solutions; or, with
    ``OPTIMIZER_PARALLEL`` off, one after the other in this process."""
    from optimizer import orchestrate
    from optimizer.groups import material_groups, pair_count

    groups = sorted(material_groups(instance), key=lambda g: -pair_count(g))
    limits = orchestrate.group_time_limits(groups, params["time_limit_s"])
    if not settings.OPTIMIZER_PARALLEL:

        def on_group(done: int, total: int) -> None:
            _progress(run_id, f"solving ({done}/{total} groups)", 20 + 70 * done // total)

        _progress(run_id, "solving", 20)
        solution = orchestrate.solve_groups(
            instance,
            solver=params["solver"],
            mip_gap=params["mip_gap"],
            pricing=settings.OPTIMIZER_PRICING,
            on_group=on_group,
            deadline_epoch_s=time.time() + params["time_limit_s"],
        )
        run_finish(run_id=run_id, solution=solution)
        return
    header = [
        tasks.solve_group_task.s(
            g.to_dict(),
            params["solver"],
            # Side by side: a transport LP group may use the whole limit (its pricing
            # rounds stop there), a group with lots or plants its share of it.
            limit,
            params["mip_gap"],
            settings.OPTIMIZER_PRICING,
        )
        for g, limit in zip(groups, limits, strict=True)
    ]
    _chord(run_id, header, f"solving {len(header)} groups", tasks.finish_group_run)


def run_finish_groups(*, run_id: int, results: list[dict]) -> None:
    """Merge the group solutions of a chord (``optimizer.groups.merge``) and save."""
    from optimizer import groups

    def merge(instance: Instance) -> Solution:
        solution = groups.merge(instance, [Solution.from_dict(r) for r in results])
        solution.stats["parallel_groups"] = len(results)
        return solution

    _finish_merged(run_id, merge)


def run_mark_failed(*, run_id: int, message: str) -> None:
    run = OptimizationRun.objects.filter(pk=run_id).first()
    if run is not None:
        _fail(run, message)


def wait_for(run_id: int, timeout_s: float = 120.0, poll_s: float = 0.25) -> OptimizationRun:
    """Poll until the run finishes (for the command line and tests)."""
    deadline = time.monotonic() + timeout_s
    while True:
        run = OptimizationRun.objects.get(pk=run_id)
        if run.is_finished or time.monotonic() > deadline:
            return run
        time.sleep(poll_s)
