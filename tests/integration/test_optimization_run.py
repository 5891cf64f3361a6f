"""A real Celery worker runs an optimization over the Almaty demo data."""

import datetime as dt
import os
import signal
import subprocess
import time

import pytest
from django.db import transaction
from django.db.models import Sum
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from optimizer import services
from optimizer.groups import material_groups
from optimizer.instance import Instance
from optimizer.models import MatchProposal, OptimizationRun
from optimizer.orchestrate import solve
from symbiosis import impact
from tests.demo_snapshot import load_demo

pytestmark = pytest.mark.integration


def _facilitator():
    from symbiosis.models import User

    return User.objects.get(email="facilitator@demo.kz")


def _wait(run_id, predicate, timeout_s=120, poll_s=0.1):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        run = OptimizationRun.objects.get(pk=run_id)
        if predicate(run):
            return run
        time.sleep(poll_s)
    raise AssertionError(f"run {run_id} did not get there: {run.status} {run.stage} {run.error}")


def _check_totals_consistent(run):
    proposals = list(run.proposals.all())
    assert proposals, "the demo data must yield proposals"
    totals = run.proposals.aggregate(
        saved=Sum("net_kg_co2e_saved"), landfill=Sum("tonnes_diverted_from_landfill")
    )
    leaving_supplies = sum(p.tonnes for p in proposals if p.kind != "from_processor")
    assert leaving_supplies == pytest.approx(run.tonnes_moved, rel=1e-9)
    assert totals["saved"] == pytest.approx(run.saved_kg_co2e, rel=1e-9)
    assert totals["landfill"] == pytest.approx(run.landfill_tonnes_avoided, rel=1e-9)
    doc = run.input_snapshot
    supplies = {s["id"]: s for s in doc["supplies"]}
    sinks = {d["id"]: d for d in doc["demands"]}
    sinks.update(
        {p["id"][1:]: {**p, "tonnes": p["capacity_tonnes"]} for p in doc.get("processors", [])}
    )
    transport = doc["parameters"]["transport_kg_co2e_per_tkm"]
    sent, received = {}, {}
    for p in proposals:
        d = sinks[str(p.demand_id)]
        received[p.demand_id] = received.get(p.demand_id, 0) + p.tonnes
        if p.kind == "from_processor":
            continue  # the output of a plant; its inputs are checked below
        s = supplies[str(p.supply_id)]
        sent[s["id"]] = sent.get(s["id"], 0) + p.tonnes
        credit = next(
            a["credit_kg_co2e_per_t"] for a in d["accepts"] if a["material"] == s["material"]
        )
        # Each proposal's figures are impact.py's, recomputed here from the snapshot.
        if p.kind == "to_processor":
            output = d.get("output") or {}
            expected = impact.processing_impact(
                tonnes=p.tonnes,
                road_km=p.road_km,
                fate=s["fate"],
                fate_kg_co2e_per_t=s["fate_kg_co2e_per_t"],
                treatment_kg_co2e_per_t=d["treatment_kg_co2e_per_t"],
                credit_kg_co2e_per_t=credit,
                output_yield=output.get("yield", 0.0),
                transport_kg_co2e_per_tkm=transport,
            )
        else:
            expected = impact.exchange_impact(
                tonnes=p.tonnes,
                road_km=p.road_km,
                fate=s["fate"],
                fate_kg_co2e_per_t=s["fate_kg_co2e_per_t"],
                credit_kg_co2e_per_t=credit,
                transport_kg_co2e_per_tkm=transport,
            )
        assert p.net_kg_co2e_saved == pytest.approx(expected.net_kg_co2e_saved)
    for sid, tonnes in sent.items():
        assert tonnes <= supplies[sid]["tonnes"] * (1 + 1e-9)
    for did, tonnes in received.items():
        assert tonnes <= sinks[str(did)]["tonnes"] * (1 + 1e-9)


def test_worker_runs_optimization_over_demo_data(celery_worker_process):
    load_demo()
    with_worker = services.run_create(user=_facilitator(), parameters={}, enqueue=False)
    from optimizer.tasks import run_optimization

    run_optimization.apply_async((with_worker.pk,), queue=celery_worker_process.queue)
    run = _wait(with_worker.pk, lambda r: r.is_finished)
    assert run.status == OptimizationRun.Status.SUCCEEDED, run.error
    assert run.solver_status == "optimal"
    assert run.progress_percent == 100
    assert len(run.input_sha256) == 64 and run.factor_set is not None
    _check_totals_consistent(run)


