"""Every transition from every state for every role, against a hand-written spec.

``SPEC`` is the decision written out by hand; ``services.TRANSITIONS`` is the
table the services enforce. The first test checks the two agree; the matrix
then calls the real service for every (action, situation, role) and checks it
does exactly what the spec says: the allowed ones move the deal and write one
event, the others are refused and change nothing.

A situation is a state and what stands in it: who started a draft (and, for a
facilitator's introduction, which companies accepted it so far); who sent an
offer (its sender has accepted it); whether an active deal waits on an
amendment. Roles on top of the user's own (supplier, receiver, ...): the
"drafter" shapes and sends a draft (the side that started it; in an
introduction, either company once both accepted it); the "answering" party is
the one whose answer the terms on the table wait for.

Refusals: a user with no part in the deal (another company, an analyst, the
other party of a draft it cannot see) gets ``PermissionDenied``; a transition
the state does not allow (or an answer with nothing on the table) is a
``ValidationError``; a transition the state allows but not for the user's
role is ``PermissionDenied``.
"""

from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation

from marketplace import services
from marketplace.models import Deal, DealAmendment, DealEvent

pytestmark = pytest.mark.django_db

STATES = [state.value for state in Deal.State]
ROLES = ["supplier", "receiver", "other", "facilitator", "analyst"]
PARTIES = {"supplier", "receiver"}
PARTIES_OR_FACILITATOR = {"supplier", "receiver", "facilitator"}

# (action, state) -> roles allowed.
SPEC = {
    ("offer", "draft"): {"drafter"},
    ("update_terms", "draft"): {"drafter"},
    ("update_terms", "offered"): PARTIES,
    ("update_terms", "accepted"): PARTIES,
    ("update_terms", "active"): PARTIES,  # an amendment, for the other party to answer
    ("accept", "offered"): {"answering"},
    ("accept", "active"): {"answering"},  # the amendment waiting
    ("decline", "offered"): {"answering"},
    ("decline", "active"): {"answering"},
    ("activate", "accepted"): PARTIES,
    ("complete", "active"): PARTIES,
    ("cancel", "draft"): {"drafter", "facilitator"},
    ("cancel", "offered"): PARTIES_OR_FACILITATOR,
    ("cancel", "accepted"): PARTIES_OR_FACILITATOR,
    ("cancel", "active"): PARTIES_OR_FACILITATOR,
}
# The state each allowed action leads to (accepting an offer: once both accepted).
TARGET = {
    "offer": "offered",
    "update_terms": {"draft": "draft", "offered": "offered", "accepted": "offered"},
    "accept": {"offered": "accepted", "active": "active"},
    "decline": {"offered": "declined", "active": "active"},
    "activate": "active",
    "complete": "completed",
    "cancel": "cancelled",
}
# The history line of an allowed action, where it is not the action's own name.
EVENT = {
    ("update_terms", "active"): "amendment_proposed",
    ("accept", "active"): "amendment_accepted",
    ("decline", "active"): "amendment_declined",
}


def _target(action: str, state: str) -> str:
    target = TARGET[action]
    return target if isinstance(target, str) else target.get(state, state)


@dataclass(frozen=True)
class Situation:
    name: str
    state: str
    initiator: str = "supplier"
    # Introductions (a facilitator's draft from a proposal): the answers so far.
    introduction: tuple[str, str] | None = None
    # Parties whose acceptance of the current terms is recorded.
    accepted: frozenset = field(default_factory=frozenset)
    amendment_by: str = ""  # an active deal's pending amendment, proposed by this party

    @property
    def answering(self) -> set[str]:
        if self.state == "offered":
            return PARTIES - self.accepted
        if self.amendment_by:
            return PARTIES - {self.amendment_by}
        return set()

    def drafter(self, role: str) -> bool:
        if role not in PARTIES:
            return False
        if self.initiator == "facilitator":
            return self.introduction is None or self.introduction == ("accepted", "accepted")
        return role == self.initiator


