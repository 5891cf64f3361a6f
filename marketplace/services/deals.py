"""Creating a deal and moving it through its states (offer, accept, terms, close).

Each transition is keyword-only and, inside one transaction, locks the deal
row and then its supply listing row (``records.lock``: always in that order, so
two transitions never wait on each other in a cycle) and works on the rows as
locked; checks the actor against ``policy.TRANSITIONS`` (no part in the deal:
``PermissionDenied``; not allowed from the deal's state: ``ValidationError``;
allowed from the state but not for the actor's role: ``PermissionDenied``);
validates, writes, and records a ``DealEvent``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.models import Deal, Party
from marketplace.services.policy import FACILITATOR, PARTIES, SUPPLIER, check_action, deal_roles
from marketplace.services.records import lock_deal, record_event, transition_notice
from marketplace.services.terms import (
    TERMS_FIELDS,
    demand_accepts,
    overcommitment_error,
    raise_if,
    terms_errors,
)
from marketplace.templatetags.marketplace_tags import plain_number
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
    record_event(deal, user=deal.created_by, action="create", from_state="", note=note)
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
    deal, supply = lock_deal(deal)
    target = check_action("offer", deal, deal_roles(user=user, deal=deal))
    raise_if(terms_errors(deal, supply))
    from_state, deal.state = deal.state, target
    deal.save()
    record_event(deal, user=user, action="offer", from_state=from_state, note=note)
    transition_notice(deal, user=user, action="offer", note=note)
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
    deal, supply = lock_deal(deal)
    roles = deal_roles(user=user, deal=deal)
    target = check_action("accept", deal, roles)
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
    raise_if(terms_errors(deal, supply))
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
    record_event(
        deal,
        user=user,
        action="accept",
        from_state=from_state,
        note=_("The %(party)s accepted terms version %(v)s.")
        % {"party": party, "v": deal.terms_version},
    )
    if both:
        transition_notice(deal, user=user, action="accept")
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
    deal, supply = lock_deal(deal)
    target = check_action("update_terms", deal, deal_roles(user=user, deal=deal))
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
    raise_if(terms_errors(deal, supply))
    from_state, deal.state = deal.state, target
    deal.terms_version += 1
    deal.supplier_accepted_at = None
    deal.receiver_accepted_at = None
    deal.save()
    text = "; ".join(changes) + (f"\n{note}" if note else "")
    record_event(deal, user=user, action="update_terms", from_state=from_state, note=text)
    if deal.state != State.DRAFT:
        transition_notice(deal, user=user, action="update_terms", note=text)
    return deal


def _close(*, user, deal: Deal, action: str, reason: str) -> Deal:
    deal, _supply = lock_deal(deal)
    target = check_action(action, deal, deal_roles(user=user, deal=deal))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Give a reason.")]})
    from_state, deal.state = deal.state, target
    deal.closed_reason = reason
    deal.save()
    record_event(deal, user=user, action=action, from_state=from_state, note=reason)
    transition_notice(deal, user=user, action=action, note=reason)
    return deal


@transaction.atomic
def deal_decline(*, user, deal: Deal, reason: str) -> Deal:
    return _close(user=user, deal=deal, action="decline", reason=reason)


@transaction.atomic
def deal_cancel(*, user, deal: Deal, reason: str) -> Deal:
    return _close(user=user, deal=deal, action="cancel", reason=reason)


def _step(*, user, deal: Deal, action: str, note: str) -> Deal:
    deal, _supply = lock_deal(deal)
    target = check_action(action, deal, deal_roles(user=user, deal=deal))
    from_state, deal.state = deal.state, target
    deal.save()
    record_event(deal, user=user, action=action, from_state=from_state, note=note)
    transition_notice(deal, user=user, action=action, note=note)
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
