"""Waste permits in the API (issue 21): a company adds and reads its own, a
facilitator lists the pending ones and verifies or rejects them; and the national
waste code beside the EWC code, searchable by either."""

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from symbiosis import permits
from tests import factories
from tests.attachment_files import PDF, PDF_AUTHOR

pytestmark = pytest.mark.django_db

URL = "/api/v1/permits/"


def _body(**changes):
    body = {
        "number": "KZ-77",
        "issuer": "Ministry of Ecology",
        "activity": "recovery",
        "codes": "13 02 05*, 13 02 08*",
        "valid_from": "2026-01-01",
        "valid_until": "2030-12-31",
        "document": SimpleUploadedFile("licence.pdf", PDF),
    }
    body.update(changes)
    return body


@pytest.fixture(autouse=True)
def _storage(attachment_storage):
    return attachment_storage


def test_a_member_adds_a_permit_and_reads_it(client_as, member_a, company_a):
    client = client_as(member_a)
    created = client.post(URL, _body(), format="multipart")
    assert created.status_code == 201, created.content
    row = created.json()
    assert row["status"] == "pending" and row["codes"] == ["13 02 05*", "13 02 08*"]
    assert row["organization"] == company_a.pk
    assert client.get(f"{URL}{row['id']}/").json()["number"] == "KZ-77"
    assert [p["id"] for p in client.get(URL).json()] == [row["id"]]
    # The document downloads from the guarded page address.
    document = client.get(row["document_url"])
    kept = b"".join(document.streaming_content)
    assert (
        document.status_code == 200
        and kept.startswith(b"%PDF-")
        and PDF_AUTHOR.encode() not in kept
    )


def test_bad_input_is_a_400_with_field_errors(client_as, member_a):
    client = client_as(member_a)
    bad = client.post(
        URL,
        _body(codes="oil", document=SimpleUploadedFile("x.pdf", b"MZ" + bytes(40))),
        format="multipart",
    )
    assert bad.status_code == 400
    assert {"codes", "document"} <= set(bad.json())
    missing = client.post(URL, {"number": "1"}, format="multipart")
    assert missing.status_code == 400 and "document" in missing.json()


def test_who_sees_and_who_reviews(client_as, member_a, member_b, company_a, facilitator, analyst):
    permit = factories.WastePermitFactory(organization=company_a, status="pending")
    detail, review = f"{URL}{permit.pk}/", f"{URL}{permit.pk}/review/"
    assert client_as(member_b).get(detail).status_code == 404
    assert client_as(member_b).get(URL).json() == []
    assert client_as(analyst).get(URL).status_code == 403
    assert client_as().get(URL).status_code in (401, 403)
    assert client_as(member_a).post(review, {"verified": True}, format="json").status_code == 403
    assert client_as(facilitator).get(URL, {"status": "pending"}).json()[0]["id"] == permit.pk
    no_reason = client_as(facilitator).post(review, {"verified": False}, format="json")
    assert no_reason.status_code == 400 and "reason" in no_reason.json()
    verified = client_as(facilitator).post(review, {"verified": True}, format="json")
    assert verified.status_code == 200 and verified.json()["status"] == "verified"
    assert permits.may_receive(organization_id=company_a.pk, code="13 02 05*", day=date(2026, 6, 1))


def test_analysts_and_facilitators_without_membership_add_nothing(client_as, facilitator, analyst):
    assert client_as(facilitator).post(URL, _body(), format="multipart").status_code == 403
    assert client_as(analyst).post(URL, _body(), format="multipart").status_code == 403


# --- the national code beside the EWC code -----------------------------------------------------


@pytest.fixture
def oil(company_b):
    # A national code that differs from the EWC code, so a match by it is a match by it.
    material = factories.MaterialFactory(
        slug="oil-x",
        name_en="Waste oil",
        ewc_code="13 02 05*",
        kz_code="13 02 99*",
        kz_hazardous=True,
    )
    return factories.SupplyListingFactory(organization=company_b, material=material)


@pytest.mark.parametrize("query", ["13 02 99", "130299", "13 02 99*", "13 02 05*"])
def test_the_listings_api_finds_a_supply_by_either_code(client_as, member_a, oil, query):
    found = client_as(member_a).get("/api/v1/supplies/", {"q": query}).json()["results"]
    assert [row["id"] for row in found] == [oil.pk]
    assert (found[0]["kz_code"], found[0]["kz_hazardous"]) == ("13 02 99*", True)


def test_the_materials_api_shows_and_searches_the_national_code(client_as, member_a, oil):
    found = client_as(member_a).get("/api/v1/materials/", {"search": "13 02 99"}).json()
    rows = found["results"] if isinstance(found, dict) else found
    assert [row["slug"] for row in rows] == ["oil-x"]
    assert rows[0]["kz_code"] == "13 02 99*"