SITUATIONS = [
    Situation("draft-by-supplier", "draft"),
    Situation("draft-by-receiver", "draft", initiator="receiver"),
    Situation("draft-by-facilitator", "draft", initiator="facilitator"),
    Situation(
        "introduction-waiting", "draft", initiator="facilitator", introduction=("accepted", "")
    ),
    Situation(
        "introduction-accepted",
        "draft",
        initiator="facilitator",
        introduction=("accepted", "accepted"),
    ),
    Situation("offered-by-supplier", "offered", accepted=frozenset({"supplier"})),
    Situation("offered-by-receiver", "offered", accepted=frozenset({"receiver"})),
    Situation("offered-unanswered", "offered"),  # offered before sending meant accepting
    Situation("accepted", "accepted", accepted=frozenset(PARTIES)),
    Situation("active", "active", accepted=frozenset(PARTIES)),
    Situation(
        "active-amendment-by-supplier",
        "active",
        accepted=frozenset(PARTIES),
        amendment_by="supplier",
    ),
    Situation("completed", "completed", accepted=frozenset(PARTIES)),
    Situation("declined", "declined"),
    Situation("cancelled", "cancelled"),
]


def test_the_table_is_the_spec():
    table = {
        (action, state): set(roles)
        for action, rows in services.TRANSITIONS.items()
        for state, (_target, roles) in rows.items()
    }
    assert table == SPEC
    for action, state in SPEC:
        assert services.TRANSITIONS[action][state][0] == _target(action, state)


def test_terminal_states_have_no_way_out():
    for rows in services.TRANSITIONS.values():
        assert not set(rows) & {"completed", "declined", "cancelled"}


def test_every_state_is_in_a_situation():
    assert {s.state for s in SITUATIONS} == set(STATES)


def _sees(role: str, situation: Situation) -> bool:
    if role in ("other", "analyst"):
        return False
    if situation.state == "draft":
        return role in (situation.initiator, "facilitator") or (
            situation.initiator == "facilitator" and role in PARTIES
        )
    return True


def _expected(action: str, situation: Situation, role: str):
    """ "ok", PermissionDenied or ValidationError."""
    if not _sees(role, situation):
        return PermissionDenied
    allowed = SPEC.get((action, situation.state))
    if allowed is None:
        return ValidationError
    if (
        action in ("accept", "decline")
        and situation.state == "active"
        and not situation.amendment_by
    ):
        return ValidationError  # nothing on the table to answer
    roles = {role}
    if situation.drafter(role):
        roles.add("drafter")
    if role in situation.answering:
        roles.add("answering")
    return "ok" if roles & allowed else PermissionDenied


def _make(situation: Situation, make_deal, make_introduction) -> Deal:
    now = timezone.now()
    fields = {
        "supplier_accepted_at": now if "supplier" in situation.accepted else None,
        "receiver_accepted_at": now if "receiver" in situation.accepted else None,
    }
    if situation.introduction is not None:
        deal = make_introduction(*situation.introduction, **fields)
    else:
        deal = make_deal(situation.state, initiator=situation.initiator, **fields)
    if situation.amendment_by:
        DealAmendment.objects.create(
            deal=deal,
            terms_version=2,
            tonnes_per_period=Decimal("12"),
            period=deal.period,
            tonnes_total=Decimal("144"),
            price_kzt_per_t=deal.price_kzt_per_t,
            transport_by=deal.transport_by,
            start_date=deal.start_date,
            end_date=deal.end_date,
            proposed_as=situation.amendment_by,
        )
    return deal


def call(action: str, user, deal: Deal):
    kwargs = {"user": user, "deal": deal}
    if action == "accept":
        amendment = services.pending_amendment(deal)
        kwargs["terms_version"] = amendment.terms_version if amendment else deal.terms_version
    if action in ("decline", "cancel"):
        kwargs["reason"] = "Our kiln is down for repairs."
    if action == "update_terms":
        kwargs["tonnes_per_period"] = deal.tonnes_per_period + 1
    return services.TRANSITION_SERVICES[action](**kwargs)


def _cases():
    for action in services.TRANSITIONS:
        for situation in SITUATIONS:
            for role in ROLES:
                yield pytest.param(action, situation, role, id=f"{action}-{situation.name}-{role}")


