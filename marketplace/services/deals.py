"""Creating a deal and moving it through its states (offer, accept, terms, close).

Each transition is keyword-only and, inside one transaction, locks the deal
row and then its supply listing row (``records.lock_deal``: always in that
order, so two transitions never wait on each other in a cycle), then any
amendment row, and works on the rows as locked; checks the actor against
``policy.TRANSITIONS`` (no part in the deal: ``PermissionDenied``; not allowed
from the deal's state: ``ValidationError``; allowed from the state but not for
the actor's role: ``PermissionDenied``); validates, writes, and records a
``DealEvent`` (its ``details`` worded for each reader by ``marketplace.history``).

Terms are sent, never merely proposed: whoever sends an offer, a counter-offer
or an amendment has accepted that version, and the other party's acceptance
agrees it. An active deal's new terms wait in a ``DealAmendment`` while the
deal runs on its own. An introduction's answers (``deal_answer_introduction``)
come from ``optimizer.decisions.proposal_answer``, which locks the proposal
first: no deal step locks a proposal.

Longer than most: every deal transition (draft, offer, counter, accept,
activate, amend, cancel, complete) locks the same rows in the same order and
is read beside the others; the policy and terms checks are their own modules.
"""

from __future__ import annotations

from copy import copy
from datetime import date
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from marketplace.models import Deal, DealAmendment, Delivery, Party
from marketplace.services.policy import (
    FACILITATOR,
    PARTY_LABELS,
    SUPPLIER,
    answering_parties,
    check_action,
    chosen_party,
    deal_roles,
    party_organization,
    pending_amendment,
    permit_refusals,
)
from marketplace.services.records import lock_deal, record_event, transition_notice
from marketplace.services.terms import (
    TERMS_FIELDS,
    demand_accepts,
    overcommitment_error,
    raise_if,
    terms_errors,
)
from marketplace.templatetags.marketplace_tags import plain_number
from symbiosis import questions
from symbiosis import selectors as symbiosis_selectors
from symbiosis.models import DemandListing, Organization, Site, SupplyListing
from symbiosis.models.listings import Status
from symbiosis.selectors import Viewer
from symbiosis.taxonomy import active_factor_set
from symbiosis.visibility import as_viewer

State = Deal.State


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
    details: dict | None = None,
) -> Deal:
    """A draft deal for ``supply``, started by its supplier, a receiver or a facilitator.

    A company deals only with what it may see of another: the other side's
    listing must be visible to it and public (an anonymous listing's owner is
    introduced by a facilitator instead). A supplier names the demand it
    answers; a receiver names its demand or the site it takes the residue to.
    """
    viewer = as_viewer(user)
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
        elif not demand_accepts(demand, supply.material):
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
    for field, messages in terms_errors(deal, supply).items():
        errors.setdefault(field, []).extend(messages)
    raise_if(errors)
    deal.save()
    record_event(
        deal, user=deal.created_by, action="create", from_state="", note=note, details=details
    )
    # Questions the receiver asked on the supply (the supplier on the demand) join it.
    questions.question_threads_join_deal(deal=deal)
    return deal


def _shown_in_full(viewer: Viewer, listing, list_selector) -> bool:
    """The listing is visible to the viewer with its owner named."""
    if listing.organization_id in viewer.organization_ids or viewer.is_facilitator:
        return True
    visible = list_selector(user=viewer).filter(pk=listing.pk).exists()
    return visible and not symbiosis_selectors.listing_hides_owner(user=viewer, listing=listing)


# --- transitions ---------------------------------------------------------------------


def _sending_party(roles: frozenset[str], deal: Deal, party: str | None) -> str:
    """The side whose terms these are (it accepts them by sending): the user's
    party; for a member of both, ``party``, else the side whose answer the deal
    waits for, else the side that started it."""
    chosen = chosen_party(roles, party, preferred=(answering_parties(deal), {deal.initiator}))
    if chosen is None:
        message = _("You act for both parties: say which one sends these.")
        raise ValidationError({"party": [message]})
    return chosen


