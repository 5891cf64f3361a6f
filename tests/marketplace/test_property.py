"""Random sequences of actions never reach an illegal state nor over-commit a listing.

Four deals on one 100 t/month listing, with random tonnes and months, go
through random steps (every transition, delivery logging, confirming and
disputing) by random actors; half the steps push a deal forward, so
sequences reach accepted, active and delivered deals and compete for tonnes.
Every refused step must leave the database as it was. After every step the
invariants are checked against the database, with an over-commitment check
written independently of the services (fractions of tonnes per month, per
calendar month).
"""

from datetime import date
from fractions import Fraction

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketplace import services
from marketplace.models import Deal, DealEvent, Delivery
from tests import factories

pytestmark = pytest.mark.django_db

CAPACITY_T_PER_MONTH = Fraction(100)
TONNES = [5, 20, 40, 60, 100, 600]  # 600 only makes sense per year
MONTH_RANGES = [(1, 3), (2, 6), (4, 4), (6, 12), (1, 12), (9, 10)]
# Half the steps move a deal forward ("forward": the next step of its life,
# by the party that would normally take it), the others are any action by any
# role, so sequences go deep (accepted, active, delivered) and still try
# everything that should be refused.
ACTIONS = [*services.TRANSITIONS, "log", "confirm", "dispute"]
STEP_ACTIONS = ["forward"] * len(ACTIONS) + ACTIONS
ROLES = ["party", "party", "party", "supplier", "receiver", "other", "facilitator", "analyst"]
START_STATES = ["draft", "offered", "offered", "half-accepted"]
LEGAL_STATES = {state.value for state in Deal.State}
TERMINAL = {"completed", "declined", "cancelled"}


def month_range(index: int) -> dict:
    first, last = MONTH_RANGES[index]
    end = date(2026, last, 28)
    return {"start_date": date(2026, first, 1), "end_date": end}


deal_spec = st.tuples(
    st.sampled_from([t for t in TONNES if t <= 100]),
    st.sampled_from(["month", "year"]),
    st.integers(0, len(MONTH_RANGES) - 1),
    st.sampled_from(START_STATES),
)
step = st.tuples(
    st.sampled_from(STEP_ACTIONS),
    st.integers(0, 3),  # which deal
    st.sampled_from(ROLES),
    st.sampled_from(TONNES),
    st.integers(0, len(MONTH_RANGES) - 1),
)


def per_month(deal) -> Fraction:
    tonnes = Fraction(str(deal.tonnes_per_period))
    return tonnes / 12 if deal.period == "year" else tonnes


def months_of(deal) -> range:
    return range(
        deal.start_date.year * 12 + deal.start_date.month,
        deal.end_date.year * 12 + deal.end_date.month + 1,
    )


def assert_not_overcommitted(deals):
    load: dict[int, Fraction] = {}
    for deal in deals:
        if deal.state in ("accepted", "active"):
            for month in months_of(deal):
                load[month] = load.get(month, Fraction(0)) + per_month(deal)
    for month, tonnes in load.items():
        assert tonnes <= CAPACITY_T_PER_MONTH, f"month {month}: {float(tonnes)} t committed"


def assert_invariants(previous_states: dict[int, str]):
    deals = list(Deal.objects.order_by("pk"))
    for deal in deals:
        assert deal.state in LEGAL_STATES
        if previous_states.get(deal.pk) in TERMINAL:
            assert deal.state == previous_states[deal.pk], "left a terminal state"
        both = deal.supplier_accepted_at is not None and deal.receiver_accepted_at is not None
        if deal.state in ("accepted", "active", "completed"):
            assert both
        if deal.state in ("draft", "offered"):
            assert not both, "both accepted but still not accepted"
        if deal.state in ("declined", "cancelled"):
            assert deal.closed_reason
    for event in DealEvent.objects.all():
        if event.action in services.TRANSITIONS:
            row = services.TRANSITIONS[event.action].get(event.from_state)
            assert row is not None, f"{event.action} from {event.from_state}"
            assert event.to_state == row[0] or (
                event.action == "accept" and event.to_state == "offered"
            )
    activated = set(DealEvent.objects.filter(action="activate").values_list("deal_id", flat=True))
    assert set(Delivery.objects.values_list("deal_id", flat=True)) <= activated
    assert_not_overcommitted(deals)
    return {deal.pk: deal.state for deal in deals}


