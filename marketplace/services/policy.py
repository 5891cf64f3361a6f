"""Who may do what on a deal and its deliveries: the roles and transition tables.

Read by the services (which refuse), and by views, API and buttons (which only
show what the services would allow). Roles on a deal (``deal_roles``):
``supplier`` and ``receiver`` are members of those organizations;
``facilitator`` is a facilitator (or superuser); ``initiator`` is whoever of
those created the deal (drafts belong to their initiator and are invisible to
the other party until offered); ``carrier`` is a member of the party that
transports (the supplier, unless the receiver transports). City analysts have
no role.

Roles on a delivery (``delivery_roles``) add ``other_party``: a member of the
party the delivery was not logged for (``Delivery.logged_as``), who is not the
user who logged it. The logger never confirms, disputes, releases or rejects
its own entry, whatever else it is (a member of both parties, a facilitator).
"""

from __future__ import annotations

from functools import reduce

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from marketplace.models import Deal, Delivery
from symbiosis.visibility import as_viewer

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


def deal_roles(*, user, deal: Deal) -> frozenset[str]:
    """The roles ``user`` has on ``deal`` (empty: no part in it)."""
    viewer = as_viewer(user)
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


def describe_roles(roles: frozenset[str]) -> str:
    """Who may act ("the supplier or the receiver"), in the current language."""
    labels = [str(ROLE_LABELS[r]) for r in sorted(roles)]
    return reduce(lambda a, b: _("%(a)s or %(b)s") % {"a": a, "b": b}, labels)


def check_action(action: str, deal: Deal, roles: frozenset[str]) -> str:
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
        raise PermissionDenied(
            _("Only %(who)s may do this now.") % {"who": describe_roles(allowed)}
        )
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
