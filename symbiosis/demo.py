"""Almaty demo data: the flows named in the 2019 Almaty circular economy analysis.

The data lives in symbiosis/fixtures/demo/*.csv (organizations, sites,
supplies, demands); the companies are fictional, their flows follow the
report, and each tonnage either traces to a line of the report or is an
illustrative size for one company of its kind (symbiosis/fixtures/README.md
says which, listing by listing). Loading is idempotent: organizations are
found by BIN, users by e-mail, sites by (organization, name) and listings by
a stable key kept in their ``demo_key`` field (never in the description,
which people read), so a second run on the same day creates and changes
nothing.

Listing windows are seasons, not dates (``demo_window``): the CSVs give a
month-day pair ("07-15" to "12-31": straw after the harvest) or nothing (all
year), and the loader places them around the day it runs, so the demo can be
walked from an introduction to a delivery on any date. A run on a later day
moves the windows to that day, except that a window never stops covering a
deal still in progress on its listing (that deal's terms stay valid).
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from fpdf import FPDF

from symbiosis import permits
from symbiosis.models import (
    DemandListing,
    ImportedOriginClearance,
    Material,
    Membership,
    Organization,
    Site,
    SupplyListing,
    Use,
    User,
    WastePermit,
)
from symbiosis.models.accounts import CITY_ANALYST_GROUP, FACILITATOR_GROUP
from symbiosis.taxonomy import (
    decimal_or_none,
    load_factor_set,
    load_taxonomy,
    parse_bool,
    read_csv,
    upsert,
)
from symbiosis.units import listing_tonnes

DEMO_PASSWORD = "almaty-demo-2027"
DEMO_EMAIL_DOMAIN = "demo.kz"
FACILITATOR_EMAIL = f"facilitator@{DEMO_EMAIL_DOMAIN}"
ANALYST_EMAIL = f"analyst@{DEMO_EMAIL_DOMAIN}"

# Apps whose models a demo facilitator may view in the admin.
FACILITATOR_VIEW_APPS = ("symbiosis", "marketplace", "optimizer")
# A season that ends sooner than this after the load day is taken from the
# next year: a run in late December proposes next summer's straw, not 3 days.
SEASON_MIN_DAYS_LEFT = 30


@dataclass
class DemoLogin:
    email: str
    role: str


@dataclass
class DemoResult:
    counts: Counter = field(default_factory=Counter)
    logins: list[DemoLogin] = field(default_factory=list)
    password: str = DEMO_PASSWORD


def demo_listing(model, key: str):
    """The demo listing (``SupplyListing`` or ``DemandListing``) of ``key``."""
    return model.objects.get(demo_key=key)


def organization_email(key: str) -> str:
    return f"{key}@{DEMO_EMAIL_DOMAIN}"


def _month_day(text: str, key: str) -> tuple[int, int]:
    try:
        month, day = (int(part) for part in text.split("-"))
        date(2001, month, day)  # not a leap year: no 29 February season
    except ValueError:
        raise ValueError(f"demo listing {key}: {text!r} is no MM-DD season day") from None
    return month, day


def _a_year_later(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def demo_window(season_from: str, season_until: str, *, today: date, key: str = "?"):
    """(available_from, available_until) of a demo listing loaded on ``today``.

    No season: all year, from ``today`` for a year. A season ("04-01" to
    "10-31"): its occurrence that has at least SEASON_MIN_DAYS_LEFT to run,
    from ``today`` when it is under way. A window never starts before the load
    day, so a deal drafted from it does not start in the past, and every
    season opens within the year-long windows. Two seasons of one matchable
    pair end on the same day (the CSVs are written so), so the pairs that
    meet within one calendar year meet on any load day
    (tests/symbiosis/test_demo_dates.py checks every matchable pair on every
    day of two years).
    """
    if not season_from and not season_until:
        return today, _a_year_later(today) - timedelta(days=1)
    if not (season_from and season_until):
        raise ValueError(f"demo listing {key}: give both season days or neither")
    first, last = _month_day(season_from, key), _month_day(season_until, key)
    if first > last:
        raise ValueError(f"demo listing {key}: a season runs within one calendar year")
    year = today.year
    if date(year, *last) < today + timedelta(days=SEASON_MIN_DAYS_LEFT):
        year += 1
    return max(date(year, *first), today), date(year, *last)


# The apps above the core take part in the demo through these registrations (their
# AppConfig.ready), so this loader imports none of them: the marketplace tells the
# spans of the deals in progress on each demo listing, the optimizer loads its plants.
DealSpans = Callable[[str], dict]
_deal_spans_sources: list[DealSpans] = []
_steps: list[tuple[str, Callable[[], int]]] = []


def register_deal_spans(source: DealSpans) -> None:
    """``source(listing_field)`` -> {demo key: (first start, last end)} of the deals
    still in progress on each demo listing (``listing_field``: "supply" or "demand")."""
    if source not in _deal_spans_sources:
        _deal_spans_sources.append(source)


def register_step(name: str, step: Callable[[], int]) -> None:
    """A step run after the listings are loaded; its count is reported as ``name``."""
    if (name, step) not in _steps:
        _steps.append((name, step))


def _open_deal_spans(listing_field: str) -> dict[str, tuple[date, date]]:
    spans: dict[str, tuple[date, date]] = {}
    for source in _deal_spans_sources:
        for key, (first, last) in source(listing_field).items():
            if key in spans:
                first, last = min(first, spans[key][0]), max(last, spans[key][1])
            spans[key] = (first, last)
    return spans


def _slugs(text: str) -> list[str]:
    return [slug for slug in text.split(";") if slug]


def _demo_csv(name: str) -> list[dict[str, str]]:
    return read_csv(f"demo/{name}")


def _user(
    email: str,
    first_name: str,
    last_name: str,
    password_hash,
    counts: Counter,
    *,
    is_staff: bool = False,
) -> User:
    user, action = upsert(
        User,
        {"email": email},
        {"first_name": first_name, "last_name": last_name, "is_staff": is_staff},
        validate=False,
    )
    if action == "created":
        # Only a new account gets the demo password: a reload must not undo a
        # password someone changed while trying the demo.
        user.password = password_hash()
        user.save(update_fields=["password"])
    counts[f"user {action}"] += 1
    return user


def _organizations(password_hash, result: DemoResult) -> dict[str, Organization]:
    organizations = {}
    for row in _demo_csv("organizations.csv"):
        email = organization_email(row["key"])
        org, action = upsert(
            Organization,
            {"bin": row["bin"]},
            {
                "name": row["name"],
                "sector": row["sector"],
                "kind": row["kind"],
                "contact_name": row["contact_name"],
                "contact_email": email,
                "contact_phone": row["contact_phone"],
                "agrees_to_be_named": parse_bool(row["agrees_to_be_named"]),
            },
        )
        result.counts[f"organization {action}"] += 1
        first_name, _, last_name = row["contact_name"].partition(" ")
        user = _user(email, first_name, last_name, password_hash, result.counts)
        _, action = upsert(
            Membership, {"user": user, "organization": org}, {"role": Membership.Role.ADMIN}
        )
        result.counts[f"membership {action}"] += 1
        result.logins.append(DemoLogin(email, f"company admin, {org.name}"))
        organizations[row["key"]] = org
    return organizations


def _sites(organizations: dict[str, Organization], counts: Counter) -> dict:
    sites = {}
    for row in _demo_csv("sites.csv"):
        org = organizations[row["organization"]]
        site, action = upsert(
            Site,
            {"organization": org, "name": row["name"]},
            {
                "address": row["address"],
                "district": row["district"],
                "latitude": Decimal(row["latitude"]),
                "longitude": Decimal(row["longitude"]),
            },
        )
        counts[f"site {action}"] += 1
        sites[(row["organization"], row["name"])] = site
    return sites


def _listing_values(row: dict[str, str], organizations, sites, today, deal_spans) -> dict:
    """Fields shared by supply and demand rows."""
    available_from, available_until = demo_window(
        row["available_from"], row["available_until"], today=today, key=row["key"]
    )
    if row["key"] in deal_spans:
        # A reload on a later day must not strand a deal in progress outside
        # its listing's window (its terms would be refused on the next step).
        first, last = deal_spans[row["key"]]
        available_from, available_until = min(available_from, first), max(available_until, last)
    return {
        "organization": organizations[row["organization"]],
        "site": sites[(row["organization"], row["site"])],
        "quantity": Decimal(row["quantity"]),
        "unit": row["unit"],
        "piece_mass_kg": decimal_or_none(row["piece_mass_kg"]),
        "recurrence": row["recurrence"],
        "available_from": available_from,
        "available_until": available_until,
        "max_km": decimal_or_none(row["max_km"]),
        "visibility": row["visibility"],
        "status": row["status"],
        "description": row["description"],
        "demo_key": row["key"],
    }


def _with_tonnes(model, values: dict) -> dict:
    # full_clean needs tonnes before save() would normalise it; compute it the
    # same way save() does so the reload comparison sees no difference.
    values["tonnes"] = listing_tonnes(model(**values))
    return values


def _supplies(organizations, sites, materials, today, counts: Counter) -> None:
    deal_spans = _open_deal_spans("supply")
    for row in _demo_csv("supplies.csv"):
        values = _listing_values(row, organizations, sites, today, deal_spans)
        values.update(
            material=materials[row["material"]],
            fate=row["fate"],
            # How the company knows; the demo verifies nothing (a facilitator does).
            fate_evidence=row["fate_evidence"],
            fate_evidence_note=row["fate_evidence_note"],
            imported_origin=parse_bool(row["imported_origin"]),
            fate_cost_kzt_per_t=decimal_or_none(row["fate_cost_kzt_per_t"]),
            moisture_percent=decimal_or_none(row["moisture_percent"]),
            contamination_percent=decimal_or_none(row["contamination_percent"]),
            price_kzt_per_t=decimal_or_none(row["price_kzt_per_t"]),
        )
        _, action = upsert(
            SupplyListing,
            {},
            _with_tonnes(SupplyListing, values),
            find={"demo_key": row["key"]},
        )
        counts[f"supply {action}"] += 1


def _demands(organizations, sites, materials, uses, today, counts: Counter) -> None:
    deal_spans = _open_deal_spans("demand")
    for row in _demo_csv("demands.csv"):
        values = _listing_values(row, organizations, sites, today, deal_spans)
        values.update(
            reference_material=materials[row["reference_material"]]
            if row["reference_material"]
            else None,
            max_moisture_percent=decimal_or_none(row["max_moisture_percent"]),
            max_contamination_percent=decimal_or_none(row["max_contamination_percent"]),
            max_price_kzt_per_t=decimal_or_none(row["max_price_kzt_per_t"]),
            min_lot_tonnes=decimal_or_none(row["min_lot_tonnes"]),
        )
        demand, action = upsert(
            DemandListing,
            {},
            _with_tonnes(DemandListing, values),
            find={"demo_key": row["key"]},
        )
        wanted_materials = {materials[s].pk for s in _slugs(row["materials"])}
        wanted_uses = {uses[s].pk for s in _slugs(row["uses"])}
        if not wanted_materials and not wanted_uses:
            raise ValueError(f"demand {row['key']} accepts no material and no use")
        if set(demand.materials.values_list("pk", flat=True)) != wanted_materials:
            demand.materials.set(wanted_materials)
            action = "updated" if action == "unchanged" else action
        if set(demand.uses.values_list("pk", flat=True)) != wanted_uses:
            demand.uses.set(wanted_uses)
            action = "updated" if action == "unchanged" else action
        counts[f"demand {action}"] += 1


def _demo_permit_pdf(number: str) -> bytes:
    """A one-page PDF standing in for the scan of the demo re-refinery's permit."""
    sheet = FPDF()
    sheet.add_page()
    sheet.set_font("helvetica", size=14)
    sheet.cell(text=f"Demo permit {number} (fictional, for the demo only)")
    return bytes(sheet.output())


