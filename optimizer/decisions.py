"""Facilitators' decisions on proposals and the companies' answers.

Every function checks who may act, runs in one transaction and writes an
AuditEntry (append-only: nothing in the web edits or deletes one).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from optimizer import seasons
from optimizer.models import AuditEntry, MatchProposal, OptimizationRun, PairRule
from optimizer.snapshot import PERIODS_PER_YEAR, SnapshotReader, apply_breakdown
from symbiosis import introductions, notifications
from symbiosis.models import User
from symbiosis.models.listings import Recurrence
from symbiosis.roles import is_facilitator, organization_ids

DECISIONS = ("approve", "reject", "adjust", "pin", "forbid")
# A draft deal's tonnes per period: to the kilogram.
DRAFT_TONNES_QUANTUM = Decimal("0.001")


def _require_facilitator(user) -> None:
    if not is_facilitator(user):
        raise PermissionDenied(_("Only facilitators decide on proposals."))


def _locked(proposal: MatchProposal) -> MatchProposal:
    return (
        MatchProposal.objects.select_for_update()
        .select_related("run", "supply__organization", "demand__organization", "material")
        .get(pk=proposal.pk)
    )


def _audit(*, user, action: str, proposal: MatchProposal, reason: str = "", **details) -> None:
    AuditEntry.objects.create(
        actor=user if user and user.is_authenticated else None,
        action=action,
        reason=reason,
        details=details,
        run_id=proposal.run_id,
        proposal=proposal,
        supply_id=proposal.supply_id,
        demand_id=proposal.demand_id,
    )


def _need_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give a reason; it goes into the audit log.")})
    return reason


def _decided(proposal: MatchProposal, user, status: str, reason: str = "") -> None:
    proposal.status = status
    proposal.decided_by = user
    proposal.decided_at = timezone.now()
    proposal.decision_reason = reason


@transaction.atomic
def proposal_approve(*, user, proposal: MatchProposal, note: str = "") -> MatchProposal:
    """Approve and introduce the two companies: e-mail, home item, draft deal."""
    _require_facilitator(user)
    proposal = _locked(proposal)
    if proposal.supply.organization_id == proposal.demand.organization_id:
        # Internal reuse (a run may propose it, counted apart): approving
        # introduces nobody and a deal needs two parties. Reject it instead.
        raise ValidationError(
            _(
                "This is internal reuse: both listings belong to %(organization)s, so "
                "approving it would introduce nobody. It stays in the run as information; "
                "reject it to close it."
            )
            % {"organization": proposal.supply.organization.name}
        )
    if proposal.status != MatchProposal.Status.PROPOSED:
        raise ValidationError(_("Only a proposal that is still open can be approved."))
    _decided(proposal, user, MatchProposal.Status.APPROVED, note)
    proposal.save()
    _audit(user=user, action=AuditEntry.Action.APPROVED, proposal=proposal, reason=note)
    _create_draft_deal(user=user, proposal=proposal)
    _send_introduction(user=user, proposal=proposal)
    return proposal


def _end_of_twelfth_month(start: date) -> date:
    """The last day of the twelfth calendar month counting ``start``'s: Dec 7 -> Nov 30."""
    index = start.month - 1 + 12
    return date(start.year + index // 12, index % 12 + 1, 1) - timedelta(days=1)


def draft_dates(supply, demand, *, today: date | None = None) -> tuple[date, date]:
    """A draft deal's dates: where the two listings' windows overlap (the supply's
    alone if they do not), never starting before today, and at most twelve
    calendar months (the run's one-year horizon: a deal's total counts every
    calendar month it touches, so Dec 7 to Dec 6 would be thirteen)."""
    today = today or timezone.localdate()
    starts = [d for d in (supply.available_from, demand.available_from) if d is not None]
    ends = [d for d in (supply.available_until, demand.available_until) if d is not None]
    if starts and ends and max(starts) > min(ends):
        starts = [d for d in (supply.available_from,) if d is not None]
        ends = [d for d in (supply.available_until,) if d is not None]
    start = max([today, *starts])
    end = min([*ends, _end_of_twelfth_month(start)])
    # A window that ended already gives no dates: the terms check says so.
    return start, max(end, start)


def _rounded_per_period(tonnes: Decimal, supply) -> Decimal:
    tonnes_per_period = tonnes.quantize(DRAFT_TONNES_QUANTUM)
    if tonnes_per_period > supply.tonnes:
        # Rounded up past what the listing offers per period (the terms check
        # would refuse the draft for a rounding): round down instead.
        tonnes_per_period = tonnes.quantize(DRAFT_TONNES_QUANTUM, rounding=ROUND_DOWN)
    return tonnes_per_period


def _month_after(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1)


def seasonal_terms(proposal: MatchProposal, *, today: date | None = None) -> dict | None:
    """A by-month proposal's draft terms on its months, or None where a deal cannot say it.

    A deal has one rate over its dates (``marketplace.services.terms``: per month or
    per year, counted in every calendar month it touches). So the months the proposal
    carries tonnes must be one run of calendar months ("Aug–Oct", "Nov–Feb"), inside
    both listings' windows and not before today; the deal then runs on those months
    at their mean rate, which must be within the listing's rate (a listing's quantity
    is its flat rate; a profile that crowds a year's tonnes into three months asks
    for more a month than the terms check allows). Otherwise None: the draft keeps
    the year's flat rate and the deal page shows the months as proposed.
    """
    months = sorted(
        (int(label[:4]), int(label[5:7]))
        for label, tonnes in (proposal.tonnes_by_period or {}).items()
        if float(tonnes) > 1e-9 and seasons.valid_month(label)
    )
    if not months:
        return None
    (first_year, first_month), (last_year, last_month) = months[0], months[-1]
    count = (last_year - first_year) * 12 + last_month - first_month + 1
    if count != len(months):
        return None  # gaps: "Jan, Mar" is no one run of dates
    supply, demand = proposal.supply, proposal.demand
    today = today or timezone.localdate()
    starts = [d for d in (supply.available_from, demand.available_from) if d is not None]
    ends = [d for d in (supply.available_until, demand.available_until) if d is not None]
    start = max([date(first_year, first_month, 1), today, *starts])
    end = min([_month_after(last_year, last_month) - timedelta(days=1), *ends])
    if (start.year, start.month) != months[0] or (end.year, end.month) != months[-1]:
        return None  # a month with tonnes is past, or outside a listing's window
    period = supply.recurrence
    total = Decimal(str(proposal.tonnes))
    # A rate per month or year whose months together carry the proposal's tonnes.
    tonnes = total if period == Recurrence.ONCE else total / count * 12 / PERIODS_PER_YEAR[period]
    tonnes_per_period = _rounded_per_period(tonnes, supply)
    if tonnes_per_period > supply.tonnes:
        return None
    return {
        "period": period,
        "tonnes_per_period": tonnes_per_period,
        "start_date": start,
        "end_date": end,
    }


def draft_terms(proposal: MatchProposal, *, today: date | None = None) -> dict:
    """The draft deal's period, tonnes per period and dates, in the supply listing's terms.

    Proposal tonnes are for the run's one-year horizon (``optimizer.snapshot``:
    a monthly flow counts 12 times, a one-off batch once), so a monthly
    listing's deal gets a twelfth per month, a yearly one the tonnes per
    year, a one-off one the batch. The deal's terms check refuses a period
    other than the listing's, so a yearly draft on a one-off batch could
    never be approved. Dates: ``draft_dates``. A by-month proposal's deal
    runs on its months where a deal can say so (``seasonal_terms``).
    """
    seasonal = seasonal_terms(proposal, today=today)
    if seasonal is not None:
        return seasonal
    supply = proposal.supply
    period = supply.recurrence
    tonnes = Decimal(str(proposal.tonnes)) / PERIODS_PER_YEAR[period]
    tonnes_per_period = _rounded_per_period(tonnes, supply)
    start, end = draft_dates(supply, proposal.demand, today=today)
    return {
        "period": period,
        "tonnes_per_period": tonnes_per_period,
        "start_date": start,
        "end_date": end,
    }


def _create_draft_deal(*, user, proposal: MatchProposal) -> None:
    run = proposal.run
    introductions.draft_deal(
        user=user,
        proposal=proposal,
        terms={
            "supply": proposal.supply,
            "demand": proposal.demand,
            **draft_terms(proposal),
            "factor_set": run.factor_set,
            # Worded in each reader's language by marketplace.history.
            "details": {"run": run.pk},
        },
    )


def _send_introduction(*, user, proposal: MatchProposal) -> None:
    """Introduce the two companies to each other: every member of both is told, in
    the app at once and by e-mail once the approval commits."""
    supply, demand, material = proposal.supply, proposal.demand, proposal.material
    members = (
        User.objects.filter(
            memberships__organization_id__in=[supply.organization_id, demand.organization_id],
            is_active=True,
        )
        .distinct()
        .order_by("email")
    )
    notifications.notify(
        recipients=members,
        kind="introduction",
        params={
            "proposal": proposal.pk,
            "material": material.names(),
            "supplier": supply.organization.name,
            "receiver": demand.organization.name,
            # A one-off batch is no yearly flow: the text says which it is.
            "once": supply.recurrence == Recurrence.ONCE,
            "tonnes": proposal.tonnes,
            "km": proposal.road_km,
            "co2e_tonnes": proposal.net_kg_co2e_saved / 1000,
        },
        url=reverse("optimizer:my_proposals") + f"#intro-{proposal.pk}",
        actor=user,
    )


@transaction.atomic
def proposal_reject(*, user, proposal: MatchProposal, reason: str) -> MatchProposal:
    _require_facilitator(user)
    reason = _need_reason(reason)
    proposal = _locked(proposal)
    if proposal.status != MatchProposal.Status.PROPOSED:
        raise ValidationError(_("Only a proposal that is still open can be rejected."))
    _decided(proposal, user, MatchProposal.Status.REJECTED, reason)
    proposal.save()
    _audit(user=user, action=AuditEntry.Action.REJECTED, proposal=proposal, reason=reason)
    return proposal


def feasible_tonnes_range(proposal: MatchProposal) -> tuple[float, float]:
    """(minimum, maximum) tonnes this proposal may carry, given the run's other
    open or approved proposals on the same supply and the same demand."""
    if proposal.kind != "direct":
        # Flows through a plant are tied by its yield and blend: adjust direct ones only.
        return proposal.tonnes, proposal.tonnes
    reader = SnapshotReader(proposal.run.input_snapshot)
    supply = reader.supplies[str(proposal.supply_id)]
    demand = reader.demands[str(proposal.demand_id)]
    others = MatchProposal.objects.filter(run_id=proposal.run_id).exclude(pk=proposal.pk)
    others = others.exclude(status=MatchProposal.Status.REJECTED)
    from_supply = others.filter(supply_id=proposal.supply_id).aggregate(t=Sum("tonnes"))["t"] or 0
    to_demand = others.filter(demand_id=proposal.demand_id).aggregate(t=Sum("tonnes"))["t"] or 0
    maximum = min(supply["tonnes"] - from_supply, demand["tonnes"] - to_demand)
    if proposal.tonnes_by_period:
        # By month: lower only (optimizer.seasons.scale_months).
        maximum = min(maximum, proposal.tonnes)
    minimum = demand.get("min_lot_tonnes") or 0.0
    return float(minimum), float(maximum)


@transaction.atomic
def proposal_adjust(*, user, proposal: MatchProposal, tonnes, reason: str = "") -> MatchProposal:
    """Change a proposal's tonnes to another feasible value; its impact is recomputed."""
    _require_facilitator(user)
    proposal = _locked(proposal)
    if proposal.status != MatchProposal.Status.PROPOSED:
        raise ValidationError(_("Only a proposal that is still open can be adjusted."))
    try:
        tonnes = float(tonnes)
    except (TypeError, ValueError):
        raise ValidationError({"tonnes": _("Enter a number of tonnes.")}) from None
    if proposal.kind != "direct":
        raise ValidationError(
            _("Only direct exchanges can be adjusted; this one runs through a plant.")
        )
    low, high = feasible_tonnes_range(proposal)
    if not (tonnes > 0 and low - 1e-9 <= tonnes <= high + 1e-9):
        raise ValidationError(
            {
                "tonnes": _("Feasible tonnes here are between %(low).1f and %(high).1f.")
                % {"low": max(low, 0.0), "high": high}
            }
        )
    before = proposal.tonnes
    reader = SnapshotReader(proposal.run.input_snapshot)
    breakdown = reader.impact(
        proposal.supply_id, proposal.demand_id, tonnes=tonnes, road_km=proposal.road_km
    )
    seasons.scale_months(proposal, tonnes, reader)
    apply_breakdown(proposal, breakdown).save()
    _audit(
        user=user,
        action=AuditEntry.Action.ADJUSTED,
        proposal=proposal,
        reason=reason,
        tonnes_before=before,
        tonnes_after=tonnes,
    )
    return proposal


@transaction.atomic
def proposal_pin(*, user, proposal: MatchProposal, reason: str = "") -> PairRule:
    """Keep this pair at these tonnes in later runs."""
    _require_facilitator(user)
    proposal = _locked(proposal)
    rule, _created = PairRule.objects.update_or_create(
        supply_id=proposal.supply_id,
        demand_id=proposal.demand_id,
        defaults={
            "kind": PairRule.Kind.PIN,
            "tonnes": proposal.tonnes,
            "reason": reason,
            "created_by": user,
        },
    )
    _audit(
        user=user,
        action=AuditEntry.Action.PINNED,
        proposal=proposal,
        reason=reason,
        tonnes=proposal.tonnes,
    )
    return rule


@transaction.atomic
def proposal_forbid(*, user, proposal: MatchProposal, reason: str) -> PairRule:
    """Never propose this pair again; an open proposal of it is rejected."""
    _require_facilitator(user)
    reason = _need_reason(reason)
    proposal = _locked(proposal)
    if proposal.status == MatchProposal.Status.APPROVED:
        raise ValidationError(_("This pair is already introduced; cancel its deal instead."))
    rule, _created = PairRule.objects.update_or_create(
        supply_id=proposal.supply_id,
        demand_id=proposal.demand_id,
        defaults={
            "kind": PairRule.Kind.FORBID,
            "tonnes": None,
            "reason": reason,
            "created_by": user,
        },
    )
    if proposal.status == MatchProposal.Status.PROPOSED:
        _decided(proposal, user, MatchProposal.Status.REJECTED, reason)
        proposal.save()
    _audit(user=user, action=AuditEntry.Action.FORBIDDEN, proposal=proposal, reason=reason)
    return rule


def proposal_decide(*, user, proposal: MatchProposal, action: str, reason: str = "", tonnes=None):
    """One entry point for the web and the API."""
    if action == "approve":
        return proposal_approve(user=user, proposal=proposal, note=reason)
    if action == "reject":
        return proposal_reject(user=user, proposal=proposal, reason=reason)
    if action == "adjust":
        return proposal_adjust(user=user, proposal=proposal, tonnes=tonnes, reason=reason)
    if action == "pin":
        return proposal_pin(user=user, proposal=proposal, reason=reason)
    if action == "forbid":
        return proposal_forbid(user=user, proposal=proposal, reason=reason)
    raise ValidationError({"action": _("Unknown decision.")})


def proposals_decide_bulk(*, user, proposals, action: str, reason: str = "") -> dict:
    """Apply one decision to many proposals; each stands or falls on its own."""
    _require_facilitator(user)
    if action not in DECISIONS or action == "adjust":
        raise ValidationError({"action": _("Choose approve, reject, pin or forbid.")})
    done, errors = [], {}
    for proposal in proposals:
        try:
            proposal_decide(user=user, proposal=proposal, action=action, reason=reason)
            done.append(proposal.pk)
        except ValidationError as exc:
            errors[proposal.pk] = "; ".join(exc.messages)
    return {"done": done, "errors": errors}


def _party(user, proposal: MatchProposal) -> str | None:
    orgs = set(organization_ids(user))
    if proposal.supply.organization_id in orgs:
        return "supplier"
    if proposal.demand.organization_id in orgs:
        return "receiver"
    return None


@transaction.atomic
def proposal_answer(*, user, proposal: MatchProposal, accept: bool, reason: str = ""):
    """A company accepts or declines an introduction it is part of; its answer
    goes into the draft deal's history too. Declined (by either side), the
    draft is cancelled with the reason and the introduction takes no more
    answers; accepted by both, either company shapes the draft and sends it.

    Locks the proposal, then the deal (and its supply listing): the deal's own
    steps never lock the proposal, so the two never wait on each other.
    """
    proposal = _locked(proposal)
    side = _party(user, proposal)
    if side is None or proposal.status != MatchProposal.Status.APPROVED:
        raise PermissionDenied(_("Only the introduced companies answer a proposal."))
    if not accept:
        reason = _need_reason(reason)
    answers = (proposal.supplier_answer, proposal.receiver_answer)
    if MatchProposal.Answer.DECLINED in answers:
        raise ValidationError(_("This introduction was declined; its draft deal is cancelled."))
    if accept and getattr(proposal, f"{side}_answer") == MatchProposal.Answer.ACCEPTED:
        raise ValidationError(_("Your side has accepted this introduction already."))
    answer = MatchProposal.Answer.ACCEPTED if accept else MatchProposal.Answer.DECLINED
    setattr(proposal, f"{side}_answer", answer)
    setattr(proposal, f"{side}_reason", reason)
    proposal.save()
    _audit(
        user=user,
        action=AuditEntry.Action.ACCEPTED if accept else AuditEntry.Action.DECLINED,
        proposal=proposal,
        reason=reason,
        side=side,
    )
    introductions.pass_answer_on(
        user=user, proposal=proposal, party=side, accept=accept, reason=reason
    )
    return proposal


def run_audit(run: OptimizationRun):
    return AuditEntry.objects.filter(run=run).select_related("actor")
