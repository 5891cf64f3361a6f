"""Benchmark: the city dashboard and every export over 100,000 confirmed deliveries.

    .venv/bin/python -m dashboard.bench [--deliveries 100000] [--deals 400]

Runs on a fresh SQLite database in a temporary VAR_DIR (unless VAR_DIR or
DATABASE_URL is set), builds the rows with ``bulk_create`` (deals straight
into the active state: this measures reads, not the marketplace services),
computes the per-deal rates once, then times each page and export over the
test client and prints milliseconds and query counts. The target in issue 7
is under 500 ms per answer.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal

if "VAR_DIR" not in os.environ and "DATABASE_URL" not in os.environ:
    os.environ["VAR_DIR"] = tempfile.mkdtemp(prefix="dashboard-bench-")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "symbiosis.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from dashboard.selectors import TABLES  # noqa: E402
from dashboard.services import months_refresh, rates_refresh  # noqa: E402
from marketplace.models import Deal, Delivery  # noqa: E402
from symbiosis.models import (  # noqa: E402
    CompatibilityRule,
    DemandListing,
    EmissionFactor,
    FactorSet,
    Material,
    Organization,
    Site,
    SupplyListing,
    Use,
    User,
)
from symbiosis.models.accounts import District  # noqa: E402

SECTORS = ["A", "C", "E", "F", "G", "I"]
CATEGORIES = ["biomass", "minerals", "metals", "plastics"]


def build(*, n_deliveries: int, n_deals: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    now = timezone.now()
    factor_set = FactorSet.objects.create(
        version="bench-1", name="Bench", transport_kg_co2e_per_tkm=Decimal("0.1"), is_active=True
    )
    materials = Material.objects.bulk_create(
        Material(
            slug=f"bench-{i}",
            name_en=f"Bench material {i}",
            name_ru=f"Материал {i}",
            ewc_code="02 07 04",
            category=CATEGORIES[i % len(CATEGORIES)],
        )
        for i in range(24)
    )
    use = Use.objects.create(slug="bench-use", name_en="Bench use", name_ru="Применение")
    CompatibilityRule.objects.bulk_create(
        CompatibilityRule(material=m, use=use, replaces="virgin", credit_kg_co2e_per_t=50)
        for m in materials
    )
    EmissionFactor.objects.bulk_create(
        EmissionFactor(
            factor_set=factor_set, material=m, kind="landfill", kg_co2e_per_t=300, source="bench"
        )
        for m in materials
    )
    orgs = Organization.objects.bulk_create(
        Organization(name=f"Org {i}", bin=f"{900000000000 + i}", sector=SECTORS[i % 6])
        for i in range(200)
    )
    districts = [d for d, _ in District.choices]
    sites = Site.objects.bulk_create(
        Site(
            organization=o,
            name=f"Site {i}",
            district=districts[i % len(districts)],
            latitude=Decimal(f"{43.15 + rng.random() * 0.2:.6f}"),
            longitude=Decimal(f"{76.80 + rng.random() * 0.25:.6f}"),
        )
        for i, o in enumerate(orgs)
    )
    supplies, demands, pairs = [], [], []
    for i in range(n_deals):
        a, b = rng.sample(range(len(orgs)), 2)
        m = materials[i % len(materials)]
        common = {"quantity": 10_000, "unit": "t", "tonnes": 10_000, "recurrence": "year"}
        supplies.append(
            SupplyListing(
                organization=orgs[a], site=sites[a], material=m, fate="landfill", **common
            )
        )
        demands.append(DemandListing(organization=orgs[b], site=sites[b], **common))
        pairs.append((a, b, m))
    SupplyListing.objects.bulk_create(supplies)
    DemandListing.objects.bulk_create(demands)
    for demand, (_a, _b, m) in zip(demands, pairs, strict=True):
        demand.materials.add(m)
        demand.uses.add(use)
    deals = Deal.objects.bulk_create(
        Deal(
            supplier=orgs[a],
            receiver=orgs[b],
            supply=supplies[i],
            demand=demands[i],
            receiver_site=sites[b],
            material=m,
            tonnes_per_period=1000,
            period="year",
            tonnes_total=2000,
            price_kzt_per_t=1000,
            start_date=date(2025, 1, 1),
            end_date=date(2026, 12, 31),
            factor_set=factor_set,
            state="active",
            initiator="supplier",
            supplier_accepted_at=now,
            receiver_accepted_at=now,
        )
        for i, (a, b, m) in enumerate(pairs)
    )
    statuses = ["confirmed"] * 8 + ["logged", "disputed"]
    batch = []
    for i in range(n_deliveries):
        status = rng.choice(statuses)
        batch.append(
            Delivery(
                deal=deals[i % len(deals)],
                date=date(2025, 1, 1) + timedelta(days=rng.randrange(700)),
                tonnes=Decimal(f"{rng.uniform(0.5, 25):.3f}"),
                ticket_number=f"B-{i}",
                status=status,
                confirmed_at=now if status == "confirmed" else None,
                dispute_reason="bench" if status == "disputed" else "",
            )
        )
        if len(batch) == 10_000:
            Delivery.objects.bulk_create(batch)
            batch = []
    Delivery.objects.bulk_create(batch)


def timed(client: Client, url: str, repeat: int = 3) -> tuple[float, int]:
    best = float("inf")
    queries = 0
    for _ in range(repeat):
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            response = client.get(url)
            elapsed = time.perf_counter() - start
        assert response.status_code == 200, (url, response.status_code)
        best = min(best, elapsed)
        queries = len(ctx.captured_queries)
    return best * 1000, queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=100_000)
    parser.add_argument("--deals", type=int, default=400)
    args = parser.parse_args()
    print(f"database: {settings.DATABASES['default']['NAME']}")
    call_command("migrate", verbosity=0)
    if Delivery.objects.exists():
        print(f"reusing the {Delivery.objects.count()} deliveries already there")
    else:
        start = time.perf_counter()
        build(n_deliveries=args.deliveries, n_deals=args.deals)
        elapsed = time.perf_counter() - start
        print(f"built {args.deliveries} deliveries on {args.deals} deals in {elapsed:.1f} s")
    start = time.perf_counter()
    print(f"rates computed for {rates_refresh()} deals in {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    months_refresh()
    print(f"monthly roll-up of confirmed deliveries built in {time.perf_counter() - start:.2f} s")
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    analyst, _ = User.objects.get_or_create(email="bench-analyst@example.kz")
    analyst.groups.add(Group.objects.get_or_create(name="city_analyst")[0])
    client = Client()
    client.force_login(analyst)
    urls = [reverse("dashboard:city"), reverse("dashboard:city") + "?district=almaly"]
    for name in [*TABLES, "headline"]:
        for fmt in ("csv", "json"):
            urls.append(reverse("dashboard:export", args=[name]) + f"?format={fmt}")
    worst = 0.0
    print(f"{'url':<48} {'ms (best of 3)':>15} {'queries':>8}")
    for url in urls:
        ms, queries = timed(client, url)
        worst = max(worst, ms)
        print(f"{url:<48} {ms:>15.1f} {queries:>8}")
    print(f"slowest: {worst:.1f} ms ({'under' if worst < 500 else 'OVER'} the 500 ms target)")


if __name__ == "__main__":
    main()