@pytest.mark.parametrize(("action", "situation", "role"), list(_cases()))
def test_transition(action, situation, role, make_deal, make_introduction, actors):
    deal = _make(situation, make_deal, make_introduction)
    before = Deal.objects.filter(pk=deal.pk).values().get()
    events_before = DealEvent.objects.count()
    expected = _expected(action, situation, role)

    if expected == "ok":
        result = call(action, actors[role], deal)
        target = _target(action, situation.state)
        if action == "accept" and situation.name == "offered-unanswered":
            target = "offered"  # the first of two acceptances
        assert result.state == target
        assert Deal.objects.get(pk=deal.pk).state == target
        event = DealEvent.objects.latest("id")
        recorded = EVENT.get((action, situation.state), action)
        assert (event.action, event.from_state, event.to_state) == (
            recorded,
            situation.state,
            target,
        )
        assert event.actor == actors[role]
        assert DealEvent.objects.count() == events_before + 1
    else:
        with pytest.raises(expected):
            call(action, actors[role], deal)
        assert Deal.objects.filter(pk=deal.pk).values().get() == before
        assert DealEvent.objects.count() == events_before


def test_both_parties_accepting_the_same_terms_makes_the_deal_accepted(make_deal, actors):
    deal = make_deal("offered")

    deal = services.deal_accept(user=actors["receiver"], deal=deal, terms_version=1)
    assert deal.state == "offered"
    assert deal.receiver_accepted_at is not None and deal.supplier_accepted_at is None
    deal = services.deal_accept(user=actors["supplier"], deal=deal, terms_version=1)

    assert deal.state == "accepted"
    events = list(deal.events.values_list("action", "from_state", "to_state"))
    assert events == [("accept", "offered", "offered"), ("accept", "offered", "accepted")]


def test_a_party_cannot_accept_twice(make_deal, actors):
    deal = make_deal("offered")
    services.deal_accept(user=actors["receiver"], deal=deal, terms_version=1)

    with pytest.raises(PermissionDenied, match="Your side has accepted these terms"):
        services.deal_accept(user=actors["receiver"], deal=deal, terms_version=1)
    assert Deal.objects.get(pk=deal.pk).state == "offered"


def test_sending_an_offer_accepts_it_for_the_sender(make_deal, actors):
    deal = make_deal("draft")

    deal = services.deal_offer(user=actors["supplier"], deal=deal, note="as discussed")

    assert deal.state == "offered"
    assert deal.supplier_accepted_at is not None and deal.receiver_accepted_at is None
    # The sender neither accepts again nor declines its own offer ...
    for action in ("accept", "decline"):
        with pytest.raises(PermissionDenied, match="Company B answers them"):
            call(action, actors["supplier"], deal)
    assert services.allowed_actions(user=actors["supplier"], deal=deal) == {
        "message",
        "update_terms",
        "cancel",
    }
    # ... the other party answers, and one acceptance makes the deal accepted.
    assert services.allowed_actions(user=actors["receiver"], deal=deal) == {
        "message",
        "accept",
        "decline",
        "update_terms",
        "cancel",
    }
    deal = services.deal_accept(user=actors["receiver"], deal=deal, terms_version=1)
    assert deal.state == "accepted"
    events = list(deal.events.values_list("action", "from_state", "to_state", "details"))
    assert events == [
        ("offer", "draft", "offered", {"party": "supplier"}),
        ("accept", "offered", "accepted", {"party": "receiver"}),
    ]


def test_accepting_a_stale_terms_version_is_refused(make_deal, actors):
    deal = make_deal("offered")
    services.deal_update_terms(user=actors["supplier"], deal=deal, tonnes_per_period=12)

    with pytest.raises(ValidationError) as refused:
        services.deal_accept(user=actors["receiver"], deal=deal, terms_version=1)

    assert "terms_version" in refused.value.message_dict
    assert Deal.objects.get(pk=deal.pk).receiver_accepted_at is None