def _set_acceptance(deal: Deal, party: str, when) -> None:
    if party == Party.SUPPLIER:
        deal.supplier_accepted_at = when
    else:
        deal.receiver_accepted_at = when


@transaction.atomic
def deal_offer(*, user, deal: Deal, note: str = "", party: str | None = None) -> Deal:
    """Send a draft to the other party: the sender accepts its terms by sending
    them, so the other party's acceptance makes the deal accepted."""
    deal, supply = lock_deal(deal)
    roles = deal_roles(user=user, deal=deal)
    target = check_action("offer", deal, roles)
    party = _sending_party(roles, deal, party)
    raise_if(terms_errors(deal, supply))
    from_state, deal.state = deal.state, target
    deal.supplier_accepted_at = deal.receiver_accepted_at = None
    _set_acceptance(deal, party, timezone.now())
    deal.save()
    record_event(
        deal,
        user=user,
        action="offer",
        from_state=from_state,
        note=note,
        details={"party": party},
    )
    transition_notice(deal, user=user, action="offer", note=note)
    return deal


def _accepting_party(roles: frozenset[str], deal: Deal, party: str | None) -> str:
    chosen = chosen_party(roles, party, preferred=(answering_parties(deal),))
    if chosen is None:
        raise ValidationError({"party": [_("You act for both parties: say which one accepts.")]})
    return chosen


def _check_version(read: int, current: int) -> None:
    if int(read) != current:
        raise ValidationError(
            {
                "terms_version": [
                    _(
                        "The terms changed (now version %(now)s) since you read version "
                        "%(read)s; read them again before accepting."
                    )
                    % {"now": current, "read": read}
                ]
            }
        )


@transaction.atomic
def deal_accept(*, user, deal: Deal, terms_version: int, party: str | None = None) -> Deal:
    """The answering party accepts terms version ``terms_version``: an offer (with
    both acceptances the deal is accepted), or the amendment an active deal waits
    on (its terms then apply).

    The version must be the one on the table: terms changed since the actor
    read them are never accepted by accident.
    """
    deal, supply = lock_deal(deal)
    roles = deal_roles(user=user, deal=deal)
    target = check_action("accept", deal, roles)
    if deal.state == State.ACTIVE:
        return _accept_amendment(
            user=user, deal=deal, supply=supply, roles=roles, read=terms_version
        )
    party = _accepting_party(roles, deal, party)
    _check_version(terms_version, deal.terms_version)
    # A hazardous waste only to a receiver with a valid permit (symbiosis.permits).
    refused = permit_refusals(deal)
    if refused:
        raise ValidationError(refused["accept"])
    if deal.accepted_at(party) is not None:
        raise ValidationError(
            _("%(party)s has already accepted these terms.")
            % {"party": capfirst(str(PARTY_LABELS[party]))}
        )
    raise_if(terms_errors(deal, supply))
    _set_acceptance(deal, party, timezone.now())
    from_state = deal.state
    both = deal.supplier_accepted_at is not None and deal.receiver_accepted_at is not None
    if both:
        owner_side = bool(roles & {SUPPLIER, FACILITATOR})
        problem = overcommitment_error(supply, deal, detailed=owner_side)
        if problem:
            raise ValidationError({"tonnes_per_period": [problem]})
        deal.state = target
    deal.save()
    record_event(
        deal,
        user=user,
        action="accept",
        from_state=from_state,
        note="",
        details={"party": party},
    )
    if both:
        transition_notice(deal, user=user, action="accept")
    return deal


def _fmt(value) -> str:
    if isinstance(value, Decimal):
        return plain_number(value)
    return str(value)


def _changed_terms(deal: Deal, terms: dict) -> list[dict]:
    """Set the given terms on ``deal`` (not saved); what changed, as history details."""
    changes = []
    for name, value in terms.items():
        if value is None:
            continue
        old = getattr(deal, name)
        new_value = Decimal(str(value)) if isinstance(old, Decimal) else value
        if new_value != old:
            changes.append({"field": name, "old": _fmt(old), "new": _fmt(new_value)})
            setattr(deal, name, new_value)
    if not changes:
        raise ValidationError(
            _("These are the current terms; change something to propose new ones.")
        )
    return changes


