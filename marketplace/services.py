"""Deal transitions, deliveries and messages: every write of the marketplace.

Long on purpose: one module holds every write of a deal and its deliveries, so
the locks (always the deal first) and the transition tables are read in one
place; the pure parts live apart (``marketplace.plausibility``).

Each function is keyword-only and, inside one transaction:

1. locks the deal row and then its supply listing row (``select_for_update``;
   always in that order, so two transitions never wait on each other in a
   cycle), and works on the rows as locked, not on what the caller passed in;
2. checks the actor against ``TRANSITIONS`` (or ``DELIVERY_TRANSITIONS``):
   a user with no part in the deal gets ``PermissionDenied``; a transition the
   table does not allow from the deal's state is a ``ValidationError``; a
   transition allowed from the state but not for the actor's role is
   ``PermissionDenied``;
3. validates, writes, and records a ``DealEvent`` (actor, time, from, to, note).

Roles on a deal (``deal_roles``): ``supplier`` and ``receiver`` are members of
those organizations; ``facilitator`` is a facilitator (or superuser);
``initiator`` is whoever of those created the deal (drafts belong to their
initiator and are invisible to the other party until offered); ``carrier`` is
a member of the party that transports (the supplier, unless the receiver
transports). City analysts have no role.

Roles on a delivery (``delivery_roles``) add ``other_party``: a member of the
party the delivery was not logged for (``Delivery.logged_as``), who is not the
user who logged it. The logger never confirms, disputes, releases or rejects
its own entry, whatever else it is (a member of both parties, a facilitator).

Deliveries a city can count on
------------------------------
Either party logs a delivery of an active deal; the other party (or a
facilitator) confirms or disputes it, and only confirmed ones count. A delivery
above ``settings.DELIVERY_MAX_TONNES_PER_LOAD`` x its loads, or that takes the
deal's period above the agreed tonnes by more than
``settings.DELIVERY_PERIOD_TOLERANCE`` (``marketplace.plausibility``), is
``held`` and counts for nothing until a facilitator releases it (it is then
logged, for the other party to confirm) or rejects it. A confirmed delivery is
never edited: a correction (``delivery_correct``) adds a reversal and, unless
the load never happened, a replacement; both wait for the other party (or a
facilitator, never the proposer) and are confirmed together.

No over-commitment
------------------
Accepted and active deals (and, for a one-off batch, completed ones) commit
tonnes of their supply listing. The acceptance that makes a deal ``accepted``
is refused when the committed tonnes would exceed what the listing offers,
comparing like with like:

- a one-off batch (recurrence "once") offers its tonnes once: the deals on it
  must be one-off too, and the sum of their tonnes must not exceed the batch;
- a recurring listing (per month or per year) offers a rate: deals on it are
  per month or per year, all rates are converted to tonnes per year (x12 for
  months: exact, no division), and for every calendar month the deal runs in,
  the rates of the committed deals running in that month plus this deal's
  must not exceed the listing's rate. Deals in different months do not
  compete, so a new deal for next year is not refused by this year's.

The check runs with the supply listing row locked, and every transition that
changes what is committed locks it first, so two acceptances at the same
moment are serialised on PostgreSQL and the second sees the first.

A listing lowered or re-periodised after deals were accepted is not refused
here (symbiosis.services owns listing edits); a deal whose period no longer
matches its listing's is counted at its tonnes per the listing's period.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from functools import reduce

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mass_mail
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from marketplace import plausibility
from marketplace.models import Deal, DealEvent, DealMessage, Delivery, Party
from marketplace.templatetags.marketplace_tags import plain_number
from symbiosis import selectors as symbiosis_selectors
from symbiosis.models import DemandListing, Organization, Site, SupplyListing, User
from symbiosis.models.listings import Recurrence, Status
from symbiosis.selectors import Viewer, viewer_for
from symbiosis.taxonomy import active_factor_set

State = Deal.State

# --- roles and the transition table --------------------------------------------

SUPPLIER = "supplier"
RECEIVER = "receiver"
FACILITATOR = "facilitator"
INITIATOR = "initiator"
CARRIER = "carrier"
PARTIES = frozenset({SUPPLIER, RECEIVER})
PARTIES_OR_FACILITATOR = PARTIES | {FACILITATOR}

# action -> {from state: (to state, roles that may do it)}.
# "accept" leads to "accepted" only with the second party's acceptance; the
# first acceptance keeps the deal "offered". "update_terms" clears both
# acceptances (a new terms version that both must accept again).
TRANSITIONS: dict[str, dict[str, tuple[str, frozenset[str]]]] = {
    "offer": {State.DRAFT: (State.OFFERED, frozenset({INITIATOR}))},
    "update_terms": {
        State.DRAFT: (State.DRAFT, frozenset({INITIATOR})),
        State.OFFERED: (State.OFFERED, PARTIES),
        State.ACCEPTED: (State.OFFERED, PARTIES),
    },
    "accept": {State.OFFERED: (State.ACCEPTED, PARTIES)},
    "decline": {State.OFFERED: (State.DECLINED, PARTIES)},
    "activate": {State.ACCEPTED: (State.ACTIVE, PARTIES)},
    "complete": {State.ACTIVE: (State.COMPLETED, PARTIES)},
    "cancel": {
        State.DRAFT: (State.CANCELLED, frozenset({INITIATOR, FACILITATOR})),
        State.OFFERED: (State.CANCELLED, PARTIES_OR_FACILITATOR),
        State.ACCEPTED: (State.CANCELLED, PARTIES_OR_FACILITATOR),
        State.ACTIVE: (State.CANCELLED, PARTIES_OR_FACILITATOR),
    },
}
# Who may create a deal (always as a draft).
CREATE_ROLES = frozenset({SUPPLIER, RECEIVER, FACILITATOR})
TERMINAL_STATES = frozenset({State.COMPLETED, State.DECLINED, State.CANCELLED})

DeliveryStatus = Delivery.Status
OTHER_PARTY = "other_party"
# Who judges a delivery: never its logger (``delivery_roles``).
JUDGES = frozenset({OTHER_PARTY, FACILITATOR})
# Deliveries are logged on active deals by either party ...
DELIVERY_LOG = {"states": frozenset({State.ACTIVE}), "roles": PARTIES}
# ... and judged, in whatever state the deal is by then, by the other party or a
# facilitator; held ones by a facilitator. A correction row is judged with its
# pair (reversal and replacement move together). "correct" proposes a
# correction of a confirmed delivery, which itself stays as it is.
DELIVERY_TRANSITIONS: dict[str, dict[str, tuple[str, frozenset[str]]]] = {
    "confirm": {
        DeliveryStatus.LOGGED: (DeliveryStatus.CONFIRMED, JUDGES),
        DeliveryStatus.DISPUTED: (DeliveryStatus.CONFIRMED, JUDGES),
    },
    "dispute": {DeliveryStatus.LOGGED: (DeliveryStatus.DISPUTED, JUDGES)},
    "release": {DeliveryStatus.HELD: (DeliveryStatus.LOGGED, frozenset({FACILITATOR}))},
    "reject": {
        DeliveryStatus.HELD: (DeliveryStatus.REJECTED, frozenset({FACILITATOR})),
        DeliveryStatus.DISPUTED: (DeliveryStatus.REJECTED, frozenset({FACILITATOR})),
    },
    "correct": {DeliveryStatus.CONFIRMED: (DeliveryStatus.CONFIRMED, PARTIES_OR_FACILITATOR)},
}
# Statuses whose tonnes count against a deal's period (with confirmed corrections).
PLAUSIBILITY_COUNTED = (DeliveryStatus.LOGGED, DeliveryStatus.HELD, DeliveryStatus.CONFIRMED)
# A correction in one of these waits for a decision; one at a time per delivery.
PENDING_STATUSES = (DeliveryStatus.LOGGED, DeliveryStatus.HELD, DeliveryStatus.DISPUTED)

# The verbs of "A delivery that is ... cannot be %(verb)s." (translated when shown).
DELIVERY_VERBS = {
    "confirm": pgettext_lazy("cannot be …", "confirmed"),
    "dispute": pgettext_lazy("cannot be …", "disputed"),
    "release": pgettext_lazy("cannot be …", "released"),
    "reject": pgettext_lazy("cannot be …", "rejected"),
    "correct": pgettext_lazy("cannot be …", "corrected"),
}

# Who may act, as "Only %(who)s may do this now." names them (translated when shown).
ROLE_LABELS = {
    SUPPLIER: gettext_lazy("the supplier"),
    RECEIVER: gettext_lazy("the receiver"),
    FACILITATOR: gettext_lazy("a facilitator"),
    INITIATOR: gettext_lazy("whoever started the deal"),
    CARRIER: gettext_lazy("the party that transports"),
    OTHER_PARTY: gettext_lazy("the other party"),
}
# The verbs of "A deal that is ... cannot be %(verb)s." (translated when shown).
ACTION_LABELS = {
    "offer": pgettext_lazy("cannot be …", "offered"),
    "update_terms": pgettext_lazy("cannot be …", "changed"),
    "accept": pgettext_lazy("cannot be …", "accepted"),
    "decline": pgettext_lazy("cannot be …", "declined"),
    "activate": pgettext_lazy("cannot be …", "started"),
    "complete": pgettext_lazy("cannot be …", "completed"),
    "cancel": pgettext_lazy("cannot be …", "cancelled"),
}
# The same verbs in the (English) notification e-mails.
ACTION_VERBS = {
    "offer": "offered",
    "update_terms": "changed",
    "accept": "accepted",
    "decline": "declined",
    "activate": "started",
    "complete": "completed",
    "cancel": "cancelled",
}

TERMS_FIELDS = frozenset(
    {"tonnes_per_period", "period", "price_kzt_per_t", "transport_by", "start_date", "end_date"}
)
MONTHS_PER_YEAR = 12
MAX_DEAL_MONTHS = 120
TONNES_QUANTUM = Decimal("0.0001")


def _viewer(user) -> Viewer:
    return user if isinstance(user, Viewer) else viewer_for(user)


def deal_roles(*, user, deal: Deal) -> frozenset[str]:
    """The roles ``user`` has on ``deal`` (empty: no part in it)."""
    viewer = _viewer(user)
    found = set()
    if deal.supplier_id in viewer.organization_ids:
        found.add(SUPPLIER)
    if deal.receiver_id in viewer.organization_ids:
        found.add(RECEIVER)
    if viewer.is_facilitator:
        found.add(FACILITATOR)
    if deal.initiator in found:
        found.add(INITIATOR)
    carrier = RECEIVER if deal.transport_by == Deal.TransportBy.RECEIVER else SUPPLIER
    if carrier in found:
        found.add(CARRIER)
    return frozenset(found)


def deal_is_visible_to(roles: frozenset[str], deal: Deal) -> bool:
    """Drafts are seen by their initiator and facilitators; other states by both parties."""
    if deal.state == State.DRAFT:
        return bool(roles & {INITIATOR, FACILITATOR})
    return bool(roles)


def _describe(roles: frozenset[str]) -> str:
    """Who may act ("the supplier or the receiver"), in the current language."""
    labels = [str(ROLE_LABELS[r]) for r in sorted(roles)]
    return reduce(lambda a, b: _("%(a)s or %(b)s") % {"a": a, "b": b}, labels)


def _check(action: str, deal: Deal, roles: frozenset[str]) -> str:
    """Refuse ``action`` unless the table allows it; return the state it leads to."""
    if not deal_is_visible_to(roles, deal):
        raise PermissionDenied(_("You have no part in this deal."))
    row = TRANSITIONS[action].get(deal.state)
    if row is None:
        raise ValidationError(
            _("A deal that is %(state)s cannot be %(verb)s.")
            % {"state": deal.get_state_display().lower(), "verb": ACTION_LABELS[action]}
        )
    target, allowed = row
    if not roles & allowed:
        raise PermissionDenied(_("Only %(who)s may do this now.") % {"who": _describe(allowed)})
    return target


def allowed_actions(*, user, deal: Deal) -> frozenset[str]:
    """Actions ``user`` may take on ``deal`` now (for showing buttons only)."""
    roles = deal_roles(user=user, deal=deal)
    if not deal_is_visible_to(roles, deal):
        return frozenset()
    found = {"message"}
    for action, rows in TRANSITIONS.items():
        row = rows.get(deal.state)
        if row and roles & row[1]:
            found.add(action)
    if "accept" in found and not [p for p in roles & PARTIES if deal.accepted_at(p) is None]:
        found.discard("accept")
    if deal.state in DELIVERY_LOG["states"] and roles & DELIVERY_LOG["roles"]:
        found.add("log_delivery")
    return frozenset(found)


def delivery_roles(*, user, deal: Deal, delivery: Delivery, roles=None) -> frozenset[str]:
    """The roles ``user`` has on ``delivery`` of ``deal``: its deal roles plus
    ``other_party``, minus every judging role for the user who logged it.

    ``roles``: the user's ``deal_roles`` when the caller has them already.
    """
    found = set(deal_roles(user=user, deal=deal) if roles is None else roles)
    user_id = getattr(user, "pk", None)
    if delivery.logged_by_id is not None and delivery.logged_by_id == user_id:
        return frozenset(found - {FACILITATOR})
    if found & (PARTIES - {delivery.logged_as}):
        found.add(OTHER_PARTY)
    return frozenset(found)


def delivery_actions(*, user, deal: Deal, deliveries) -> dict[int, frozenset[str]]:
    """Actions ``user`` may take on each of ``deal``'s ``deliveries`` now (for
    buttons only; the services decide). Pass all of the deal's deliveries: a
    correction row's actions are its pair's, shown on the reversal, and whether a
    delivery may be corrected depends on its corrections."""
    roles = deal_roles(user=user, deal=deal)
    if not deal_is_visible_to(roles, deal):
        return {d.pk: frozenset() for d in deliveries}
    blocked = {
        d.corrects_id
        for d in deliveries
        if d.kind == Delivery.Kind.REVERSAL
        and (d.is_pending or d.status == DeliveryStatus.CONFIRMED)
    }
    found = {}
    for delivery in deliveries:
        mine = delivery_roles(user=user, deal=deal, delivery=delivery, roles=roles)
        actions = set()
        for action, rows in DELIVERY_TRANSITIONS.items():
            row = rows.get(delivery.status)
            if row and mine & row[1]:
                actions.add(action)
        # Proposing a correction is open to its logger too: judged by deal roles.
        actions.discard("correct")
        if delivery.kind == Delivery.Kind.REPLACEMENT:
            actions.clear()  # judged through its reversal
        if (
            delivery.status in DELIVERY_TRANSITIONS["correct"]
            and roles & DELIVERY_TRANSITIONS["correct"][delivery.status][1]
            and delivery.kind != Delivery.Kind.REVERSAL
            and delivery.pk not in blocked
        ):
            actions.add("correct")
        found[delivery.pk] = frozenset(actions)
    return found


# --- terms, periods and commitments ------------------------------------------------


def months_spanned(start: date, end: date) -> int:
    """Calendar months a deal runs in, both ends counted (Jan 15 - Mar 14: 3)."""
    return (end.year - start.year) * MONTHS_PER_YEAR + end.month - start.month + 1


def _month_index(day: date) -> int:
    return day.year * MONTHS_PER_YEAR + day.month - 1


def tonnes_total_for(*, tonnes_per_period, period: str, start_date, end_date) -> Decimal:
    """Total tonnes of a deal: per period x the calendar months (or years) it runs in."""
    tonnes = Decimal(tonnes_per_period)
    if period == Recurrence.ONCE:
        return tonnes
    months = months_spanned(start_date, end_date)
    if period == Recurrence.MONTHLY:
        return tonnes * months
    return (tonnes * months / MONTHS_PER_YEAR).quantize(TONNES_QUANTUM)


def tonnes_per_year(tonnes, period: str, listing_period: str) -> Decimal:
    """A rate in tonnes per year; a one-off is read in the listing's period."""
    if period == Recurrence.ONCE:
        period = listing_period
    return Decimal(tonnes) * (MONTHS_PER_YEAR if period == Recurrence.MONTHLY else 1)


