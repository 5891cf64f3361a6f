"""Deployment settings, migrations and the compose file."""

import os
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


# check --deploy under production variables: tests/security/test_web_security.py.


def _img_sources(map_tile_url: str) -> str:
    code = (
        "from django.conf import settings; "
        "print(settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['img-src'])"
    )
    result = _manage("shell", "-c", code, env_overrides={"MAP_TILE_URL": map_tile_url})
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("map_tile_url", "tile_source"),
    [
        ("https://tiles.example.kz/{z}/{x}/{y}.png", "https://tiles.example.kz"),
        ("https://{s}.tile.example.org/{z}/{x}/{y}.png", "https://*.tile.example.org"),
        ("http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png", "http://127.0.0.1:8080"),
    ],
)
def test_the_csp_allows_images_from_the_configured_tile_host(map_tile_url, tile_source):
    sources = _img_sources(map_tile_url)
    assert sources == str(["'self'", "data:", tile_source])


def test_tiles_served_by_the_site_itself_add_no_image_source():
    assert _img_sources("/tiles/{z}/{x}/{y}.png") == str(["'self'", "data:"])


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
        env={**os.environ, "SECRET_KEY": "compose-validation-only-not-a-secret"},
    )
    assert result.returncode == 0, result.stderr


def _database_options(**env_overrides) -> str:
    code = "from django.conf import settings; print(settings.DATABASES['default'].get('OPTIONS'))"
    result = _manage("shell", "-c", code, env_overrides=env_overrides)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_postgres_random_page_cost_defaults_to_ssd_and_can_be_set():
    url = "postgres://postgres@127.0.0.1:5432/symbiosis"
    assert "-c random_page_cost=1.1" in _database_options(DATABASE_URL=url)
    set_to_4 = _database_options(DATABASE_URL=url, PG_RANDOM_PAGE_COST="4")
    assert "-c random_page_cost=4.0" in set_to_4
    assert "random_page_cost" not in _database_options(DATABASE_URL="sqlite:////tmp/x.sqlite3")


@pytest.mark.django_db
def test_postgres_connections_use_the_ssd_page_cost():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only (set DATABASE_URL=postgres://... as .ci/run does)")
    with connection.cursor() as cursor:
        cursor.execute("SHOW random_page_cost")
        assert cursor.fetchone()[0] == "1.1"
