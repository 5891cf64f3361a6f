"""Redis (the Celery broker) restarts or crashes while an optimization run is in progress.

The worker and this test talk to a redis-server of the test's own (see
``RedisServer``: the persistence settings of docker-compose.yml), so it can be
stopped without disturbing anyone else. While Redis is down, one run is
mid-solve in the worker and a second one waits in the queue.

Expected end state: both runs finish (succeeded), each run's proposals are
written exactly once and completely, the worker reconnects by itself, and a
redelivered copy of a finished run's message changes nothing.
"""

import time

import pytest
import redis
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from kombu import Connection

from optimizer import services
from optimizer.models import MatchProposal, OptimizationRun
from optimizer.tasks import run_optimization
from tests.demo_snapshot import load_demo
from tests.faults.conftest import celery_app_sending_to, free_port
from tests.integration.test_optimization_run import _check_totals_consistent, _facilitator, _wait

pytestmark = pytest.mark.integration

# Chosen at import so the worker's environment (a static parametrization) can name it.
REDIS_PORT = free_port()
# prefork, as `celery worker` in docker-compose.yml: the main process keeps the
# broker connection while a child process runs the task.
WORKER = {"pool": "prefork", "env": {"CELERY_BROKER_URL": f"redis://127.0.0.1:{REDIS_PORT}/0"}}


def _submit(run_id: int, redis_url: str, queue: str):
    # The test process sends to the test's own Redis, not to the configured broker.
    with Connection(redis_url) as conn:
        return run_optimization.apply_async((run_id,), queue=queue, connection=conn)


def _assert_written_once(run: OptimizationRun) -> None:
    rows = list(run.proposals.values_list("supply_id", "demand_id", "kind"))
    assert len(rows) == len(set(rows)), "a proposal was written twice"
    assert len(rows) == run.stats["proposals"]


def _wait_for_log(worker, text: str, count: int = 1, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if worker.log_path.read_text().count(text) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"worker log never said {text!r}:\n{worker.log_path.read_text()[-3000:]}")


@pytest.mark.parametrize("crash", [False, True], ids=["restart", "crash"])
@pytest.mark.parametrize("celery_worker_process", [WORKER], indirect=True)
def test_redis_down_mid_run_loses_and_duplicates_nothing(own_redis, celery_worker_process, crash):
    load_demo()
    worker, queue = celery_worker_process, celery_worker_process.queue
    first = services.run_create(user=_facilitator(), parameters={"solver": "cbc"}, enqueue=False)
    waiting = services.run_create(user=_facilitator(), parameters={"solver": "cbc"}, enqueue=False)
    _submit(first.pk, own_redis.url, queue)
    _wait(first.pk, lambda r: r.status == OptimizationRun.Status.RUNNING, timeout_s=60, poll_s=0.01)

    # Hold a write lock on the first run's row: the worker blocks at its next
    # progress write, so the run is surely mid-solve while Redis is down.
    with transaction.atomic():
        locked = OptimizationRun.objects.select_for_update().get(pk=first.pk)
        OptimizationRun.objects.filter(pk=first.pk).update(stage=locked.stage)
        assert locked.status == OptimizationRun.Status.RUNNING
        # The second run's message reaches Redis but no worker yet: it sits in the queue.
        _submit(waiting.pk, own_redis.url, queue)
        own_redis.stop(crash=crash)
        _wait_for_log(worker, "Connection to broker lost")
        own_redis.start()
        assert not MatchProposal.objects.filter(run=first).exists()
    _wait_for_log(worker, "Connected to redis://", count=2)

    for run in (first, waiting):
        finished = _wait(run.pk, lambda r: r.is_finished, timeout_s=180)
        assert finished.status == OptimizationRun.Status.SUCCEEDED, finished.error
        _check_totals_consistent(finished)
        _assert_written_once(finished)
    first.refresh_from_db()
    waiting.refresh_from_db()
    assert waiting.input_sha256 == first.input_sha256
    assert waiting.proposals.count() == first.proposals.count()
    proposal_ids = set(first.proposals.values_list("pk", flat=True))

    # The first message was never acknowledged (the connection was gone), so
    # Redis may hand it out again later: that copy must leave the run alone.
    _submit(first.pk, own_redis.url, queue).get(timeout=120)
    first.refresh_from_db()
    assert first.status == OptimizationRun.Status.SUCCEEDED
    assert set(first.proposals.values_list("pk", flat=True)) == proposal_ids
    assert first.stats["attempts"] == 1


@pytest.mark.django_db(transaction=True)
def test_run_started_while_redis_is_down_fails_plainly_then_starts_once_it_is_back(
    own_redis, client, facilitator
):
    """No message, no worker: the run must not sit in "queued" for ever, nor the page 500."""
    client.force_login(facilitator)
    form = {"objective": "co2e", "landfill_weight_kg_co2e_per_t": "0", "road_factor": "1.3"}
    form["time_limit_s"] = "30"
    with celery_app_sending_to(own_redis.url):
        own_redis.stop()
        response = client.post(reverse("optimizer:run_new"), form)
        lost = OptimizationRun.objects.get()
        assert response.status_code == 302 and response["Location"].endswith(f"/runs/{lost.pk}/")
        assert lost.status == OptimizationRun.Status.FAILED
        assert "task queue could not be reached" in lost.error
        assert lost.finished_at is not None and not lost.proposals.exists()

        own_redis.start()
        response = client.post(reverse("optimizer:run_new"), form)
    started = OptimizationRun.objects.exclude(pk=lost.pk).get()
    assert response.status_code == 302
    assert started.status == OptimizationRun.Status.QUEUED and started.celery_task_id
    queued = redis.Redis(port=own_redis.port).llen(settings.CELERY_TASK_DEFAULT_QUEUE)
    assert queued == 1, "exactly one message for the run that was started"