def _periods_match(deal_period: str, listing_period: str) -> bool:
    return (deal_period == Recurrence.ONCE) == (listing_period == Recurrence.ONCE)


def _period_label(period: str) -> str:
    """The rate's unit ("per month", "per year") in the current language; "" if one-off."""
    if period not in (Recurrence.MONTHLY, Recurrence.YEARLY):
        return ""
    return str(Recurrence(period).label)


def _in_listing_units(tonnes_per_year_value: Decimal, listing_period: str) -> Decimal:
    if listing_period == Recurrence.MONTHLY:
        return (tonnes_per_year_value / MONTHS_PER_YEAR).quantize(Decimal("0.001"))
    return tonnes_per_year_value.quantize(Decimal("0.001"))


def committing_states(listing_period: str) -> tuple[str, ...]:
    if listing_period == Recurrence.ONCE:
        # A one-off batch is used up by a deal that took it.
        return (State.ACCEPTED, State.ACTIVE, State.COMPLETED)
    return (State.ACCEPTED, State.ACTIVE)


def _committed_deals(supply: SupplyListing, deal: Deal) -> list[Deal]:
    """Other deals that commit tonnes of ``supply`` alongside ``deal``."""
    others = Deal.objects.filter(
        supply_id=supply.pk, state__in=committing_states(supply.recurrence)
    ).exclude(pk=deal.pk)
    if supply.recurrence != Recurrence.ONCE:
        # Deals sharing a calendar month with this one, even on different days.
        first_day = deal.start_date.replace(day=1)
        after_last = (deal.end_date.replace(day=1) + timedelta(days=32)).replace(day=1)
        others = others.filter(start_date__lt=after_last, end_date__gte=first_day)
    return list(
        others.only("tonnes_per_period", "tonnes_total", "period", "start_date", "end_date")
    )


