"""Almaty demo data: the flows named in the 2019 Almaty circular economy analysis.

The data lives in symbiosis/fixtures/demo/*.csv (organizations, sites,
supplies, demands); the companies are fictional, their flows follow the
report. Loading is idempotent: organizations are found by BIN, users by
e-mail, sites by (organization, name) and listings by a stable key kept at
the end of their description, so a second run creates and changes nothing.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from symbiosis.models import (
    DemandListing,
    Material,
    Membership,
    Organization,
    Site,
    SupplyListing,
    Use,
    User,
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


@dataclass
class DemoLogin:
    email: str
    role: str


@dataclass
class DemoResult:
    counts: Counter = field(default_factory=Counter)
    logins: list[DemoLogin] = field(default_factory=list)
    password: str = DEMO_PASSWORD


def listing_marker(key: str) -> str:
    """The stable key of a demo listing, kept at the end of its description."""
    return f"[demo:{key}]"


def organization_email(key: str) -> str:
    return f"{key}@{DEMO_EMAIL_DOMAIN}"


def _date(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


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


def _listing_values(row: dict[str, str], organizations, sites) -> dict:
    """Fields shared by supply and demand rows."""
    return {
        "organization": organizations[row["organization"]],
        "site": sites[(row["organization"], row["site"])],
        "quantity": Decimal(row["quantity"]),
        "unit": row["unit"],
        "piece_mass_kg": decimal_or_none(row["piece_mass_kg"]),
        "recurrence": row["recurrence"],
        "available_from": _date(row["available_from"]),
        "available_until": _date(row["available_until"]),
        "max_km": decimal_or_none(row["max_km"]),
        "visibility": row["visibility"],
        "status": row["status"],
        "description": f"{row['description']} {listing_marker(row['key'])}",
    }


def _with_tonnes(model, values: dict) -> dict:
    # full_clean needs tonnes before save() would normalise it; compute it the
    # same way save() does so the reload comparison sees no difference.
    values["tonnes"] = listing_tonnes(model(**values))
    return values


def _supplies(organizations, sites, materials, counts: Counter) -> None:
    for row in _demo_csv("supplies.csv"):
        values = _listing_values(row, organizations, sites)
        values.update(
            material=materials[row["material"]],
            fate=row["fate"],
            fate_cost_kzt_per_t=decimal_or_none(row["fate_cost_kzt_per_t"]),
            moisture_percent=decimal_or_none(row["moisture_percent"]),
            contamination_percent=decimal_or_none(row["contamination_percent"]),
            price_kzt_per_t=decimal_or_none(row["price_kzt_per_t"]),
        )
        _, action = upsert(
            SupplyListing,
            {},
            _with_tonnes(SupplyListing, values),
            find={"description__endswith": listing_marker(row["key"])},
        )
        counts[f"supply {action}"] += 1


def _demands(organizations, sites, materials, uses, counts: Counter) -> None:
    for row in _demo_csv("demands.csv"):
        values = _listing_values(row, organizations, sites)
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
            find={"description__endswith": listing_marker(row["key"])},
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


@transaction.atomic
def load_demo() -> DemoResult:
    """Load taxonomy, factor set and the Almaty demo data; safe to run again."""
    result = DemoResult()
    result.counts.update(load_taxonomy())
    _, factor_counts = load_factor_set()
    result.counts.update(factor_counts)
    # One hash for every new demo account, made only if one is created:
    # hashing ~40 times would cost seconds.
    password_hash = functools.cache(lambda: make_password(DEMO_PASSWORD))
    organizations = _organizations(password_hash, result)
    _staff_accounts(password_hash, result)
    sites = _sites(organizations, result.counts)
    materials = {m.slug: m for m in Material.objects.all()}
    uses = {u.slug: u for u in Use.objects.all()}
    _supplies(organizations, sites, materials, result.counts)
    _demands(organizations, sites, materials, uses, result.counts)
    # Imported here: the optimizer app builds on this one.
    from optimizer.demo import load_demo_plants

    result.counts["processing plants"] = load_demo_plants()
    return result
