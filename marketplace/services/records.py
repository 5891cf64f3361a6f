"""The deal's history and notices: locking a deal, its events, the notifications of a step.

Who hears of a step (``notification_recipients``): the members of the other
party, where the deal's state lets that party see it (``policy``), never anyone
of the acting user's own organizations; and the facilitator who introduced the
parties. Facilitators also hear of every delivery or correction held for their
review. What they read is the template of the notification's kind
(``templates/notifications/``), filled with the plain values built here
(``deal_params``, ``delivery_params``), in each recipient's own language
(``symbiosis.notifications``).
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.translation import gettext

from marketplace.models import Deal, DealAmendment, DealEvent, Delivery
from marketplace.plausibility import held_reason_text
from marketplace.services.policy import (
    FACILITATOR,
    RECEIVER,
    SUPPLIER,
    deal_is_visible_to,
    deal_roles,
)
from symbiosis import notifications
from symbiosis.models import SupplyListing, User
from symbiosis.models.accounts import FACILITATOR_GROUP
from symbiosis.visibility import Viewer, as_viewer

State = Deal.State

# The notification kind of each deal step (templates/notifications/<kind>.txt).
# A step not named here is told in the generic "the deal changed" wording.
ACTION_KINDS = {
    "offer": "deal_offer",
    "update_terms": "deal_update_terms",
    "accept": "deal_accept",
    "decline": "deal_decline",
    "activate": "deal_activate",
    "complete": "deal_complete",
    "cancel": "deal_cancel",
    # Amendments of an active deal (a pending DealAmendment).
    "amend": "deal_amendment_proposed",
    "accept_amendment": "deal_amendment_accepted",
    "decline_amendment": "deal_amendment_declined",
    # The companies' answers to an introduction (its draft deal).
    "introduction_accepted": "deal_introduction_accepted",
    "introduction_declined": "deal_introduction_declined",
}
GENERIC_DEAL_KIND = "deal_changed"
# Steps whose note is the changed terms in the history's words, then the actor's
# note (deals._english_changes): the notification shows the terms whole instead.
TERMS_NOTES = frozenset({"update_terms", "amend"})


def lock_deal(deal: Deal) -> tuple[Deal, SupplyListing]:
    """The deal and its supply listing, locked in that order. Call inside a transaction."""
    locked = Deal.objects.select_for_update().get(pk=deal.pk)
    supply = SupplyListing.objects.select_for_update().get(pk=locked.supply_id)
    locked.supply = supply
    return locked, supply


def record_event(
    deal: Deal, *, user, action: str, from_state: str, note: str = "", details: dict | None = None
) -> DealEvent:
    """A history line; ``details`` (codes and numbers) are shown in the reader's
    language by ``marketplace.history``, ``note`` as written."""
    return DealEvent.objects.create(
        deal=deal,
        actor=user if user is not None and user.is_authenticated else None,
        action=action,
        from_state=from_state,
        to_state=deal.state,
        terms_version=deal.terms_version,
        note=note,
        details=details or {},
    )


def _organizations_seeing(deal: Deal) -> list[int]:
    """The parties whose members may see ``deal`` in its state (the policy's rule,
    asked for a member of each party)."""
    found = []
    for organization_id in (deal.supplier_id, deal.receiver_id):
        member = Viewer(True, False, False, frozenset({organization_id}), frozenset())
        if deal_is_visible_to(deal_roles(user=member, deal=deal), deal):
            found.append(organization_id)
    return found


def notification_recipients(deal: Deal, actor) -> list[User]:
    """Users to tell about ``actor``'s step: the other party's members who may see
    the deal (and the facilitator who introduced the parties), never anyone of the
    actor's own organizations, nor the actor."""
    actor_orgs = set(as_viewer(actor).organization_ids)
    org_ids = [pk for pk in _organizations_seeing(deal) if pk not in actor_orgs]
    users = list(
        User.objects.filter(memberships__organization_id__in=org_ids, is_active=True)
        .exclude(pk=actor.pk)
        .distinct()
        .order_by("email")
    )
    introducer = deal.created_by if deal.initiator == Deal.Initiator.FACILITATOR else None
    if (
        introducer is not None
        and introducer.pk != actor.pk
        and introducer.is_active
        and introducer.pk not in {user.pk for user in users}
    ):
        users.append(introducer)
    return users


def facilitators() -> list[User]:
    """Everyone who reviews held deliveries: facilitators and superusers, active."""
    return list(
        User.objects.filter(
            Q(is_superuser=True) | Q(groups__name=FACILITATOR_GROUP), is_active=True
        )
        .distinct()
        .order_by("email")
    )


# --- what a notification says ------------------------------------------------------------


def each_language(text) -> dict[str, str]:
    """``text()`` (a translated string) in every language: {"kk": ..., "ru": ..., "en": ...}."""
    found = {}
    for code in notifications.LANGUAGE_CODES:
        with translation.override(code):
            found[code] = str(text())
    return found


def _material(deal: Deal) -> dict[str, str]:
    material = deal.material
    return material.names()