def supply_overcommitment_error(supply: SupplyListing) -> str | None:
    """Why ``supply`` as it stands (e.g. edited down) no longer covers its
    accepted and active deals, or None. Call with the supply row locked."""
    committed = Deal.objects.filter(
        supply_id=supply.pk, state__in=committing_states(supply.recurrence)
    )
    for deal in committed:
        # Only the listing's owner (or a facilitator) edits it: the figures may be named.
        error = overcommitment_error(supply, deal, detailed=True)
        if error:
            return _("Deals already accepted need more than this listing would offer: %(why)s") % {
                "why": error
            }
    return None


def overcommitment_error(
    supply: SupplyListing, deal: Deal, *, detailed: bool = False
) -> str | None:
    """Why committing ``deal`` would over-commit ``supply``, or None.

    The reason names what is left of the listing, which tells how much other
    deals took: only with ``detailed`` (for the listing's owner or a
    facilitator). A counterparty learns only that the listing cannot take this
    much now. Call with the supply row locked (``select_for_update``).
    """
    problem = _overcommitment_detail(supply, deal)
    if problem is None or detailed:
        return problem
    return _("The listing cannot take this much now; ask the supplier what it can offer.")


def _overcommitment_detail(supply: SupplyListing, deal: Deal) -> str | None:
    others = _committed_deals(supply, deal)
    if supply.recurrence == Recurrence.ONCE:
        committed = sum((d.tonnes_total for d in others), Decimal(0))
        if committed + deal.tonnes_total > supply.tonnes:
            return _(
                "Only %(left)s t of this one-off batch of %(offered)s t are not yet committed; "
                "this deal needs %(need)s t."
            ) % {
                "left": plain_number(max(supply.tonnes - committed, Decimal(0))),
                "offered": plain_number(supply.tonnes),
                "need": plain_number(deal.tonnes_total),
            }
        return None
    capacity = tonnes_per_year(supply.tonnes, supply.recurrence, supply.recurrence)
    need = tonnes_per_year(deal.tonnes_per_period, deal.period, supply.recurrence)
    spans = [(_month_index(d.start_date), _month_index(d.end_date), d) for d in others]
    first, last = _month_index(deal.start_date), _month_index(deal.end_date)
    for month in range(first, last + 1):
        committed = sum(
            (
                tonnes_per_year(d.tonnes_per_period, d.period, supply.recurrence)
                for start, end, d in spans
                if start <= month <= end
            ),
            Decimal(0),
        )
        if committed + need > capacity:
            unit = _period_label(supply.recurrence)
            return _(
                "In %(month)s only %(left)s t %(unit)s of this listing's %(offered)s t "
                "%(unit)s are not yet committed; this deal needs %(need)s t %(unit)s."
            ) % {
                "month": date(month // MONTHS_PER_YEAR, month % MONTHS_PER_YEAR + 1, 1).strftime(
                    "%B %Y"
                ),
                "left": _in_listing_units(max(capacity - committed, Decimal(0)), supply.recurrence),
                "offered": plain_number(supply.tonnes),
                "need": _in_listing_units(need, supply.recurrence),
                "unit": unit,
            }
    return None


_RELATIONS = [
    "supplier",
    "receiver",
    "supply",
    "demand",
    "receiver_site",
    "material",
    "proposal",
    "factor_set",
    "created_by",
]


