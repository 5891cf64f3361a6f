"""A supply's current fate through the API: companies declare or document it, facilitators
verify or downgrade it with POST /supplies/{id}/fate-reviews/, and its organization and
facilitators read the record there."""

import pytest

from symbiosis.models import FateReview, SupplyListing
from tests import factories

pytestmark = pytest.mark.django_db

URL = "/api/v1/supplies/"


@pytest.fixture
def site_a(company_a):
    return factories.SiteFactory(organization=company_a)


@pytest.fixture
def glass(db):
    return factories.MaterialFactory(
        slug="glass", category="minerals", landfill_banned=True, landfill_ban_basis="Code (2021)"
    )


@pytest.fixture
def supply_a(company_a, site_a, glass):
    return factories.SupplyListingFactory(
        organization=company_a, site=site_a, material=glass, visibility="anonymous"
    )


def _body(site, material, **changes):
    data = {"site": site.pk, "material": material.slug, "quantity": "10", "fate": "landfill"}
    return {**data, **changes}


def test_a_company_states_its_evidence(client_as, member_a, site_a, glass):
    client = client_as(member_a)
    body = _body(
        site_a,
        glass,
        fate_evidence="documented",
        fate_evidence_note="Receipts",
        imported_origin=True,
    )
    response = client.post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    row = response.json()
    assert (row["fate_evidence"], row["fate_evidence_note"], row["imported_origin"]) == (
        "documented",
        "Receipts",
        True,
    )
    assert row["fate_reviewed_at"] is None
    # Left out: declared.
    assert client.post(URL, _body(site_a, glass), format="json").json()["fate_evidence"] == (
        "declared"
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"fate_evidence": "verified"}, "fate_evidence"),
        ({"fate_evidence": "documented"}, "fate_evidence_note"),
        ({"fate_evidence": "rumoured"}, "fate_evidence"),
        ({"fate": "stored_on_farm", "imported_origin": "perhaps"}, "imported_origin"),
    ],
)
def test_bad_evidence_is_a_field_error(client_as, member_a, site_a, glass, changes, field):
    response = client_as(member_a).post(URL, _body(site_a, glass, **changes), format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not SupplyListing.objects.exists()


def _review_url(supply):
    return f"{URL}{supply.pk}/fate-reviews/"


def test_a_facilitator_verifies_and_the_company_reads_the_record(
    client_as, facilitator, member_a, supply_a
):
    decision = {"fate": "landfill", "fate_evidence": "verified", "reason": "Receipts seen"}
    response = client_as(facilitator).post(_review_url(supply_a), decision, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["to_evidence"] == "verified"
    assert response.json()["by_facilitator"] is True
    record = client_as(member_a).get(_review_url(supply_a))
    assert record.status_code == 200
    assert [row["reason"] for row in record.json()] == ["Receipts seen"]
    listing = client_as(member_a).get(f"{URL}{supply_a.pk}/").json()
    assert listing["fate_evidence"] == "verified" and listing["fate_reviewed_at"]


def test_a_decision_needs_a_reason(client_as, facilitator, supply_a):
    decision = {"fate": "landfill", "fate_evidence": "verified"}
    response = client_as(facilitator).post(_review_url(supply_a), decision, format="json")
    assert response.status_code == 400 and "reason" in response.json()
    assert not FateReview.objects.exists()


@pytest.mark.parametrize(("who", "status"), [("member_a", 403), ("member_b", 403)])
def test_companies_do_not_review(client_as, request, supply_a, who, status):
    decision = {"fate": "landfill", "fate_evidence": "verified", "reason": "Trust me"}
    client = client_as(request.getfixturevalue(who))
    assert client.post(_review_url(supply_a), decision, format="json").status_code == status
    supply_a.refresh_from_db()
    assert supply_a.fate_evidence == "declared" and not FateReview.objects.exists()


def test_another_company_sees_neither_the_fate_nor_its_record(client_as, member_b, supply_a):
    client = client_as(member_b)
    # The anonymous listing: what, how much, where roughly, and its legal restriction.
    shown = client.get(f"{URL}{supply_a.pk}/").json()
    assert "fate" not in shown and "fate_evidence" not in shown
    assert shown["imported_origin"] is False
    assert client.get(_review_url(supply_a)).status_code == 403


def test_materials_say_whether_landfilling_them_is_banned(client_as, member_a, glass):
    row = client_as(member_a).get("/api/v1/materials/glass/").json()
    assert (row["landfill_banned"], row["landfill_ban_basis"]) == (True, "Code (2021)")
    found = client_as(member_a).get("/api/v1/materials/", {"landfill_banned": "true"}).json()
    assert [m["slug"] for m in found["results"]] == ["glass"]