def _who(deal: Deal, actor):
    """The actor as the other side knows it: its organization on the deal, or "a
    facilitator"."""
    roles = deal_roles(user=actor, deal=deal)
    if SUPPLIER in roles and RECEIVER not in roles:
        return deal.supplier.name
    if RECEIVER in roles and SUPPLIER not in roles:
        return deal.receiver.name
    if FACILITATOR in roles and not roles & {SUPPLIER, RECEIVER}:
        return each_language(lambda: gettext("A facilitator"))
    return actor.email


def deal_url(deal: Deal) -> str:
    return reverse("marketplace:deal-detail", args=[deal.pk])


def delivery_url(delivery: Delivery) -> str:
    """The delivery's own page where there is one, else its line on the deal page."""
    try:
        return reverse("marketplace:delivery-detail", args=[delivery.pk])
    except NoReverseMatch:
        return (
            reverse("marketplace:deal-detail", args=[delivery.deal_id]) + f"#delivery-{delivery.pk}"
        )


def deal_params(deal: Deal, actor) -> dict:
    """What every notification about ``deal`` may say, as plain JSON values."""
    price = Decimal(deal.price_kzt_per_t or 0)
    return {
        "deal": deal.pk,
        "who": _who(deal, actor),
        "material": _material(deal),
        "supplier": deal.supplier.name,
        "receiver": deal.receiver.name,
        "tonnes": str(deal.tonnes_per_period),
        "period": deal.period,
        "start": str(deal.start_date),
        "end": str(deal.end_date),
        "price": str(abs(price)),
        "payer": "receiver" if price > 0 else "supplier" if price < 0 else "",
        "version": deal.terms_version,
    }


def delivery_params(delivery: Delivery, *, replacement: Delivery | None = None) -> dict:
    """The figures of ``delivery`` (for a correction's reversal: of the delivery it
    corrects, and the ``replacement``'s new figures, or none: the load never happened)."""
    shown = delivery.corrects if delivery.kind == Delivery.Kind.REVERSAL else delivery
    params = {
        "delivery": delivery.pk,
        "tonnes": str(shown.tonnes),
        "date": str(shown.date),
        "ticket": shown.ticket_number,
    }
    if delivery.kind == Delivery.Kind.REVERSAL:
        params["correction"] = True
        params["void"] = replacement is None
        if replacement is not None:
            params.update(
                new_tonnes=str(replacement.tonnes),
                new_date=str(replacement.date),
                new_ticket=replacement.ticket_number,
            )
    return params


def notify(deal: Deal, *, actor, kind: str, params: dict | None = None, url: str = "") -> None:
    """Tell the other side (``notification_recipients``) about ``actor``'s step on
    ``deal``: in the app at once, by e-mail once the transaction commits (a
    rollback tells no one)."""
    notifications.notify(
        recipients=notification_recipients(deal, actor),
        kind=kind,
        params={**deal_params(deal, actor), **(params or {})},
        url=url or deal_url(deal),
        actor=actor,
    )


def notify_facilitators(deal: Deal, *, actor, kind: str, params: dict | None = None) -> None:
    """Tell the facilitators (never the actor) that something waits for their review."""
    notifications.notify(
        recipients=[user for user in facilitators() if user.pk != actor.pk],
        kind=kind,
        params={**deal_params(deal, actor), **(params or {})},
        url=reverse("marketplace:delivery-review"),
        actor=actor,
    )


def _amendment_params(deal: Deal) -> dict:
    """The terms of the amendment ``deal`` waits on, in ``deal_params``' names."""
    amendment = deal.amendments.filter(status=DealAmendment.Status.PENDING).first()
    if amendment is None:
        return {}
    price = Decimal(amendment.price_kzt_per_t or 0)
    return {
        "tonnes": str(amendment.tonnes_per_period),
        "period": amendment.period,
        "start": str(amendment.start_date),
        "end": str(amendment.end_date),
        "price": str(abs(price)),
        "payer": "receiver" if price > 0 else "supplier" if price < 0 else "",
        "version": amendment.terms_version,
    }


def transition_notice(deal: Deal, *, user, action: str, note: str = "") -> None:
    """Tell the other side about a deal step; ``note``: the actor's note or reason."""
    kind = ACTION_KINDS.get(action, GENERIC_DEAL_KIND)
    params = {"action": action}  # for the record; no template shows the code
    if action in TERMS_NOTES:
        note = note.partition("\n")[2]
    if kind == "deal_amendment_proposed":
        params.update(_amendment_params(deal))
    params["note"] = note.strip()
    notify(deal, actor=user, kind=kind, params=params)


def delivery_notice(deal: Deal, *, user, rows: list[Delivery], step: str, reason: str = "") -> None:
    """Tell about ``step`` (logged, held, confirmed, disputed, released, rejected,
    proposed) on a delivery, or on a correction (``rows``: its reversal, then its
    replacement if any). A held one is also for the facilitators to review."""
    head = rows[0]
    replacement = rows[1] if len(rows) > 1 else None
    prefix = "correction" if head.kind == Delivery.Kind.REVERSAL else "delivery"
    params = {**delivery_params(head, replacement=replacement), "reason": reason}
    if step == "held":
        checks = head.held_reason
        params["why"] = each_language(lambda: held_reason_text(checks))
    notify(deal, actor=user, kind=f"{prefix}_{step}", params=params, url=delivery_url(head))
    if step == "held":
        notify_facilitators(deal, actor=user, kind=f"{prefix}_review", params=params)
