"""Random sequences of delivery steps keep the city's figures equal to what was confirmed.

Two active deals (one per transport direction) go through random steps by
random actors: log (by either party, some loads implausible), confirm,
dispute, correct (new figures, or "never happened"), release and reject. The
test keeps its own account of what should count, written independently of the
services and of the database: a confirmed delivery counts its tonnes and one
delivery in its month; a confirmed correction takes its delivery out and puts
its replacement in. After every step the dashboard's roll-up (``ConfirmedMonth``
and ``ConfirmedDeal``, kept by the writes) and the city headline must equal
that account, and so must the plain sum over confirmed rows. A refused step
must change nothing.

On failure Hypothesis prints the falsifying steps and a ``@reproduce_failure``
blob (``print_blob``); add it to the test to replay the exact sequence.
"""

from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from dashboard import selectors as city
from dashboard.models import ConfirmedDeal, ConfirmedMonth
from dashboard.selectors import CityFilters
from marketplace import services
from marketplace.models import Delivery
from tests import factories

pytestmark = pytest.mark.django_db

TONNES = ["0.5", "4", "9.25", "12", "30", "45"]  # 45 t in one load is held
MONTHS = [1, 2, 3]
# "counterpart": a member of the party the chosen row was not logged for (the one
# who may confirm it); "forward": the next step of the newest row's life, by the
# actor who would take it. Both make sequences reach confirmed corrections often,
# while the other actions and roles try everything that must be refused.
ROLES = ["supplier", "receiver", "supplier_colleague", "facilitator", "other", *["counterpart"] * 3]
ACTIONS = [
    *["forward"] * 6,
    "log",
    "log",
    "confirm",
    "confirm",
    "dispute",
    "correct",
    "correct",
    "release",
    "reject",
]

step = st.tuples(
    st.sampled_from(ACTIONS),
    st.integers(0, 1),  # which deal (for log)
    st.integers(0, 50),  # which delivery (modulo those there are)
    st.sampled_from(ROLES),
    st.sampled_from(TONNES),
    st.sampled_from(MONTHS),
    st.booleans(),  # correct: the load never happened
)


class Account:
    """What should count, kept from the steps the services accepted."""

    def __init__(self):
        self.counted = {}  # delivery id -> (deal id, month, tonnes)
        self.figures = {}  # delivery id -> (deal id, month, tonnes), every row logged
        self.corrections = {}  # reversal id -> (corrected id, replacement id or None)
        self.replacement_of = {}  # replacement id -> reversal id

    def logged(self, delivery):
        self.figures[delivery.pk] = (delivery.deal_id, delivery.date.month, delivery.tonnes)

    def confirmed(self, delivery_id):
        reversal_id = self.replacement_of.get(delivery_id, delivery_id)
        if reversal_id in self.corrections:
            corrected, replacement = self.corrections[reversal_id]
            del self.counted[corrected]
            if replacement is not None:
                self.counted[replacement] = self.figures[replacement]
        else:
            self.counted[delivery_id] = self.figures[delivery_id]

    def expected_months(self) -> dict:
        out = defaultdict(lambda: [Decimal(0), 0])
        for deal_id, month, tonnes in self.counted.values():
            out[(deal_id, month)][0] += tonnes
            out[(deal_id, month)][1] += 1
        return {key: (value[0], value[1]) for key, value in out.items()}


def stored_months() -> dict:
    return {
        (row.deal_id, row.month.month): (row.tonnes, row.deliveries)
        for row in ConfirmedMonth.objects.all()
    }


def confirmed_rows_months() -> dict:
    """The plain sum over confirmed rows (a reversal negative, counting minus one)."""
    out = defaultdict(lambda: [Decimal(0), 0])
    for row in Delivery.objects.filter(status="confirmed"):
        out[(row.deal_id, row.date.month)][0] += row.tonnes
        out[(row.deal_id, row.date.month)][1] += -1 if row.kind == "reversal" else 1
    return {key: (value[0], value[1]) for key, value in out.items() if value[1]}


