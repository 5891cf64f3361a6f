"""The deal's history and notices: locking a deal, its events, the e-mails about a step."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction

from marketplace.models import Deal, DealEvent
from marketplace.templatetags.marketplace_tags import plain_number
from symbiosis import selectors as symbiosis_selectors
from symbiosis.models import SupplyListing, User
from symbiosis.models.listings import Recurrence

State = Deal.State

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


def lock_deal(deal: Deal) -> tuple[Deal, SupplyListing]:
    """The deal and its supply listing, locked in that order. Call inside a transaction."""
    locked = Deal.objects.select_for_update().get(pk=deal.pk)
    supply = SupplyListing.objects.select_for_update().get(pk=locked.supply_id)
    locked.supply = supply
    return locked, supply


def record_event(deal: Deal, *, user, action: str, from_state: str, note: str = "") -> DealEvent:
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


def notify(deal: Deal, *, actor, subject: str, text: str) -> None:
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


def transition_notice(deal: Deal, *, user, action: str, note: str = "") -> None:
    verb = ACTION_VERBS[action]
    text = f"{user} {verb} the deal.\n{_summary(deal)}"
    if note:
        text += f"\n\n{note}"
    subject = "new terms to accept" if action == "update_terms" else verb
    notify(deal, actor=user, subject=subject, text=text)
