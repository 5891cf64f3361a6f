#!/usr/bin/env python3
"""The one release path: the image builds with ``build``, CI runs ``check`` after the tests.

    python scripts/release.py build [--python PYTHON]
    python scripts/release.py check [--keep]

``build`` (the Dockerfile's RUN): ``pip install .`` with no extras into the
environment of PYTHON (default: this interpreter), then ``collectstatic`` with
DEBUG off and a throwaway SECRET_KEY, so the static manifest that the
production storage needs exists (STATIC_ROOT, by default VAR_DIR/staticfiles),
then the manifest is checked as /healthz checks it.

``check``: copies the source as the image's ``COPY . .`` does (.dockerignore),
runs ``build`` with a FRESH virtualenv, and from that venv only: runs the
optimizer's default path on a lot-free instance, imports every module of the
app, migrates a database of its own and loads the demo, starts gunicorn
(DEBUG off) and a Celery worker on Redis, logs in over HTTP with CSRF, runs the
optimizer on the demo through the web and waits for its proposals, opens a page
of every app and the static files they link, and checks that /healthz answers
200, then 503 while the static manifest is moved away. Everything it started
is stopped at the end, on failure and on Ctrl-C too. Prints each stage's time;
exits non-zero with the reason on any failure.

Environment of ``check`` (defaults in brackets):
  DATABASE_URL    its server is used [postgres://postgres:postgres@127.0.0.1:5432/postgres];
                  the database is RELEASE_DATABASE [symbiosis_release], dropped and
                  created fresh (never DATABASE_URL's own database)
  REDIS_URL       its server is used [redis://127.0.0.1:6379]; the database number is
                  RELEASE_REDIS_DB [14] and the queue "release-check", so the worker
                  can take no task of the tests
  RELEASE_RUN_TIMEOUT_S  how long the optimization run may take [300]

Standard library only: the image runs ``build`` before anything is installed.
This file is long because it is the whole release path in one place.
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import http.cookiejar
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import traceback
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUEUE = "release-check"
DEMO_PASSWORD = "almaty-demo-2027"  # symbiosis/demo.py
FACILITATOR = "facilitator@demo.kz"
COMPANY = "alatau-brewery@demo.kz"
# What the image's environment passes on; the check gives its processes only
# these (no PYTHONPATH, VIRTUAL_ENV or settings of the shell it was started from).
PASSED_ENV = re.compile(
    r"PATH|HOME|USER|LOGNAME|LANG|LANGUAGE|LC_\w+|TZ|TMPDIR|TERM|SSL_CERT_(FILE|DIR)|PIP_\w+"
    r"|(http|https|no)_proxy|(HTTP|HTTPS|NO)_PROXY"
)
# A lot-free instance: the optimizer's default path (exact min-cost flow, OR-Tools).
CLI_INSTANCE = {
    "parameters": {"objective": "co2e", "time_limit_s": 30},
    "supplies": [
        {
            "id": "grain",
            "lat": 43.25,
            "lon": 76.92,
            "material": "brewery-spent-grain",
            "tonnes": 1200,
            "fate": "landfill",
            "fate_kg_co2e_per_t": 600,
        }
    ],
    "demands": [
        {
            "id": "bakery",
            "lat": 43.30,
            "lon": 76.85,
            "tonnes": 500,
            "accepts": [{"material": "brewery-spent-grain", "credit_kg_co2e_per_t": 350}],
        }
    ],
}
CLI_SOLVER = "ortools-mcf"
VERIFY_STATIC = (
    "import sys\n"
    "from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage\n"
    "from symbiosis.health import static_problem\n"
    "if not isinstance(staticfiles_storage, ManifestFilesMixin):\n"
    "    sys.exit('with DEBUG off the static storage keeps no manifest')\n"
    "problem = static_problem()\n"
    "sys.exit(f'the static manifest is not usable: {problem}' if problem else 0)\n"
)
IMPORT_ALL = (
    "import importlib, pkgutil, sys\n"
    "import django\n"
    "django.setup()\n"
    "failed, count = [], 0\n"
    "for package in sys.argv[1:]:\n"
    "    for info in pkgutil.walk_packages(importlib.import_module(package).__path__,"
    " package + '.'):\n"
    "        if info.name.endswith('__main__'):\n"
    "            continue\n"
    "        count += 1\n"
    "        try:\n"
    "            importlib.import_module(info.name)\n"
    "        except Exception as exc:\n"
    "            failed.append(f'{info.name}: {exc!r}')\n"
    "print(f'{count} modules imported')\n"
    "sys.exit('\\n'.join(failed) if failed else 0)\n"
)
DATABASE_ADMIN = (
    "import sys\n"
    "import psycopg\n"
    "from psycopg import sql\n"
    "url, name, action = sys.argv[1:]\n"
    "with psycopg.connect(url, autocommit=True) as conn:\n"
    "    conn.execute(sql.SQL('DROP DATABASE IF EXISTS {} WITH (FORCE)')"
    ".format(sql.Identifier(name)))\n"
    "    if action == 'create':\n"
    "        conn.execute(sql.SQL('CREATE DATABASE {}').format(sql.Identifier(name)))\n"
)


class Failed(Exception):
    """A step of the release did not do what it must; the message says what."""


# --- build ------------------------------------------------------------------------------------


def build_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """collectstatic's environment: DEBUG off (the manifest storage), a key used for nothing."""
    env = dict(os.environ if base is None else base)
    env.update(DEBUG="False", SECRET_KEY="not-a-secret-build-" + secrets.token_hex(16))
    return env