@transaction.atomic
def deal_update_terms(
    *, user, deal: Deal, note: str = "", party: str | None = None, **terms
) -> Deal:
    """New terms (a new version). On a draft, the draft changes. On an offered or
    accepted deal it is a counter-offer: accepted by its sender, the other
    party's acceptance cleared, the deal offered. On an active deal it proposes
    an amendment: the deal runs on its terms until the other party accepts it."""
    unknown = set(terms) - TERMS_FIELDS
    if unknown:
        raise TypeError(f"Deal terms have no field(s) {sorted(unknown)}")
    deal, supply = lock_deal(deal)
    roles = deal_roles(user=user, deal=deal)
    target = check_action("update_terms", deal, roles)
    if deal.state == State.ACTIVE:
        return _propose_amendment(
            user=user, deal=deal, supply=supply, roles=roles, party=party, note=note, terms=terms
        )
    sender = None if deal.state == State.DRAFT else _sending_party(roles, deal, party)
    changes = _changed_terms(deal, terms)
    raise_if(terms_errors(deal, supply))
    from_state, deal.state = deal.state, target
    deal.terms_version += 1
    deal.supplier_accepted_at = deal.receiver_accepted_at = None
    if sender is not None:
        _set_acceptance(deal, sender, timezone.now())
    deal.save()
    details = {"changes": changes, **({"party": sender} if sender else {})}
    record_event(
        deal, user=user, action="update_terms", from_state=from_state, note=note, details=details
    )
    # A draft is news to the other party only where it sees it: an introduction.
    if deal.state != State.DRAFT or deal.is_introduction:
        transition_notice(
            deal, user=user, action="update_terms", note=_english_changes(changes, note)
        )
    return deal


def _english_changes(changes: list[dict], note: str) -> str:
    """The changes as one English line, for the notification e-mails."""
    text = "; ".join(f"{c['field'].replace('_', ' ')}: {c['old']} -> {c['new']}" for c in changes)
    return text + (f"\n{note}" if note else "")


# --- amendments of an active deal ------------------------------------------------------


def _deliveries_outside(deal: Deal, start, end) -> str | None:
    """Why ``start``-``end`` would leave deliveries of ``deal`` outside its dates, or None."""
    logged = deal.deliveries.exclude(status=Delivery.Status.REJECTED).aggregate(
        first=Min("date"), last=Max("date")
    )
    if logged["first"] is None:
        return None
    if logged["first"] < start or logged["last"] > end:
        return _(
            "Deliveries are logged from %(first)s to %(last)s: the dates must include them."
        ) % {"first": logged["first"], "last": logged["last"]}
    return None


def _propose_amendment(*, user, deal, supply, roles, party, note, terms) -> Deal:
    proposer = _sending_party(roles, deal, party)
    proposed = copy(deal)
    changes = _changed_terms(proposed, terms)
    errors = terms_errors(proposed, supply)
    if not errors:
        problem = _deliveries_outside(deal, proposed.start_date, proposed.end_date)
        if problem:
            errors = {"start_date": [problem]}
    raise_if(errors)
    earlier = pending_amendment(deal)
    if earlier is not None:
        # A newer proposal (a counter, or a revision) takes its place.
        earlier = DealAmendment.objects.select_for_update().get(pk=earlier.pk)
        earlier.status = DealAmendment.Status.SUPERSEDED
        earlier.save(update_fields=["status"])
    version = max(deal.terms_version, earlier.terms_version if earlier else 0) + 1
    amendment = DealAmendment.objects.create(
        deal=deal,
        terms_version=version,
        proposed_by=user,
        proposed_as=proposer,
        note=note,
        **{name: getattr(proposed, name) for name in (*TERMS_FIELDS, "tonnes_total")},
    )
    deal._pending_amendment = amendment
    record_event(
        deal,
        user=user,
        action="amendment_proposed",
        from_state=deal.state,
        note=note,
        details={"changes": changes, "party": proposer, "version": version},
    )
    transition_notice(deal, user=user, action="amend", note=_english_changes(changes, note))
    return deal


