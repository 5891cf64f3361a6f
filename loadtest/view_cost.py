"""Cost of each page of the load scenario, in-process: CPU and wall time per request.

    .venv/bin/python loadtest/view_cost.py [page ...]     # N=8 requests per page

Runs the Django test client against the load database that ``loadtest/run.sh``
builds (``symbiosis_load``; run that once first), logged in as one company, the
facilitator and the analyst. Prints, per page, the median over N requests of the
process CPU time (Python only: PostgreSQL runs in its own process) and of the
wall time (Python + PostgreSQL + loopback), and the number of queries. CPU time
varies less with the rest of the machine than wall time or latencies do.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PG_URL = os.environ.get("PG_URL", "postgres://postgres:postgres@127.0.0.1:5432")
os.environ.setdefault("DATABASE_URL", f"{PG_URL}/{os.environ.get('LOAD_DB', 'symbiosis_load')}")
os.environ.setdefault("DEBUG", "False")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("SECRET_KEY", "view-cost-only-not-a-secret")
os.environ.setdefault("SECURE_SSL_REDIRECT", "False")
os.environ.setdefault("CONN_MAX_AGE", "600")
# The static files loadtest/run.sh collected (the manifest the pages need).
os.environ.setdefault("STATIC_ROOT", str(ROOT / "var" / "loadtest" / "static"))
os.environ.setdefault("VAR_DIR", str(ROOT / "var" / "loadtest" / "var"))
os.environ["DJANGO_SETTINGS_MODULE"] = "symbiosis.settings"

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from optimizer.models import OptimizationRun  # noqa: E402
from symbiosis.demo import FACILITATOR_EMAIL  # noqa: E402
from symbiosis.demo_scale import scale_email  # noqa: E402
from symbiosis.models import SupplyListing, User  # noqa: E402

ANALYST_EMAIL = "analyst@demo.kz"
HTMX = {"HTTP_HX_REQUEST": "true"}
# Map views over Almaty ("west,south,east,north"): the city, a district, a few streets.
CITY_BOX = "76.60000,43.04000,77.20000,43.44000"
DISTRICT_BOX = "76.85000,43.20000,77.00000,43.30000"
STREETS_BOX = "76.90000,43.23000,76.94000,43.25500"


def _client(email: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(email=email))
    return client


def pages() -> dict:
    company = _client(scale_email(42))
    facilitator = _client(FACILITATOR_EMAIL)
    analyst = _client(ANALYST_EMAIL)
    run = OptimizationRun.objects.order_by("-pk").values_list("pk", flat=True).first()
    supply = SupplyListing.objects.filter(visibility="public").order_by("pk")[100].pk
    # (client, path, query, extra request headers), the locustfile's kinds of requests
    return {
        "market, distance": (company, "/market/", {}, {}),
        "market, tonnes": (company, "/market/", {"sort": "tonnes"}, {}),
        "market, category, page 5": (
            company,
            "/market/",
            {"category": "biomass", "sort": "distance", "page": "5"},
            {},
        ),
        "market, demand, htmx": (
            company,
            "/market/",
            {"kind": "demand", "district": "almaly"},
            HTMX,
        ),
        "market, within 10 km": (company, "/market/", {"max_km": "10"}, {}),
        "market, search ru typo, htmx": (company, "/market/", {"q": "пивная дробена"}, HTMX),
        "market, search en typo": (company, "/market/", {"q": "spent grian"}, {}),
        "market, search EWC, demand": (
            company,
            "/market/",
            {"q": "02 07 04", "kind": "demand"},
            {},
        ),
        "market, search every description": (company, "/market/", {"q": "synthetic"}, HTMX),
        "market, search, tonnes, 20 km": (
            company,
            "/market/",
            {"q": "опилки", "sort": "tonnes", "max_km": "20"},
            {},
        ),
        "market, map's area": (company, "/market/", {"bbox": CITY_BOX}, HTMX),
        "map, all": (company, "/market/map.json", {}, {}),
        "map, city": (company, "/market/map.json", {"bbox": CITY_BOX}, {}),
        "map, district": (company, "/market/map.json", {"bbox": DISTRICT_BOX}, {}),
        "map, streets": (company, "/market/map.json", {"bbox": STREETS_BOX}, {}),
        "map, demand, biomass": (
            company,
            "/market/map.json",
            {"kind": "demand", "category": "biomass", "bbox": DISTRICT_BOX},
            {},
        ),
        "map, facilitator": (facilitator, "/market/map.json", {"bbox": CITY_BOX}, {}),
        "listing page": (company, f"/market/supply/{supply}/", {}, {}),
        "workspace": (company, "/", {}, {}),
        "new supply listing": (company, "/listings/supply/new/", {}, {}),
        "runs": (facilitator, "/review/runs/", {}, {}),
        "run results": (facilitator, f"/review/runs/{run}/", {"sort": "saving"}, {}),
        "run results, page 5": (
            facilitator,
            f"/review/runs/{run}/",
            {"sort": "km", "page": "5"},
            {},
        ),
        "city": (analyst, "/city/", {}, {}),
        "city, filtered": (analyst, "/city/", {"district": "almaly", "category": "biomass"}, {}),
        "city export": (analyst, "/api/v1/city/material/", {"format": "csv"}, {}),
    }


def _get(name: str, client: Client, path: str, query: dict, headers: dict) -> None:
    response = client.get(path, query, **headers)
    if response.status_code != 200:
        raise SystemExit(f"{name}: {path} answered {response.status_code}")


def _count_queries(*request) -> int:
    sqls: list[str] = []

    def count(execute, sql, params, many, context):
        sqls.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        _get(*request)
    return len(sqls)


def main(names: list[str]) -> int:
    runs = int(os.environ.get("N", "8"))
    table = pages()
    unknown = [name for name in names if name not in table]
    if unknown:
        print(f"unknown pages: {unknown}; known: {list(table)}", file=sys.stderr)
        return 2
    print(f"| page | CPU ms | wall ms | queries |  (median of {runs})")
    print("|---|---:|---:|---:|")
    for name in names or table:
        _get(name, *table[name])  # warms the caches a first request fills
        queries = _count_queries(name, *table[name])
        cpu_ms, wall_ms = [], []
        for _ in range(runs):
            wall0, cpu0 = time.perf_counter(), time.process_time()
            _get(name, *table[name])
            cpu_ms.append((time.process_time() - cpu0) * 1000)
            wall_ms.append((time.perf_counter() - wall0) * 1000)
        print(
            f"| {name} | {statistics.median(cpu_ms):.1f} | {statistics.median(wall_ms):.1f} "
            f"| {queries} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
