"""Facilitator decisions, introductions and company answers, each in the audit log."""

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from optimizer import decisions, services
from optimizer.models import AuditEntry, MatchProposal, PairRule
from symbiosis.selectors import listing_hides_owner
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
    assert len(mail.outbox) == 1
    assert set(mail.outbox[0].to) == {supplier.email, receiver.email}
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