def _accept_amendment(*, user, deal, supply, roles, read) -> Deal:
    amendment = DealAmendment.objects.select_for_update().get(pk=pending_amendment(deal).pk)
    _check_version(read, amendment.terms_version)
    party = amendment.answering_party
    before = {name: _fmt(getattr(deal, name)) for name in TERMS_FIELDS}
    for name in (*TERMS_FIELDS, "tonnes_total"):
        setattr(deal, name, getattr(amendment, name))
    errors = terms_errors(deal, supply)
    if not errors:
        problem = _deliveries_outside(deal, deal.start_date, deal.end_date)
        if problem:
            errors = {"start_date": [problem]}
    raise_if(errors)
    # The committed tonnes are checked again with the supply row locked, as at acceptance.
    problem = overcommitment_error(supply, deal, detailed=bool(roles & {SUPPLIER, FACILITATOR}))
    if problem:
        raise ValidationError({"tonnes_per_period": [problem]})
    now = timezone.now()
    if deal.deliveries_from is not None and before["start_date"] != _fmt(deal.start_date):
        # New agreed dates: deliveries are logged from the new start.
        deal.deliveries_from = deal.start_date
    deal.terms_version = amendment.terms_version
    _set_acceptance(deal, amendment.proposed_as, amendment.proposed_at)
    _set_acceptance(deal, party, now)
    deal.save()
    amendment.status = DealAmendment.Status.ACCEPTED
    amendment.answered_by, amendment.answered_at = user, now
    amendment.save(update_fields=["status", "answered_by", "answered_at"])
    deal._pending_amendment = None
    changes = [
        {"field": name, "old": before[name], "new": _fmt(getattr(deal, name))}
        for name in sorted(TERMS_FIELDS)
        if before[name] != _fmt(getattr(deal, name))
    ]
    record_event(
        deal,
        user=user,
        action="amendment_accepted",
        from_state=deal.state,
        details={"changes": changes, "party": party, "version": deal.terms_version},
    )
    transition_notice(deal, user=user, action="accept_amendment")
    return deal


def _decline_amendment(*, user, deal, reason) -> Deal:
    amendment = DealAmendment.objects.select_for_update().get(pk=pending_amendment(deal).pk)
    amendment.status = DealAmendment.Status.DECLINED
    amendment.answered_by, amendment.answered_at = user, timezone.now()
    amendment.reason = reason
    amendment.save(update_fields=["status", "answered_by", "answered_at", "reason"])
    deal._pending_amendment = None
    record_event(
        deal,
        user=user,
        action="amendment_declined",
        from_state=deal.state,
        note=reason,
        details={"party": amendment.answering_party, "version": amendment.terms_version},
    )
    transition_notice(deal, user=user, action="decline_amendment", note=reason)
    return deal


def _lapse_amendments(deal: Deal) -> None:
    """A deal that ends takes no new terms: what waited lapses."""
    deal.amendments.filter(status=DealAmendment.Status.PENDING).update(
        status=DealAmendment.Status.LAPSED
    )
    deal._pending_amendment = None


# --- closing --------------------------------------------------------------------------


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Give a reason.")]})
    return reason


def _close(*, user, deal: Deal, action: str, reason: str) -> Deal:
    deal, _supply = lock_deal(deal)
    target = check_action(action, deal, deal_roles(user=user, deal=deal))
    reason = _reason(reason)
    if target == State.ACTIVE:
        return _decline_amendment(user=user, deal=deal, reason=reason)
    from_state, deal.state = deal.state, target
    deal.closed_reason = reason
    deal.save()
    _lapse_amendments(deal)
    record_event(deal, user=user, action=action, from_state=from_state, note=reason)
    transition_notice(deal, user=user, action=action, note=reason)
    return deal


