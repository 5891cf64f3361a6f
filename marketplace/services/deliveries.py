"""Deliveries a city can count on.

Either party logs a delivery of an active deal; the other party (or a
facilitator) confirms or disputes it, and only confirmed ones count. A delivery
above ``settings.DELIVERY_MAX_TONNES_PER_LOAD`` x its loads, or that takes the
deal's period above the agreed tonnes by more than
``settings.DELIVERY_PERIOD_TOLERANCE`` (``marketplace.plausibility``), is
``held`` and counts for nothing until a facilitator releases it (it is then
logged, for the other party to confirm) or rejects it. A confirmed delivery is
never edited: a correction (``delivery_correct``) adds a reversal and, unless
the load never happened, a replacement; both wait for the other party (or a
facilitator, never the proposer) and are confirmed together. Locks: the deal
row first, then the delivery rows, as every deal transition does.

Just over 500 lines: logging, plausibility holds, review, confirmation and
the append-only corrections share the lock order and the hold rules.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace import plausibility
from marketplace.models import Deal, Delivery
from marketplace.services.policy import (
    DELIVERY_LOG,
    DELIVERY_TRANSITIONS,
    DELIVERY_VERBS,
    FACILITATOR,
    RECEIVER,
    SUPPLIER,
    chosen_party,
    deal_is_visible_to,
    deal_roles,
    delivery_roles,
    describe_roles,
)
from marketplace.services.records import delivery_notice, lock_deal, record_event
from marketplace.services.terms import raise_if
from marketplace.templatetags.marketplace_tags import plain_number
from symbiosis import permits

State = Deal.State
DeliveryStatus = Delivery.Status

# Statuses whose tonnes count against a deal's period (with confirmed corrections).
PLAUSIBILITY_COUNTED = (DeliveryStatus.LOGGED, DeliveryStatus.HELD, DeliveryStatus.CONFIRMED)
# A correction in one of these waits for a decision; one at a time per delivery.
PENDING_STATUSES = (DeliveryStatus.LOGGED, DeliveryStatus.HELD, DeliveryStatus.DISPUTED)


def _acting_party(roles: frozenset[str], deal: Deal, party: str | None) -> str:
    """The side an entry is logged for (``Delivery.logged_as``): the user's party; for
    a member of both, ``party`` or else the one that transports; else a facilitator."""
    carrier = RECEIVER if deal.transport_by == Deal.TransportBy.RECEIVER else SUPPLIER
    return chosen_party(roles, party, preferred=({carrier},)) or FACILITATOR


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
        if delivery.date < deal.deliveries_start:
            errors["date"] = [
                _(
                    "Deliveries on this deal are logged from %(day)s, the day they start; "
                    "this one is dated earlier."
                )
                % {"day": deal.deliveries_start}
            ]
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
    ) + _permit_checks(deal, delivery)


def _permit_checks(deal: Deal, delivery: Delivery) -> list[dict]:
    """A hazardous delivery on a day the receiver holds no valid permit is held."""
    material = deal.material
    if not material.needs_permit:
        return []
    code, day = material.kz_code, delivery.date
    permitted = permits.may_receive(organization_id=deal.receiver_id, code=code, day=day)
    expired = (
        None
        if permitted
        else permits.expired_permit(organization_id=deal.receiver_id, code=code, day=day)
    )
    return plausibility.permit_check(
        code=code, day=day, permitted=permitted, expired_on=expired.valid_until if expired else None
    )


def _figures(delivery: Delivery) -> dict:
    """A delivery's figures for the deal's history (``marketplace.history`` words them)."""
    return {
        "id": delivery.pk,
        "tonnes": plain_number(delivery.tonnes),
        "date": delivery.date.isoformat(),
        "ticket": delivery.ticket_number,
    }


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
    deal, _supply = lock_deal(deal)
    roles = deal_roles(user=user, deal=deal)
    if not deal_is_visible_to(roles, deal):
        raise PermissionDenied(_("You have no part in this deal."))
    if deal.state not in DELIVERY_LOG["states"]:
        raise ValidationError(_("Deliveries are logged on active deals only."))
    if not roles & DELIVERY_LOG["roles"]:
        raise PermissionDenied(
            _("Only %(who)s logs deliveries.") % {"who": describe_roles(DELIVERY_LOG["roles"])}
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
    raise_if(_figures_errors(delivery, deal))
    checks = _held_checks(deal, delivery)
    if checks:
        delivery.status = DeliveryStatus.HELD
        delivery.held_reason = checks
    delivery.save()
    action = "delivery_held" if checks else "delivery_logged"
    details = {"delivery": _figures(delivery), **({"held": checks} if checks else {})}
    record_event(deal, user=user, action=action, from_state=deal.state, details=details)
    delivery_notice(deal, user=user, rows=[delivery], step="held" if checks else "logged")
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
                % {"who": describe_roles(allowed)}
            )
        raise PermissionDenied(_("Only %(who)s may do this.") % {"who": describe_roles(allowed)})
    return rows, deal, target


def _judged(rows: list[Delivery], delivery: Delivery) -> Delivery:
    return next(row for row in rows if row.pk == delivery.pk)


def _correction_details(rows: list[Delivery]) -> dict:
    reversal = rows[0]
    original = Delivery.objects.get(pk=reversal.corrects_id)
    return {
        "reversal": reversal.pk,
        "original": _figures(original),
        "replacement": _figures(rows[1]) if len(rows) > 1 else None,
    }


def _judgement_details(rows: list[Delivery]) -> tuple[str, dict]:
    """(event prefix, history details) of judged rows: ``delivery`` or ``correction``."""
    if rows[0].kind == Delivery.Kind.REVERSAL:
        return "correction", {"correction": _correction_details(rows)}
    return "delivery", {"delivery": _figures(rows[0])}


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
    prefix, details = _judgement_details(rows)
    record_event(
        deal, user=user, action=f"{prefix}_confirmed", from_state=deal.state, details=details
    )
    delivery_notice(deal, user=user, rows=rows, step="confirmed")
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
    prefix, details = _judgement_details(rows)
    record_event(
        deal,
        user=user,
        action=f"{prefix}_disputed",
        from_state=deal.state,
        note=reason,
        details=details,
    )
    delivery_notice(deal, user=user, rows=rows, step="disputed", reason=reason)
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
    prefix, details = _judgement_details(rows)
    verb = {"release": "released", "reject": "rejected"}[action]
    record_event(
        deal,
        user=user,
        action=f"{prefix}_{verb}",
        from_state=deal.state,
        note=reason,
        details=details,
    )
    delivery_notice(deal, user=user, rows=rows, step=verb, reason=reason)
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
        raise PermissionDenied(_("Only %(who)s may do this.") % {"who": describe_roles(row[1])})
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
        raise_if(errors)
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
    action = "correction_held" if checks else "correction_proposed"
    details = {"correction": _correction_details(rows), **({"held": checks} if checks else {})}
    record_event(
        deal, user=user, action=action, from_state=deal.state, note=reason, details=details
    )
    step = "held" if checks else "proposed"
    delivery_notice(deal, user=user, rows=rows, step=step, reason=reason)
    return reversal, replacement
