"""Facilitator decisions, introductions and company answers, each in the audit log."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from optimizer import decisions, services
from optimizer.models import AuditEntry, MatchProposal, PairRule
from symbiosis.visibility import listing_hides_owner
from tests import factories

pytestmark = pytest.mark.django_db


def _proposals(run):
    return {p.demand_id: p for p in run.proposals.all()}


def test_approve_introduces_both_companies(
    facilitator, succeeded_run, market, django_capture_on_commit_callbacks
):
    from marketplace.models import Deal

    supply, (near, _) = market
    supplier = factories.MembershipFactory(organization=supply.organization).user
    receiver = factories.MembershipFactory(organization=near.organization).user
    proposal = _proposals(succeeded_run)[near.pk]
    with django_capture_on_commit_callbacks(execute=True):
        decisions.proposal_approve(user=facilitator, proposal=proposal, note="good fit")
    proposal.refresh_from_db()
    assert proposal.status == "approved" and proposal.decided_by == facilitator
    deal = Deal.objects.get(proposal=proposal)
    assert deal.state == "draft"
    assert float(deal.tonnes_per_period) == pytest.approx(proposal.tonnes, abs=1e-3)
    # One e-mail to each member (each in that member's language), none to anyone else.
    assert sorted(m.to for m in mail.outbox) == sorted([[supplier.email], [receiver.email]])
    entry = AuditEntry.objects.get(action="approved")
    assert entry.actor == facilitator and entry.reason == "good fit"
    assert entry.proposal == proposal


def test_anonymous_listing_reveals_its_owner_only_after_introduction(
    facilitator, succeeded_run, market
):
    supply, (near, far) = market
    supply.visibility = "anonymous"
    supply.save()
    near_member = factories.MembershipFactory(organization=near.organization).user
    far_member = factories.MembershipFactory(organization=far.organization).user
    assert listing_hides_owner(user=near_member, listing=supply)
    decisions.proposal_approve(user=facilitator, proposal=_proposals(succeeded_run)[near.pk])
    assert not listing_hides_owner(user=near_member, listing=supply)
    assert listing_hides_owner(user=far_member, listing=supply)


def test_reject_needs_a_reason_and_is_final(facilitator, succeeded_run, market):
    _, (near, _) = market
    proposal = _proposals(succeeded_run)[near.pk]
    with pytest.raises(ValidationError):
        decisions.proposal_reject(user=facilitator, proposal=proposal, reason="  ")
    decisions.proposal_reject(user=facilitator, proposal=proposal, reason="too far")
    with pytest.raises(ValidationError):
        decisions.proposal_approve(user=facilitator, proposal=proposal)
    assert AuditEntry.objects.filter(action="rejected", reason="too far").count() == 1


def test_adjust_only_to_a_feasible_value(facilitator, succeeded_run, market):
    supply, (near, far) = market
    proposal = _proposals(succeeded_run)[near.pk]
    # Supply 100 t, the other proposal takes 40 t; the near demand wants 60 t:
    # this proposal may carry at most min(100 - 40, 60) = 60 t.
    assert decisions.feasible_tonnes_range(proposal) == (0.0, pytest.approx(60))
    for bad in (0, -3, 61, "many"):
        with pytest.raises(ValidationError):
            decisions.proposal_adjust(user=facilitator, proposal=proposal, tonnes=bad)
    decisions.proposal_adjust(user=facilitator, proposal=proposal, tonnes=30, reason="phase 1")
    proposal.refresh_from_db()
    assert proposal.tonnes == 30
    # The breakdown is recomputed for 30 t: (400 + 50 - 0.1 km) per tonne.
    assert proposal.net_kg_co2e_saved == pytest.approx(30 * (450 - 0.1 * proposal.road_km))
    entry = AuditEntry.objects.get(action="adjusted")
    assert entry.details == {"tonnes_before": pytest.approx(60), "tonnes_after": 30}


def test_pin_and_forbid_shape_the_next_run(facilitator, succeeded_run, market):
    supply, (near, far) = market
    by_demand = _proposals(succeeded_run)
    decisions.proposal_forbid(user=facilitator, proposal=by_demand[near.pk], reason="no permit")
    decisions.proposal_adjust(user=facilitator, proposal=by_demand[far.pk], tonnes=50)
    decisions.proposal_pin(user=facilitator, proposal=by_demand[far.pk], reason="agreed")
    assert PairRule.objects.get(kind="pin").tonnes == 50
    assert MatchProposal.objects.get(pk=by_demand[near.pk].pk).status == "rejected"
    second = services.run_create(user=facilitator, enqueue=False)
    services.run_execute(run_id=second.pk)
    got = _proposals(second)
    assert near.pk not in got
    assert got[far.pk].tonnes == pytest.approx(50)


def test_bulk_decisions_report_each_outcome(facilitator, succeeded_run):
    proposals = list(succeeded_run.proposals.all())
    decisions.proposal_reject(user=facilitator, proposal=proposals[0], reason="x")
    outcome = decisions.proposals_decide_bulk(
        user=facilitator, proposals=proposals, action="approve"
    )
    assert outcome["done"] == [proposals[1].pk]
    assert list(outcome["errors"]) == [proposals[0].pk]


def test_companies_and_analysts_cannot_decide(member_a, analyst, succeeded_run):
    proposal = succeeded_run.proposals.first()
    for user in (member_a, analyst):
        for action in decisions.DECISIONS:
            with pytest.raises(PermissionDenied):
                decisions.proposal_decide(
                    user=user, proposal=proposal, action=action, reason="r", tonnes=1
                )
    assert not AuditEntry.objects.exclude(action="run_started").exists()


def test_company_answers_its_introduction(facilitator, succeeded_run, market, member_b):
    supply, (near, _) = market
    supplier = factories.MembershipFactory(organization=supply.organization).user
    proposal = _proposals(succeeded_run)[near.pk]
    with pytest.raises(PermissionDenied):  # not introduced yet
        decisions.proposal_answer(user=supplier, proposal=proposal, accept=True)
    decisions.proposal_approve(user=facilitator, proposal=proposal)
    with pytest.raises(PermissionDenied):  # not a party
        decisions.proposal_answer(user=member_b, proposal=proposal, accept=True)
    with pytest.raises(ValidationError):  # declining needs a reason
        decisions.proposal_answer(user=supplier, proposal=proposal, accept=False)
    decisions.proposal_answer(user=supplier, proposal=proposal, accept=False, reason="no truck")
    proposal.refresh_from_db()
    assert proposal.supplier_answer == "declined" and proposal.supplier_reason == "no truck"
    assert proposal.receiver_answer == ""
    assert AuditEntry.objects.filter(action="declined", actor=supplier).exists()


def _introduced(facilitator, succeeded_run, market):
    """The near demand's proposal approved: (proposal, its draft deal, supplier, receiver)."""
    from marketplace.models import Deal

    supply, (near, _) = market
    supplier = factories.MembershipFactory(organization=supply.organization).user
    receiver = factories.MembershipFactory(organization=near.organization).user
    proposal = decisions.proposal_approve(
        user=facilitator, proposal=_proposals(succeeded_run)[near.pk]
    )
    return proposal, Deal.objects.get(proposal=proposal), supplier, receiver


