"""The services through the database, against the hand-written spec.

``tests/marketplace/transition_spec.py`` writes the decision out by hand and
``test_policy.py`` checks the policy against it for every (action, situation,
role) without a database. Here the real services run on real rows: every
allowed case moves the deal and writes one event, and a sample of refusals
(each action from each state with each kind of refusal, and each role refused
at least once per action) changes nothing. The row locks are proven in
``test_concurrency.py`` (PostgreSQL).
"""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation

from marketplace import services
from marketplace.models import Deal, DealAmendment, DealEvent
from tests.marketplace.transition_spec import (
    EVENT,
    SITUATIONS,
    SPEC,
    STATES,
    Situation,
    cases,
    target_of,
)

pytestmark = pytest.mark.django_db


def test_the_table_is_the_spec():
    table = {
        (action, state): set(roles)
        for action, rows in services.TRANSITIONS.items()
        for state, (_to, roles) in rows.items()
    }
    assert table == SPEC
    for action, state in SPEC:
        assert services.TRANSITIONS[action][state][0] == target_of(action, state)


def test_terminal_states_have_no_way_out():
    for rows in services.TRANSITIONS.values():
        assert not set(rows) & {"completed", "declined", "cancelled"}


def test_every_state_is_in_a_situation():
    assert {s.state for s in SITUATIONS} == set(STATES)


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


def _database_cases():
    """Every allowed case, and the first refusal of each (action, state, kind) and
    of each (action, role, kind): each refusal path once through the database."""
    seen = set()
    for action, situation, role, expected in cases():
        keys = {(action, situation.state, expected), (action, role, expected)}
        if expected != "ok" and keys <= seen:
            continue
        seen |= keys
        yield pytest.param(
            action, situation, role, expected, id=f"{action}-{situation.name}-{role}"
        )


DATABASE_CASES = list(_database_cases())


def test_the_database_sample_has_every_allowed_case_and_each_refusal_path():
    all_cases = list(cases())
    sampled = {(case.values[0], case.values[1].name, case.values[2]) for case in DATABASE_CASES}
    allowed = {(a, s.name, r) for a, s, r, expected in all_cases if expected == "ok"}
    assert allowed <= sampled
    assert {(a, s.state, e) for a, s, r, e in all_cases} == {
        (c.values[0], c.values[1].state, c.values[3]) for c in DATABASE_CASES
    }
    assert len(DATABASE_CASES) < len(all_cases) / 2


@pytest.mark.parametrize(("action", "situation", "role", "expected"), DATABASE_CASES)
def test_transition(action, situation, role, expected, make_deal, make_introduction, actors):
    deal = _make(situation, make_deal, make_introduction)
    before = Deal.objects.filter(pk=deal.pk).values().get()
    events_before = DealEvent.objects.count()

    if expected == "ok":
        result = call(action, actors[role], deal)
        target = target_of(action, situation.state)
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