def _terms_errors(deal: Deal, supply: SupplyListing) -> dict:
    """Field errors of the deal's terms against its supply listing; sets ``tonnes_total``."""
    errors: dict[str, list] = {}

    def add(field, message):
        errors.setdefault(field, []).append(message)

    try:
        deal.clean_fields(exclude=[*_RELATIONS, "tonnes_total"])
    except ValidationError as exc:
        # Missing or malformed values: nothing below can be checked.
        return exc.update_error_dict(errors)
    try:
        deal.clean()
    except ValidationError as exc:
        errors = exc.update_error_dict(errors)
    if supply.status != Status.ACTIVE:
        add("supply", _("This supply listing is not active."))
    if not _periods_match(deal.period, supply.recurrence):
        if supply.recurrence == Recurrence.ONCE:
            add("period", _("The listing is a one-off batch: the deal must be one-off too."))
        else:
            add("period", _("The listing is a recurring flow: agree tonnes per month or year."))
    if "period" not in errors:
        if supply.recurrence == Recurrence.ONCE:
            too_much = deal.tonnes_per_period > supply.tonnes
        else:
            too_much = tonnes_per_year(
                deal.tonnes_per_period, deal.period, supply.recurrence
            ) > tonnes_per_year(supply.tonnes, supply.recurrence, supply.recurrence)
        if too_much:
            add(
                "tonnes_per_period",
                _("The listing offers only %(t)s t %(unit)s.")
                % {"t": plain_number(supply.tonnes), "unit": _period_label(supply.recurrence)},
            )
    if "end_date" in errors:
        return errors
    months = months_spanned(deal.start_date, deal.end_date)
    if months > MAX_DEAL_MONTHS:
        add("end_date", _("A deal runs at most %(n)s years.") % {"n": MAX_DEAL_MONTHS // 12})
    if supply.available_from and deal.start_date < supply.available_from:
        add(
            "start_date",
            _("The residue is available from %(day)s.") % {"day": supply.available_from},
        )
    if supply.available_until and deal.end_date > supply.available_until:
        add(
            "end_date",
            _("The residue is available until %(day)s.") % {"day": supply.available_until},
        )
    deal.tonnes_total = tonnes_total_for(
        tonnes_per_period=deal.tonnes_per_period,
        period=deal.period,
        start_date=deal.start_date,
        end_date=deal.end_date,
    )
    return errors


def _raise_if(errors: dict) -> None:
    if errors:
        raise ValidationError(errors)


def _demand_accepts(demand: DemandListing, material) -> bool:
    if demand.materials.filter(pk=material.pk).exists():
        return True
    return demand.uses.filter(rules__material=material).exists()


# --- locking, events and notifications -----------------------------------------------


def _lock(deal: Deal) -> tuple[Deal, SupplyListing]:
    """The deal and its supply listing, locked in that order. Call inside a transaction."""
    locked = Deal.objects.select_for_update().get(pk=deal.pk)
    supply = SupplyListing.objects.select_for_update().get(pk=locked.supply_id)
    locked.supply = supply
    return locked, supply


def _record(deal: Deal, *, user, action: str, from_state: str, note: str = "") -> DealEvent:
    return DealEvent.objects.create(
        deal=deal,
        actor=user if user is not None and user.is_authenticated else None,
        action=action,
        from_state=from_state,
        to_state=deal.state,
        terms_version=deal.terms_version,
        note=note,
    )


def _organizations_seeing(deal: Deal) -> list[int]:
    if deal.state == State.DRAFT:
        return {
            Deal.Initiator.SUPPLIER: [deal.supplier_id],
            Deal.Initiator.RECEIVER: [deal.receiver_id],
        }.get(deal.initiator, [])
    return [deal.supplier_id, deal.receiver_id]


def notification_recipients(deal: Deal, actor) -> list[str]:
    """E-mail addresses to tell about ``actor``'s step: the other party (and the
    facilitator who introduced the parties), never the actor's own organization."""
    actor_orgs = set(symbiosis_selectors.viewer_for(actor).organization_ids)
    org_ids = [pk for pk in _organizations_seeing(deal) if pk not in actor_orgs]
    emails = set(
        User.objects.filter(memberships__organization_id__in=org_ids, is_active=True)
        .exclude(pk=actor.pk)
        .values_list("email", flat=True)
    )
    introducer = deal.created_by if deal.initiator == Deal.Initiator.FACILITATOR else None
    if introducer is not None and introducer.pk != actor.pk and introducer.is_active:
        emails.add(introducer.email)
    return sorted(e for e in emails if e)


def _notify(deal: Deal, *, actor, subject: str, text: str) -> None:
    """Mail the other side once the transaction commits (a rollback sends nothing)."""
    recipients = notification_recipients(deal, actor)
    if not recipients:
        return
    subject = f"[Symbiosis] Deal #{deal.pk}: {subject}"
    body = f"{text}\n\nOpen the deal: /deals/{deal.pk}/\n"
    messages = [(subject, body, settings.DEFAULT_FROM_EMAIL, [email]) for email in recipients]
    # robust: a mail server that is down is logged; the step itself is already stored.
    transaction.on_commit(lambda: send_mass_mail(messages, fail_silently=False), robust=True)


# The notification e-mails are in English.
EMAIL_PERIODS = {Recurrence.MONTHLY: "per month", Recurrence.YEARLY: "per year"}


def _summary(deal: Deal) -> str:
    return (
        f"{deal.material} from {deal.supplier} to {deal.receiver}: "
        f"{plain_number(deal.tonnes_per_period)} t {EMAIL_PERIODS.get(deal.period, 'once')}, "
        f"{deal.start_date} to {deal.end_date}"
    )


def _transition_notice(deal: Deal, *, user, action: str, note: str = "") -> None:
    verb = ACTION_VERBS[action]
    text = f"{user} {verb} the deal.\n{_summary(deal)}"
    if note:
        text += f"\n\n{note}"
    subject = "new terms to accept" if action == "update_terms" else verb
    _notify(deal, actor=user, subject=subject, text=text)


# --- creating a deal ---------------------------------------------------------------


def _resolve_receiver(*, viewer, supply, demand, receiver, receiver_site):
    found = {
        o.pk: o
        for o in (
            demand.organization if demand else None,
            receiver_site.organization if receiver_site else None,
            receiver,
        )
        if o is not None
    }
    if len(found) > 1:
        raise ValidationError(
            {
                "receiver_site": [
                    _("The demand, the site and the receiver must be one organization.")
                ]
            }
        )
    if found:
        return next(iter(found.values()))
    if supply.organization_id in viewer.organization_ids:
        raise ValidationError({"demand": [_("Name the demand listing this offer answers.")]})
    own = [pk for pk in viewer.organization_ids if pk != supply.organization_id]
    if supply.organization_id not in viewer.organization_ids and len(own) == 1:
        return Organization.objects.get(pk=own[0])
    raise ValidationError({"receiver": [_("Say which organization receives the residue.")]})


@transaction.atomic
def deal_create(
    *,
    user,
    supply: SupplyListing,
    tonnes_per_period,
    start_date: date,
    end_date: date,
    demand: DemandListing | None = None,
    receiver: Organization | None = None,
    receiver_site: Site | None = None,
    period: str | None = None,
    price_kzt_per_t=None,
    transport_by: str = Deal.TransportBy.RECEIVER,
    proposal=None,
    factor_set=None,
    note: str = "",
) -> Deal:
    """A draft deal for ``supply``, started by its supplier, a receiver or a facilitator.

    A company deals only with what it may see of another: the other side's
    listing must be visible to it and public (an anonymous listing's owner is
    introduced by a facilitator instead). A supplier names the demand it
    answers; a receiver names its demand or the site it takes the residue to.
    """
    viewer = _viewer(user)
    if not viewer.is_authenticated:
        raise PermissionDenied(_("Log in to make a deal."))
    if not viewer.organization_ids and not viewer.is_facilitator:
        raise PermissionDenied(_("Deals are made between organizations; join one first."))
    supply = SupplyListing.objects.select_for_update().get(pk=supply.pk)
    receiver = _resolve_receiver(
        viewer=viewer, supply=supply, demand=demand, receiver=receiver, receiver_site=receiver_site
    )
    if supply.organization_id in viewer.organization_ids:
        initiator = Deal.Initiator.SUPPLIER
    elif receiver.pk in viewer.organization_ids:
        initiator = Deal.Initiator.RECEIVER
    elif viewer.is_facilitator:
        initiator = Deal.Initiator.FACILITATOR
    else:
        raise PermissionDenied(_("You may only make deals for your own organizations."))

    errors: dict[str, list] = {}
    if initiator == Deal.Initiator.SUPPLIER:
        if demand is None:
            errors["demand"] = [_("Name the demand listing this offer answers.")]
        elif not _shown_in_full(viewer, demand, symbiosis_selectors.demand_list):
            errors["demand"] = [_("This demand is not public; ask a facilitator to introduce you.")]
    elif initiator == Deal.Initiator.RECEIVER and not _shown_in_full(
        viewer, supply, symbiosis_selectors.supply_list
    ):
        errors["supply"] = [_("This supply is not public; ask a facilitator to introduce you.")]
    if receiver.pk == supply.organization_id:
        errors["receiver"] = [_("A deal needs two different organizations.")]
    if receiver_site is None:
        if demand is not None:
            receiver_site = demand.site
        else:
            sites = list(receiver.sites.all()[:2])
            if len(sites) == 1:
                receiver_site = sites[0]
            else:
                errors["receiver_site"] = [_("Say which site the residue goes to.")]
    if demand is not None:
        if demand.status == Status.CLOSED:
            errors.setdefault("demand", []).append(_("This demand listing is closed."))
        elif not _demand_accepts(demand, supply.material):
            errors.setdefault("demand", []).append(
                _("This demand does not accept %(material)s.") % {"material": supply.material}
            )
    if proposal is not None and (
        proposal.supply_id != supply.pk or demand is None or proposal.demand_id != demand.pk
    ):
        errors["proposal"] = [_("The proposal is for another supply or demand.")]

    deal = Deal(
        supplier_id=supply.organization_id,
        receiver=receiver,
        supply=supply,
        demand=demand,
        receiver_site_id=receiver_site.pk if receiver_site is not None else None,
        material_id=supply.material_id,
        tonnes_per_period=tonnes_per_period,
        period=period or supply.recurrence,
        price_kzt_per_t=(
            price_kzt_per_t
            if price_kzt_per_t is not None
            else (supply.price_kzt_per_t if supply.price_kzt_per_t is not None else Decimal(0))
        ),
        transport_by=transport_by,
        start_date=start_date,
        end_date=end_date,
        proposal=proposal,
        factor_set=factor_set if factor_set is not None else active_factor_set(),
        state=State.DRAFT,
        initiator=initiator,
        created_by=user,
    )
    for field, messages in _terms_errors(deal, supply).items():
        errors.setdefault(field, []).extend(messages)
    _raise_if(errors)
    deal.save()
    _record(deal, user=deal.created_by, action="create", from_state="", note=note)
    return deal


def _shown_in_full(viewer: Viewer, listing, list_selector) -> bool:
    """The listing is visible to the viewer with its owner named."""
    if listing.organization_id in viewer.organization_ids or viewer.is_facilitator:
        return True
    visible = list_selector(user=viewer).filter(pk=listing.pk).exists()
    return visible and not symbiosis_selectors.listing_hides_owner(user=viewer, listing=listing)


# --- transitions ---------------------------------------------------------------------


@transaction.atomic
def deal_offer(*, user, deal: Deal, note: str = "") -> Deal:
    deal, supply = _lock(deal)
    target = _check("offer", deal, deal_roles(user=user, deal=deal))
    _raise_if(_terms_errors(deal, supply))
    from_state, deal.state = deal.state, target
    deal.save()
    _record(deal, user=user, action="offer", from_state=from_state, note=note)
    _transition_notice(deal, user=user, action="offer", note=note)
    return deal


def _accepting_party(roles: frozenset[str], deal: Deal, party: str | None) -> str:
    mine = roles & PARTIES
    if party is not None:
        if party not in mine:
            raise PermissionDenied(_("You do not act for the %(party)s.") % {"party": party})
        return party
    open_parties = sorted(p for p in mine if deal.accepted_at(p) is None)
    if len(mine) == 1:
        return next(iter(mine))
    if len(open_parties) == 1:
        return open_parties[0]
    raise ValidationError({"party": [_("You act for both parties: say which one accepts.")]})


@transaction.atomic
def deal_accept(*, user, deal: Deal, terms_version: int, party: str | None = None) -> Deal:
    """One party accepts terms version ``terms_version``; with both, the deal is accepted.

    The version must be the current one: terms changed since the actor read
    them are never accepted by accident.
    """
    deal, supply = _lock(deal)
    roles = deal_roles(user=user, deal=deal)
    target = _check("accept", deal, roles)
    party = _accepting_party(roles, deal, party)
    if int(terms_version) != deal.terms_version:
        raise ValidationError(
            {
                "terms_version": [
                    _(
                        "The terms changed (now version %(now)s) since you read version "
                        "%(read)s; read them again before accepting."
                    )
                    % {"now": deal.terms_version, "read": terms_version}
                ]
            }
        )
    if deal.accepted_at(party) is not None:
        raise ValidationError(
            _("The %(party)s has already accepted these terms.") % {"party": party}
        )
    _raise_if(_terms_errors(deal, supply))
    now = timezone.now()
    if party == Party.SUPPLIER:
        deal.supplier_accepted_at = now
    else:
        deal.receiver_accepted_at = now
    from_state = deal.state
    both = deal.supplier_accepted_at is not None and deal.receiver_accepted_at is not None
    if both:
        owner_side = bool(roles & {SUPPLIER, FACILITATOR})
        problem = overcommitment_error(supply, deal, detailed=owner_side)
        if problem:
            raise ValidationError({"tonnes_per_period": [problem]})
        deal.state = target
    deal.save()
    _record(
        deal,
        user=user,
        action="accept",
        from_state=from_state,
        note=_("The %(party)s accepted terms version %(v)s.")
        % {"party": party, "v": deal.terms_version},
    )
    if both:
        _transition_notice(deal, user=user, action="accept")
    return deal


def _fmt(value) -> str:
    if isinstance(value, Decimal):
        return plain_number(value)
    return str(value)


@transaction.atomic
def deal_update_terms(*, user, deal: Deal, note: str = "", **terms) -> Deal:
    """Change terms; any acceptance is cleared and an accepted deal goes back to offered."""
    unknown = set(terms) - TERMS_FIELDS
    if unknown:
        raise TypeError(f"Deal terms have no field(s) {sorted(unknown)}")
    deal, supply = _lock(deal)
    target = _check("update_terms", deal, deal_roles(user=user, deal=deal))
    changes = []
    for name, value in terms.items():
        if value is None:
            continue
        old = getattr(deal, name)
        new_value = Decimal(str(value)) if isinstance(old, Decimal) else value
        if new_value != old:
            changes.append(f"{name.replace('_', ' ')}: {_fmt(old)} -> {_fmt(new_value)}")
            setattr(deal, name, new_value)
    if not changes:
        raise ValidationError(
            _("These are the current terms; change something to propose new ones.")
        )
    _raise_if(_terms_errors(deal, supply))
    from_state, deal.state = deal.state, target
    deal.terms_version += 1
    deal.supplier_accepted_at = None
    deal.receiver_accepted_at = None
    deal.save()
    text = "; ".join(changes) + (f"\n{note}" if note else "")
    _record(deal, user=user, action="update_terms", from_state=from_state, note=text)
    if deal.state != State.DRAFT:
        _transition_notice(deal, user=user, action="update_terms", note=text)
    return deal


def _close(*, user, deal: Deal, action: str, reason: str) -> Deal:
    deal, _supply = _lock(deal)
    target = _check(action, deal, deal_roles(user=user, deal=deal))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Give a reason.")]})
    from_state, deal.state = deal.state, target
    deal.closed_reason = reason
    deal.save()
    _record(deal, user=user, action=action, from_state=from_state, note=reason)
    _transition_notice(deal, user=user, action=action, note=reason)
    return deal


@transaction.atomic
def deal_decline(*, user, deal: Deal, reason: str) -> Deal:
    return _close(user=user, deal=deal, action="decline", reason=reason)


@transaction.atomic
def deal_cancel(*, user, deal: Deal, reason: str) -> Deal:
    return _close(user=user, deal=deal, action="cancel", reason=reason)


def _step(*, user, deal: Deal, action: str, note: str) -> Deal:
    deal, _supply = _lock(deal)
    target = _check(action, deal, deal_roles(user=user, deal=deal))
    from_state, deal.state = deal.state, target
    deal.save()
    _record(deal, user=user, action=action, from_state=from_state, note=note)
    _transition_notice(deal, user=user, action=action, note=note)
    return deal


@transaction.atomic
def deal_activate(*, user, deal: Deal, note: str = "") -> Deal:
    """Deliveries start; only an active deal takes deliveries."""
    return _step(user=user, deal=deal, action="activate", note=note)


@transaction.atomic
def deal_complete(*, user, deal: Deal, note: str = "") -> Deal:
    return _step(user=user, deal=deal, action="complete", note=note)


# Transition name -> service, for views and the API.
TRANSITION_SERVICES = {
    "offer": deal_offer,
    "accept": deal_accept,
    "update_terms": deal_update_terms,
    "decline": deal_decline,
    "cancel": deal_cancel,
    "activate": deal_activate,
    "complete": deal_complete,
}


# --- deliveries ----------------------------------------------------------------------


def _acting_party(roles: frozenset[str], deal: Deal, party: str | None) -> str:
    """The side an entry is logged for (``Delivery.logged_as``): the user's party; for
    a member of both, ``party`` or else the one that transports; else a facilitator."""
    mine = roles & PARTIES
    if party is not None:
        if party not in mine:
            raise PermissionDenied(_("You do not act for the %(party)s.") % {"party": party})
        return party
    if len(mine) == 1:
        return next(iter(mine))
    if mine:
        return RECEIVER if deal.transport_by == Deal.TransportBy.RECEIVER else SUPPLIER
    return FACILITATOR


def _net_tonnes(tonnes, gross_tonnes, tare_tonnes):
    """The tonnes given, or gross minus tare when only those are."""
    if tonnes is None and gross_tonnes is not None and tare_tonnes is not None:
        try:
            return Decimal(str(gross_tonnes)) - Decimal(str(tare_tonnes))
        except (InvalidOperation, ValueError):
            return None  # full_clean names the field
    return tonnes


def _figures_errors(delivery: Delivery, deal: Deal, *, corrected: Delivery | None = None) -> dict:
    """Field errors of a delivery's figures on ``deal`` (``corrected``: the delivery a
    replacement corrects; it may repeat the ticket of that delivery's chain)."""
    errors: dict[str, list] = {}
    try:
        delivery.full_clean(
            exclude=["deal", "logged_by", "corrects", "reversal", "reviewed_by"],
            validate_unique=False,
            validate_constraints=False,
        )
    except ValidationError as exc:
        errors = exc.update_error_dict(errors)
    if "date" not in errors:
        if delivery.date < deal.start_date:
            errors["date"] = [_("The deal starts on %(day)s.") % {"day": deal.start_date}]
        elif delivery.date > deal.end_date:
            errors["date"] = [_("The deal ended on %(day)s.") % {"day": deal.end_date}]
        elif delivery.date > timezone.localdate():
            errors["date"] = [_("Log a delivery once it has arrived.")]
    if "ticket_number" not in errors:
        taken = Delivery.objects.filter(
            deal=deal, ticket_number=delivery.ticket_number, kind=Delivery.Kind.DELIVERY
        ).exclude(status=DeliveryStatus.REJECTED)
        if corrected is not None:
            taken = taken.exclude(pk__in=_chain(corrected))
        if taken.exists():
            errors["ticket_number"] = [_("This ticket is already logged on this deal.")]
    return errors


def _chain(delivery: Delivery) -> list[int]:
    """``delivery`` and what it corrects, back to the delivery first logged."""
    found = [delivery.pk]
    while delivery.corrects_id is not None:
        found.append(delivery.corrects_id)
        delivery = Delivery.objects.only("pk", "corrects").get(pk=delivery.corrects_id)
    return found


def _counted_in_period(deal: Deal, window, *, leave_out: Delivery | None = None) -> Decimal:
    """Tonnes counting against ``deal``'s period ``window``: deliveries logged, held or
    confirmed, net of confirmed corrections (until a correction is confirmed, the
    delivery it corrects counts as it was)."""
    counted = Q(kind=Delivery.Kind.DELIVERY, status__in=PLAUSIBILITY_COUNTED) | Q(
        kind__in=(Delivery.Kind.REVERSAL, Delivery.Kind.REPLACEMENT),
        status=DeliveryStatus.CONFIRMED,
    )
    rows = Delivery.objects.filter(
        counted, deal=deal, date__gte=window.first, date__lte=window.last
    )
    if leave_out is not None:
        rows = rows.exclude(pk=leave_out.pk)
    return rows.aggregate(t=Sum("tonnes"))["t"] or Decimal(0)


def _held_checks(deal: Deal, delivery: Delivery, *, leave_out=None) -> list[dict]:
    """Why ``delivery`` is implausible on ``deal`` (empty: it is not); see
    ``marketplace.plausibility``. ``leave_out``: the delivery a replacement replaces."""
    window = plausibility.period_window(
        period=deal.period,
        start_date=deal.start_date,
        end_date=deal.end_date,
        tonnes_per_period=deal.tonnes_per_period,
        tonnes_total=deal.tonnes_total,
        day=delivery.date,
    )
    return plausibility.held_checks(
        tonnes=delivery.tonnes,
        loads=delivery.loads,
        max_tonnes_per_load=Decimal(str(settings.DELIVERY_MAX_TONNES_PER_LOAD)),
        window=window,
        period_tonnes_before=_counted_in_period(deal, window, leave_out=leave_out),
        tolerance=Decimal(str(settings.DELIVERY_PERIOD_TOLERANCE)),
    )


def _english(checks) -> str:
    # The deal history is written in English, as the notification e-mails are.
    with translation.override("en"):
        return plausibility.held_reason_text(checks)


def _figures(delivery: Delivery) -> str:
    return (
        f"#{delivery.pk}: {plain_number(delivery.tonnes)} t on {delivery.date}, "
        f"ticket {delivery.ticket_number}"
    )


@transaction.atomic
def delivery_log(
    *,
    user,
    deal: Deal,
    date: date,
    ticket_number: str,
    tonnes=None,
    loads: int | None = 1,
    gross_tonnes=None,
    tare_tonnes=None,
    vehicle: str = "",
    note: str = "",
    party: str | None = None,
) -> Delivery:
    """A load as the weighbridge ticket says, logged by either party for its side
    (``party``: which side, for a member of both); it counts once the other party
    or a facilitator confirms it. ``tonnes`` may be left out when gross and tare
    are given. An implausible load is stored ``held`` for a facilitator's review.
    """
    deal, _supply = _lock(deal)
    roles = deal_roles(user=user, deal=deal)
    if not deal_is_visible_to(roles, deal):
        raise PermissionDenied(_("You have no part in this deal."))
    if deal.state not in DELIVERY_LOG["states"]:
        raise ValidationError(_("Deliveries are logged on active deals only."))
    if not roles & DELIVERY_LOG["roles"]:
        raise PermissionDenied(
            _("Only %(who)s logs deliveries.") % {"who": _describe(DELIVERY_LOG["roles"])}
        )
    delivery = Delivery(
        deal=deal,
        date=date,
        tonnes=_net_tonnes(tonnes, gross_tonnes, tare_tonnes),
        loads=1 if loads is None else loads,
        gross_tonnes=gross_tonnes,
        tare_tonnes=tare_tonnes,
        ticket_number=(ticket_number or "").strip(),
        vehicle=(vehicle or "").strip(),
        note=note or "",
        logged_by=user,
        logged_as=_acting_party(roles, deal, party),
    )
    _raise_if(_figures_errors(delivery, deal))
    checks = _held_checks(deal, delivery)
    if checks:
        delivery.status = DeliveryStatus.HELD
        delivery.held_reason = checks
    delivery.save()
    text = _figures(delivery)
    if checks:
        text += f"; held for a facilitator's review: {_english(checks)}"
    action = "delivery_held" if checks else "delivery_logged"
    _record(deal, user=user, action=action, from_state=deal.state, note=text)
    subject = "delivery held for review" if checks else "delivery logged"
    _notify(deal, actor=user, subject=subject, text=f"{user} logged {text}.")
    return delivery


def _judged_rows(delivery: Delivery) -> list[Delivery]:
    """The rows judged together, locked, the one carrying the roles first: a
    correction's reversal and replacement; an ordinary delivery alone."""
    if delivery.kind == Delivery.Kind.DELIVERY:
        return [delivery]
    head = delivery.pk if delivery.kind == Delivery.Kind.REVERSAL else delivery.reversal_id
    rows = Delivery.objects.select_for_update().filter(Q(pk=head) | Q(reversal_id=head))
    return sorted(rows, key=lambda row: row.kind != Delivery.Kind.REVERSAL)


def _judge(*, user, delivery: Delivery, action: str) -> tuple[list[Delivery], Deal, str]:
    deal = Deal.objects.select_for_update().get(pk=delivery.deal_id)
    delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
    rows = _judged_rows(delivery)
    head = rows[0]
    roles = deal_roles(user=user, deal=deal)
    if not deal_is_visible_to(roles, deal):
        raise PermissionDenied(_("You have no part in this deal."))
    row = DELIVERY_TRANSITIONS[action].get(head.status)
    if row is None:
        raise ValidationError(
            _("A delivery that is %(status)s cannot be %(verb)s.")
            % {"status": head.get_status_display().lower(), "verb": DELIVERY_VERBS[action]}
        )
    target, allowed = row
    if not delivery_roles(user=user, deal=deal, delivery=head, roles=roles) & allowed:
        if head.logged_by_id is not None and head.logged_by_id == user.pk:
            raise PermissionDenied(
                _("You logged this entry: %(who)s judges it, never whoever logged it.")
                % {"who": _describe(allowed)}
            )
        raise PermissionDenied(_("Only %(who)s may do this.") % {"who": _describe(allowed)})
    return rows, deal, target


def _judged(rows: list[Delivery], delivery: Delivery) -> Delivery:
    return next(row for row in rows if row.pk == delivery.pk)


def _correction_note(rows: list[Delivery]) -> str:
    reversal = rows[0]
    original = Delivery.objects.get(pk=reversal.corrects_id)
    text = f"{_figures(original)}: reversal #{reversal.pk}"
    if len(rows) > 1:
        text += f", replacement {_figures(rows[1])}"
    else:
        text += ", the load never happened"
    return text


def _judgement_note(rows: list[Delivery]) -> tuple[str, str]:
    """(event prefix, note) of judged rows: ``delivery`` or ``correction``."""
    if rows[0].kind == Delivery.Kind.REVERSAL:
        return "correction", _correction_note(rows)
    return "delivery", _figures(rows[0])


@transaction.atomic
def delivery_confirm(*, user, delivery: Delivery) -> Delivery:
    """The other party (or a facilitator) confirms: the tonnes count. A correction's
    reversal and replacement are confirmed together."""
    rows, deal, target = _judge(user=user, delivery=delivery, action="confirm")
    now = timezone.now()
    for row in rows:
        row.status = target
        row.confirmed_by = user
        row.confirmed_at = now
        row.save()
    prefix, note = _judgement_note(rows)
    _record(deal, user=user, action=f"{prefix}_confirmed", from_state=deal.state, note=note)
    return _judged(rows, delivery)


@transaction.atomic
def delivery_dispute(*, user, delivery: Delivery, reason: str) -> Delivery:
    rows, deal, target = _judge(user=user, delivery=delivery, action="dispute")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say what is wrong with this delivery.")]})
    now = timezone.now()
    for row in rows:
        row.status = target
        row.dispute_reason = reason
        row.disputed_by = user
        row.disputed_at = now
        row.save()
    prefix, note = _judgement_note(rows)
    note = f"{note}: {reason}"
    _record(deal, user=user, action=f"{prefix}_disputed", from_state=deal.state, note=note)
    _notify(deal, actor=user, subject=f"{prefix} disputed", text=f"{user} disputed {note}")
    return _judged(rows, delivery)


def _review(*, user, delivery: Delivery, action: str, reason: str, required: bool) -> Delivery:
    rows, deal, target = _judge(user=user, delivery=delivery, action=action)
    reason = (reason or "").strip()
    if required and not reason:
        raise ValidationError({"reason": [_("Give a reason.")]})
    now = timezone.now()
    for row in rows:
        row.status = target
        row.reviewed_by = user
        row.reviewed_at = now
        row.review_reason = reason
        row.save()
    prefix, note = _judgement_note(rows)
    if reason:
        note = f"{note}: {reason}"
    verb = {"release": "released", "reject": "rejected"}[action]
    _record(deal, user=user, action=f"{prefix}_{verb}", from_state=deal.state, note=note)
    _notify(deal, actor=user, subject=f"{prefix} {verb}", text=f"{user} {verb} {note}")
    return _judged(rows, delivery)


@transaction.atomic
def delivery_release(*, user, delivery: Delivery, note: str = "") -> Delivery:
    """A facilitator found a held delivery plausible: it is logged, for the other
    party to confirm as usual."""
    return _review(user=user, delivery=delivery, action="release", reason=note, required=False)


@transaction.atomic
def delivery_reject(*, user, delivery: Delivery, reason: str) -> Delivery:
    """A facilitator refuses a held or disputed delivery: it never counts (its
    ticket may be logged again with the right figures)."""
    return _review(user=user, delivery=delivery, action="reject", reason=reason, required=True)


# What a replacement takes from the delivery it corrects unless it is given anew.
CORRECTED_FIELDS = ("date", "tonnes", "loads", "gross_tonnes", "tare_tonnes")
CORRECTED_TEXT_FIELDS = ("ticket_number", "vehicle")


def _replacement(original: Delivery, figures: dict) -> Delivery:
    given = {name: value for name, value in figures.items() if value is not None}
    if "tonnes" in given or {"gross_tonnes", "tare_tonnes"} & set(given):
        # New weights: the old gross and tare no longer fit them.
        kept = {"date", "loads"}
    else:
        kept = set(CORRECTED_FIELDS)
    values = {name: getattr(original, name) for name in kept}
    values.update({name: getattr(original, name) for name in CORRECTED_TEXT_FIELDS})
    values.update(given)
    values["tonnes"] = _net_tonnes(
        values.get("tonnes"), values.get("gross_tonnes"), values.get("tare_tonnes")
    )
    for name in CORRECTED_TEXT_FIELDS:
        values[name] = (values.get(name) or "").strip()
    return Delivery(deal_id=original.deal_id, note=original.note, **values)


def _same_figures(a: Delivery, b: Delivery) -> bool:
    names = (*CORRECTED_FIELDS, *CORRECTED_TEXT_FIELDS)
    return all(getattr(a, name) == getattr(b, name) for name in names)


@transaction.atomic
def delivery_correct(
    *,
    user,
    delivery: Delivery,
    reason: str,
    void: bool = False,
    date=None,
    tonnes=None,
    loads=None,
    gross_tonnes=None,
    tare_tonnes=None,
    ticket_number=None,
    vehicle=None,
    party: str | None = None,
) -> tuple[Delivery, Delivery | None]:
    """Propose a correction of a confirmed delivery: a reversal of it and, unless the
    load never happened (``void``), a replacement with the figures given (the
    others as they were). Either party or a facilitator proposes; it counts once
    someone else confirms it (``delivery_confirm`` on either row), and until
    then the delivery counts as it was. Returns (reversal, replacement or None).
    """
    deal = Deal.objects.select_for_update().get(pk=delivery.deal_id)
    original = Delivery.objects.select_for_update().get(pk=delivery.pk)
    roles = deal_roles(user=user, deal=deal)
    if not deal_is_visible_to(roles, deal):
        raise PermissionDenied(_("You have no part in this deal."))
    row = DELIVERY_TRANSITIONS["correct"].get(original.status)
    if row is None:
        raise ValidationError(
            _("A delivery that is %(status)s cannot be %(verb)s.")
            % {"status": original.get_status_display().lower(), "verb": DELIVERY_VERBS["correct"]}
        )
    if not roles & row[1]:
        raise PermissionDenied(_("Only %(who)s may do this.") % {"who": _describe(row[1])})
    if original.kind == Delivery.Kind.REVERSAL:
        raise ValidationError(_("A reversal is not corrected: correct the delivery instead."))
    corrections = original.corrections.filter(kind=Delivery.Kind.REVERSAL)
    done = corrections.filter(status=DeliveryStatus.CONFIRMED).first()
    if done is not None:
        raise ValidationError(
            _("This delivery was corrected already (#%(n)s): correct what replaced it.")
            % {"n": done.pk}
        )
    if corrections.filter(status__in=PENDING_STATUSES).exists():
        raise ValidationError(_("A correction of this delivery is already waiting."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say what was wrong.")]})
    logged = {
        "logged_by": user,
        "logged_as": _acting_party(roles, deal, party),
        "corrects": original,
        "correction_reason": reason,
    }
    reversal = Delivery(
        deal=deal,
        date=original.date,
        tonnes=-original.tonnes,
        loads=original.loads,
        ticket_number=original.ticket_number,
        vehicle=original.vehicle,
        kind=Delivery.Kind.REVERSAL,
        **logged,
    )
    replacement = None
    checks = []
    if not void:
        replacement = _replacement(
            original,
            {
                "date": date,
                "tonnes": tonnes,
                "loads": loads,
                "gross_tonnes": gross_tonnes,
                "tare_tonnes": tare_tonnes,
                "ticket_number": ticket_number,
                "vehicle": vehicle,
            },
        )
        replacement.deal = deal
        replacement.kind = Delivery.Kind.REPLACEMENT
        for name, value in logged.items():
            setattr(replacement, name, value)
        errors = _figures_errors(replacement, deal, corrected=original)
        if not errors and _same_figures(replacement, original):
            errors = {
                "tonnes": [
                    _(
                        "These are the figures already confirmed: change one, or say the "
                        "load never happened."
                    )
                ]
            }
        _raise_if(errors)
        checks = _held_checks(deal, replacement, leave_out=original)
    status = DeliveryStatus.HELD if checks else DeliveryStatus.LOGGED
    for row in (reversal, replacement):
        if row is not None:
            row.status = status
            row.held_reason = checks
    reversal.save()
    if replacement is not None:
        replacement.reversal = reversal
        replacement.save()
    rows = [reversal] + ([replacement] if replacement else [])
    text = f"{_correction_note(rows)}. Reason: {reason}"
    if checks:
        text += f"; held for a facilitator's review: {_english(checks)}"
    action = "correction_held" if checks else "correction_proposed"
    _record(deal, user=user, action=action, from_state=deal.state, note=text)
    _notify(deal, actor=user, subject="correction proposed", text=f"{user} proposed {text}")
    return reversal, replacement


# --- messages ------------------------------------------------------------------------
@transaction.atomic
def message_post(*, user, deal: Deal, body: str) -> DealMessage:
    """A message on the deal; the other party (and an introducing facilitator) get an e-mail."""
    roles = deal_roles(user=user, deal=deal)
    if not deal_is_visible_to(roles, deal):
        raise PermissionDenied(_("You have no part in this deal."))
    body = (body or "").strip()
    message = DealMessage(deal=deal, author=user, body=body)
    try:
        message.full_clean(exclude=["deal", "author"])
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from exc
    message.save()
    _notify(deal, actor=user, subject="new message", text=f"{user} wrote:\n\n{body}")
    return message