def test_the_introduced_draft_is_both_companies_from_the_start(facilitator, succeeded_run, market):
    from marketplace import selectors as deal_selectors
    from marketplace import services as deal_services

    proposal, deal, supplier, receiver = _introduced(facilitator, succeeded_run, market)

    for user in (supplier, receiver):
        assert deal_selectors.deal_list(user=user).filter(pk=deal.pk).exists()
        # Messages work at once; the offer waits for both answers.
        assert deal_services.allowed_actions(user=user, deal=deal) == {"message"}
        deal_services.message_post(user=user, deal=deal, body=f"Hello from {user.email}")
        with pytest.raises(PermissionDenied, match="to accept the introduction"):
            deal_services.deal_offer(user=user, deal=deal)
    assert deal.messages.count() == 2

    decisions.proposal_answer(user=supplier, proposal=proposal, accept=True)
    deal.refresh_from_db()
    with pytest.raises(PermissionDenied) as waiting:
        deal_services.deal_offer(user=supplier, deal=deal)
    assert str(waiting.value) == (
        f"Waiting for {receiver.memberships.get().organization.name} to accept the introduction."
    )
    decisions.proposal_answer(user=receiver, proposal=proposal, accept=True)

    deal.refresh_from_db()
    assert deal_services.allowed_actions(user=receiver, deal=deal) == {
        "message",
        "offer",
        "update_terms",
        "cancel",
    }
    deal = deal_services.deal_update_terms(user=receiver, deal=deal, transport_by="supplier")
    deal = deal_services.deal_offer(user=receiver, deal=deal, note="Your truck, please")
    assert deal.state == "offered" and deal.receiver_accepted_at is not None
    assert [(e.action, e.details.get("party")) for e in deal.events.all()] == [
        ("create", None),
        ("introduction_accepted", "supplier"),
        ("introduction_accepted", "receiver"),
        ("update_terms", None),
        ("offer", "receiver"),
    ]


