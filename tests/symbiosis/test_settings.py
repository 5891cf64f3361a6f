"""Deployment settings, migrations and the compose file."""

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args, env_overrides):
    # DJANGO_ALLOW_ASYNC_UNSAFE: set by tests/e2e/conftest.py for Playwright when the
    # browser tests run in the same session; check --deploy rightly rejects it.
    dropped = {"DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_check_deploy_is_clean_with_production_variables():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env_overrides={
            "DEBUG": "False",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "symbiosis.example.kz",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNINGS" not in result.stderr + result.stdout


def test_secret_key_is_required_when_debug_is_off():
    result = _manage("check", env_overrides={"DEBUG": "False"})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.mark.django_db
def test_no_missing_migrations():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_compose_file_validates():
    compose = shutil.which("docker-compose")
    if compose is None:
        if os.environ.get("REQUIRE_SERVICES"):
            pytest.fail("docker-compose is not installed (CI installs it in .ci/run)")
        pytest.skip("docker-compose not installed; .ci/run installs it")
    result = subprocess.run(
        [compose, "config", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "SECRET_KEY": "compose-validation-only"},
    )
    assert result.returncode == 0, result.stderr
