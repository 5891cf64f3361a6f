"""A deal's history in the reader's language.

The services write each line as codes and numbers (``DealEvent.action``,
``details``: the party, the terms changed, a delivery's figures) and the
actor's own words (``note``); this module turns them into a label and a
sentence when the line is shown, so a Russian reader of an English writer's
line reads Russian and no code ("delivery_logged", "draft -> offered") reaches
a page. Numbers are shown as pages show them (``symbiosis.numbers``: "1,250.5 t",
"2,000 KZT/t" in English, "1 250,5 т" in Russian).

Lines written before details existed (the whole line an English note, e.g. "The
supplier accepted terms version 1.", "#12: 20 t on 2026-03-02, ticket A-1: wrong
weight") are read back into the same details when shown (``legacy_details``);
nothing stored changes, and a note no pattern recognises is shown as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from marketplace.models import Deal, DealEvent, Delivery
from marketplace.plausibility import held_reason_text
from marketplace.services.policy import PARTY_LABELS
from symbiosis.models.listings import Recurrence
from symbiosis.numbers import measure_number

EVENT_LABELS = {
    "create": gettext_lazy("Draft started"),
    "offer": gettext_lazy("Offer sent"),
    "update_terms": gettext_lazy("Terms changed"),
    "accept": gettext_lazy("Terms accepted"),
    "decline": gettext_lazy("Offer declined"),
    "activate": gettext_lazy("Deliveries started"),
    "complete": gettext_lazy("Deal completed"),
    "cancel": gettext_lazy("Deal cancelled"),
    "introduction_accepted": gettext_lazy("Introduction accepted"),
    "introduction_declined": gettext_lazy("Introduction declined"),
    "amendment_proposed": gettext_lazy("New terms proposed"),
    "amendment_accepted": gettext_lazy("New terms accepted"),
    "amendment_declined": gettext_lazy("New terms declined"),
    "delivery_logged": gettext_lazy("Delivery logged"),
    "delivery_held": gettext_lazy("Delivery held for review"),
    "delivery_confirmed": gettext_lazy("Delivery confirmed"),
    "delivery_disputed": gettext_lazy("Delivery disputed"),
    "delivery_released": gettext_lazy("Delivery released after review"),
    "delivery_rejected": gettext_lazy("Delivery rejected"),
    "correction_proposed": gettext_lazy("Correction proposed"),
    "correction_held": gettext_lazy("Correction held for review"),
    "correction_confirmed": gettext_lazy("Correction confirmed"),
    "correction_disputed": gettext_lazy("Correction disputed"),
    "correction_released": gettext_lazy("Correction released after review"),
    "correction_rejected": gettext_lazy("Correction rejected"),
}
UNKNOWN_EVENT = gettext_lazy("Deal updated")

# The terms a line may say changed, as the deal page names them.
TERM_LABELS = {
    "tonnes_per_period": pgettext_lazy("deal term", "tonnes per period"),
    "period": pgettext_lazy("deal term", "period"),
    "price_kzt_per_t": pgettext_lazy("deal term", "price (KZT per tonne)"),
    "transport_by": pgettext_lazy("deal term", "transport by"),
    "start_date": pgettext_lazy("deal term", "start"),
    "end_date": pgettext_lazy("deal term", "end"),
}
CHOICE_TERMS = {"period": Recurrence, "transport_by": Deal.TransportBy}
# Terms that are numbers, and the unit they are shown in (``symbiosis.numbers.UNITS``).
NUMBER_TERMS = {"tonnes_per_period": "t_ticket", "price_kzt_per_t": "kzt_per_t"}


@dataclass(frozen=True)
class HistoryLine:
    event: DealEvent
    label: str
    # "Draft → Offered" in the reader's language; "" when the state did not change.
    states: str
    # What the line is about, in the reader's language; "" when nothing is to say.
    text: str
    # The actor's own words (a reason, a note), as written.
    note: str


def event_label(action: str) -> str:
    return str(EVENT_LABELS.get(action, UNKNOWN_EVENT))


def _state_label(state: str) -> str:
    return str(Deal.State(state).label) if state in Deal.State.values else ""


def _states(event: DealEvent) -> str:
    if event.from_state == event.to_state or not event.from_state:
        return ""
    return f"{_state_label(event.from_state)} → {_state_label(event.to_state)}"


def term_value(field: str, value) -> str:
    """A term's value as the deal page shows it: a choice's label, a number grouped."""
    choices = CHOICE_TERMS.get(field)
    if choices is not None and value in choices.values:
        return str(choices(value).label)
    if field in NUMBER_TERMS:
        return measure_number(value, NUMBER_TERMS[field])
    return str(value)


_value = term_value


def _changes(changes: list[dict]) -> str:
    return "; ".join(
        f"{TERM_LABELS.get(c['field'], c['field'])}: {_value(c['field'], c['old'])} → "
        f"{_value(c['field'], c['new'])}"
        for c in changes
    )


def _figures(figures: dict) -> str:
    return _("#%(n)s: %(t)s t on %(day)s, ticket %(ticket)s") % {
        "n": figures["id"],
        "t": measure_number(figures["tonnes"], "t_ticket"),
        "day": figures["date"],
        "ticket": figures["ticket"],
    }


def _correction(correction: dict) -> str:
    text = _("correction #%(n)s of %(original)s") % {
        "n": correction["reversal"],
        "original": _figures(correction["original"]),
    }
    if correction.get("replacement"):
        return _("%(correction)s, replaced by %(replacement)s") % {
            "correction": text,
            "replacement": _figures(correction["replacement"]),
        }
    return _("%(correction)s: the load never happened") % {"correction": text}


def _text(details: dict) -> str:
    parts = []
    if details.get("run"):
        parts.append(
            _("introduced by a facilitator from optimization run %(run)s") % {"run": details["run"]}
        )
    party = details.get("party")
    if party in PARTY_LABELS:
        parts.append(_("by %(party)s") % {"party": PARTY_LABELS[party]})
    if "version" in details:
        parts.append(_("terms version %(v)s") % {"v": details["version"]})
    if details.get("changes"):
        parts.append(_changes(details["changes"]))
    if details.get("deliveries_from"):
        parts.append(_("deliveries from %(day)s") % {"day": details["deliveries_from"]})
    if details.get("delivery"):
        parts.append(_figures(details["delivery"]))
    if details.get("correction"):
        parts.append(_correction(details["correction"]))
    if details.get("held"):
        parts.append(held_reason_text(details["held"]))
    return "; ".join(str(p) for p in parts if p)


def history_line(event: DealEvent, held: dict | None = None) -> HistoryLine:
    """``held``: delivery id -> its ``held_reason``, for older lines of held deliveries."""
    details, note = event.details or {}, event.note
    if not details and note:
        details, note = legacy_details(event.action, note, held or {})
    return HistoryLine(
        event=event,
        label=event_label(event.action),
        states=_states(event),
        text=_text(details),
        note=note,
    )


def deal_history(events) -> list[HistoryLine]:
    """The lines of a deal's history, oldest first, in the current language."""
    events = list(events)
    held_ids = [
        int(n)
        for event in events
        if not event.details and event.action.endswith("_held")
        for n in _LEGACY_IDS.findall(event.note)
    ]
    held = {}
    if held_ids:
        held = dict(Delivery.objects.filter(pk__in=held_ids).values_list("pk", "held_reason"))
    return [history_line(event, held) for event in events]