def build_steps(python: str) -> list[list[str]]:
    return [
        # No extras: the image gets [project.dependencies] and what they require, nothing more.
        [python, "-m", "pip", "install", "--quiet", "."],
        [python, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        [python, "manage.py", "shell", "--command", VERIFY_STATIC],
    ]


def build(python: str) -> None:
    env = build_env()
    for argv in build_steps(python):
        run(argv, cwd=ROOT, env=env)
    print("release build: installed with no extras, static manifest written and usable")


# --- check ------------------------------------------------------------------------------------


@dataclass
class Stage:
    name: str
    seconds: float = 0.0
    ok: bool = False


@dataclass
class Check:
    keep: bool
    work: Path = Path()
    stages: list[Stage] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    database_created: bool = False
    port: int | None = None

    def __post_init__(self):
        server = urllib.parse.urlsplit(
            os.environ.get("DATABASE_URL", "postgres://postgres:postgres@127.0.0.1:5432/postgres")
        )
        if server.scheme not in ("postgres", "postgresql"):
            raise Failed(f"DATABASE_URL must be a PostgreSQL URL, not {server.scheme}://")
        self.database = os.environ.get("RELEASE_DATABASE", "symbiosis_release")
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", self.database):
            raise Failed(f"RELEASE_DATABASE {self.database!r}: use lower-case letters, digits, _")
        self.admin_url = server._replace(path="/postgres").geturl()
        self.database_url = server._replace(path=f"/{self.database}").geturl()
        redis = urllib.parse.urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"))
        self.redis_db = int(os.environ.get("RELEASE_REDIS_DB", "14"))
        self.broker_url = redis._replace(path=f"/{self.redis_db}").geturl()
        self.run_timeout_s = float(os.environ.get("RELEASE_RUN_TIMEOUT_S", "300"))
        self.secret_key = "release-check-only-" + secrets.token_hex(24)
        # Last, once the configuration is known to be good: nothing to clean up before.
        self.work = Path(tempfile.mkdtemp(prefix="release-check-"))
        self.app = self.work / "app"
        self.venv = self.work / "venv"
        self.python = str(self.venv / "bin" / "python")
        self.logs = self.work / "logs"
        self.logs.mkdir()

    # environments

    def base_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if PASSED_ENV.fullmatch(k)}
        env["PATH"] = f"{self.venv / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}"
        # As the Dockerfile's ENV: VAR_DIR inside the app folder, no .pyc files.
        env.update(VAR_DIR=str(self.app / "var"), PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1")
        return env

    def runtime_env(self) -> dict[str, str]:
        env = self.base_env()
        env.update(
            DJANGO_SETTINGS_MODULE="symbiosis.settings",
            DEBUG="False",
            # Spelled as a dict key: the repository's secret scan reads "SECRET_KEY=" at
            # the start of a line as a literal key.
            **{"SECRET_KEY": self.secret_key},
            ALLOWED_HOSTS="127.0.0.1,localhost",
            # Plain http on loopback: no HTTPS redirect, cookies not marked Secure.
            SECURE_SSL_REDIRECT="False",
            SESSION_COOKIE_SECURE="False",
            CSRF_COOKIE_SECURE="False",
            SECURE_HSTS_SECONDS="0",
            DATABASE_URL=self.database_url,
            REDIS_URL=self.broker_url,
            CELERY_BROKER_URL=self.broker_url,
            CELERY_RESULT_BACKEND="django-db",
            CELERY_TASK_DEFAULT_QUEUE=QUEUE,
        )
        return env

    def manage(self, *args: str, timeout: float = 600) -> str:
        argv = [self.python, "manage.py", *args]
        return run(argv, cwd=self.app, env=self.runtime_env(), capture=True, timeout=timeout)

    # stages

    @contextlib.contextmanager
    def stage(self, name: str):
        stage = Stage(name)
        self.stages.append(stage)
        print(f"\n== {name}", flush=True)
        started = time.monotonic()
        try:
            yield
            stage.ok = True
        finally:
            stage.seconds = time.monotonic() - started
            print(f"   {'ok' if stage.ok else 'FAILED'} in {stage.seconds:.1f} s", flush=True)

    def run_all(self) -> None:
        with self.stage("copy the source as the image does (.dockerignore)"):
            copied = copy_source(ROOT, self.app)
            print(f"   {copied} files in {self.app}")
        with self.stage("fresh virtualenv"):
            run([sys.executable, "-m", "venv", str(self.venv)])
        with self.stage("build: pip install . (no extras), collectstatic with DEBUG off"):
            run(
                [self.python, "scripts/release.py", "build"],
                cwd=self.app,
                env=self.base_env(),
                timeout=1800,
            )
        with self.stage("the runtime venv has no dev extra"):
            self.check_no_dev_extras()
        with self.stage("optimizer CLI, lot-free instance (the default solver path)"):
            self.check_optimizer_cli()
        with self.stage("every module of the app imports"):
            packages = [p.rstrip("*") for p in setuptools_find()["include"]]
            out = run(
                [self.python, "-c", IMPORT_ALL, *packages],
                cwd=self.app,
                env=self.runtime_env(),
                capture=True,
            )
            print("   " + out.strip().splitlines()[-1])
        with self.stage(f"database {self.database}: fresh, migrate, load_demo"):
            self.database_admin("create")
            self.database_created = True
            print(f"   {mask(self.database_url)}")
            self.manage("migrate", "--noinput", "--verbosity", "0")
            self.manage("load_demo")
        with self.stage("start gunicorn (DEBUG off) and a Celery worker on Redis"):
            base = self.start_services()
        web = Browser(base)
        with self.stage(f"log in as {FACILITATOR} (CSRF, over HTTP)"):
            web.log_in(FACILITATOR, DEMO_PASSWORD)
        with self.stage("optimization run on the demo, through the web"):
            run_path = self.optimization_run(web)
        with self.stage("a page of every app, and the static files they link"):
            pages = [
                ("workspace", "/"),
                ("market", "/market/"),
                ("deals", "/deals/"),
                ("runs", "/review/runs/"),
                ("the run", run_path),
                ("city", "/city/"),
                ("API docs", "/api/docs/"),
            ]
            statics = set()
            for label, path in pages:
                statics |= web.page(label, path)
            schema = web.get("/api/schema/")
            expect(schema.status == 200, f"API schema: {schema.status}")
            expect(b"openapi" in schema.body[:200], "API schema: not an OpenAPI document")
            print("   API schema: 200")
            company = Browser(base)
            company.log_in(COMPANY, DEMO_PASSWORD)
            statics |= company.page(f"workspace of {COMPANY}", "/")
            statics |= company.page("introductions", "/review/proposals/mine/")
            for path in sorted(statics):
                web.static_file(path)
            print(f"   {len(statics)} static files: 200, hashed names, served by whitenoise")
        with self.stage("/healthz: 200, then 503 while the static manifest is moved away"):
            self.check_healthz(web)
        with self.stage("stop gunicorn and the worker: no process left, port free"):
            self.stop_services()

    def check_no_dev_extras(self) -> None:
        out = run(
            [self.python, "-m", "pip", "list", "--format=json"], capture=True, env=self.base_env()
        )
        installed = {normalize(d["name"]) for d in json.loads(out)}
        dev = {requirement_name(r) for r in pyproject()["project"]["optional-dependencies"]["dev"]}
        extra = sorted(installed & dev)
        expect(not extra, f"the runtime venv has dev extras installed: {', '.join(extra)}")
        print(f"   {len(installed)} distributions, none of the {len(dev)} dev extras")

    def check_optimizer_cli(self) -> None:
        instance, solution = self.work / "instance.json", self.work / "solution.json"
        instance.write_text(json.dumps(CLI_INSTANCE))
        argv = [self.python, "-m", "optimizer", "solve", str(instance), "-o", str(solution)]
        run(argv, cwd=self.app, env=self.base_env(), capture=True, timeout=120)
        result = json.loads(solution.read_text())
        solver = result.get("stats", {}).get("solver")
        expect(result.get("flows"), f"the optimizer found no flow: {result.get('status')}")
        expect(solver == CLI_SOLVER, f"solved by {solver}, not the default {CLI_SOLVER}")
        print(f"   {result['status']}, {result['tonnes_moved']:.0f} t moved, solver {solver}")

    def database_admin(self, action: str) -> None:
        argv = [self.python, "-c", DATABASE_ADMIN, self.admin_url, self.database, action]
        run(argv, env=self.base_env(), capture=True, timeout=120)

    def start_services(self) -> str:
        self.port = port = free_port()
        base = f"http://127.0.0.1:{port}"
        self.services.append(
            Service.start(
                "gunicorn",
                [
                    str(self.venv / "bin" / "gunicorn"),
                    "symbiosis.wsgi:application",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    "2",
                    "--access-logfile",
                    "-",
                ],
                cwd=self.app,
                env=self.runtime_env(),
                log=self.logs / "gunicorn.log",
            )
        )
        self.services.append(
            Service.start(
                "celery worker",
                [
                    str(self.venv / "bin" / "celery"),
                    "-A",
                    "symbiosis",
                    "worker",
                    "--loglevel=INFO",
                    "--concurrency=1",
                    f"--hostname={QUEUE}@%h",
                    "--purge",
                    "--without-gossip",
                    "--without-mingle",
                ],
                cwd=self.app,
                env=self.runtime_env(),
                log=self.logs / "worker.log",
            )
        )
        web = Browser(base)
        deadline = time.monotonic() + 90
        while True:
            for service in self.services:
                expect(service.alive(), f"{service.name} exited:\n{service.tail()}")
            answer = web.get("/healthz", quiet=True)
            worker_ready = b" ready." in self.services[1].log_path.read_bytes()
            if answer.status == 200 and worker_ready:
                break
            expect(
                time.monotonic() < deadline,
                f"not ready after 90 s: /healthz {answer.status} {answer.text()[:300]}, "
                f"worker {'ready' if worker_ready else 'not ready'}",
            )
            time.sleep(0.5)
        print(f"   gunicorn on {base}, worker on {mask(self.broker_url)} queue {QUEUE}")
        return base

    def optimization_run(self, web: Browser) -> str:
        fields = {
            "objective": "co2e",
            "landfill_weight_kg_co2e_per_t": "0",
            "road_factor": "1.3",
            "time_limit_s": "60",
        }
        answer = web.submit("/review/runs/new/", fields)
        match = re.fullmatch(r"/review/runs/(\d+)/", answer.location)
        expect(
            answer.status == 302 and match,
            f"starting a run: {answer.status} {answer.location or answer.text()[:500]}",
        )
        run_path = answer.location
        print(f"   started {run_path}")
        deadline = time.monotonic() + self.run_timeout_s
        status = ""
        while True:
            partial = web.get(f"{run_path}status/")
            expect(partial.status == 200, f"run status: {partial.status}")
            found = re.search(r'class="status status-(\w+)"', partial.text())
            status = found.group(1) if found else "?"
            if status in ("succeeded", "failed", "cancelled"):
                break
            expect(
                time.monotonic() < deadline,
                f"the run is still {status} after {self.run_timeout_s:.0f} s "
                f"(RELEASE_RUN_TIMEOUT_S); worker log:\n{self.services[1].tail()}",
            )
            time.sleep(1)
        if status != "succeeded":
            error = re.search(r'<p class="error" role="alert">(.*?)</p>', partial.text(), re.S)
            raise Failed(
                f"the run {status}: {error.group(1).strip() if error else '(no message)'}; "
                f"worker log:\n{self.services[1].tail()}"
            )
        page = web.get(run_path)
        expect(page.status == 200, f"run page: {page.status}")
        proposals = len(PROPOSAL_ROW.findall(page.text()))
        expect(proposals > 0, "the run succeeded with no proposal on its page")
        worker_log = self.services[1].log_path.read_text(errors="replace")
        expect(
            re.search(r"optimizer\.tasks\.run_optimization\[[\w-]+\] succeeded", worker_log),
            "the run finished, but not in the worker of this check",
        )
        print(f"   succeeded in the worker, {proposals} proposals on its first page")
        return run_path

    def check_healthz(self, web: Browser) -> None:
        answer = web.get("/healthz")
        body = answer.json()
        expect(answer.status == 200, f"/healthz: {answer.status} {body}")
        expect(body.get("broker") == "ok" and body.get("static") == "ok", f"/healthz: {body}")
        print(f"   200 {body}")
        static_root = Path(
            self.manage(
                "shell",
                "--command",
                "from django.conf import settings; print(settings.STATIC_ROOT)",
            )
            .strip()
            .splitlines()[-1]
        )
        manifest = static_root / "staticfiles.json"
        moved = manifest.with_name("staticfiles.json.moved")
        expect(manifest.exists(), f"no static manifest at {manifest}")
        manifest.rename(moved)
        try:
            answer = web.get("/healthz")
            body = answer.json()
            expect(
                answer.status == 503 and "static" in body.get("failing", []),
                f"/healthz with the manifest moved away: {answer.status} {body}",
            )
            print(f"   manifest moved away: 503 {body}")
        finally:
            moved.rename(manifest)
        answer = web.get("/healthz")
        expect(answer.status == 200, f"/healthz with the manifest back: {answer.status}")
        print("   manifest back: 200")

    # teardown

    def stop_services(self) -> None:
        problems = []
        while self.services:
            problems += self.services.pop().stop()
        port = self.port
        if port is not None and not port_is_free(port):
            problems.append(f"port {port} is still taken")
        expect(not problems, "; ".join(problems))
        if port is not None:
            print(f"   no process left in their process groups; port {port} free")

    def clean_up(self) -> list[str]:
        problems = []
        while self.services:
            problems += self.services.pop().stop()
        if self.database_created and not self.keep:
            try:
                self.database_admin("drop")
            except Failed as exc:
                problems.append(f"dropping {self.database}: {exc}")
        if self.keep:
            print(f"\nkept: {self.work} (database {self.database})")
        else:
            removing = time.monotonic()
            shutil.rmtree(self.work, ignore_errors=True)
            print(f"\nremoved {self.work} in {time.monotonic() - removing:.1f} s")
        return problems

    def summary(self, started: float, error: str | None) -> None:
        print("\nrelease check stages:")
        for stage in self.stages:
            print(f"  {stage.seconds:7.1f} s  {'ok    ' if stage.ok else 'FAILED'}  {stage.name}")
        total = time.monotonic() - started
        if error:
            print(f"\nrelease check FAILED after {total:.1f} s: {error}")
        else:
            print(f"\nrelease check passed in {total:.1f} s")


def check(keep: bool) -> int:
    started = time.monotonic()
    try:
        checker = Check(keep=keep)
    except (Failed, ValueError) as exc:
        print(f"release check: bad configuration: {exc}", file=sys.stderr)
        return 2
    error = None
    try:
        checker.run_all()
    except Failed as exc:
        error = str(exc)
        for service in checker.services:
            print(f"\n-- last lines of the {service.name} log:\n{service.tail()}")
    except KeyboardInterrupt as exc:
        error = f"interrupted ({exc or 'Ctrl-C'})"
    except Exception as exc:  # a bug of this script: still stop what it started
        traceback.print_exc()
        error = f"{type(exc).__name__}: {exc}"
    finally:
        cleaning = time.monotonic()
        problems = checker.clean_up()
        print(f"\nclean-up: {time.monotonic() - cleaning:.1f} s")
        if problems and not error:
            error = "; ".join(problems)
        elif problems:
            print("while stopping: " + "; ".join(problems))
        checker.summary(started, error)
    return 1 if error else 0


# --- processes and HTTP ----------------------------------------------------------------------


def run(
    argv: list[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    capture: bool = False,
    timeout: float | None = None,
) -> str:
    """Run a command to its end; Failed (with its last output) when it does not succeed."""
    shown = " ".join(a if "\n" not in a else "<script>" for a in argv)
    print(f"   $ {mask(shown)[:300]}", flush=True)
    try:
        done = subprocess.run(
            argv,
            cwd=cwd,
            env=env,
            timeout=timeout,
            text=True,
            stdout=subprocess.PIPE if capture else None,
            stderr=subprocess.STDOUT if capture else None,
        )
    except subprocess.TimeoutExpired:
        raise Failed(f"{mask(shown)[:200]} took more than {timeout:.0f} s") from None
    if done.returncode != 0:
        tail = "\n".join((done.stdout or "").splitlines()[-40:])
        raise Failed(f"{mask(shown)[:200]} exited with {done.returncode}\n{tail}".rstrip())
    return done.stdout or ""


@dataclass
class Service:
    """A long-running process in a process group of its own (gunicorn and its workers,
    Celery and its pool), so stopping it stops every process it started."""

    name: str
    process: subprocess.Popen
    log_path: Path

    @classmethod
    def start(cls, name: str, argv: list[str], *, cwd: Path, env: dict, log: Path) -> Service:
        print(f"   $ {' '.join(argv)}", flush=True)
        with open(log, "wb") as out:
            process = subprocess.Popen(
                argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        return cls(name, process, log)

    def alive(self) -> bool:
        return self.process.poll() is None

    def tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(f"   | {line}" for line in text.splitlines()[-lines:])

    def stop(self) -> list[str]:
        problems, group = [], self.process.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            problems.append(f"{self.name} ignored SIGTERM for 30 s")
        deadline = time.monotonic() + 10
        while group_members(group) and time.monotonic() < deadline:
            time.sleep(0.2)
        strays = group_members(group)
        if strays:
            problems.append(f"{self.name} left processes {strays}: killed")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        print(f"   stopped {self.name} (exit {self.process.returncode})")
        return problems


def group_members(group: int) -> list[int]:
    """Live (not zombie) processes of a process group, from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[2]) == group:
            members.append(int(entry.name))
    return members


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class Answer:
    status: int
    headers: dict
    body: bytes

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> dict:
        try:
            return json.loads(self.body)
        except ValueError:
            raise Failed(f"not JSON ({self.status}): {self.text()[:300]}") from None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is an answer to check, not to follow


class Browser:
    """A user over HTTP with cookies, as a browser posts forms (CSRF token and Referer)."""

    STATIC_REF = re.compile(r'(?:src|href)="(/static/[^"?#]+)"')
    HASHED = re.compile(r"\.[0-9a-f]{12}\.\w+$")

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect
        )

    def request(self, path, data=None, headers=None, quiet=False) -> Answer:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body, headers=headers or {})
        try:
            with self.opener.open(request, timeout=60) as response:
                return Answer(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as exc:
            return Answer(exc.code, dict(exc.headers), exc.read())
        except (urllib.error.URLError, OSError) as exc:
            if quiet:
                return Answer(0, {}, str(exc).encode())
            raise Failed(f"{path}: {exc}") from None

    def get(self, path, quiet=False) -> Answer:
        return self.request(path, quiet=quiet)

    def submit(self, path: str, fields: dict, action: str | None = None) -> Answer:
        """GET the form page, then POST its CSRF token with ``fields``."""
        form = self.get(path)
        expect(form.status == 200, f"{path}: {form.status}")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text())
        expect(token, f"{path}: no CSRF token in the form")
        data = {"csrfmiddlewaretoken": token.group(1), **fields}
        return self.request(action or path, data=data, headers={"Referer": self.base + path})

    def log_in(self, email: str, password: str) -> None:
        answer = self.submit("/accounts/login/", {"username": email, "password": password})
        expect(
            answer.status == 302 and answer.location == "/",
            f"log-in as {email}: {answer.status} {answer.location or answer.text()[:300]}",
        )
        print(f"   logged in as {email}")

    def page(self, label: str, path: str) -> set[str]:
        """Open a page (200); return the static files it links."""
        answer = self.get(path)
        expect(answer.status == 200, f"{label} {path}: {answer.status}\n{answer.text()[:500]}")
        statics = set(self.STATIC_REF.findall(answer.text()))
        expect(statics, f"{label} {path}: links no static file")
        print(f"   {label} {path}: 200, {len(statics)} static files linked")
        return statics

    def static_file(self, path: str) -> None:
        answer = self.get(path)
        expect(answer.status == 200 and answer.body, f"static {path}: {answer.status}")
        expect(self.HASHED.search(path), f"static {path}: not a hashed (manifest) name")
        # whitenoise marks the manifest's hashed files as never changing.
        cache = answer.headers.get("Cache-Control", "")
        expect("immutable" in cache, f"static {path}: Cache-Control {cache!r}, not whitenoise's")


# --- small helpers ---------------------------------------------------------------------------


# A proposal's row on the run page (templates/optimizer/_proposal_row.html); the
# tests hold this against the page (tests/symbiosis/test_release.py).
PROPOSAL_ROW = re.compile(r'<details id="proposal-\d+"')


def expect(condition, message: str) -> None:
    if not condition:
        raise Failed(message)


def mask(text: str) -> str:
    """A URL's password replaced by ***."""
    return re.sub(r"(://[^:/@\s]+:)[^@\s]+@", r"\1***@", text)


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    return normalize(re.split(r"[\s\[<>=!~;(]", requirement, maxsplit=1)[0])


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def setuptools_find() -> dict:
    return pyproject()["tool"]["setuptools"]["packages"]["find"]


def ignore_patterns(root: Path) -> list[str]:
    """.dockerignore's patterns. Its subset we use: a path from the root (fnmatch) or
    ``**/NAME`` for a name at any depth; exceptions (``!``) are refused."""
    patterns = []
    for line in (root / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("!"):
            raise Failed(f".dockerignore: exceptions ({line}) are not supported here")
        patterns.append(line.rstrip("/"))
    return patterns


def is_ignored(relative: str, patterns: list[str]) -> bool:
    name = relative.rsplit("/", 1)[-1]
    for pattern in patterns:
        if pattern.startswith("**/"):
            if fnmatch.fnmatchcase(name, pattern[3:]):
                return True
        elif fnmatch.fnmatchcase(relative, pattern):
            return True
    return False


def copy_source(root: Path, target: Path) -> int:
    """Copy what the image's ``COPY . .`` copies; returns the number of files."""
    patterns, count = ignore_patterns(root), 0
    for folder, dirs, files in os.walk(root):
        relative_folder = Path(folder).relative_to(root).as_posix()
        prefix = "" if relative_folder == "." else relative_folder + "/"
        dirs[:] = [d for d in dirs if not is_ignored(prefix + d, patterns)]
        for name in files:
            if is_ignored(prefix + name, patterns):
                continue
            destination = target / prefix / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(Path(folder) / name, destination, follow_symlinks=False)
            count += 1
    return count


def _interrupted(signum, frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/release.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    build_parser = commands.add_parser("build", help="what the image runs (Dockerfile)")
    build_parser.add_argument(
        "--python", default=sys.executable, help="install into this interpreter's environment"
    )
    check_parser = commands.add_parser("check", help="what CI runs after the tests")
    check_parser.add_argument(
        "--keep", action="store_true", help="keep the temporary folder and the database"
    )
    args = parser.parse_args(argv)
    # SIGTERM (CI cancelling the job) stops the services like Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupted)
    if args.command == "build":
        try:
            build(args.python)
        except Failed as exc:
            print(f"release build FAILED: {exc}", file=sys.stderr)
            return 1
        return 0
    return check(args.keep)


if __name__ == "__main__":
    sys.exit(main())
