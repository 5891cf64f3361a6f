"""Two acceptances race for the last tonnes of a listing: exactly one wins.

Runs on PostgreSQL only: SQLite has no row locks (``select_for_update`` is a
no-op there and the file lock serialises whole transactions instead), so
the race this test provokes cannot happen the same way. CI (.ci/run) uses
PostgreSQL.

The over-commitment check is slowed down so that, without the row lock on
the supply listing, both transactions would read "nothing committed yet"
and both would win; with the lock, the second waits for the first to commit
and then sees its tonnes.
"""

import threading
import time
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from marketplace import services
from marketplace.models import Deal
from marketplace.services import deals

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip(
            f"needs PostgreSQL row locks; this run uses {connection.vendor} "
            "(set DATABASE_URL=postgres://... as .ci/run does)"
        )


def race(calls):
    """Run the callables at the same moment in threads; return (results, errors)."""
    barrier = threading.Barrier(len(calls))
    results, errors = [None] * len(calls), [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 - reported to the test
            errors[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, errors


def test_two_acceptances_for_the_last_tonnes_one_wins(
    postgresql_only, make_deal, market, member_a, member_b, member_c, monkeypatch
):
    # 100 t/month: each deal takes 60, so only one of them fits.
    first = make_deal("offered", tonnes_per_period=Decimal("60"))
    second = make_deal(
        "offered",
        tonnes_per_period=Decimal("60"),
        receiver=market.company_c,
        receiver_site=market.site_c,
        demand=None,
    )
    for deal in (first, second):
        services.deal_accept(user=member_a, deal=deal, terms_version=1)

    check = services.overcommitment_error

    def slow_check(supply, deal, **kwargs):
        time.sleep(0.5)  # both transactions are inside the check at once without locks
        return check(supply, deal, **kwargs)

    # Where deal_accept looks it up (the package's name is only a re-export).
    monkeypatch.setattr(deals, "overcommitment_error", slow_check)

    results, errors = race(
        [
            lambda: services.deal_accept(user=member_b, deal=first, terms_version=1),
            lambda: services.deal_accept(user=member_c, deal=second, terms_version=1),
        ]
    )

    winners = [r for r in results if r is not None]
    losers = [e for e in errors if e is not None]
    assert len(winners) == 1, (results, errors)
    assert len(losers) == 1 and isinstance(losers[0], ValidationError), errors
    # The receivers accept last: they learn only that the listing cannot take it (8b).
    assert "cannot take this much now" in str(losers[0])
    states = sorted(
        Deal.objects.filter(pk__in=[first.pk, second.pk]).values_list("state", flat=True)
    )
    assert states == ["accepted", "offered"]
    loser = Deal.objects.get(state="offered", pk__in=[first.pk, second.pk])
    assert loser.supplier_accepted_at is not None and loser.receiver_accepted_at is None


def test_both_parties_accepting_at_once_accept_once(postgresql_only, make_deal, member_a, member_b):
    deal = make_deal("offered", tonnes_per_period=Decimal("60"))

    results, errors = race(
        [
            lambda: services.deal_accept(user=member_a, deal=deal, terms_version=1),
            lambda: services.deal_accept(user=member_b, deal=deal, terms_version=1),
        ]
    )

    assert errors == [None, None]
    deal.refresh_from_db()
    assert deal.state == "accepted"
    assert list(deal.events.values_list("to_state", flat=True)) == ["offered", "accepted"]


def test_new_terms_and_an_offer_race_for_the_last_tonnes_one_wins(
    postgresql_only, make_deal, market, member_a, member_b, member_c, monkeypatch
):
    """Accepting an active deal's new terms checks the listing under the same lock as
    accepting an offer: of 100 t a month, a running 20 t raised to 60 t and a new
    offer of 60 t cannot both fit."""
    running = make_deal("active", tonnes_per_period=Decimal("20"))
    offered = make_deal(
        "offered",
        tonnes_per_period=Decimal("60"),
        receiver=market.company_c,
        receiver_site=market.site_c,
        demand=None,
    )
    services.deal_update_terms(user=member_b, deal=running, tonnes_per_period=Decimal("60"))
    services.deal_accept(user=member_a, deal=offered, terms_version=1)

    check = services.overcommitment_error

    def slow_check(supply, deal, **kwargs):
        time.sleep(0.5)
        return check(supply, deal, **kwargs)

    monkeypatch.setattr(deals, "overcommitment_error", slow_check)

    results, errors = race(
        [
            lambda: services.deal_accept(user=member_a, deal=running, terms_version=2),
            lambda: services.deal_accept(user=member_c, deal=offered, terms_version=1),
        ]
    )

    winners = [r for r in results if r is not None]
    losers = [e for e in errors if e is not None]
    assert len(winners) == 1, (results, errors)
    assert len(losers) == 1 and isinstance(losers[0], ValidationError), errors
    running.refresh_from_db()
    offered.refresh_from_db()
    assert (running.tonnes_per_period == 60) != (offered.state == "accepted")
