"""The Almaty demo scaled up for the load scenario (``manage.py scale_demo``).

After ``load_demo`` this adds synthetic organizations (one admin user each,
password ``DEMO_PASSWORD``), their sites, supply and demand listings, one real
optimizer run on a subset of them, and deals with confirmed deliveries so the
city dashboard has figures. Rows are written with ``bulk_create`` (no
``full_clean`` per row: the values are generated valid), so 5,000
organizations and 50,000 listings take about a minute, not an hour.

Synthetic organizations are recognised by their contact e-mail domain
(``SCALE_EMAIL_DOMAIN``); a database that already holds any is left alone
(``ScaleResult.already_scaled``): drop the database to scale again.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

# Project wiring (the layers contract names this module): the large-scale demo fills
# every app, so it imports them all.
from dashboard.services import months_refresh, rates_refresh
from marketplace.models import Deal, DealEvent, Delivery
from optimizer import services
from symbiosis.demo import DEMO_PASSWORD, FACILITATOR_EMAIL
from symbiosis.models import (
    DemandListing,
    FactorSet,
    Material,
    Membership,
    Organization,
    Site,
    SupplyListing,
    User,
)
from symbiosis.models.accounts import District
from symbiosis.models.listings import Fate, Recurrence, Status, Unit, Visibility
from symbiosis.validators import bin_check_digit

SCALE_EMAIL_DOMAIN = "scale.demo.kz"
# BINs of synthetic organizations start here (the demo's own are far below).
BIN_BASE = 90_000_000_000
# The city's extent, for random site coordinates.
ALMATY_LAT = (43.16, 43.40)
ALMATY_LON = (76.76, 77.10)
BATCH = 2000


def scale_email(n: int) -> str:
    """The login of synthetic organization number ``n`` (1-based)."""
    return f"org{n:05d}@{SCALE_EMAIL_DOMAIN}"


@dataclass
class ScaleResult:
    already_scaled: bool = False
    counts: Counter = field(default_factory=Counter)
    timings_s: dict[str, float] = field(default_factory=dict)
    run_id: int | None = None


def _bins(count: int) -> list[str]:
    bins, n = [], BIN_BASE
    while len(bins) < count:
        first = f"{n:011d}"
        digit = bin_check_digit(first)
        if digit is not None:
            bins.append(f"{first}{digit}")
        n += 1
    return bins


def _weighted(rng: random.Random, choices: dict):
    return rng.choices(list(choices), weights=list(choices.values()))[0]


def _organizations(rng, count: int, result: ScaleResult) -> list[Organization]:
    password = make_password(DEMO_PASSWORD)  # hashed once for every account
    sectors = [s for s in Organization.Sector.values if s not in ("K", "O", "P")]
    orgs = [
        Organization(
            name=f"Load Test Company {n:05d}",
            bin=bin_,
            sector=rng.choice(sectors),
            kind=Organization.Kind.PROCESSOR if n % 20 == 0 else Organization.Kind.COMPANY,
            contact_name=f"Contact {n:05d}",
            contact_email=scale_email(n),
            agrees_to_be_named=n % 3 == 0,
        )
        for n, bin_ in enumerate(_bins(count), start=1)
    ]
    orgs = Organization.objects.bulk_create(orgs, batch_size=BATCH)
    users = User.objects.bulk_create(
        [
            User(
                email=org.contact_email, first_name="Contact", last_name=org.bin, password=password
            )
            for org in orgs
        ],
        batch_size=BATCH,
    )
    Membership.objects.bulk_create(
        [
            Membership(user=user, organization=org, role=Membership.Role.ADMIN)
            for user, org in zip(users, orgs, strict=True)
        ],
        batch_size=BATCH,
    )
    result.counts.update(organizations=len(orgs), users=len(users), memberships=len(users))
    return orgs


def _sites(rng, orgs: list[Organization], result: ScaleResult) -> dict[int, list[Site]]:
    sites = []
    for org in orgs:
        # A fifth of the companies have a second site.
        for i in range(1 if rng.random() < 0.8 else 2):
            sites.append(
                Site(
                    organization=org,
                    name="Main site" if i == 0 else "Second site",
                    address=f"Street {rng.randint(1, 400)}, {org.contact_name}",
                    district=rng.choice(District.values),
                    latitude=Decimal(f"{rng.uniform(*ALMATY_LAT):.6f}"),
                    longitude=Decimal(f"{rng.uniform(*ALMATY_LON):.6f}"),
                )
            )
    sites = Site.objects.bulk_create(sites, batch_size=BATCH)
    by_org: dict[int, list[Site]] = {}
    for site in sites:
        by_org.setdefault(site.organization_id, []).append(site)
    result.counts["sites"] = len(sites)
    return by_org


STATUS_WEIGHTS = {Status.ACTIVE: 80, Status.PAUSED: 8, Status.DRAFT: 7, Status.CLOSED: 5}
VISIBILITY_WEIGHTS = {Visibility.PUBLIC: 60, Visibility.ANONYMOUS: 30, Visibility.PRIVATE: 10}
RECURRENCE_WEIGHTS = {Recurrence.YEARLY: 60, Recurrence.MONTHLY: 30, Recurrence.ONCE: 10}
FATE_WEIGHTS = {Fate.LANDFILL: 75, Fate.OPEN_DUMP: 10, Fate.INCINERATION: 5, Fate.OTHER: 10}


def _common(rng, org: Organization, site: Site, n: int) -> dict:
    # Unit tonnes, so tonnes == quantity and no density is needed.
    quantity = Decimal(f"{rng.lognormvariate(4.0, 1.3):.3f}") + Decimal("0.5")
    return {
        "organization": org,
        "site": site,
        "quantity": quantity,
        "tonnes": quantity,
        "unit": Unit.TONNES,
        "recurrence": _weighted(rng, RECURRENCE_WEIGHTS),
        "visibility": _weighted(rng, VISIBILITY_WEIGHTS),
        "status": _weighted(rng, STATUS_WEIGHTS),
        "max_km": Decimal(rng.choice([20, 30, 50, 80])) if rng.random() < 0.5 else None,
        "description": f"Synthetic load-test listing {n}",
    }


def _listings(rng, orgs, sites_by_org, total: int, result: ScaleResult) -> None:
    materials = list(Material.objects.all())
    if not materials:
        raise ValueError("No materials: run `manage.py load_demo` first.")
    supplies_wanted = total // 2
    demands_wanted = total - supplies_wanted
    supplies = []
    for n in range(supplies_wanted):
        org = orgs[n % len(orgs)]
        site = rng.choice(sites_by_org[org.pk])
        supplies.append(
            SupplyListing(
                **_common(rng, org, site, n),
                material=rng.choice(materials),
                fate=_weighted(rng, FATE_WEIGHTS),
                price_kzt_per_t=Decimal(rng.randint(-2000, 8000)) if rng.random() < 0.4 else None,
            )
        )
    SupplyListing.objects.bulk_create(supplies, batch_size=BATCH)
    demands, wanted = [], []
    for n in range(demands_wanted):
        # Shifted by half the list, so most companies both give and take.
        org = orgs[(n + len(orgs) // 2) % len(orgs)]
        site = rng.choice(sites_by_org[org.pk])
        demands.append(DemandListing(**_common(rng, org, site, n)))
        wanted.append(rng.sample(materials, k=rng.choice([1, 1, 2, 3])))
    demands = DemandListing.objects.bulk_create(demands, batch_size=BATCH)
    through = DemandListing.materials.through
    links = [
        through(demandlisting_id=demand.pk, material_id=material.pk)
        for demand, chosen in zip(demands, wanted, strict=True)
        for material in chosen
    ]
    through.objects.bulk_create(links, batch_size=BATCH * 5)
    result.counts.update(supplies=len(supplies), demands=len(demands), demand_materials=len(links))


def _optimize(orgs: list[Organization], run_orgs: int, result: ScaleResult) -> None:
    """One real run (the same service as ``manage.py optimize``) on the demo
    organizations plus the first ``run_orgs`` synthetic ones."""
    demo_ids = list(
        Organization.objects.exclude(contact_email__endswith=f"@{SCALE_EMAIL_DOMAIN}").values_list(
            "pk", flat=True
        )
    )
    ids = demo_ids + [org.pk for org in orgs[:run_orgs]]
    facilitator = User.objects.filter(email=FACILITATOR_EMAIL).first()
    run = services.run_create(
        user=facilitator,
        parameters={"organization_ids": ids, "time_limit_s": 60.0},
        enqueue=False,
        as_system=True,
    )
    services.run_execute(run_id=run.pk)
    run.refresh_from_db()
    result.run_id = run.pk
    result.counts[f"optimizer run {run.status}"] += 1
    result.counts["proposals"] = run.proposals.count()


def _deals(rng, orgs, sites_by_org, deal_count: int, deliveries_per_deal: int, today, result):
    """Completed and active deals with confirmed weighbridge deliveries over the two
    years before ``today`` (the same day ``load_demo`` places its windows around)."""
    factor_set = FactorSet.objects.filter(is_active=True).first()
    supplies = list(
        SupplyListing.objects.filter(
            status=Status.ACTIVE, organization__in=orgs, recurrence=Recurrence.YEARLY
        )
        .select_related("organization")
        .order_by("pk")[: deal_count * 3]
    )
    users = dict(
        Membership.objects.filter(organization__in=orgs).values_list("organization_id", "user_id")
    )
    now = timezone.now()
    deals = []
    for supply in rng.sample(supplies, k=min(deal_count, len(supplies))):
        receiver = rng.choice(orgs)
        while receiver.pk == supply.organization_id:
            receiver = rng.choice(orgs)
        tonnes = supply.tonnes
        start = today - timedelta(days=rng.randint(60, 720))
        deals.append(
            Deal(
                supplier_id=supply.organization_id,
                receiver=receiver,
                supply=supply,
                receiver_site=sites_by_org[receiver.pk][0],
                material_id=supply.material_id,
                tonnes_per_period=tonnes,
                period=Recurrence.YEARLY,
                tonnes_total=tonnes * 2,
                start_date=start,
                end_date=start + timedelta(days=730),
                factor_set=factor_set,
                state=Deal.State.ACTIVE if rng.random() < 0.7 else Deal.State.COMPLETED,
                initiator=Deal.Initiator.SUPPLIER,
                supplier_accepted_at=now,
                receiver_accepted_at=now,
                created_by_id=users[supply.organization_id],
            )
        )
    deals = Deal.objects.bulk_create(deals, batch_size=BATCH)
    DealEvent.objects.bulk_create(
        [
            DealEvent(
                deal=deal,
                actor_id=deal.created_by_id,
                action="load_test_seeded",
                to_state=deal.state,
                note="Created by manage.py scale_demo.",
            )
            for deal in deals
        ],
        batch_size=BATCH,
    )
    deliveries = []
    for deal in deals:
        per_delivery = (deal.tonnes_total / 2 / deliveries_per_deal).quantize(Decimal("0.001"))
        receiver_user = users[deal.receiver_id]
        for k in range(deliveries_per_deal):
            day = min(deal.start_date + timedelta(days=30 * k + rng.randint(0, 20)), today)
            deliveries.append(
                Delivery(
                    deal=deal,
                    date=day,
                    tonnes=max(per_delivery, Decimal("0.001")),
                    ticket_number=f"LT-{deal.pk}-{k + 1}",
                    status=Delivery.Status.CONFIRMED,
                    logged_by_id=deal.created_by_id,
                    confirmed_by_id=receiver_user,
                    confirmed_at=now,
                )
            )
    Delivery.objects.bulk_create(deliveries, batch_size=BATCH * 5)
    result.counts.update(deals=len(deals), deliveries=len(deliveries))


def _timed(result: ScaleResult, name: str, started: float) -> float:
    now = time.perf_counter()
    result.timings_s[name] = round(now - started, 1)
    return now


def scale_demo(
    *,
    organizations: int = 5000,
    listings: int = 50000,
    run_organizations: int = 150,
    deals: int = 2000,
    deliveries_per_deal: int = 10,
    seed: int = 1,
    today: date | None = None,
) -> ScaleResult:
    """Grow the demo to ``organizations`` and ``listings`` in total (the demo's
    own rows count), plus a run, deals and deliveries; nothing when already scaled."""
    result = ScaleResult()
    if Organization.objects.filter(contact_email__endswith=f"@{SCALE_EMAIL_DOMAIN}").exists():
        result.already_scaled = True
        return result
    if not User.objects.filter(email=FACILITATOR_EMAIL).exists():
        raise ValueError("The demo is not loaded: run `manage.py load_demo` first.")
    rng = random.Random(seed)
    today = today or timezone.localdate()
    extra_orgs = max(organizations - Organization.objects.count(), 0)
    extra_listings = max(
        listings - SupplyListing.objects.count() - DemandListing.objects.count(), 0
    )
    started = time.perf_counter()
    with transaction.atomic():
        orgs = _organizations(rng, extra_orgs, result)
        started = _timed(result, "organizations and users", started)
        sites_by_org = _sites(rng, orgs, result)
        started = _timed(result, "sites", started)
        _listings(rng, orgs, sites_by_org, extra_listings, result)
        started = _timed(result, "listings", started)
    # Outside the transaction above: the run commits its own progress rows.
    _optimize(orgs, run_organizations, result)
    started = _timed(result, "optimizer run", started)
    with transaction.atomic():
        _deals(rng, orgs, sites_by_org, deals, deliveries_per_deal, today, result)
    started = _timed(result, "deals and deliveries", started)
    result.counts["deal impact rates"] = rates_refresh(everything=True)
    months_refresh(force=True)
    _timed(result, "dashboard roll-ups", started)
    return result
