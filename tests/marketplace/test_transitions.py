"""Every transition from every state for every role, against a hand-written spec.

``SPEC`` is the decision written out by hand; ``services.TRANSITIONS`` is the
table the services enforce. The first test checks the two agree; the matrix
then calls the real service for every (action, state, role, initiator) and
checks it does exactly what the spec says: the allowed ones move the deal and
write one event, the others are refused and change nothing.

Refusals: a user with no part in the deal (another company, an analyst, the
other party of a draft it cannot see) gets ``PermissionDenied``; a transition
the state does not allow is a ``ValidationError``; a transition the state
allows but not for the user's role is ``PermissionDenied``.
"""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from marketplace import services
from marketplace.models import Deal, DealEvent

pytestmark = pytest.mark.django_db

STATES = [state.value for state in Deal.State]
ROLES = ["supplier", "receiver", "other", "facilitator", "analyst"]
INITIATORS = ["supplier", "receiver", "facilitator"]
PARTIES = {"supplier", "receiver"}
PARTIES_OR_FACILITATOR = {"supplier", "receiver", "facilitator"}

# (action, state) -> roles allowed. "initiator" is whoever started the deal.
SPEC = {
    ("offer", "draft"): {"initiator"},
    ("update_terms", "draft"): {"initiator"},
    ("update_terms", "offered"): PARTIES,
    ("update_terms", "accepted"): PARTIES,
    ("accept", "offered"): PARTIES,
    ("decline", "offered"): PARTIES,
    ("activate", "accepted"): PARTIES,
    ("complete", "active"): PARTIES,
    ("cancel", "draft"): {"initiator", "facilitator"},
    ("cancel", "offered"): PARTIES_OR_FACILITATOR,
    ("cancel", "accepted"): PARTIES_OR_FACILITATOR,
    ("cancel", "active"): PARTIES_OR_FACILITATOR,
}
# State after the action by one role. Accepting once keeps an offer offered;
# the second party's acceptance is tested below.
AFTER = {
    "offer": "offered",
    "update_terms": {"draft": "draft", "offered": "offered", "accepted": "offered"},
    "accept": "offered",
    "decline": "declined",
    "activate": "active",
    "complete": "completed",
    "cancel": "cancelled",
}


def test_the_table_is_the_spec():
    table = {
        (action, state): set(roles)
        for action, rows in services.TRANSITIONS.items()
        for state, (_target, roles) in rows.items()
    }
    assert table == SPEC
    for (action, state), _roles in SPEC.items():
        target = services.TRANSITIONS[action][state][0]
        expected = AFTER[action] if isinstance(AFTER[action], str) else AFTER[action][state]
        if action == "accept":
            expected = "accepted"  # once both have accepted
        assert target == expected


def test_terminal_states_have_no_way_out():
    for rows in services.TRANSITIONS.values():
        assert not set(rows) & {"completed", "declined", "cancelled"}


def _sees(role: str, state: str, initiator: str) -> bool:
    if role in ("other", "analyst"):
        return False
    if state == "draft":
        return role in (initiator, "facilitator")
    return True


def _expected(action: str, state: str, role: str, initiator: str):
    """ "ok", PermissionDenied or ValidationError."""
    if not _sees(role, state, initiator):
        return PermissionDenied
    allowed = SPEC.get((action, state))
    if allowed is None:
        return ValidationError
    roles = {role} | ({"initiator"} if role == initiator else set())
    return "ok" if roles & allowed else PermissionDenied


def call(action: str, user, deal: Deal):
    kwargs = {"user": user, "deal": deal}
    if action == "accept":
        kwargs["terms_version"] = deal.terms_version
    if action in ("decline", "cancel"):
        kwargs["reason"] = "Our kiln is down for repairs."
    if action == "update_terms":
        kwargs["tonnes_per_period"] = deal.tonnes_per_period + 1
    return services.TRANSITION_SERVICES[action](**kwargs)


def _cases():
    for action in services.TRANSITIONS:
        for state in STATES:
            for role in ROLES:
                yield pytest.param(action, state, role, "supplier", id=f"{action}-{state}-{role}")
            if state == "draft":
                for initiator in ("receiver", "facilitator"):
                    for role in ROLES:
                        yield pytest.param(
                            action,
                            state,
                            role,
                            initiator,
                            id=f"{action}-{state}-{role}-by-{initiator}",
                        )


@pytest.mark.parametrize(("action", "state", "role", "initiator"), list(_cases()))
def test_transition(action, state, role, initiator, make_deal, actors):
    deal = make_deal(state, initiator=initiator)
    before = Deal.objects.filter(pk=deal.pk).values().get()
    events_before = DealEvent.objects.count()
    expected = _expected(action, state, role, initiator)

    if expected == "ok":
        result = call(action, actors[role], deal)
        target = AFTER[action] if isinstance(AFTER[action], str) else AFTER[action][state]
        assert result.state == target
        assert Deal.objects.get(pk=deal.pk).state == target
        event = DealEvent.objects.latest("id")
        assert (event.action, event.from_state, event.to_state) == (action, state, target)
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

    with pytest.raises(ValidationError, match="already accepted"):
        services.deal_accept(user=actors["receiver"], deal=deal, terms_version=1)


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

    assert (deal.state, deal.terms_version) == ("offered", 2)
    assert deal.supplier_accepted_at is None and deal.receiver_accepted_at is None
    assert deal.tonnes_total == Decimal("96")  # 8 t x 12 months
    event = deal.events.latest("id")
    assert "tonnes per period: 10 -> 8" in event.note
    assert event.terms_version == 2


def test_changing_terms_of_an_accepted_deal_sends_it_back_to_offered(make_deal, actors):
    deal = make_deal("accepted")

    deal = services.deal_update_terms(user=actors["supplier"], deal=deal, price_kzt_per_t=-800)

    assert deal.state == "offered"
    assert deal.supplier_accepted_at is None and deal.receiver_accepted_at is None
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
