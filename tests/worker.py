"""A real Celery worker process on the configured broker (fixture for integration and e2e)."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def _require(reason: str):
    # In CI a missing service fails the run; on a laptop it is a plain skip.
    if os.environ.get("REQUIRE_SERVICES"):
        pytest.fail(reason)
    pytest.skip(reason)


def broker_reachable() -> bool:
    url = settings.CELERY_BROKER_URL
    if url.startswith("filesystem://"):
        return True
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
        return True
    except Exception:
        return False


def database_url_of_current_connection() -> str:
    """The URL of the database the tests use now (the test database)."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    user = s.get("USER") or ""
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{s['NAME']}"


@pytest.fixture
def celery_worker_process(request, transactional_db):
    """Start `celery worker` as a separate process on a queue of its own.

    Parametrize indirectly with {"pool": "prefork"} for a worker with a child process,
    {"env": {...}} for extra environment variables of the worker.
    """
    options = getattr(request, "param", {})
    pool = options.get("pool", "solo")
    if not broker_reachable():
        _require(f"Celery broker {settings.CELERY_BROKER_URL} is not reachable")
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        **options.get("env", {}),
        "DATABASE_URL": database_url_of_current_connection(),
        # Tasks the worker itself sends (a chord's) stay on this worker's queue.
        "CELERY_TASK_DEFAULT_QUEUE": queue,
    }
    log_path = Path(settings.VAR_DIR) / f"worker-{queue}.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed in the teardown below
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "symbiosis",
            "worker",
            f"--pool={pool}",
            "--concurrency=1",
            "-Q",
            queue,
            "--without-gossip",
            "--without-mingle",
            "--loglevel=INFO",
            "-n",
            f"{queue}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    ready = False
    while time.monotonic() < deadline and proc.poll() is None:
        if "ready." in log_path.read_text():
            ready = True
            break
        time.sleep(0.2)
    if not ready:
        proc.kill()
        log.close()
        pytest.fail(f"worker did not start:\n{log_path.read_text()[-3000:]}")
    proc.queue = queue
    proc.log_path = log_path
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()
    log_path.unlink(missing_ok=True)
