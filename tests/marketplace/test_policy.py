"""The deal policy for every (action, situation, role), without a database.

``marketplace.services.policy`` decides from a deal's fields and a viewer:
here the deals are unsaved instances and the viewers plain ``Viewer`` values
(pytest-django refuses any query, so a policy that reads the database fails).
The spec is ``tests/marketplace/transition_spec.py``; the database matrix in
``test_transitions.py`` proves the services follow the same policy.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from marketplace.models import Deal, DealAmendment
from marketplace.services import policy
from optimizer.models import MatchProposal
from symbiosis.models import Organization
from symbiosis.visibility import Viewer
from tests.marketplace.transition_spec import (
    SITUATIONS,
    SPEC,
    Situation,
    cases,
    target_of,
)

SUPPLIER_ORG, RECEIVER_ORG, OTHER_ORG = 1, 2, 3
TODAY = date(2026, 6, 1)

VIEWERS = {
    "supplier": Viewer(True, False, False, frozenset({SUPPLIER_ORG}), frozenset()),
    "receiver": Viewer(True, False, False, frozenset({RECEIVER_ORG}), frozenset()),
    "other": Viewer(True, False, False, frozenset({OTHER_ORG}), frozenset()),
    "facilitator": Viewer(True, True, False, frozenset(), frozenset()),
    "analyst": Viewer(True, False, True, frozenset(), frozenset()),
}


def unsaved_deal(situation: Situation) -> Deal:
    """The deal of ``situation`` as an unsaved instance (nothing to query)."""
    now = timezone.now()
    deal = Deal(
        pk=1,
        state=situation.state,
        initiator=situation.initiator,
        supplier=Organization(pk=SUPPLIER_ORG, name="Company A"),
        receiver=Organization(pk=RECEIVER_ORG, name="Company B"),
        tonnes_per_period=Decimal("10"),
        period="month",
        transport_by=Deal.TransportBy.RECEIVER,
        start_date=date(2026, 1, 1),
        end_date=date(2026, 12, 31),
        supplier_accepted_at=now if "supplier" in situation.accepted else None,
        receiver_accepted_at=now if "receiver" in situation.accepted else None,
    )
    if situation.introduction is not None:
        supplier_answer, receiver_answer = situation.introduction
        deal.proposal = MatchProposal(
            pk=1, supplier_answer=supplier_answer, receiver_answer=receiver_answer
        )
    # What ``policy.pending_amendment`` would otherwise read (as a prefetch does).
    deal.pending_amendments = (
        [DealAmendment(terms_version=2, proposed_as=situation.amendment_by)]
        if situation.amendment_by
        else []
    )
    return deal


def _policy_cases():
    for action, situation, role, expected in cases():
        yield pytest.param(
            action, situation, role, expected, id=f"{action}-{situation.name}-{role}"
        )


@pytest.mark.parametrize(("action", "situation", "role", "expected"), list(_policy_cases()))
def test_check_action_follows_the_spec(action, situation, role, expected):
    deal = unsaved_deal(situation)
    roles = policy.deal_roles(user=VIEWERS[role], deal=deal)

    if expected == "ok":
        assert policy.check_action(action, deal, roles) == target_of(action, situation.state)
    else:
        with pytest.raises(expected):
            policy.check_action(action, deal, roles)
    # The buttons show exactly what the services would allow.
    shown = policy.allowed_actions(user=VIEWERS[role], deal=deal, today=TODAY)
    assert (action in shown) == (expected == "ok")


def test_the_spec_covers_every_kind_of_outcome():
    outcomes = [expected for *_case, expected in cases()]
    assert {outcomes.count(kind) > 0 for kind in ("ok", PermissionDenied, ValidationError)} == {
        True
    }
    assert {action for action, _state in SPEC} == set(policy.TRANSITIONS)
    assert len(SITUATIONS) * 5 * len(policy.TRANSITIONS) == len(outcomes)


def test_refusals_say_who_may_act():
    waiting = unsaved_deal(
        Situation("w", "draft", initiator="facilitator", introduction=("accepted", ""))
    )
    roles = policy.deal_roles(user=VIEWERS["supplier"], deal=waiting)
    with pytest.raises(PermissionDenied, match="Waiting for Company B to accept"):
        policy.check_action("offer", waiting, roles)

    offered = unsaved_deal(Situation("o", "offered", accepted=frozenset({"supplier"})))
    roles = policy.deal_roles(user=VIEWERS["supplier"], deal=offered)
    with pytest.raises(PermissionDenied, match="Company B answers them"):
        policy.check_action("accept", offered, roles)


def test_a_member_of_both_parties_has_both_roles():
    both = Viewer(True, False, False, frozenset({SUPPLIER_ORG, RECEIVER_ORG}), frozenset())
    deal = unsaved_deal(Situation("o", "offered", accepted=frozenset({"supplier"})))

    roles = policy.deal_roles(user=both, deal=deal)

    assert {"supplier", "receiver", "answering", "initiator", "drafter"} <= roles
    assert policy.chosen_party(roles, None) is None
    assert policy.chosen_party(roles, None, preferred=(policy.answering_parties(deal),)) == (
        "receiver"
    )
    with pytest.raises(PermissionDenied):
        policy.chosen_party(policy.deal_roles(user=VIEWERS["supplier"], deal=deal), "receiver")


def test_logging_a_delivery_waits_for_its_first_day():
    deal = unsaved_deal(Situation("a", "active", accepted=frozenset({"supplier", "receiver"})))
    before = date(2025, 12, 31)

    shown = policy.allowed_actions(user=VIEWERS["receiver"], deal=deal, today=TODAY)
    assert "log_delivery" in shown
    assert "log_delivery" not in policy.allowed_actions(
        user=VIEWERS["receiver"], deal=deal, today=before
    )
    assert "log_delivery" not in policy.allowed_actions(
        user=VIEWERS["facilitator"], deal=deal, today=TODAY
    )