def test_a_declined_introduction_cancels_its_draft(facilitator, succeeded_run, market):
    proposal, deal, supplier, receiver = _introduced(facilitator, succeeded_run, market)
    decisions.proposal_answer(user=receiver, proposal=proposal, accept=True)

    decisions.proposal_answer(user=supplier, proposal=proposal, accept=False, reason="no truck")

    deal.refresh_from_db()
    assert deal.state == "cancelled"
    supplier_name = supplier.memberships.get().organization.name
    assert deal.closed_reason == f"{supplier_name} declined the introduction: no truck"
    event = deal.events.latest("id")
    assert (event.action, event.from_state, event.to_state) == (
        "introduction_declined",
        "draft",
        "cancelled",
    )
    assert (event.actor, event.note, event.details) == (supplier, "no truck", {"party": "supplier"})
    # A declined introduction takes no more answers, and nothing changes.
    for user in (supplier, receiver):
        with pytest.raises(ValidationError, match="was declined"):
            decisions.proposal_answer(user=user, proposal=proposal, accept=True)
    proposal.refresh_from_db()
    assert (proposal.supplier_answer, proposal.receiver_answer) == ("declined", "accepted")


def test_an_introduction_is_accepted_once(facilitator, succeeded_run, market):
    proposal, deal, supplier, _receiver = _introduced(facilitator, succeeded_run, market)
    decisions.proposal_answer(user=supplier, proposal=proposal, accept=True)

    with pytest.raises(ValidationError, match="accepted this introduction already"):
        decisions.proposal_answer(user=supplier, proposal=proposal, accept=True)

    assert deal.events.filter(action="introduction_accepted").count() == 1


def test_declining_after_the_deal_went_on_changes_nothing(facilitator, succeeded_run, market):
    from marketplace import services as deal_services

    proposal, deal, supplier, receiver = _introduced(facilitator, succeeded_run, market)
    for user in (supplier, receiver):
        decisions.proposal_answer(user=user, proposal=proposal, accept=True)
    deal_services.deal_offer(user=supplier, deal=deal)
    # The receiver's acceptance stands; the supplier changes its answer too late.
    with pytest.raises(ValidationError, match="under way"):
        decisions.proposal_answer(user=supplier, proposal=proposal, accept=False, reason="no")
    proposal.refresh_from_db()
    deal.refresh_from_db()
    assert (proposal.supplier_answer, deal.state) == ("accepted", "offered")


# --- the draft deal of an approval takes the supply listing's recurrence ----------------

# The near demand takes 60 t in the run's one-year horizon whatever the supply's
# recurrence (a monthly 100 t is 1,200 t there, a one-off batch 100 t).
RECURRENCES = [("month", 5.0), ("year", 60.0), ("once", 60.0)]


def _run_with_supply_recurring(facilitator, supply, recurrence):
    supply.recurrence = recurrence
    supply.save()
    run = services.run_create(user=facilitator, enqueue=False)
    services.run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    return run


@pytest.mark.parametrize(("recurrence", "tonnes_per_period"), RECURRENCES)
def test_approval_drafts_the_deal_in_the_listings_recurrence(
    facilitator, market, recurrence, tonnes_per_period
):
    """A one-off supply's proposal could never be approved: the draft was always
    yearly, which the deal's terms check refuses for a one-off batch."""
    from marketplace.models import Deal

    supply, (near, _) = market
    run = _run_with_supply_recurring(facilitator, supply, recurrence)
    proposal = _proposals(run)[near.pk]
    assert proposal.tonnes == pytest.approx(60)

    decisions.proposal_approve(user=facilitator, proposal=proposal)

    deal = Deal.objects.get(proposal=proposal)
    assert deal.state == "draft" and deal.period == recurrence
    assert float(deal.tonnes_per_period) == pytest.approx(tonnes_per_period, abs=1e-3)
    # The listing's window (all of 2027), and the proposal's tonnes over it.
    assert (deal.start_date, deal.end_date) == (supply.available_from, supply.available_until)
    assert float(deal.tonnes_total) == pytest.approx(60, abs=1e-2)


