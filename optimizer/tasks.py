"""Thin Celery tasks: each loads by id and calls a service."""

from celery import shared_task

from optimizer import services


# acks_late + reject_on_worker_lost: a run whose worker process dies is handed
# to another worker and started over (its proposals are written only at the end).
@shared_task(acks_late=True, reject_on_worker_lost=True)
def run_optimization(run_id: int) -> None:
    services.run_execute(run_id=run_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def solve_component_task(problem: dict, solver: str, time_limit_s: float, mip_gap: float) -> dict:
    # Heavy (PuLP, OR-Tools, HiGHS): loaded by the worker that solves, not at task import.
    from optimizer.component import solve_component
    from optimizer.problem import ComponentProblem

    result = solve_component(ComponentProblem.from_dict(problem), solver, time_limit_s, mip_gap)
    return result.to_dict()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def finish_parallel_run(results: list[dict], run_id: int) -> None:
    services.run_finish_parallel(run_id=run_id, results=results)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def solve_group_task(
    group: dict, solver: str, time_limit_s: float, mip_gap: float, pricing: str
) -> dict:
    # One material group of a priced run (optimizer.groups): its arcs found and
    # solved here, its solution back to the chord's callback.
    from optimizer.orchestrate import solve_group_document

    return solve_group_document(group, solver, time_limit_s, mip_gap, pricing)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def finish_group_run(results: list[dict], run_id: int) -> None:
    services.run_finish_groups(run_id=run_id, results=results)


@shared_task
def mark_run_failed(run_id: int) -> None:
    services.run_mark_failed(
        run_id=run_id, message="A component or group solve failed in a worker; see the worker log."
    )


@shared_task(acks_late=True, reject_on_worker_lost=True)
def solve_period_component_task(
    problem: dict, solver: str, time_limit_s: float, mip_gap: float
) -> dict:
    # One piece of an instance with periods (optimizer.period_problem), as above.
    from optimizer.period_problem import PeriodProblem
    from optimizer.solve_periods import solve_period_problem

    result = solve_period_problem(PeriodProblem.from_dict(problem), solver, time_limit_s, mip_gap)
    return result.to_dict()
