"""docker-compose.yml keeps what the fault tests assume: data on named volumes,
and Redis with the append-only file the Redis fault test runs with."""

from pathlib import Path

import yaml

from tests.faults.conftest import RedisServer
from tests.worker import ROOT


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _named_volume(service: dict, mount: str) -> str:
    for volume in service.get("volumes", []):
        source, _, target = volume.partition(":")
        if target.split(":")[0] == mount:
            return source
    raise AssertionError(f"nothing mounted at {mount}")


def test_postgres_and_redis_data_live_on_named_volumes():
    compose = _compose()
    services, volumes = compose["services"], compose.get("volumes") or {}
    pg = _named_volume(services["postgres"], "/var/lib/postgresql/data")
    redis = _named_volume(services["redis"], "/data")
    # Named (declared) volumes outlive `docker compose down` and container rebuilds.
    assert pg in volumes and redis in volumes


def test_redis_runs_with_the_persistence_the_fault_test_uses(tmp_path):
    command = _compose()["services"]["redis"]["command"]
    command = command.split() if isinstance(command, str) else command
    assert command[0] == "redis-server"
    assert command[command.index("--appendonly") + 1] == "yes"
    tested = RedisServer(port=0, data_dir=Path(tmp_path)).arguments()
    assert tested[tested.index("--appendonly") + 1] == "yes"