@pytest.mark.parametrize(("recurrence", "tonnes_per_period"), RECURRENCES)
def test_the_facilitators_approve_button_drafts_the_deal(
    client, facilitator, market, recurrence, tonnes_per_period
):
    from marketplace.models import Deal

    supply, (near, _) = market
    run = _run_with_supply_recurring(facilitator, supply, recurrence)
    proposal = _proposals(run)[near.pk]
    client.force_login(facilitator)

    response = client.post(
        reverse("optimizer:proposal_decide", args=[proposal.pk]),
        # Confirmed: the approve button first asks (tests/web/test_run_results.py).
        {"action": "approve", "reason": "good fit", "confirmed": "1"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert 'role="alert"' not in response.content.decode()
    proposal.refresh_from_db()
    assert proposal.status == "approved"
    deal = Deal.objects.get(proposal=proposal)
    assert deal.period == recurrence
    assert float(deal.tonnes_per_period) == pytest.approx(tonnes_per_period, abs=1e-3)


def test_the_draft_never_asks_more_than_the_listing_offers(facilitator, market):
    """Rounding to the deal's three decimals must not tip the draft over the
    listing's tonnes per period (the check would refuse the approval)."""
    supply, (near, _) = market
    # 100.0006 t a month (entered in kg), all of it proposed: 100.001 rounded half up.
    supply.recurrence, supply.quantity, supply.unit = "month", Decimal("100000.6"), "kg"
    supply.save()
    run = services.run_create(user=facilitator, enqueue=False)
    services.run_execute(run_id=run.pk)
    proposal = _proposals(run)[near.pk]
    MatchProposal.objects.filter(pk=proposal.pk).update(tonnes=float(supply.tonnes) * 12)
    proposal.refresh_from_db()

    terms = decisions.draft_terms(proposal)

    assert supply.tonnes == Decimal("100.0006")
    assert terms["tonnes_per_period"] == Decimal("100.000")
    decisions.proposal_approve(user=facilitator, proposal=proposal)


def _proposal_with_windows(facilitator, market, supply_window, demand_window=(None, None)):
    supply, (near, _) = market
    supply.available_from, supply.available_until = supply_window
    supply.save()
    near.available_from, near.available_until = demand_window
    near.save()
    run = services.run_create(user=facilitator, enqueue=False)
    services.run_execute(run_id=run.pk)
    return _proposals(run)[near.pk]


TODAY = date(2026, 12, 7)


@pytest.mark.parametrize(
    ("supply_window", "demand_window", "dates"),
    [
        # A window that started already: from today, to its end.
        ((date(2026, 1, 1), date(2027, 3, 31)), (None, None), (TODAY, date(2027, 3, 31))),
        # One that starts later: from its start.
        (
            (date(2027, 2, 1), date(2027, 6, 30)),
            (None, None),
            (date(2027, 2, 1), date(2027, 6, 30)),
        ),
        # No window: from today, twelve calendar months (the run's one-year horizon).
        ((None, None), (None, None), (TODAY, date(2027, 11, 30))),
        # A year's window from today (the demo's all-year flows): still twelve calendar
        # months, not the thirteen that Dec 7 to Dec 6 touches.
        ((TODAY, date(2027, 12, 6)), (None, None), (TODAY, date(2027, 11, 30))),
        # Where the two listings' windows overlap.
        (
            (None, date(2027, 12, 31)),
            (date(2027, 3, 1), date(2027, 9, 30)),
            (date(2027, 3, 1), date(2027, 9, 30)),
        ),
    ],
)
def test_the_draft_dates_come_from_the_windows_and_never_start_in_the_past(
    facilitator, market, supply_window, demand_window, dates
):
    proposal = _proposal_with_windows(facilitator, market, supply_window, demand_window)

    terms = decisions.draft_terms(proposal, today=TODAY)

    assert (terms["start_date"], terms["end_date"]) == dates


def test_windows_that_do_not_overlap_give_the_supplys():
    """The optimizer pairs no such listings; a proposal made before an edit may."""
    from types import SimpleNamespace

    supply = SimpleNamespace(available_from=date(2027, 1, 1), available_until=date(2027, 2, 28))
    demand = SimpleNamespace(available_from=date(2027, 5, 1), available_until=None)

    assert decisions.draft_dates(supply, demand, today=TODAY) == (
        date(2027, 1, 1),
        date(2027, 2, 28),
    )


def test_an_approved_draft_starts_today_at_the_earliest(facilitator, market):
    """A window that opened in the past (the demo's, a month ago) must not draft a deal
    starting before today: deliveries could be started but never logged."""
    from marketplace.models import Deal

    today = timezone.localdate()
    window = (today - timedelta(days=40), today + timedelta(days=200))
    proposal = _proposal_with_windows(facilitator, market, window)

    decisions.proposal_approve(user=facilitator, proposal=proposal)

    deal = Deal.objects.get(proposal=proposal)
    assert (deal.start_date, deal.end_date) == (today, window[1])


@pytest.mark.parametrize(
    ("recurrence", "wording"), [("once", "a one-off batch of 60 t"), ("month", "60 t a year")]
)
def test_the_introduction_mail_says_how_the_residue_comes(
    facilitator, market, recurrence, wording, django_capture_on_commit_callbacks
):
    supply, (near, _) = market
    factories.MembershipFactory(organization=supply.organization)
    run = _run_with_supply_recurring(facilitator, supply, recurrence)

    with django_capture_on_commit_callbacks(execute=True):
        decisions.proposal_approve(user=facilitator, proposal=_proposals(run)[near.pk])

    assert wording in mail.outbox[0].subject
    assert wording.replace("60 t", "about 60 t") in mail.outbox[0].body
