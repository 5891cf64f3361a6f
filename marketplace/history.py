"""A deal's history in the reader's language.

The services write each line as codes and numbers (``DealEvent.action``,
``details``: the party, the terms changed, a delivery's figures) and the
actor's own words (``note``); this module turns them into a label and a
sentence when the line is shown, so a Russian reader of an English writer's
line reads Russian and no code ("delivery_logged", "draft -> offered") reaches
a page. Lines written before details existed show their note as written.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from marketplace.models import Deal, DealEvent
from marketplace.plausibility import held_reason_text
from marketplace.services.policy import PARTY_LABELS
from symbiosis.models.listings import Recurrence

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


def _value(field: str, value: str) -> str:
    choices = CHOICE_TERMS.get(field)
    if choices is not None and value in choices.values:
        return str(choices(value).label)
    return value


def _changes(changes: list[dict]) -> str:
    return "; ".join(
        f"{TERM_LABELS.get(c['field'], c['field'])}: {_value(c['field'], c['old'])} → "
        f"{_value(c['field'], c['new'])}"
        for c in changes
    )


def _figures(figures: dict) -> str:
    return _("#%(n)s: %(t)s t on %(day)s, ticket %(ticket)s") % {
        "n": figures["id"],
        "t": figures["tonnes"],
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


def _text(event: DealEvent) -> str:
    details = event.details or {}
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


def history_line(event: DealEvent) -> HistoryLine:
    return HistoryLine(
        event=event,
        label=event_label(event.action),
        states=_states(event),
        text=_text(event),
        note=event.note,
    )


def deal_history(events) -> list[HistoryLine]:
    """The lines of a deal's history, oldest first, in the current language."""
    return [history_line(event) for event in events]
