"""Deployment settings, migrations and the compose file."""

import ast
import os
import shutil
import stat
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


# --- the development SECRET_KEY: made per machine, never in the repository -----------------


def _setting(expression: str, **env_overrides) -> str:
    code = f"from django.conf import settings; print({expression})"
    result = _manage("shell", "-c", code, env_overrides=env_overrides)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_debug_without_a_secret_key_makes_one_for_this_machine_and_keeps_it(tmp_path):
    # Regression: the key was written in settings.py, so anyone could sign an
    # invitation (or a session) for any `make run` instance.
    var_dir = tmp_path / "var"
    first = _setting("settings.SECRET_KEY", DEBUG="True", VAR_DIR=str(var_dir))
    second = _setting("settings.SECRET_KEY", DEBUG="True", VAR_DIR=str(var_dir))
    assert first == second
    assert len(first) >= 50 and len(set(first)) >= 5  # what check --deploy asks
    key_file = var_dir / "dev-secret-key"
    assert key_file.read_text().strip() == first
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    elsewhere = _setting("settings.SECRET_KEY", DEBUG="True", VAR_DIR=str(tmp_path / "other"))
    assert elsewhere != first


def test_processes_starting_together_agree_on_one_key(tmp_path):
    # make run starts the web server and the worker at once on a fresh VAR_DIR.
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    env.update(VAR_DIR=str(tmp_path), DEBUG="True", DJANGO_SETTINGS_MODULE="symbiosis.settings")
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    keys = {process.communicate(timeout=60)[0].strip() for process in processes}
    assert len(keys) == 1
    assert keys == {(tmp_path / "dev-secret-key").read_text().strip()}
    assert [p.name for p in tmp_path.iterdir() if "secret" in p.name] == ["dev-secret-key"]


def test_a_readable_key_file_is_closed_and_a_broken_one_refused(tmp_path):
    key_file = tmp_path / "dev-secret-key"
    key_file.write_text("k" * 30 + "ey-made-by-hand-0123456789-abcdefghij\n")
    key_file.chmod(0o644)
    assert _setting("settings.SECRET_KEY", DEBUG="True", VAR_DIR=str(tmp_path)).startswith("kkk")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key_file.write_text("short")
    result = _manage("check", env_overrides={"DEBUG": "True", "VAR_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "dev-secret-key holds no usable key" in result.stderr


def test_settings_py_holds_no_key():
    tree = ast.parse((ROOT / "symbiosis" / "settings.py").read_text())
    values = [
        node.value
        for assign in ast.walk(tree)
        if isinstance(assign, ast.Assign)
        and any(getattr(target, "id", None) == "SECRET_KEY" for target in assign.targets)
        for node in ast.walk(assign.value)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]
    # env.str("SECRET_KEY", default="") and nothing else.
    assert values and set(values) <= {"SECRET_KEY", ""}, values


def test_api_token_lifetime_comes_from_the_environment():
    assert _setting("settings.REST_KNOX['TOKEN_TTL']", API_TOKEN_TTL_HOURS="2") == "2:00:00"
    assert _setting("settings.REST_KNOX['AUTH_HEADER_PREFIX']") == "Token"
    result = _manage("check", env_overrides={"API_TOKEN_TTL_HOURS": "0"})
    assert result.returncode != 0
    assert "API_TOKEN_TTL_HOURS must be a positive number" in result.stderr
