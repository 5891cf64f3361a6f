"""Who may do what on a deal and its deliveries: the roles and transition tables.

Read by the services (which refuse), and by views, API and buttons (which only
show what the services would allow). Roles on a deal (``deal_roles``):
``supplier`` and ``receiver`` are members of those organizations;
``facilitator`` is a facilitator (or superuser); ``initiator`` is whoever of
those created the deal; ``introduced`` is a party of a deal a facilitator
started (an introduction); ``drafter`` may shape and send a draft: the side
that started it, or, in an introduction, either company once both have
accepted the introduction (``introduction_waiting_for``); ``answering`` is a
party whose answer the terms on the table wait for (an offer it has not
accepted, or an active deal's amendment the other party proposed);
``carrier`` is a member of the party that transports (the supplier, unless the
receiver transports). City analysts have no role.

Drafts are seen by their initiator, facilitators and, in an introduction, both
companies from the moment of the introduction; other states by both parties.

Roles on a delivery (``delivery_roles``) add ``other_party``: a member of the
party the delivery was not logged for (``Delivery.logged_as``), who is not the
user who logged it. The logger never confirms, disputes, releases or rejects
its own entry, whatever else it is (a member of both parties, a facilitator).
"""

from __future__ import annotations

from datetime import date
from functools import reduce

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from marketplace.models import Deal, DealAmendment, Delivery
from symbiosis import permits
from symbiosis.introductions import Answer
from symbiosis.visibility import as_viewer

State = Deal.State

# --- roles and the transition table --------------------------------------------

SUPPLIER = "supplier"
RECEIVER = "receiver"
FACILITATOR = "facilitator"
INITIATOR = "initiator"
INTRODUCED = "introduced"
DRAFTER = "drafter"
ANSWERING = "answering"
CARRIER = "carrier"
PARTIES = frozenset({SUPPLIER, RECEIVER})
PARTIES_OR_FACILITATOR = PARTIES | {FACILITATOR}

# action -> {from state: (to state, roles that may do it)}.
# Sending terms accepts them for the sender: "offer" and "update_terms" (a
# counter-offer) record the sender's acceptance of the new version and clear
# the other's, so "accept" by the answering party makes the deal "accepted"
# (a deal offered before this rule, with no acceptance yet, needs both).
# On an active deal, "update_terms" proposes an amendment (``DealAmendment``)
# and "accept" / "decline" answer it: the deal stays active, on the new terms
# once accepted, on its old ones if declined.
TRANSITIONS: dict[str, dict[str, tuple[str, frozenset[str]]]] = {
    "offer": {State.DRAFT: (State.OFFERED, frozenset({DRAFTER}))},
    "update_terms": {
        State.DRAFT: (State.DRAFT, frozenset({DRAFTER})),
        State.OFFERED: (State.OFFERED, PARTIES),
        State.ACCEPTED: (State.OFFERED, PARTIES),
        State.ACTIVE: (State.ACTIVE, PARTIES),
    },
    "accept": {
        State.OFFERED: (State.ACCEPTED, frozenset({ANSWERING})),
        State.ACTIVE: (State.ACTIVE, frozenset({ANSWERING})),
    },
    "decline": {
        State.OFFERED: (State.DECLINED, frozenset({ANSWERING})),
        State.ACTIVE: (State.ACTIVE, frozenset({ANSWERING})),
    },
    "activate": {State.ACCEPTED: (State.ACTIVE, PARTIES)},
    "complete": {State.ACTIVE: (State.COMPLETED, PARTIES)},
    "cancel": {
        State.DRAFT: (State.CANCELLED, frozenset({DRAFTER, FACILITATOR})),
        State.OFFERED: (State.CANCELLED, PARTIES_OR_FACILITATOR),
        State.ACCEPTED: (State.CANCELLED, PARTIES_OR_FACILITATOR),
        State.ACTIVE: (State.CANCELLED, PARTIES_OR_FACILITATOR),
    },
}
# Actions that answer the terms on the table: on an active deal they need an
# amendment waiting.
ANSWERS = frozenset({"accept", "decline"})
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
    INTRODUCED: gettext_lazy("an introduced company"),
    DRAFTER: gettext_lazy("the side preparing the draft"),
    ANSWERING: gettext_lazy("the party the terms wait for"),
    CARRIER: gettext_lazy("the party that transports"),
    OTHER_PARTY: gettext_lazy("the other party"),
}
# A party named in a sentence ("the supplier"), translated when shown.
PARTY_LABELS = {SUPPLIER: ROLE_LABELS[SUPPLIER], RECEIVER: ROLE_LABELS[RECEIVER]}
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