def _worker_children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(x) for x in out.stdout.split()]


@pytest.mark.parametrize("celery_worker_process", [{"pool": "prefork"}], indirect=True)
def test_killed_worker_child_is_retried_and_never_half_written(celery_worker_process):
    load_demo()
    run = services.run_create(user=_facilitator(), parameters={"solver": "cbc"}, enqueue=False)
    from optimizer.tasks import run_optimization

    run_optimization.apply_async((run.pk,), queue=celery_worker_process.queue)
    _wait(run.pk, lambda r: r.status == OptimizationRun.Status.RUNNING, timeout_s=60, poll_s=0.01)
    # Hold a write lock on the run row: the worker blocks at its next progress
    # write, so it is surely mid-run (never finished) when its process is killed.
    with transaction.atomic():
        locked = OptimizationRun.objects.select_for_update().get(pk=run.pk)
        OptimizationRun.objects.filter(pk=run.pk).update(stage=locked.stage)
        assert locked.status == OptimizationRun.Status.RUNNING
        time.sleep(1.0)
        children = _worker_children(celery_worker_process.pid)
        assert children, "a prefork worker has a child process"
        for child in children:
            os.kill(child, signal.SIGKILL)
        assert not MatchProposal.objects.filter(run=run).exists()
    finished = _wait(run.pk, lambda r: r.is_finished)
    assert finished.status in {OptimizationRun.Status.SUCCEEDED, OptimizationRun.Status.FAILED}
    if finished.status == OptimizationRun.Status.SUCCEEDED:
        assert finished.stats["attempts"] >= 2
        _check_totals_consistent(finished)
        n = finished.proposals.count()
        assert n == finished.stats["proposals"]
    else:
        assert not finished.proposals.exists()


@pytest.mark.parametrize(
    "celery_worker_process", [{"env": {"OPTIMIZER_PARALLEL_MIN_ARCS": "1"}}], indirect=True
)
def test_components_solved_as_a_chord_give_the_in_process_result(celery_worker_process):
    load_demo()
    from optimizer.tasks import run_optimization

    parallel = services.run_create(user=_facilitator(), enqueue=False)
    run_optimization.apply_async((parallel.pk,), queue=celery_worker_process.queue)
    parallel = _wait(parallel.pk, lambda r: r.is_finished, timeout_s=180)
    assert parallel.status == OptimizationRun.Status.SUCCEEDED, parallel.error
    assert parallel.stats["parallel_components"] == parallel.stats["components"] > 1

    serial = services.run_create(user=_facilitator(), enqueue=False)
    services.run_execute(run_id=serial.pk)
    serial.refresh_from_db()
    assert parallel.input_sha256 == serial.input_sha256
    assert parallel.saved_kg_co2e == pytest.approx(serial.saved_kg_co2e, rel=1e-9)
    assert parallel.tonnes_moved == pytest.approx(serial.tonnes_moved, rel=1e-9)
    _check_totals_consistent(parallel)


@pytest.mark.parametrize(
    "celery_worker_process", [{"env": {"OPTIMIZER_PARALLEL_MIN_ARCS": "1"}}], indirect=True
)
def test_a_run_by_month_solved_as_a_chord_gives_the_in_process_result(celery_worker_process):
    load_demo()
    from optimizer.tasks import run_optimization

    first = timezone.localdate().replace(day=1) + dt.timedelta(days=32)
    by_month = {"periods_start": first.strftime("%Y-%m")}
    parallel = services.run_create(user=_facilitator(), parameters=by_month, enqueue=False)
    run_optimization.apply_async((parallel.pk,), queue=celery_worker_process.queue)
    parallel = _wait(parallel.pk, lambda r: r.is_finished, timeout_s=180)
    assert parallel.status == OptimizationRun.Status.SUCCEEDED, parallel.error
    # The pieces of the time-expanded problem went to the worker as a chord.
    assert parallel.stats["parallel_components"] == parallel.stats["problems"] > 1
    assert parallel.stats["by_month"]

    serial = services.run_create(user=_facilitator(), parameters=by_month, enqueue=False)
    with override_settings(OPTIMIZER_PARALLEL=False):
        services.run_execute(run_id=serial.pk)
    serial.refresh_from_db()
    assert serial.status == OptimizationRun.Status.SUCCEEDED, serial.error
    assert "parallel_components" not in serial.stats
    assert parallel.input_sha256 == serial.input_sha256
    assert parallel.saved_kg_co2e == pytest.approx(serial.saved_kg_co2e, rel=1e-9)
    assert parallel.tonnes_moved == pytest.approx(serial.tonnes_moved, rel=1e-9)
    # The same months; how the tonnes fall in them may differ: stores can move tonnes
    # between months at the same saving, and in-process the pieces share the run's time
    # (optimizer.period_turns) where the chord gives each piece its own, so each path
    # may stop at another of equally good schedules. Each split must add up.
    months = [[row["period"] for row in run.stats["by_month"]] for run in (parallel, serial)]
    assert months[0] == months[1]
    for run in (parallel, serial):
        moved = sum(row["tonnes"] for row in run.stats["by_month"])
        assert moved == pytest.approx(run.tonnes_moved, rel=1e-9)
    _check_totals_consistent(parallel)


