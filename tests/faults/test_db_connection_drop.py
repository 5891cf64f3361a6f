"""The database connection dies in the middle of a deal transition (PostgreSQL only).

The hook: a second connection holds ``FOR UPDATE`` on the accepting user's
row. Django makes foreign keys ``DEFERRABLE INITIALLY DEFERRED`` on
PostgreSQL, so the transition does all its writes (deal state, acceptance
time, DealEvent, notifications) and then waits at COMMIT, where the foreign
key check of the new DealEvent needs a share lock on that user row. While it
waits, its backend is terminated with ``pg_terminate_backend``: the commit
never happens. Nothing here depends on timing: the test waits until
PostgreSQL itself reports the backend as blocked by the lock.

Expected end state: the transition raises a database error (no half-done
deal), everything it wrote is rolled back, and a retry on a new connection
succeeds exactly once.
"""

import threading
import time
from decimal import Decimal

import psycopg
import pytest
from django.db import DatabaseError, connection, connections
from django.db.models import Sum
from rest_framework.test import APIClient

from marketplace import services
from marketplace.models import Deal, DealEvent
from symbiosis.models import User

pytestmark = pytest.mark.django_db(transaction=True)


def _blocker_holding_user_row(user) -> psycopg.Connection:
    s = connection.settings_dict
    blocker = psycopg.connect(
        host=s["HOST"] or "127.0.0.1",
        port=s["PORT"] or 5432,
        user=s["USER"],
        password=s["PASSWORD"],
        dbname=s["NAME"],
    )
    blocker.execute(f"SELECT 1 FROM {User._meta.db_table} WHERE id = %s FOR UPDATE", [user.pk])
    return blocker


def _in_thread(call):
    """Run ``call`` on a thread, so on a database connection of its own; return (thread, box)."""
    box = {}

    def run():
        try:
            box["result"] = call()
        except Exception as exc:  # noqa: BLE001 - handed to the test
            box["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, box


def _wait_until_blocked(thread, timeout_s: float = 30) -> tuple[int, str]:
    """The pid and statement of the backend of this test database that waits on a lock."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and thread.is_alive():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid, query FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND cardinality(pg_blocking_pids(pid)) > 0"
            )
            blocked = cursor.fetchall()
        if blocked:
            assert len(blocked) == 1, blocked
            return blocked[0]
        time.sleep(0.02)
    raise AssertionError("the transition never waited on the lock")


def _terminate_when_blocked(thread, blocker) -> None:
    try:
        pid, statement = _wait_until_blocked(thread)
        assert statement == "COMMIT", "all of the transition's writes are done by now"
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            assert cursor.fetchone()[0] is True
        thread.join(timeout=30)
    finally:
        blocker.rollback()
        blocker.close()
    assert not thread.is_alive()


def _state_of(deal: Deal, supply) -> dict:
    deal = Deal.objects.get(pk=deal.pk)
    committed = Deal.objects.filter(
        supply=supply, state__in=services.committing_states(supply.recurrence)
    ).aggregate(t=Sum("tonnes_total"))["t"] or Decimal(0)
    return {
        "state": deal.state,
        "supplier_accepted_at": deal.supplier_accepted_at,
        "receiver_accepted_at": deal.receiver_accepted_at,
        "events": list(DealEvent.objects.filter(deal=deal).values_list("pk", "action")),
        "committed_tonnes": committed,
    }


def test_connection_killed_at_commit_rolls_back_and_retry_succeeds_once(
    postgresql_only, make_deal, market, member_a, member_b
):
    deal = make_deal("offered", tonnes_per_period=Decimal("60"))
    services.deal_accept(user=member_a, deal=deal, terms_version=1)
    before = _state_of(deal, market.supply)
    assert before["state"] == "offered" and before["committed_tonnes"] == 0

    blocker = _blocker_holding_user_row(member_b)
    thread, box = _in_thread(
        lambda: services.deal_accept(user=member_b, deal=deal, terms_version=1)
    )
    _terminate_when_blocked(thread, blocker)

    assert "result" not in box, "the transition must not report success"
    assert isinstance(box["error"], DatabaseError), box
    assert _state_of(deal, market.supply) == before

    # The retry, on a fresh connection, goes through once: one more event, not two.
    thread, box = _in_thread(
        lambda: services.deal_accept(user=member_b, deal=deal, terms_version=1)
    )
    thread.join(timeout=30)
    assert box.get("result") is not None, box
    after = _state_of(deal, market.supply)
    assert after["state"] == "accepted"
    assert after["receiver_accepted_at"] is not None
    assert after["supplier_accepted_at"] == before["supplier_accepted_at"]
    assert after["events"][: len(before["events"])] == before["events"]
    assert [action for _pk, action in after["events"][len(before["events"]) :]] == ["accept"]
    assert after["committed_tonnes"] == deal.tonnes_total


def test_connection_killed_during_an_api_transition_answers_503_then_retry_works(
    postgresql_only, make_deal, market, member_a, member_b
):
    deal = make_deal("offered", tonnes_per_period=Decimal("60"))
    services.deal_accept(user=member_a, deal=deal, terms_version=1)
    before = _state_of(deal, market.supply)
    client = APIClient()
    client.force_login(member_b)
    url = f"/api/v1/deals/{deal.pk}/accept/"

    blocker = _blocker_holding_user_row(member_b)
    thread, box = _in_thread(lambda: client.post(url, {"terms_version": 1}, format="json"))
    _terminate_when_blocked(thread, blocker)

    response = box["result"]
    assert response.status_code == 503, response.content
    assert response["Retry-After"] and "Try again" in response.json()["detail"]
    assert _state_of(deal, market.supply) == before

    # The same request again: the next request reconnects and accepts once.
    thread, box = _in_thread(lambda: client.post(url, {"terms_version": 1}, format="json"))
    thread.join(timeout=30)
    assert box["result"].status_code == 200, box
    assert box["result"].json()["state"] == "accepted"
    after = _state_of(deal, market.supply)
    assert [a for _pk, a in after["events"][len(before["events"]) :]] == ["accept"]