def test_changing_terms_after_one_side_accepted_clears_the_acceptance(make_deal, actors):
    deal = make_deal("offered")
    deal = services.deal_accept(user=actors["supplier"], deal=deal, terms_version=1)

    deal = services.deal_update_terms(
        user=actors["receiver"], deal=deal, tonnes_per_period=Decimal("8"), note="less, please"
    )

    # A counter-offer: accepted by its sender, the other side's acceptance cleared.
    assert (deal.state, deal.terms_version) == ("offered", 2)
    assert deal.supplier_accepted_at is None and deal.receiver_accepted_at is not None
    assert deal.tonnes_total == Decimal("96")  # 8 t x 12 months
    event = deal.events.latest("id")
    assert event.details == {
        "changes": [{"field": "tonnes_per_period", "old": "10", "new": "8"}],
        "party": "receiver",
    }
    assert event.note == "less, please"
    assert event.terms_version == 2
    deal = services.deal_accept(user=actors["supplier"], deal=deal, terms_version=2)
    assert deal.state == "accepted"


def test_changing_terms_of_an_accepted_deal_sends_it_back_to_offered(make_deal, actors):
    deal = make_deal("accepted")

    deal = services.deal_update_terms(user=actors["supplier"], deal=deal, price_kzt_per_t=-800)

    assert deal.state == "offered"
    assert deal.supplier_accepted_at is not None and deal.receiver_accepted_at is None
    with pytest.raises(PermissionDenied):
        services.deal_accept(user=actors["supplier"], deal=deal, terms_version=2)
    deal = services.deal_accept(user=actors["receiver"], deal=deal, terms_version=2)
    assert deal.state == "accepted"
    assert deal.price_kzt_per_t == Decimal("-800")


def test_unchanged_terms_are_not_a_new_version(make_deal, actors):
    deal = make_deal("offered")

    with pytest.raises(ValidationError, match="current terms"):
        services.deal_update_terms(user=actors["supplier"], deal=deal, tonnes_per_period=10)


def test_decline_and_cancel_need_a_reason(make_deal, actors):
    deal = make_deal("offered")
    with pytest.raises(ValidationError):
        services.deal_decline(user=actors["receiver"], deal=deal, reason="  ")
    with pytest.raises(ValidationError):
        services.deal_cancel(user=actors["facilitator"], deal=deal, reason="")
    assert Deal.objects.get(pk=deal.pk).state == "offered"


def test_a_member_of_both_parties_says_which_party_accepts(make_deal, actors, market):
    from tests import factories

    both = factories.MembershipFactory(organization=market.company_a).user
    factories.MembershipFactory(user=both, organization=market.company_b)
    deal = make_deal("offered")

    with pytest.raises(ValidationError):
        services.deal_accept(user=both, deal=deal, terms_version=1)
    deal = services.deal_accept(user=both, deal=deal, terms_version=1, party="receiver")
    deal = services.deal_accept(user=both, deal=deal, terms_version=1)  # the one left

    assert deal.state == "accepted"


def test_allowed_actions_match_the_services(make_deal, actors):
    deal = make_deal("offered")
    assert services.allowed_actions(user=actors["receiver"], deal=deal) == {
        "message",
        "accept",
        "decline",
        "update_terms",
        "cancel",
    }
    assert services.allowed_actions(user=actors["facilitator"], deal=deal) == {
        "message",
        "cancel",
    }
    assert services.allowed_actions(user=actors["other"], deal=deal) == set()
    assert services.allowed_actions(user=actors["analyst"], deal=deal) == set()
    # Either party logs deliveries, whoever transports; a facilitator does not.
    for transport_by in ("supplier", "receiver"):
        active = make_deal("active", transport_by=transport_by)
        for role in ("supplier", "receiver"):
            assert "log_delivery" in services.allowed_actions(user=actors[role], deal=active)
        assert "log_delivery" not in services.allowed_actions(
            user=actors["facilitator"], deal=active
        )


def test_refusals_name_the_action_and_the_roles_in_russian(make_deal, actors):
    with translation.override("ru"):
        with pytest.raises(ValidationError) as not_now:
            services.deal_complete(user=actors["supplier"], deal=make_deal("offered"))
        with pytest.raises(PermissionDenied) as not_you:
            services.deal_activate(user=actors["facilitator"], deal=make_deal("accepted"))
    assert not_now.value.messages == [
        "Действие «завершить» недоступно для сделки в состоянии «предложена»."
    ]
    assert str(not_you.value) == "Сейчас это может сделать только получатель или поставщик."
