"""The release path cannot drift from what is tested.

The image (Dockerfile) and CI (.ci/run) both run scripts/release.py; its
``check`` builds a fresh venv with ``pip install .`` and runs the app from it
(a few minutes, PostgreSQL and Redis: CI runs it after the tests). These tests
are the fast guards: who calls the script, what its build step runs, that
[project.dependencies] install every third-party module the app imports, and
that the compose health probe reaches /healthz.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import subprocess
import sys
import threading
import tomllib
from http.server import BaseHTTPRequestHandler, HTTPServer
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
OWN_PACKAGES = [
    p.rstrip("*") for p in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
]


def _load_release_script():
    spec = importlib.util.spec_from_file_location("release_script", ROOT / "scripts" / "release.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


release = _load_release_script()


# --- who runs the release script -------------------------------------------------------------


def test_the_image_is_built_by_the_release_script_and_nothing_else():
    dockerfile = (ROOT / "Dockerfile").read_text()
    lines = [line.strip() for line in dockerfile.splitlines()]
    runs = [line for line in lines if line.startswith("RUN ")]
    build = [i for i, line in enumerate(lines) if re.search(r"scripts/release\.py build$", line)]
    assert len(build) == 1 and lines[build[0]].startswith("RUN ")
    assert lines.index("COPY . .") < build[0]  # the whole source, as the check copies it
    assert "DEBUG=True" not in dockerfile
    # Installing and collecting are the script's: a second way would drift from the check.
    assert not [line for line in runs if "pip install" in line or "collectstatic" in line]


def test_the_build_installs_no_extras_and_collects_static_with_debug_off():
    install, collect, verify = release.build_steps("PY")
    assert install[:4] == ["PY", "-m", "pip", "install"] and install[-1] == "."
    assert not [arg for arg in install if "[" in arg or arg in ("-e", "--editable")]
    assert collect[1:3] == ["manage.py", "collectstatic"]
    assert "static_problem" in verify[-1]  # the manifest is checked as /healthz checks it
    env = release.build_env({"DEBUG": "True", "SECRET_KEY": "not-a-secret-from-env"})
    assert env["DEBUG"] == "False"
    assert env["SECRET_KEY"] not in ("", "not-a-secret-from-env")


def test_ci_runs_the_release_check_after_the_tests():
    lines = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    check = [i for i, line in enumerate(lines) if "scripts/release.py check" in line]
    assert check and lines.index("make test") < check[0]


def test_the_image_and_the_check_leave_out_local_state_and_secrets():
    patterns = release.ignore_patterns(ROOT)
    left_out = [".env", ".venv", "var", ".git", "symbiosis.egg-info", "build", "a/__pycache__"]
    for path in left_out + ["optimizer/model.cpython-311.pyc"]:
        assert release.is_ignored(path, patterns), path
    kept = ["manage.py", "pyproject.toml", "README.md", "scripts/release.py", "templates/base.html"]
    kept += ["static/css/site.css", "locale/ru/LC_MESSAGES/django.mo", "symbiosis/settings.py"]
    for path in kept:
        assert not release.is_ignored(path, patterns), path


def test_the_check_s_optimizer_instance_takes_the_default_lot_free_path():
    from optimizer.instance import Instance
    from optimizer.model import solve

    solution = solve(Instance.from_dict(release.CLI_INSTANCE))
    assert solution.flows
    assert solution.stats["solver"] == release.CLI_SOLVER


# --- [project.dependencies] cover what the app imports ----------------------------------------


def _installed_by_pip_install_dot() -> set[str]:
    """[project.dependencies] and everything they require (with the extras they ask for),
    as the distributions installed here declare it."""
    todo = [Requirement(text) for text in PYPROJECT["project"]["dependencies"]]
    seen, closure = set(), set()
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        key = (name, frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        closure.add(name)
        try:
            texts = requires(name) or []
        except PackageNotFoundError:
            continue
        extras = {"", *requirement.extras}
        for text in texts:
            sub = Requirement(text)
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in extras):
                todo.append(sub)
    return closure


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(getattr(n, "id", None) in ("ImportError", "ModuleNotFoundError") for n in names)


class _Imports(ast.NodeVisitor):
    """Modules a file imports unconditionally (not under ``try: ... except ImportError``
    nor ``if TYPE_CHECKING:``)."""

    def __init__(self):
        self.modules: list[str] = []

    def visit_Try(self, node):
        if any(_catches_import_error(h) for h in node.handlers):
            for child in [*node.handlers, *node.orelse, *node.finalbody]:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_If(self, node):
        if getattr(node.test, "id", getattr(node.test, "attr", None)) == "TYPE_CHECKING":
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_Import(self, node):
        self.modules += [alias.name for alias in node.names]

    def visit_ImportFrom(self, node):
        if node.level == 0 and node.module:
            self.modules.append(node.module)


DOTTED = re.compile(r"[a-z_][a-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def _imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    visitor = _Imports()
    visitor.visit(tree)
    modules = visitor.modules
    if path.name == "settings.py":
        # Django imports what settings name as strings: apps, middleware, backends.
        modules += [
            node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and DOTTED.fullmatch(node.value)
        ]
    return modules


def test_every_third_party_module_the_app_imports_is_a_runtime_dependency():
    closure = _installed_by_pip_install_dot()
    distributions = packages_distributions()
    files = [ROOT / "manage.py"]
    for package in OWN_PACKAGES:
        files += sorted((ROOT / package).rglob("*.py"))
    missing: dict[str, set[str]] = {}
    for path in files:
        for module in _imported_modules(path):
            top = module.split(".")[0]
            if top in OWN_PACKAGES or top in sys.stdlib_module_names or top not in distributions:
                continue  # a settings string that names no installed module is not an import
            if not any(canonicalize_name(d) in closure for d in distributions[top]):
                where = str(path.relative_to(ROOT))
                missing.setdefault(distributions[top][0], set()).add(where)
    assert not missing, "imported at run time, but not installed by `pip install .`:\n" + "\n".join(
        f"  {dist} ({', '.join(sorted(files)[:3])})" for dist, files in sorted(missing.items())
    )


def test_an_import_missing_from_the_dependencies_is_found(tmp_path):
    # The guard itself: a dev-only import at module level is reported; an optional one is not.
    source = tmp_path / "module.py"
    source.write_text(
        "import pytest\n"
        "try:\n    import hypothesis\nexcept ImportError:\n    hypothesis = None\n"
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import factory\n"
    )
    modules = _imported_modules(source)
    assert "pytest" in modules
    assert "hypothesis" not in modules and "factory" not in modules
    assert "pytest" not in _installed_by_pip_install_dot()


# --- the compose health probe ----------------------------------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    status = 200
    seen: list[dict] = []

    def do_GET(self):
        type(self).seen.append({"path": self.path, **dict(self.headers)})
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def probe_target():
    _Recorder.seen, _Recorder.status = [], 200
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _probe(server, allowed_hosts: str) -> int:
    test = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["web"]
    command = test["healthcheck"]["test"]
    assert command[:3] == ["CMD", "python", "-c"]
    code = command[3].replace("127.0.0.1:8000", f"127.0.0.1:{server.server_port}")
    env = {**os.environ, "ALLOWED_HOSTS": allowed_hosts}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True).returncode


def test_the_compose_probe_asks_healthz_as_an_allowed_host_over_https(probe_target):
    assert _probe(probe_target, "symbiosis.example.kz,www.example.kz") == 0
    assert _probe(probe_target, ".example.kz") == 0
    assert _probe(probe_target, "*") == 0
    hosts = [(s["path"], s["Host"], s["X-Forwarded-Proto"]) for s in _Recorder.seen]
    assert hosts == [
        ("/healthz", "symbiosis.example.kz", "https"),
        ("/healthz", "example.kz", "https"),
        ("/healthz", "localhost", "https"),
    ]
    _Recorder.status = 503
    assert _probe(probe_target, "symbiosis.example.kz") != 0


@pytest.mark.django_db
def test_healthz_answers_the_compose_probe_s_request(client, settings):
    settings.ALLOWED_HOSTS = ["symbiosis.example.kz"]
    settings.SECURE_SSL_REDIRECT = True
    response = client.get(
        "/healthz", HTTP_HOST="symbiosis.example.kz", HTTP_X_FORWARDED_PROTO="https"
    )
    assert response.status_code == 200
    # What the old probe sent (Host 127.0.0.1:8000, plain http) was refused.
    assert client.get("/healthz", HTTP_HOST="127.0.0.1:8000").status_code == 400


# --- what the check reads on the pages ----------------------------------------------------------


@pytest.mark.django_db
def test_the_check_finds_the_proposals_on_the_run_page(client, facilitator):
    """The check counts the run page's proposal rows; a change of the page's markup
    must not leave it counting none (it once looked for table rows the page had dropped)."""
    from django.urls import reverse

    from optimizer.bench_pages import build_run

    run = build_run(n_proposals=7, user=facilitator)
    client.force_login(facilitator)
    page = client.get(reverse("optimizer:run_detail", args=[run.pk])).content.decode()
    assert len(release.PROPOSAL_ROW.findall(page)) == 7