@pytest.mark.parametrize(
    "celery_worker_process", [{"env": {"OPTIMIZER_PRICING": "on"}}], indirect=True
)
def test_a_priced_run_solved_as_a_chord_of_groups_gives_the_in_process_result(
    celery_worker_process, client
):
    load_demo()
    from symbiosis.models import DemandListing

    # Pricing takes transport LPs: no minimum lots, no plants (biomass's processors).
    DemandListing.objects.update(min_lot_tonnes=None)
    scope = {"categories": ["minerals", "metals", "plastics", "fossil"]}
    from optimizer.tasks import run_optimization

    run = services.run_create(user=_facilitator(), parameters=scope, enqueue=False)
    run_optimization.apply_async((run.pk,), queue=celery_worker_process.queue)
    run = _wait(run.pk, lambda r: r.is_finished, timeout_s=180)
    assert run.status == OptimizationRun.Status.SUCCEEDED, run.error
    pricing = run.stats["pricing"]
    groups = material_groups(Instance.from_dict(run.input_snapshot))
    # One task per material group, merged (not prepared again) by the callback.
    assert run.stats["parallel_groups"] == len(pricing["groups"]) == len(groups) > 1
    assert pricing["used"] and pricing["proven"]
    assert "parallel_components" not in run.stats

    # The same snapshot in this process, group by group as the CLI would solve it.
    expected = solve(Instance.from_dict(run.input_snapshot), pricing="on")
    assert expected.status == run.solver_status == "optimal"
    assert run.objective_kg_co2e == pytest.approx(expected.objective_kg_co2e, rel=1e-9)
    proposals = list(run.proposals.all())
    saved = sum(p.net_kg_co2e_saved for p in proposals)
    assert saved == pytest.approx(expected.saved_kg_co2e, rel=1e-9)
    # Ties aside, the same tonnes per pair: checked on pairs where the optimum is
    # unique, i.e. compared as a whole only when the two plans agree on the pairs.
    ours = {(str(p.supply_id), str(p.demand_id)): p.tonnes for p in proposals}
    theirs = {(f.supply, f.demand): f.tonnes for f in expected.flows}
    if set(ours) == set(theirs):
        for pair, tonnes in theirs.items():
            assert ours[pair] == pytest.approx(tonnes, rel=1e-9)
    _check_totals_consistent(run)

    # Without the chord (OPTIMIZER_PARALLEL off): the groups in turn in the run's task.
    serial = services.run_create(user=_facilitator(), parameters=scope, enqueue=False)
    with override_settings(OPTIMIZER_PARALLEL=False, OPTIMIZER_PRICING="on"):
        services.run_execute(run_id=serial.pk)
    serial.refresh_from_db()
    assert serial.status == OptimizationRun.Status.SUCCEEDED, serial.error
    assert "parallel_groups" not in serial.stats
    assert len(serial.stats["pricing"]["groups"]) == len(groups)
    assert serial.input_sha256 == run.input_sha256
    assert serial.objective_kg_co2e == pytest.approx(run.objective_kg_co2e, rel=1e-9)

    client.force_login(_facilitator())
    page = client.get(reverse("optimizer:run_detail", args=[run.pk]))
    assert page.status_code == 200
