"""Two clicks on one invitation link at the same moment: exactly one joins.

PostgreSQL only, like tests/marketplace/test_concurrency.py: SQLite has no row
locks (the file lock serialises whole transactions). The check of the link is
slowed down so that, without the row lock, both transactions would find it
unused and both would create the account (one failing on the unique e-mail:
a 500); with the lock the second waits, then finds the link used.
"""

import time

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from symbiosis import services
from symbiosis.models import Invitation, Membership, User
from tests.marketplace.test_concurrency import race

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "Steppe-eagle-2027"


def test_one_invitation_clicked_twice_at_once_joins_once(company_a, admin_a, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip(f"needs PostgreSQL row locks; this run uses {connection.vendor}")
    _invitation, token = services.invitation_send(
        user=admin_a,
        organization=company_a,
        email="colleague@example.kz",
        role="member",
        accept_url=lambda token: f"/accounts/invitation/{token}/",
    )
    check = services._ensure_invitation_usable

    def slow_check(invitation, now):
        time.sleep(0.5)  # both transactions are inside the check at once without the lock
        return check(invitation, now)

    monkeypatch.setattr(services, "_ensure_invitation_usable", slow_check)

    def accept():
        return services.invitation_accept(token=token, password=PASSWORD)

    results, errors = race([accept, accept])

    winners = [r for r in results if r is not None]
    losers = [e for e in errors if e is not None]
    assert len(winners) == 1, (results, errors)
    assert len(losers) == 1 and isinstance(losers[0], ValidationError), errors
    assert "used already" in str(losers[0])
    assert User.objects.filter(email="colleague@example.kz").count() == 1
    assert Membership.objects.filter(organization=company_a, user__email="colleague@example.kz")
    assert Invitation.objects.get().accepted_at is not None
