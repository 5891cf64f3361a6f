"""Issue 19 through the API: a by-month proposal approved over /api/v1/ drafts a deal
on the proposal's months; the introduced companies read its kind and months on
/api/v1/introductions/ and the deal's dates on /api/v1/deals/, others nothing."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from marketplace.models import Deal
from tests.marketplace.conftest import (  # noqa: F401  (fixtures)
    company_c,
    make_by_month_proposal,
    market,
    member_c,
)

pytestmark = pytest.mark.django_db


def _client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_a_by_month_chain_through_the_api(
    make_by_month_proposal,  # noqa: F811
    facilitator,
    analyst,
    member_a,
    member_b,
    member_c,  # noqa: F811
):
    year = timezone.localdate().year + 1
    by_period = {f"{year}-{m:02d}": 100.0 for m in (8, 9, 10)}
    proposal = make_by_month_proposal(tonnes_by_period=by_period)
    for user in (analyst, member_a):
        refused = _client(user).post(
            f"/api/v1/proposals/{proposal.pk}/decide/", {"action": "approve"}, format="json"
        )
        assert refused.status_code == 403
    approved = _client(facilitator).post(
        f"/api/v1/proposals/{proposal.pk}/decide/", {"action": "approve"}, format="json"
    )
    assert approved.status_code == 200, approved.json()
    deal_id = approved.json()["deal"]
    assert Deal.objects.get(pk=deal_id).proposal_id == proposal.pk

    for user in (member_a, member_b):
        client = _client(user)
        listed = client.get("/api/v1/introductions/").json()["results"]
        mine = [p for p in listed if p["id"] == proposal.pk]
        assert len(mine) == 1
        assert mine[0]["kind"] == "chain"
        assert mine[0]["tonnes_by_period"] == by_period
        deal = client.get(f"/api/v1/deals/{deal_id}/").json()
        assert (deal["start_date"], deal["end_date"]) == (
            date(year, 8, 1).isoformat(),
            date(year, 10, 31).isoformat(),
        )
        assert (Decimal(deal["tonnes_per_period"]), deal["period"]) == (Decimal(100), "month")
        assert Decimal(deal["tonnes_total"]) == Decimal(300)

    other = _client(member_c)
    assert proposal.pk not in {
        p["id"] for p in other.get("/api/v1/introductions/").json()["results"]
    }
    assert other.get(f"/api/v1/deals/{deal_id}/").status_code == 404
