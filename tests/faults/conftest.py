"""Fixtures of the fault tests: a Redis of our own to restart, PostgreSQL-only guards."""

import os
import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection

from tests.marketplace.conftest import company_c, make_deal, market, member_c  # noqa: F401
from tests.worker import _require, celery_worker_process  # noqa: F401

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip(
            f"needs PostgreSQL (row locks, server backends, pg_dump); this run uses "
            f"{connection.vendor} (set DATABASE_URL=postgres://... as .ci/run does)"
        )


class RedisServer:
    """A redis-server process of this test; restartable on the same port and data folder.

    It runs with the persistence of docker-compose.yml's ``redis`` service:
    Redis's default RDB snapshots (saved on a clean shutdown) plus the
    append-only file, so messages still queued survive a crash too.
    """

    def __init__(self, port: int, data_dir: Path):
        self.port, self.data_dir = port, data_dir
        self.url = f"redis://127.0.0.1:{port}/0"
        self.proc: subprocess.Popen | None = None

    def arguments(self) -> list[str]:
        return [
            *("--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.data_dir)),
            *("--daemonize", "no", "--appendonly", "yes"),
        ]

    def start(self) -> None:
        log = open(self.data_dir / "redis.log", "a")  # noqa: SIM115 - owned by the process
        self.proc = subprocess.Popen(
            [REDIS_SERVER, *self.arguments()],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.ping():
                return
            time.sleep(0.05)
        raise AssertionError(f"redis-server did not start:\n{self.log()}")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self, *, crash: bool = False) -> None:
        """SIGTERM is `docker compose restart redis` (Redis saves first); SIGKILL a crash."""
        if self.proc is None:
            return
        if crash:
            self.proc.kill()
        else:
            self.proc.terminate()
        self.proc.wait(timeout=30)
        self.proc = None

    def log(self) -> str:
        path = self.data_dir / "redis.log"
        return path.read_text()[-3000:] if path.exists() else ""


@pytest.fixture
def own_redis(request, tmp_path):
    """A started RedisServer; on the test module's ``REDIS_PORT`` when it has one."""
    if not os.access(REDIS_SERVER, os.X_OK):
        _require(f"{REDIS_SERVER} is not installed (apt-get install redis-server)")
    server = RedisServer(getattr(request.module, "REDIS_PORT", None) or free_port(), tmp_path)
    server.start()
    yield server
    server.stop()


@contextmanager
def celery_app_sending_to(broker_url: str):
    """This process's Celery app publishes to ``broker_url`` (as ``.delay()`` in services does)."""
    from symbiosis.celery import app

    def reset_pools():
        # The connection and producer pools are made lazily from broker_url.
        app._pool = None
        app.amqp._producer_pool = None

    keys = ("broker_url", "broker_write_url", "broker_read_url")
    old = {key: app.conf[key] for key in keys}
    app.conf.update(dict.fromkeys(keys, broker_url))
    reset_pools()
    # Never send a test's message to the shared broker by mistake.
    assert app.connection_for_write().as_uri(include_password=True) == broker_url
    try:
        yield app
    finally:
        app.conf.update(old)
        reset_pools()