@transaction.atomic
def deal_decline(*, user, deal: Deal, reason: str) -> Deal:
    """The answering party declines: an offer (the deal is declined), or the
    amendment an active deal waits on (the deal stays active on its terms)."""
    return _close(user=user, deal=deal, action="decline", reason=reason)


@transaction.atomic
def deal_cancel(*, user, deal: Deal, reason: str) -> Deal:
    return _close(user=user, deal=deal, action="cancel", reason=reason)


def activation_default(deal: Deal, *, today: date | None = None) -> date:
    """The start date "Start deliveries" proposes: today or the agreed start,
    whichever is later (within the agreed dates)."""
    today = today or timezone.localdate()
    return min(max(today, deal.start_date), max(deal.end_date, deal.start_date))


@transaction.atomic
def deal_activate(*, user, deal: Deal, start_date: date | None = None, note: str = "") -> Deal:
    """Deliveries start on ``start_date`` (default: ``activation_default``), on or
    after the agreed start and not after the agreed end; only an active deal
    takes deliveries, dated from that day."""
    deal, _supply = lock_deal(deal)
    target = check_action("activate", deal, deal_roles(user=user, deal=deal))
    start = start_date or activation_default(deal)
    if start < deal.start_date:
        raise ValidationError(
            {
                "start_date": [
                    _(
                        "The agreed start is %(day)s: deliveries start then or later. To "
                        "start earlier, agree new terms first."
                    )
                    % {"day": deal.start_date}
                ]
            }
        )
    if start > deal.end_date:
        raise ValidationError(
            {
                "start_date": [
                    _("The deal ends on %(day)s: deliveries must start by then.")
                    % {"day": deal.end_date}
                ]
            }
        )
    from_state, deal.state = deal.state, target
    deal.deliveries_from = start
    deal.save()
    record_event(
        deal,
        user=user,
        action="activate",
        from_state=from_state,
        note=note,
        details={"deliveries_from": start.isoformat()},
    )
    transition_notice(deal, user=user, action="activate", note=note)
    return deal


@transaction.atomic
def deal_complete(*, user, deal: Deal, note: str = "") -> Deal:
    deal, _supply = lock_deal(deal)
    target = check_action("complete", deal, deal_roles(user=user, deal=deal))
    from_state, deal.state = deal.state, target
    deal.save()
    _lapse_amendments(deal)
    record_event(deal, user=user, action="complete", from_state=from_state, note=note)
    transition_notice(deal, user=user, action="complete", note=note)
    return deal


# --- introductions ----------------------------------------------------------------------


@transaction.atomic
def deal_answer_introduction(
    *, user, deal: Deal, party: str, accept: bool, reason: str = ""
) -> Deal:
    """A company's answer to the introduction that drafted ``deal``, in its history
    (``optimizer.decisions.proposal_answer`` records the answer on the proposal,
    locked first). Declined, the draft is cancelled with the reason; once both
    accept, either company shapes the draft and sends it."""
    deal, _supply = lock_deal(deal)
    if deal.state != State.DRAFT:
        if accept or deal.is_closed:
            return deal  # the deal went on, or ended: nothing waits for this answer
        raise ValidationError(
            _("The deal is under way already: decline or cancel the deal itself.")
        )
    from_state = deal.state
    org = party_organization(deal, party).name
    if accept:
        action = "introduction_accepted"
    else:
        reason = _reason(reason)
        action = "introduction_declined"
        deal.state = State.CANCELLED
        deal.closed_reason = (
            _("%(org)s declined the introduction: %(reason)s") % {"org": org, "reason": reason}
        )[: Deal._meta.get_field("closed_reason").max_length]
        deal.save()
    record_event(
        deal,
        user=user,
        action=action,
        from_state=from_state,
        note=reason,
        details={"party": party},
    )
    transition_notice(deal, user=user, action=action, note=reason)
    return deal


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
