"""The lines of a waste-transfer note: a delivery's movement record
(``marketplace.movement``) labelled in the reader's language. The PDF
(``marketplace.pdf``) and the printable page both print these, so the note and the
record cannot disagree."""

from datetime import date, datetime

from django.utils.formats import date_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from marketplace.models import Deal, Delivery
from symbiosis.models.accounts import District
from symbiosis.models.listings import Recurrence
from symbiosis.numbers import measure, measure_number

NONE = "—"


def _t(value) -> str:
    """Tonnes as pages show them in the reader's language ("12,5 т" in kk and ru)."""
    if value is None:
        return NONE
    return measure(value, "t_ticket")


def _day(iso: str | None) -> str:
    """A record's ISO date as the reader's language writes dates ("02.03.2026" in kk)."""
    if not iso:
        return NONE
    return date_format(date.fromisoformat(iso[:10]))


def _moment(iso: str) -> str:
    """A record's ISO time, to the minute, in the reader's format."""
    return date_format(datetime.fromisoformat(iso), "SHORT_DATETIME_FORMAT")


def _material_name(names: dict) -> str:
    """Every distinct name, the reader's first: the note is read by both parties and
    by the authorities, in any of the three languages."""
    lang = (get_language() or "en")[:2]
    ordered = [names.get(lang), *names.values()]
    return " / ".join(name for name in dict.fromkeys(ordered) if name)


def _person(person: dict | None) -> str:
    if not person:
        return NONE
    party = {
        "supplier": _("supplier"),
        "receiver": _("receiver"),
        "facilitator": _("facilitator"),
    }[person["party"]]
    return f"{person['name'] or NONE} ({party}), {_moment(person['at'])}"


def party_lines(party: dict) -> list[str]:
    site = party["site"]
    address = f", {site['address']}" if site["address"] else ""
    district = dict(District.choices).get(site["district"], site["district"])
    return [
        party["name"],
        f"{_('BIN')} {party['bin']}",
        f"{site['name']}{address}, {district}",
        f"{site['latitude']:.6f}, {site['longitude']:.6f}",
    ]


def note_rows(record: dict) -> list[tuple[str, str]]:
    """The movement record's fields as (label, value) lines in the current language."""
    material, estimated, actual = record["material"], record["estimated"], record["actual"]
    dates, carrier, permit = record["dates"], record["carrier"], record["receiver_permit"]
    hazard = _("hazardous") if material["hazard_class"] == "hazardous" else _("non-hazardous")
    weights = ""
    if actual["tonnes_gross"] is not None:
        weights = (
            " ("
            + _("gross %(g)s t − tare %(r)s t")
            % {
                "g": measure_number(actual["tonnes_gross"], "t_ticket"),
                "r": measure_number(actual["tonnes_tare"], "t_ticket"),
            }
            + ")"
        )
    period = dict(Recurrence.choices).get(estimated["period"], estimated["period"])
    agreed = _("%(tonnes)s %(period)s, %(start)s – %(end)s") % {
        "tonnes": _t(estimated["tonnes_per_period"]),
        "period": period,
        "start": _day(estimated["start_date"]),
        "end": _day(estimated["end_date"]),
    }
    if estimated["tonnes_total"] is not None:
        agreed += "; " + _("%(total)s in total") % {"total": _t(estimated["tonnes_total"])}
    transport = dict(Deal.TransportBy.choices)[carrier["transport_by"]]
    if carrier["name"]:
        transport = f"{transport}: {carrier['name']} ({_('BIN')} {carrier['bin']})"
    rows = [
        (
            _("Movement record"),
            f"{record['record_id']} · {dict(Delivery.Kind.choices)[record['kind']]}",
        ),
        (_("Material"), _material_name(material["names"])),
        (_("EWC code"), material["ewc_code"]),
        (_("National waste code"), material["kz_code"] or _("not recorded")),
        (_("Hazard class"), hazard),
        (_("Tonnes agreed (terms version %(v)s)") % {"v": estimated["terms_version"]}, agreed),
        (_("Tonnes (weighbridge)"), _t(actual["tonnes_net"]) + weights),
        (_("Number of loads"), str(actual["loads"])),
        (_("Weighbridge ticket"), actual["ticket_number"]),
        (_("Deal agreed"), _day(dates["deal_agreed"])),
        (_("Delivery date"), _day(dates["delivery"])),
        (_("Vehicle"), record["vehicle_plate"] or NONE),
        (_("Carrier"), transport),
        (
            _("Receiver's permit"),
            _("%(number)s, issued by %(issuer)s, valid until %(until)s")
            % {
                "number": permit["number"],
                "issuer": permit["issuer"],
                "until": _day(permit["valid_until"]),
            }
            if permit
            else _("not recorded"),
        ),
        (_("Status"), dict(Delivery.Status.choices)[record["status"]]),
        (_("Logged by"), _person(record["confirmations"]["logged"])),
        (_("Confirmed by"), _person(record["confirmations"]["confirmed"])),
    ]
    if record["corrects"]:
        rows.append((_("Corrects"), record["corrects"]))
    if record["corrected_by"]:
        rows.append((_("Corrected by"), ", ".join(record["corrected_by"])))
    return [(str(label), str(value)) for label, value in rows]
