"""Proposals and introductions under /api/v1/: facilitators decide, the introduced
companies answer; others are refused (403) or find nothing (404)."""

import pytest
from rest_framework.test import APIClient

from marketplace.models import Deal
from optimizer.models import AuditEntry, MatchProposal
from tests import factories

pytestmark = pytest.mark.django_db


def _client(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {factories.api_token(user)}")
    return client


@pytest.fixture
def parties(market):
    supply, (near, far) = market
    return {
        "supplier": factories.MembershipFactory(organization=supply.organization).user,
        "receiver": factories.MembershipFactory(organization=near.organization).user,
        "far": factories.MembershipFactory(organization=far.organization).user,
    }


def _near(run, market):
    _supply, (near, _far) = market
    return run.proposals.get(demand=near)


def test_only_facilitators_read_and_decide_proposals(
    succeeded_run, market, parties, facilitator, analyst
):
    proposal = _near(succeeded_run, market)
    for user in (parties["supplier"], parties["receiver"], analyst):
        client = _client(user)
        assert client.get("/api/v1/proposals/").status_code == 403
        assert client.get(f"/api/v1/proposals/{proposal.pk}/").status_code == 403
        refused = client.post(
            f"/api/v1/proposals/{proposal.pk}/decide/", {"action": "approve"}, format="json"
        )
        assert refused.status_code == 403
    assert _client().get("/api/v1/proposals/").status_code in (401, 403)
    assert MatchProposal.objects.get(pk=proposal.pk).status == "proposed"

    client = _client(facilitator)
    listed = client.get(f"/api/v1/proposals/?run={succeeded_run.pk}").json()
    assert {p["id"] for p in listed["results"]} == set(
        succeeded_run.proposals.values_list("pk", flat=True)
    )
    bad = client.post(f"/api/v1/proposals/{proposal.pk}/decide/", {"action": "reject"})
    assert bad.status_code == 400 and "reason" in bad.json()
    approved = client.post(
        f"/api/v1/proposals/{proposal.pk}/decide/",
        {"action": "approve", "reason": "good fit"},
        format="json",
    )
    assert approved.status_code == 200
    assert approved.json()["deal"] == Deal.objects.get(proposal=proposal).pk
    assert AuditEntry.objects.filter(action="approved", reason="good fit").exists()


def test_companies_answer_only_their_introductions(
    succeeded_run, market, parties, facilitator, analyst
):
    proposal = _near(succeeded_run, market)
    _client(facilitator).post(
        f"/api/v1/proposals/{proposal.pk}/decide/", {"action": "approve"}, format="json"
    )
    url = f"/api/v1/introductions/{proposal.pk}"

    # The far demand's company, a facilitator (no organization) and analysts do not answer.
    assert _client(parties["far"]).get("/api/v1/introductions/").json()["results"] == []
    for user, status in ((parties["far"], 404), (facilitator, 404), (analyst, 403)):
        client = _client(user)
        assert client.get(f"{url}/").status_code == status
        assert client.post(f"{url}/answer/", {"answer": "accept"}, format="json").status_code == (
            status
        )
    proposal.refresh_from_db()
    assert (proposal.supplier_answer, proposal.receiver_answer) == ("", "")

    supplier = _client(parties["supplier"])
    shown = supplier.get(f"{url}/").json()
    assert shown["receiver_name"] == market[1][0].organization.name
    missing = supplier.post(f"{url}/answer/", {"answer": "decline"}, format="json")
    assert missing.status_code == 400 and "reason" in missing.json()
    assert supplier.post(f"{url}/answer/", {"answer": "maybe"}, format="json").status_code == 400
    answered = supplier.post(f"{url}/answer/", {"answer": "accept"}, format="json")
    assert answered.status_code == 200
    assert answered.json()["supplier_answer"] == "accepted"
    again = supplier.post(f"{url}/answer/", {"answer": "accept"}, format="json")
    assert again.status_code == 400

    receiver = _client(parties["receiver"])
    declined = receiver.post(f"{url}/answer/", {"answer": "decline", "reason": "no space"})
    assert declined.status_code == 200
    deal = Deal.objects.get(proposal=proposal)
    assert deal.state == "cancelled" and "no space" in deal.closed_reason