def other_party(party: str) -> str:
    return RECEIVER if party == SUPPLIER else SUPPLIER


def party_organization(deal: Deal, party: str):
    return deal.supplier if party == SUPPLIER else deal.receiver


def introduction_waiting_for(deal: Deal) -> list[str]:
    """The parties whose acceptance of the introduction a facilitator's draft still
    waits for (supplier first); empty when it waits for none: not an
    introduction, one made without a proposal, or accepted by both."""
    if not deal.is_introduction or deal.proposal_id is None:
        return []
    proposal = deal.proposal
    return [
        party
        for party in (SUPPLIER, RECEIVER)
        if getattr(proposal, f"{party}_answer") != Answer.ACCEPTED
    ]


def pending_amendment(deal: Deal) -> DealAmendment | None:
    """The new terms an active deal waits on, or None (read once per instance)."""
    if deal.state != State.ACTIVE:
        return None
    if not hasattr(deal, "_pending_amendment"):
        prefetched = getattr(deal, "pending_amendments", None)  # selectors.deal_list
        if prefetched is not None:
            deal._pending_amendment = prefetched[0] if prefetched else None
        else:
            deal._pending_amendment = deal.amendments.filter(
                status=DealAmendment.Status.PENDING
            ).first()
    return deal._pending_amendment


def answering_parties(deal: Deal) -> frozenset[str]:
    """The parties whose answer the terms on the table wait for: on an offer, those
    that have not accepted its version; on an active deal, the one that did not
    propose the amendment waiting (none without one)."""
    if deal.state == State.OFFERED:
        return frozenset(party for party in PARTIES if deal.accepted_at(party) is None)
    amendment = pending_amendment(deal)
    if amendment is not None:
        return frozenset({amendment.answering_party})
    return frozenset()


def chosen_party(roles: frozenset[str], party: str | None, *, preferred=()) -> str | None:
    """The party a user acts for: ``party`` if named (refused unless it is theirs), their
    only party, else the one party of theirs in the first of the ``preferred`` sets that
    holds exactly one; None when that leaves it open (a member of both, or of neither)."""
    mine = roles & PARTIES
    if party is not None:
        if party not in mine:
            raise PermissionDenied(_("You do not act for the %(party)s.") % {"party": party})
        return party
    if len(mine) == 1:
        return next(iter(mine))
    for candidates in preferred:
        found = sorted(mine & candidates)
        if len(found) == 1:
            return found[0]
    return None


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
    parties = found & PARTIES
    if parties:
        if deal.is_introduction:
            found.add(INTRODUCED)
            if not introduction_waiting_for(deal):
                found.add(DRAFTER)
        elif deal.initiator in parties:
            found.add(DRAFTER)
        if deal.state in (State.OFFERED, State.ACTIVE) and parties & answering_parties(deal):
            found.add(ANSWERING)
    carrier = RECEIVER if deal.transport_by == Deal.TransportBy.RECEIVER else SUPPLIER
    if carrier in found:
        found.add(CARRIER)
    return frozenset(found)


def deal_is_visible_to(roles: frozenset[str], deal: Deal) -> bool:
    """Drafts are seen by their initiator, facilitators and the companies of an
    introduction; other states by both parties."""
    if deal.state == State.DRAFT:
        return bool(roles & {INITIATOR, FACILITATOR, INTRODUCED, DRAFTER})
    return bool(roles)