def assert_figures(account: Account):
    expected = account.expected_months()
    assert stored_months() == expected
    assert confirmed_rows_months() == expected
    per_deal = defaultdict(lambda: [Decimal(0), 0])
    for (deal_id, _month), (tonnes, count) in expected.items():
        per_deal[deal_id][0] += tonnes
        per_deal[deal_id][1] += count
    assert {row.deal_id: (row.tonnes, row.deliveries) for row in ConfirmedDeal.objects.all()} == {
        deal_id: tuple(value) for deal_id, value in per_deal.items()
    }
    headline = city.headline(CityFilters())
    assert (headline["tonnes"] or 0) == pytest.approx(
        float(sum(t for _, _, t in account.counted.values()))
    )
    assert (headline["deliveries"] or 0) == len(account.counted)


def forward(delivery) -> tuple[str, str]:
    """(action, role) that moves ``delivery`` on."""
    if delivery is None or delivery.status == "rejected":
        return "log", "supplier"
    if delivery.status in ("logged", "disputed"):
        return "confirm", "counterpart"
    if delivery.status == "held":
        return "release", "facilitator"
    return "correct", "receiver" if delivery.logged_as == "supplier" else "supplier"


def counterpart(delivery) -> str:
    if delivery is not None and delivery.logged_as == "supplier":
        return "receiver"
    return "supplier"


def snapshot():
    return list(Delivery.objects.order_by("pk").values())


@settings(
    max_examples=40,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=5, max_size=30))
def test_random_delivery_steps_keep_the_city_figures_exact(make_deal, market, steps):
    with transaction.atomic():
        users = {
            "supplier": factories.MembershipFactory(organization=market.company_a).user,
            "supplier_colleague": factories.MembershipFactory(organization=market.company_a).user,
            "receiver": factories.MembershipFactory(organization=market.company_b).user,
            "facilitator": factories.UserFactory(is_superuser=True),
            "other": factories.MembershipFactory(organization=market.company_c).user,
        }
        deals = [
            make_deal("active", transport_by="supplier", tonnes_per_period=Decimal("40")),
            make_deal("active", transport_by="receiver", tonnes_per_period=Decimal("40")),
        ]
        account = Account()
        tickets = iter(range(10_000))
        for action, deal_index, pick, role, tonnes, month, void in steps:
            note(f"{action} #{pick} by {role}: {tonnes} t, month {month}, void={void}")
            rows = list(Delivery.objects.order_by("pk"))
            delivery = rows[pick % len(rows)] if rows else None
            if action == "forward":
                delivery = rows[-1] if rows else None
                action, role = forward(delivery)
            if role == "counterpart":
                role = counterpart(delivery)
            user = users[role]
            before = snapshot()
            try:
                if action == "log":
                    logged = services.delivery_log(
                        user=user,
                        deal=deals[deal_index],
                        date=date(2026, month, 10),
                        tonnes=Decimal(tonnes),
                        ticket_number=f"T{next(tickets)}",
                    )
                    account.logged(logged)
                elif delivery is None:
                    continue
                elif action == "confirm":
                    services.delivery_confirm(user=user, delivery=delivery)
                    account.confirmed(delivery.pk)
                elif action == "dispute":
                    services.delivery_dispute(user=user, delivery=delivery, reason="wet")
                elif action == "release":
                    services.delivery_release(user=user, delivery=delivery)
                elif action == "reject":
                    services.delivery_reject(user=user, delivery=delivery, reason="no")
                elif action == "correct":
                    reversal, replacement = services.delivery_correct(
                        user=user,
                        delivery=delivery,
                        reason="re-read",
                        void=void,
                        tonnes=Decimal(tonnes),
                        date=date(2026, month, 20),
                    )
                    account.logged(reversal)
                    if replacement is not None:
                        account.logged(replacement)
                        account.replacement_of[replacement.pk] = reversal.pk
                    account.corrections[reversal.pk] = (
                        delivery.pk,
                        replacement.pk if replacement is not None else None,
                    )
            except (ValidationError, PermissionDenied):
                assert snapshot() == before, f"a refused {action} changed the deliveries"
            assert_figures(account)
        transaction.set_rollback(True)