# --- lines written before details existed ---------------------------------------------
#
# The services wrote the whole line as an English note (the accept line in the writer's
# language, its party as a code); these patterns read them back into details.

_LEGACY_ACCEPT = [
    re.compile(r"The (?P<party>supplier|receiver) accepted terms version (?P<v>\d+)\."),
    re.compile(r"Сторона «(?P<party>supplier|receiver)» приняла условия версии (?P<v>\d+)\."),
]
_LEGACY_FIGURES = (
    r"#(?P<{p}id>\d+): (?P<{p}t>-?\d+(?:\.\d+)?) t on (?P<{p}day>\d{{4}}-\d\d-\d\d), "
    r"ticket (?P<{p}ticket>[^:;\n]+?)"
)
_LEGACY_END = r"(?=$|\. Reason: |: |; held )"
_LEGACY_DELIVERY = re.compile(_LEGACY_FIGURES.format(p="") + _LEGACY_END)
_LEGACY_CORRECTION = re.compile(
    _LEGACY_FIGURES.format(p="")
    + r": reversal #(?P<reversal>\d+)(?:, replacement "
    + _LEGACY_FIGURES.format(p="r_")
    + _LEGACY_END
    + r"|, the load never happened)"
)
# The deliveries a line names: "#12: " (figures) and "#13," (a reversal).
_LEGACY_IDS = re.compile(r"#(\d+)[:,]")
_LEGACY_HELD = "; held for a facilitator's review: "
_LEGACY_TERMS = {field.replace("_", " "): field for field in TERM_LABELS}


def _legacy_figures(match: re.Match, prefix: str = "") -> dict:
    return {
        "id": int(match[prefix + "id"]),
        "tonnes": match[prefix + "t"],
        "date": match[prefix + "day"],
        "ticket": match[prefix + "ticket"],
    }


def _legacy_changes(line: str) -> list[dict] | None:
    changes = []
    for part in line.split("; "):
        name, colon, values = part.partition(": ")
        old, arrow, new = values.partition(" -> ")
        if not colon or not arrow or name not in _LEGACY_TERMS:
            return None
        changes.append({"field": _LEGACY_TERMS[name], "old": old, "new": new})
    return changes


def _legacy_rest(rest: str, details: dict, held: dict, held_id: int) -> str:
    """The actor's words after the figures. The English reason a held line gives is
    replaced by the delivery's own ``held_reason`` (codes), shown in the reader's
    language."""
    if _LEGACY_HELD in rest:
        rest, _sep, _english = rest.partition(_LEGACY_HELD)
        if held.get(held_id):
            details["held"] = held[held_id]
    for lead in (". Reason: ", ": "):
        if rest.startswith(lead):
            return rest[len(lead) :].strip()
    return rest.strip()


def legacy_details(action: str, note: str, held: dict) -> tuple[dict, str]:
    """(details, the actor's own words) of a line written as a whole note, or
    ({}, note) when no pattern fits (the note is then shown as written)."""
    if action == "accept":
        for pattern in _LEGACY_ACCEPT:
            match = pattern.fullmatch(note.strip())
            if match:
                return {"party": match["party"], "version": int(match["v"])}, ""
    elif action == "update_terms":
        first, _newline, rest = note.partition("\n")
        changes = _legacy_changes(first)
        if changes:
            return {"changes": changes}, rest
    elif action.startswith("correction_"):
        match = _LEGACY_CORRECTION.match(note)
        if match:
            replacement = _legacy_figures(match, "r_") if match["r_id"] else None
            correction = {
                "reversal": int(match["reversal"]),
                "original": _legacy_figures(match),
                "replacement": replacement,
            }
            details = {"correction": correction}
            rest = note[match.end() :]
            return details, _legacy_rest(rest, details, held, correction["reversal"])
    elif action.startswith("delivery_"):
        match = _LEGACY_DELIVERY.match(note)
        if match:
            details = {"delivery": _legacy_figures(match)}
            return details, _legacy_rest(note[match.end() :], details, held, int(match["id"]))
    return {}, note
