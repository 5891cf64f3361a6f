"""The review pages' inputs at their edges: huge numbers and long reasons get a clear error.

Regression (issue 13, item 7): the bulk decision took its reason from the POST
as it came, so a 100,000-character reason was written to every proposal and
the audit log. The run form's numbers were already bounded (Django's
FloatField refuses inf and NaN, ``clean_run_parameters`` the ranges); the
cases stay here so that no later change lets one through.
"""

import pytest
from django.urls import reverse

from optimizer.models import AuditEntry, MatchProposal, OptimizationRun
from symbiosis.validators import REASON_MAX_CHARS
from tests.web.conftest import HTMX

pytestmark = pytest.mark.django_db

LONG = "ж" * 100_000


def test_a_bulk_decision_with_a_reason_over_the_cap_writes_nothing(
    client, facilitator, succeeded_run
):
    client.force_login(facilitator)
    ids = list(succeeded_run.proposals.values_list("pk", flat=True))
    assert ids
    url = reverse("optimizer:proposals_bulk", args=[succeeded_run.pk])
    response = client.post(url, {"ids": ids, "action": "reject", "reason": LONG})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert f"Ensure this value has at most {REASON_MAX_CHARS} characters" in page
    assert not MatchProposal.objects.exclude(status="proposed").exists()
    assert not AuditEntry.objects.exclude(action="run_started").exists()


def test_a_bulk_decision_with_a_reason_at_the_cap_is_taken(client, facilitator, succeeded_run):
    client.force_login(facilitator)
    ids = list(succeeded_run.proposals.values_list("pk", flat=True))
    url = reverse("optimizer:proposals_bulk", args=[succeeded_run.pk])
    client.post(url, {"ids": ids, "action": "reject", "reason": "ж" * REASON_MAX_CHARS})
    reasons = set(MatchProposal.objects.values_list("decision_reason", flat=True))
    assert reasons == {"ж" * REASON_MAX_CHARS}


def test_one_decision_with_a_reason_over_the_cap_writes_nothing(client, facilitator, succeeded_run):
    client.force_login(facilitator)
    proposal = succeeded_run.proposals.first()
    url = reverse("optimizer:proposal_decide", args=[proposal.pk])
    response = client.post(url, {"action": "reject", "reason": LONG}, **HTMX)
    assert response.status_code == 200
    assert f"at most {REASON_MAX_CHARS} characters" in response.content.decode()
    proposal.refresh_from_db()
    assert proposal.status == "proposed" and proposal.decision_reason == ""


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("landfill_weight_kg_co2e_per_t", "1e999999"),
        ("landfill_weight_kg_co2e_per_t", "1e308"),
        ("road_factor", "-1e999999"),
        ("max_km_cap", "1E+1000000"),
        ("min_lot_tonnes", "1e308"),
        ("time_limit_s", "1e-999999"),
        ("time_limit_s", "NaN"),
    ],
)
def test_the_run_form_refuses_huge_numbers_on_their_field(client, facilitator, field, value):
    client.force_login(facilitator)
    data = {
        "objective": "co2e",
        "landfill_weight_kg_co2e_per_t": "0",
        "road_factor": "1.3",
        "time_limit_s": "60",
        field: value,
    }
    response = client.post(reverse("optimizer:run_new"), data, **HTMX)
    assert response.status_code == 200
    assert f'id="id_{field}_error"' in response.content.decode()
    assert not OptimizationRun.objects.exists()