# organization, number, issuer, activity, codes: waiting for the demo facilitator.
DEMO_PERMITS = [
    (
        "kaz-oil-regeneration",
        "KZ-DEMO-0001",
        "Demo issuer (fictional): environmental authority of Almaty",
        "recovery",
        ["13 02 05*", "13 02 08*"],
    )
]


def _permits(organizations, today: date, counts: Counter) -> None:
    """The demo re-refinery's permit, pending: the facilitator verifies it in the demo.
    Found by (organization, number), so a reload never undoes a decision."""
    for key, number, issuer, activity, codes in DEMO_PERMITS:
        organization = organizations[key]
        if WastePermit.objects.filter(organization=organization, number=number).exists():
            continue
        member = organization.memberships.select_related("user").first().user
        permits.permit_add(
            user=member,
            organization=organization,
            number=number,
            issuer=issuer,
            activity=activity,
            codes=codes,
            valid_from=today.replace(month=1, day=1),
            valid_until=today.replace(year=today.year + 5, month=12, day=31),
            upload=SimpleUploadedFile(f"permit-{number}.pdf", _demo_permit_pdf(number)),
        )
        counts["permit created"] += 1


def _staff_accounts(password_hash, result: DemoResult) -> None:
    facilitator = _user(
        FACILITATOR_EMAIL, "Demo", "Facilitator", password_hash, result.counts, is_staff=True
    )
    facilitator.groups.add(Group.objects.get_or_create(name=FACILITATOR_GROUP)[0])
    # is_staff opens the admin; without model permissions it would show an
    # empty index. View-only: change rights on users would let the account
    # grant itself more.
    facilitator.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label__in=FACILITATOR_VIEW_APPS, codename__startswith="view_"
        )
    )
    analyst = _user(ANALYST_EMAIL, "Demo", "Analyst", password_hash, result.counts)
    analyst.groups.add(Group.objects.get_or_create(name=CITY_ANALYST_GROUP)[0])
    result.logins[:0] = [
        DemoLogin(FACILITATOR_EMAIL, "facilitator (admin site: view only)"),
        DemoLogin(ANALYST_EMAIL, "city analyst"),
    ]


