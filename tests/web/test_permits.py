"""The Permits pages (issue 21): a company adds and sees its own permits; a
facilitator reviews the pending ones. Then what a hazardous material's pages show:
both codes, and what the law asks of both sides."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from symbiosis import legal
from symbiosis.models import WastePermit
from tests import factories
from tests.attachment_files import PDF
from tests.web.conftest import HTMX

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _storage(attachment_storage):
    return attachment_storage


def _form(**changes):
    data = {
        "organization": "",
        "number": "KZ-9",
        "issuer": "Ministry of Ecology",
        "activity": "recovery",
        "codes": "13 02 05*",
        "valid_from": "2026-01-01",
        "valid_until": "2031-12-31",
        "document": SimpleUploadedFile("licence.pdf", PDF),
    }
    data.update(changes)
    return data


def test_a_member_adds_a_permit_and_sees_it_waiting(client_as, member_a, company_a):
    client = client_as(member_a)
    page = client.get("/permits/")
    assert page.status_code == 200 and b'enctype="multipart/form-data"' in page.content
    response = client.post("/permits/", _form(organization=company_a.pk))
    assert response.status_code == 302
    permit = WastePermit.objects.get()
    assert (permit.organization, permit.status, permit.codes) == (
        company_a,
        "pending",
        ["13 02 05*"],
    )
    html = client.get("/permits/").content.decode()
    assert "KZ-9" in html and "Waiting for a facilitator" in html


def test_bad_input_re_renders_the_form_with_errors(client_as, member_a, company_a):
    response = client_as(member_a).post(
        "/permits/",
        _form(
            organization=company_a.pk,
            codes="13 02",
            document=SimpleUploadedFile("licence.pdf", b"#!/bin/sh\nrm -rf /"),
        ),
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Not a waste code: 13 02" in html
    assert "program" in html
    assert 'value="KZ-9"' in html  # what was typed stays
    assert not WastePermit.objects.exists()


def test_a_company_sees_only_its_own_permits(client_as, member_a, company_b):
    theirs = factories.WastePermitFactory(organization=company_b, number="THEIRS-1")
    client = client_as(member_a)
    assert b"THEIRS-1" not in client.get("/permits/").content
    assert client.get(f"/permits/{theirs.pk}/document/").status_code == 404


@pytest.mark.parametrize(
    ("who", "page"), [("member_b", 403), ("analyst", 403), ("facilitator", 200)]
)
def test_who_reviews(client_as, request, company_a, who, page):
    factories.WastePermitFactory(organization=company_a, status="pending")
    client = client_as(request.getfixturevalue(who))
    assert client.get("/permits/review/").status_code == page


def test_anonymous_visitors_are_sent_to_log_in(client):
    for url in ("/permits/", "/permits/review/"):
        assert client.get(url).status_code == 302


def test_a_facilitator_opens_the_document_and_verifies(client_as, facilitator, company_a):
    permit = factories.WastePermitFactory(organization=company_a, status="pending")
    client = client_as(facilitator)
    html = client.get("/permits/review/").content.decode()
    assert f"/permits/{permit.pk}/document/" in html
    document = client.get(f"/permits/{permit.pk}/document/")
    assert document.status_code == 200 and b"".join(document.streaming_content).startswith(b"%PDF")
    prefix = f"permit-{permit.pk}"
    refused = client.post(f"/permits/{permit.pk}/review/", {f"{prefix}-decision": "reject"}, **HTMX)
    assert (
        refused.status_code == 200 and "Say why the permit is rejected" in refused.content.decode()
    )
    done = client.post(f"/permits/{permit.pk}/review/", {f"{prefix}-decision": "verify"})
    assert done.status_code == 302
    permit.refresh_from_db()
    assert (permit.status, permit.verified_by) == ("verified", facilitator)


def test_a_member_cannot_verify_its_own_permit(client_as, member_a, company_a):
    permit = factories.WastePermitFactory(organization=company_a, status="pending")
    response = client_as(member_a).post(
        f"/permits/{permit.pk}/review/", {f"permit-{permit.pk}-decision": "verify"}
    )
    assert response.status_code == 403
    permit.refresh_from_db()
    assert permit.status == "pending"


# --- a hazardous material's pages ---------------------------------------------------------------


@pytest.fixture
def oil_supply(company_b):
    material = factories.MaterialFactory(
        slug="oil-y",
        name_en="Waste engine oil",
        ewc_code="13 02 05*",
        kz_code="13 02 05*",
        kz_hazardous=True,
        hazardous=True,
    )
    return factories.SupplyListingFactory(organization=company_b, material=material)


def test_the_listing_says_what_the_law_asks_of_both_sides(client_as, member_a, oil_supply):
    html = client_as(member_a).get(f"/market/supply/{oil_supply.pk}/").content.decode()
    assert 'data-testid="hazardous-note"' in html
    for text in (legal.HAZARDOUS_GIVER_DUTY, legal.HAZARDOUS_RECEIVER_DUTY, legal.HAZARDOUS_BASIS):
        assert str(text) in html
    assert "not verified" in str(legal.HAZARDOUS_BASIS)
    assert "EWC 13 02 05*" in html and "KZ</abbr> 13 02 05*" in html


def test_market_rows_show_both_codes_and_search_by_the_national_one(
    client_as, member_a, oil_supply
):
    oil_supply.material.kz_code = "13 02 99*"  # a national code of its own, to tell them apart
    oil_supply.material.save()
    html = client_as(member_a).get("/market/", {"kind": "supply", "q": "13 02 99"}).content.decode()
    assert f'id="market-supply-{oil_supply.pk}"' in html
    assert "EWC 13 02 05*" in html and "13 02 99*" in html


def test_the_material_picker_finds_a_material_by_its_national_code(client_as, member_a, oil_supply):
    oil_supply.material.kz_code = "13 02 99*"
    oil_supply.material.save()
    response = client_as(member_a).get(
        "/listings/materials/", {"q": "130299", "field": "materials", "multiple": "1"}, **HTMX
    )
    assert f'value="{oil_supply.material.pk}"' in response.content.decode()


def test_a_plain_material_shows_no_note(client_as, member_a, company_b):
    supply = factories.SupplyListingFactory(organization=company_b)
    html = client_as(member_a).get(f"/market/supply/{supply.pk}/").content.decode()
    assert "hazardous-note" not in html


def test_the_page_under_the_workspace_is_linked_for_companies(client_as, member_a):
    assert b'href="/permits/"' in client_as(member_a).get("/").content