def snapshot():
    return (
        list(Deal.objects.order_by("pk").values()),
        DealEvent.objects.count(),
        list(Delivery.objects.order_by("pk").values()),
    )


def next_step(deal) -> str:
    if deal.state == "draft":
        return "offer"
    if deal.state == "offered":
        return "accept"
    if deal.state == "accepted":
        return "activate"
    if deal.state == "active":
        return "confirm" if deal.deliveries.filter(status="logged").exists() else "log"
    return "complete"  # closed: refused


def run_step(action, deal, user, tonnes, months, counter):
    if action == "log":
        counter[0] += 1
        return services.delivery_log(
            user=user,
            deal=deal,
            date=deal.start_date,
            tonnes=tonnes,
            ticket_number=f"T{counter[0]}",
        )
    if action in ("confirm", "dispute"):
        delivery = deal.deliveries.order_by("-pk").first()
        if delivery is None:
            return None
        if action == "confirm":
            return services.delivery_confirm(user=user, delivery=delivery)
        return services.delivery_dispute(user=user, delivery=delivery, reason="wet")
    kwargs = {"user": user, "deal": deal}
    if action == "accept":
        kwargs["terms_version"] = deal.terms_version
    elif action in ("decline", "cancel"):
        kwargs["reason"] = "random reason"
    elif action == "update_terms":
        period = "year" if tonnes > 100 else deal.period
        kwargs.update(tonnes_per_period=tonnes, period=period, **month_range(months))
    return services.TRANSITION_SERVICES[action](**kwargs)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    deals=st.lists(deal_spec, min_size=4, max_size=4),
    steps=st.lists(step, min_size=10, max_size=40),
)
def test_random_action_sequences_keep_every_invariant(market, member_a, deals, steps):
    with transaction.atomic():
        member_b = factories.MembershipFactory(organization=market.company_b).user
        member_c = factories.MembershipFactory(organization=market.company_c).user
        facilitator = factories.UserFactory(is_superuser=True)
        analyst = factories.UserFactory()
        analyst.groups.add(Group.objects.get_or_create(name="city_analyst")[0])
        receivers = [
            (market.company_b, market.site_b, member_b, member_c),
            (market.company_c, market.site_c, member_c, member_b),
        ]
        rows = []
        for index, (tonnes, period, months, start) in enumerate(deals):
            receiver, site, member, outsider = receivers[index % 2]
            terms = month_range(months)
            rows.append(
                Deal.objects.create(
                    supplier=market.company_a,
                    receiver=receiver,
                    supply=market.supply,
                    receiver_site=site,
                    material=market.grain,
                    tonnes_per_period=tonnes,
                    period=period,
                    tonnes_total=services.tonnes_total_for(
                        tonnes_per_period=tonnes, period=period, **terms
                    ),
                    transport_by="supplier",
                    initiator="supplier",
                    factor_set=market.factor_set,
                    state="draft" if start == "draft" else "offered",
                    supplier_accepted_at=timezone.now() if start == "half-accepted" else None,
                    **terms,
                )
            )
        states = assert_invariants({})
        counter = [0]
        for action, index, role, tonnes, months in steps:
            deal = Deal.objects.get(pk=rows[index].pk)
            _receiver, _site, member, outsider = receivers[index % 2]
            if action == "forward":
                action, role = next_step(deal), "party"
            if role == "party":
                role = "receiver" if action in ("confirm", "dispute") else "supplier"
                if action == "accept" and deal.supplier_accepted_at is not None:
                    role = "receiver"
            user = {
                "supplier": member_a,
                "receiver": member,
                "other": outsider,
                "facilitator": facilitator,
                "analyst": analyst,
            }[role]
            before = snapshot()
            try:
                run_step(action, deal, user, tonnes, months, counter)
            except (ValidationError, PermissionDenied):
                assert snapshot() == before, f"a refused {action} changed the database"
            else:
                after = Deal.objects.get(pk=deal.pk)
                row = services.TRANSITIONS.get(action, {}).get(deal.state)
                if row is not None:
                    assert after.state == row[0] or (
                        action == "accept" and after.state == "offered"
                    )
            states = assert_invariants(states)
        transaction.set_rollback(True)