def _clearances(counts: Counter) -> None:
    """Imported-origin decisions of the demo (``clearances.csv``, illustrative and so
    marked): recorded once per material; a facilitator's later decisions stay."""
    facilitator = User.objects.get(email=FACILITATOR_EMAIL)
    for row in _demo_csv("clearances.csv"):
        material = Material.objects.get(slug=row["material"])
        if ImportedOriginClearance.objects.filter(material=material).exists():
            counts["clearance unchanged"] += 1
            continue
        ImportedOriginClearance.objects.create(
            material=material, outcome=row["outcome"], basis=row["basis"], decided_by=facilitator
        )
        counts["clearance created"] += 1


@transaction.atomic
def load_demo(*, today: date | None = None) -> DemoResult:
    """Load taxonomy, factor set and the Almaty demo data, its listing windows
    placed around ``today`` (default: the local date); safe to run again."""
    today = today or timezone.localdate()
    result = DemoResult()
    result.counts.update(load_taxonomy())
    _, factor_counts = load_factor_set()
    result.counts.update(factor_counts)
    # One hash for every new demo account, made only if one is created:
    # hashing ~40 times would cost seconds.
    password_hash = functools.cache(lambda: make_password(DEMO_PASSWORD))
    organizations = _organizations(password_hash, result)
    _staff_accounts(password_hash, result)
    _clearances(result.counts)
    sites = _sites(organizations, result.counts)
    materials = {m.slug: m for m in Material.objects.all()}
    uses = {u.slug: u for u in Use.objects.all()}
    _supplies(organizations, sites, materials, today, result.counts)
    _demands(organizations, sites, materials, uses, today, result.counts)
    _permits(organizations, today, result.counts)
    for name, step in _steps:
        result.counts[name] = step()
    return result