def describe_roles(roles: frozenset[str]) -> str:
    """Who may act ("the supplier or the receiver"), in the current language."""
    labels = [str(ROLE_LABELS[r]) for r in sorted(roles)]
    return reduce(lambda a, b: _("%(a)s or %(b)s") % {"a": a, "b": b}, labels)


def describe_parties(deal: Deal, parties) -> str:
    """The organizations of ``parties`` by name ("Alatau Brewery and Baursak Bakery")."""
    names = [party_organization(deal, party).name for party in sorted(parties)]
    return reduce(lambda a, b: _("%(a)s and %(b)s") % {"a": a, "b": b}, names)


def _refusal(deal: Deal, roles: frozenset[str], allowed: frozenset[str]) -> str:
    """Why a user who sees the deal may not take a step its state allows."""
    waiting = introduction_waiting_for(deal)
    if DRAFTER in allowed and INTRODUCED in roles and waiting:
        return _("Waiting for %(who)s to accept the introduction.") % {
            "who": describe_parties(deal, waiting)
        }
    answering = answering_parties(deal)
    if ANSWERING in allowed and roles & PARTIES and answering:
        return _("Your side has accepted these terms; %(who)s answers them.") % {
            "who": describe_parties(deal, answering)
        }
    return _("Only %(who)s may do this now.") % {"who": describe_roles(allowed)}


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
    if action in ANSWERS and deal.state == State.ACTIVE and pending_amendment(deal) is None:
        raise ValidationError(_("No new terms wait for an answer on this deal."))
    target, allowed = row
    if not roles & allowed:
        raise PermissionDenied(_refusal(deal, roles, allowed))
    return target


def date_refusals(deal: Deal, *, today: date | None = None) -> dict[str, str]:
    """Steps the table allows that a date would refuse today, with why: a page says
    so instead of offering them."""
    today = today or timezone.localdate()
    found = {}
    if deal.state in DELIVERY_LOG["states"] and today < deal.deliveries_start:
        found["log_delivery"] = _(
            "Deliveries are logged from %(day)s, the day they start; none can be dated earlier."
        ) % {"day": deal.deliveries_start}
    return found


def permit_day(deal: Deal, *, today: date | None = None) -> date:
    """The day a receiver's permit must be valid on for a deal to be accepted: the
    first day deliveries could come."""
    return max(deal.start_date, today or timezone.localdate())


def permit_refusals(deal: Deal, *, today: date | None = None) -> dict[str, str]:
    """Why an offer of a hazardous waste cannot be accepted, as ``{"accept": why}``: the
    receiver has no valid permit for its code (``symbiosis.permits``); empty when it can."""
    # The policy's one read: the material and the receiver's permits, of an offered deal
    # only (symbiosis.permits answers; a deal without a material has nothing to check).
    if deal.state != State.OFFERED or deal.material_id is None:
        return {}
    material = deal.material
    if not material.needs_permit:
        return {}
    day = permit_day(deal, today=today)
    if permits.may_receive(organization_id=deal.receiver_id, code=material.kz_code, day=day):
        return {}
    return {
        "accept": _(
            "%(receiver)s has no verified permit for hazardous waste %(code)s valid on "
            "%(day)s: the deal cannot be accepted until a facilitator verifies one "
            "(the receiver adds it on its Permits page)."
        )
        % {"receiver": deal.receiver.name, "code": material.kz_code, "day": day}
    }


def allowed_actions(*, user, deal: Deal, today: date | None = None) -> frozenset[str]:
    """Actions ``user`` may take on ``deal`` now (for showing buttons only)."""
    roles = deal_roles(user=user, deal=deal)
    if not deal_is_visible_to(roles, deal):
        return frozenset()
    found = {"message"}
    for action, rows in TRANSITIONS.items():
        row = rows.get(deal.state)
        if row and roles & row[1]:
            found.add(action)
    if deal.state == State.ACTIVE and pending_amendment(deal) is None:
        found -= ANSWERS
    if deal.state in DELIVERY_LOG["states"] and roles & DELIVERY_LOG["roles"]:
        found.add("log_delivery")
    refused = set(date_refusals(deal, today=today)) | set(permit_refusals(deal, today=today))
    return frozenset(found - refused)


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
