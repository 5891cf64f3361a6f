"""The movement record of a confirmed delivery: one machine-readable document per
weighbridge ticket (schema: ``marketplace/schema/movement_record.schema.json``,
fields: ``docs/movement_record.md``).

``movement_records`` is the one builder: the JSON and CSV exports (pages and API),
the one-record endpoint and the transfer note (``marketplace.pdf``) all read its
output, so they cannot disagree. It reads the database here and hands plain dicts on;
serializers and templates do no ORM work.

Corrections: a record is never changed. A reversal is a record of its own (negative
tonnes, ``corrects`` naming the original's record), a replacement another
(``corrects`` the original, ``reversal`` its reversal); the original lists its
confirmed reversal in ``corrected_by``. Summing ``actual.tonnes_net`` over the
records of a period therefore counts each load once, at its corrected figure.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path

from django.conf import settings
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from marketplace import selectors
from marketplace.models import Deal, DealAmendment, DealEvent, Delivery
from symbiosis import permits
from symbiosis.models import Membership

SCHEMA_VERSION = "1.0"
RECORD_PREFIX = "MR-"
# Deal fields that make up a version of the agreed terms.
TERMS = ("tonnes_per_period", "period", "tonnes_total", "transport_by", "start_date", "end_date")


def record_id(delivery_id: int | None) -> str | None:
    return None if delivery_id is None else f"{RECORD_PREFIX}{delivery_id}"


def receiver_permit(delivery) -> dict | None:
    """The receiver's verified permit covering the material's national code on the
    delivery's date ({number, issuer, valid_until}); None where the material needs no
    permit or the receiver held none valid that day (such a delivery is held for
    review: ``marketplace.plausibility``)."""
    deal = delivery.deal
    material = deal.material
    if not material.needs_permit:
        return None
    permit = permits.valid_permit(
        organization_id=deal.receiver_id, code=material.kz_code, day=delivery.date
    )
    if permit is None:
        return None
    return {
        "number": permit.number,
        "issuer": permit.issuer,
        "valid_until": permit.valid_until.isoformat() if permit.valid_until else None,
    }


# --- reads -------------------------------------------------------------------------------


def movement_deliveries(*, user, date_from: date, date_until: date) -> QuerySet[Delivery]:
    """Confirmed deliveries (reversals and replacements included) dated in the period,
    of the deals ``user`` may see: its own organizations' (facilitators: all; city
    analysts: none, ``selectors.deal_list``). Oldest first."""
    return (
        selectors.delivery_list(user=user)
        .filter(status=Delivery.Status.CONFIRMED, date__gte=date_from, date__lte=date_until)
        .order_by("date", "id")
    )


def movement_delivery_get(*, user, delivery_id) -> Delivery:
    """One confirmed delivery ``user`` may see (404 otherwise: an unconfirmed load has
    no movement record yet)."""
    confirmed = selectors.delivery_list(user=user).filter(status=Delivery.Status.CONFIRMED)
    return get_object_or_404(confirmed, pk=delivery_id)


def _related(deliveries: list[Delivery]) -> tuple[dict, dict, dict, dict]:
    """What the records need beyond the rows, read once for all of them."""
    ids = [d.pk for d in deliveries]
    deal_ids = {d.deal_id for d in deliveries}
    deals = Deal.objects.select_related(
        "supplier", "receiver", "material", "supply__site", "receiver_site"
    ).in_bulk(deal_ids)
    amendments: dict[int, list[DealAmendment]] = {}
    for amendment in DealAmendment.objects.filter(
        deal_id__in=deal_ids, status=DealAmendment.Status.ACCEPTED
    ).order_by("answered_at", "id"):
        amendments.setdefault(amendment.deal_id, []).append(amendment)
    events: dict[int, list[DealEvent]] = {}
    for event in DealEvent.objects.filter(deal_id__in=deal_ids).order_by("at", "id"):
        events.setdefault(event.deal_id, []).append(event)
    corrected_by: dict[int, list[int]] = {}
    for reversal_id, original_id in Delivery.objects.filter(
        corrects_id__in=ids, kind=Delivery.Kind.REVERSAL, status=Delivery.Status.CONFIRMED
    ).values_list("pk", "corrects_id"):
        corrected_by.setdefault(original_id, []).append(reversal_id)
    return deals, amendments, events, corrected_by


def _party_of_users(deliveries: list[Delivery], deals: dict) -> dict[tuple[int, int], str]:
    """(deal id, user id) -> "supplier" / "receiver" for the users who logged or confirmed."""
    user_ids = {u for d in deliveries for u in (d.logged_by_id, d.confirmed_by_id) if u}
    org_ids = {o for deal in deals.values() for o in (deal.supplier_id, deal.receiver_id)}
    members = set(
        Membership.objects.filter(user_id__in=user_ids, organization_id__in=org_ids).values_list(
            "user_id", "organization_id"
        )
    )
    parties = {}
    for deal in deals.values():
        for user_id in user_ids:
            if (user_id, deal.supplier_id) in members:
                parties[(deal.pk, user_id)] = "supplier"
            elif (user_id, deal.receiver_id) in members:
                parties[(deal.pk, user_id)] = "receiver"
    return parties


# --- the builder ---------------------------------------------------------------------------


def movement_records(deliveries) -> list[dict]:
    """The movement record of each delivery, in the given order."""
    rows = list(
        Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).select_related(
            "logged_by", "confirmed_by", "reviewed_by"
        )
    )
    by_pk = {d.pk: d for d in rows}
    rows = [by_pk[d.pk] for d in deliveries if d.pk in by_pk]
    deals, amendments, events, corrected_by = _related(rows)
    parties = _party_of_users(rows, deals)
    return [
        _record(
            delivery,
            deals[delivery.deal_id],
            amendments.get(delivery.deal_id, []),
            events.get(delivery.deal_id, []),
            corrected_by.get(delivery.pk, []),
            parties,
        )
        for delivery in rows
    ]


def movement_record(delivery) -> dict:
    return movement_records([delivery])[0]


def _number(value) -> float | None:
    return None if value is None else float(value)


def _iso(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        # In the site's time zone (Almaty), with its offset: the day reads as people saw it.
        return timezone.localtime(value).isoformat(timespec="seconds")
    return value.isoformat()


def _party(organization, site) -> dict:
    return {
        "name": organization.name,
        "bin": organization.bin,
        "site": {
            "name": site.name,
            "address": site.address,
            "district": site.district,
            "latitude": _number(site.latitude),
            "longitude": _number(site.longitude),
        },
    }


def _material(material) -> dict:
    # No national code recorded: its hazard flag says nothing either (None), and the
    # record's hazard class falls back on the EWC flag.
    kz_code = material.kz_code or None
    kz_hazardous = bool(material.kz_hazardous) if kz_code else None
    hazardous = material.hazardous if kz_hazardous is None else bool(kz_hazardous)
    names = {}
    for code, _label in settings.LANGUAGES:
        name = getattr(material, f"name_{code}", "")
        if name:
            names[code] = name
    return {
        "slug": material.slug,
        "names": names,
        "ewc_code": material.ewc_code,
        "ewc_hazardous": material.hazardous,
        "kz_code": kz_code,
        "kz_hazardous": kz_hazardous,
        "hazard_class": "hazardous" if hazardous else "non_hazardous",
        "hazard_class_source": "ewc" if kz_hazardous is None else "kz_classifier",
    }


def _terms_in_force(deal: Deal, accepted: list[DealAmendment], events: list, at) -> dict:
    """The agreed terms a delivery was logged under (its ``terms_version``): the last
    amendment accepted before ``at``; before any, the terms the deal started with
    (read back from the first accepted amendment's history line)."""
    current = {name: getattr(deal, name) for name in TERMS}
    agreed_at = _deal_agreed_at(deal, events)
    in_force = [a for a in accepted if a.answered_at and a.answered_at <= at]
    if in_force:
        amendment = in_force[-1]
        terms = {name: getattr(amendment, name) for name in TERMS}
        return {"version": amendment.terms_version, "agreed_at": amendment.answered_at, **terms}
    if not accepted:
        return {"version": deal.terms_version, "agreed_at": agreed_at, **current}
    first = accepted[0]
    terms = {name: getattr(first, name) for name in TERMS}
    version = 1
    for event in events:
        if event.action == "amendment_accepted" and (event.details or {}).get("version") == (
            first.terms_version
        ):
            for change in event.details.get("changes", []):
                if change.get("field") in terms:
                    terms[change["field"]] = _parse_term(change["field"], change.get("old"))
            break
        version = event.terms_version
    terms["tonnes_total"] = None  # not kept for superseded terms: left out, not guessed
    return {"version": version, "agreed_at": agreed_at, **terms}


def _parse_term(name: str, text):
    if text is None:
        return None
    if name == "tonnes_per_period":
        return Decimal(text)
    if name in ("start_date", "end_date"):
        return date.fromisoformat(text)
    return text


def _deal_agreed_at(deal: Deal, events: list):
    """When both sides first agreed the deal (its first move to accepted)."""
    for event in events:
        if event.to_state == Deal.State.ACCEPTED:
            return event.at
    stamps = [t for t in (deal.supplier_accepted_at, deal.receiver_accepted_at) if t]
    return max(stamps) if stamps else None


def _carrier(deal: Deal, transport_by: str) -> dict:
    org = {"supplier": deal.supplier, "receiver": deal.receiver}.get(transport_by)
    return {
        "transport_by": transport_by,
        # A third-party carrier is not named on the platform.
        "name": org.name if org else None,
        "bin": org.bin if org else None,
    }


def _person(user, party: str | None, at) -> dict | None:
    if user is None and at is None:
        return None
    return {
        "name": (user.get_full_name() or user.email) if user else None,
        "email": user.email if user else None,
        "party": party,
        "at": _iso(at),
    }


def _record(delivery, deal, accepted, events, corrected_by, parties) -> dict:
    terms = _terms_in_force(deal, accepted, events, delivery.logged_at)
    logged_party = delivery.logged_as
    confirmed_party = parties.get((deal.pk, delivery.confirmed_by_id), "facilitator")
    confirmations = {
        "logged": _person(delivery.logged_by, logged_party, delivery.logged_at),
        "confirmed": _person(delivery.confirmed_by, confirmed_party, delivery.confirmed_at)
        if delivery.confirmed_at
        else None,
        "reviewed": None,
    }
    if delivery.reviewed_at:
        confirmations["reviewed"] = {
            **_person(delivery.reviewed_by, "facilitator", delivery.reviewed_at),
            "reason": delivery.review_reason,
        }
    return {
        "schema_version": SCHEMA_VERSION,
        "record_id": record_id(delivery.pk),
        "delivery_id": delivery.pk,
        "deal_id": deal.pk,
        "kind": delivery.kind,
        "status": delivery.status,
        "corrects": record_id(delivery.corrects_id),
        "reversal": record_id(delivery.reversal_id),
        "corrected_by": [record_id(pk) for pk in sorted(corrected_by)],
        "correction_reason": delivery.correction_reason,
        "giver": _party(deal.supplier, deal.supply.site),
        "receiver": _party(deal.receiver, deal.receiver_site),
        "material": _material(deal.material),
        "estimated": {
            "terms_version": terms["version"],
            "tonnes_per_period": _number(terms["tonnes_per_period"]),
            "period": terms["period"],
            "tonnes_total": _number(terms["tonnes_total"]),
            "start_date": _iso(terms["start_date"]),
            "end_date": _iso(terms["end_date"]),
        },
        "actual": {
            "tonnes_net": _number(delivery.tonnes),
            "tonnes_gross": _number(delivery.gross_tonnes),
            "tonnes_tare": _number(delivery.tare_tonnes),
            "loads": delivery.loads,
            "ticket_number": delivery.ticket_number,
        },
        "dates": {
            "deal_agreed": _iso(timezone.localdate(terms["agreed_at"]))
            if terms["agreed_at"]
            else None,
            "delivery": _iso(delivery.date),
            "confirmed": _iso(delivery.confirmed_at),
        },
        "vehicle_plate": delivery.vehicle or None,
        "carrier": _carrier(deal, terms["transport_by"]),
        "receiver_permit": receiver_permit(delivery),
        "confirmations": confirmations,
    }


# --- CSV -----------------------------------------------------------------------------------

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "movement_record.schema.json"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _columns(schema: dict, node: dict, prefix: str) -> list[str]:
    if "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    variants = node.get("anyOf") or node.get("oneOf")
    if variants:  # an object or null: the object's columns
        objects = [v for v in variants if v.get("type") == "object" or "$ref" in v]
        if objects:
            return _columns(schema, objects[0], prefix)
    if node.get("type") == "object" and "properties" in node:
        out = []
        for key, child in node["properties"].items():
            out.extend(_columns(schema, child, f"{prefix}{key}."))
        return out
    if node.get("type") == "object":  # names by language: one column per language
        return [f"{prefix}{code}" for code, _label in settings.LANGUAGES]
    return [prefix.removesuffix(".")]


@cache
def csv_columns() -> tuple[str, ...]:
    """The CSV columns, from the schema: every leaf field, nested keys joined by dots
    ("giver.site.name"); a null object leaves its columns empty."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return tuple(_columns(schema, schema, ""))


def flat_record(record: dict, prefix: str = "") -> dict:
    """A record as one CSV row (``csv_columns``): lists joined by ";"."""
    out = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flat_record(value, f"{name}."))
        elif isinstance(value, list):
            out[name] = ";".join(str(v) for v in value)
        else:
            out[name] = value
    return out


def _cell(value):
    """As ``dashboard.api.neutralise`` (which this layer may not import): numbers stay
    numbers; text a spreadsheet would run as a formula gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def records_csv(records: list[dict]) -> str:
    """The records as CSV, one row each, the header even when there are none."""
    columns = csv_columns()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for record in records:
        row = flat_record(record)
        writer.writerow([_cell(row.get(c)) for c in columns])
    return out.getvalue()


def export_document(records: list[dict], *, date_from: date, date_until: date) -> dict:
    """The JSON export of a period: its records and what they are."""
    return {
        "schema_version": SCHEMA_VERSION,
        "from": date_from.isoformat(),
        "until": date_until.isoformat(),
        "count": len(records),
        "records": records,
    }


def export_file_name(date_from: date, date_until: date, extension: str) -> str:
    return f"movements-{date_from.isoformat()}-{date_until.isoformat()}.{extension}"
