"""Imported-origin clearances: facilitators record a decision per material on a page
(or the admin), with its basis and an optional document; every decision stays."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from symbiosis import clearances
from symbiosis.models import ImportedOriginClearance
from tests import factories
from tests.attachment_files import PDF, PDF_AUTHOR

pytestmark = pytest.mark.django_db

URL = "/listings/imported-origin/"


@pytest.fixture
def jute(db):
    material = factories.MaterialFactory(slug="jute-bags", name_en="Jute bags")
    factories.SupplyListingFactory(material=material, imported_origin=True)
    return material


def test_the_url_is_named():
    assert reverse("imported-origin-clearances") == URL


def test_only_facilitators_record_a_decision(jute, member_a, analyst):
    for user in (member_a, analyst):
        with pytest.raises(PermissionDenied):
            clearances.clearance_record(user=user, material=jute, outcome="cleared", basis="x")
    assert not ImportedOriginClearance.objects.exists()


def test_a_decision_needs_a_basis_and_a_known_outcome(jute, facilitator):
    with pytest.raises(ValidationError) as caught:
        clearances.clearance_record(user=facilitator, material=jute, outcome="maybe", basis=" ")

    assert set(caught.value.message_dict) == {"outcome", "basis"}


def test_decisions_are_history_never_edited(jute, facilitator):
    first = clearances.clearance_record(
        user=facilitator, material=jute, outcome="pending", basis="Asked the customs office"
    )
    clearances.clearance_record(
        user=facilitator, material=jute, outcome="cleared", basis="Customs letter 12/2026"
    )

    assert clearances.cleared_material_ids() == {jute.pk}
    assert [c.outcome for c in clearances.clearance_history(material_id=jute.pk)] == [
        "cleared",
        "pending",
    ]
    first.basis = "rewritten"
    with pytest.raises(ValidationError):
        first.save()
    with pytest.raises(ValidationError):
        first.delete()
    with pytest.raises(ValidationError):
        ImportedOriginClearance.objects.all().delete()


def test_the_page_is_for_facilitators(client, jute, member_a, analyst, facilitator):
    assert client.get(URL).status_code == 302  # to log in
    for user in (member_a, analyst):
        client.force_login(user)
        assert client.get(URL).status_code == 403
        assert client.post(URL, {}).status_code == 403
    client.force_login(facilitator)
    html = client.get(URL).content.decode()
    assert "Jute bags" in html and "No decision: left out of proposals" in html


def test_a_facilitator_records_a_decision_with_a_document(client, jute, facilitator):
    client.force_login(facilitator)

    response = client.post(
        URL,
        {
            "material": jute.pk,
            "outcome": "cleared",
            "basis": "Outcome of the dialogue with the Mazhilis committee",
            "document": SimpleUploadedFile("letter.pdf", PDF),
        },
    )

    assert response.status_code == 302
    clearance = ImportedOriginClearance.objects.get()
    assert (clearance.outcome, clearance.decided_by, clearance.basis_verified) == (
        "cleared",
        facilitator,
        False,
    )
    html = client.get(URL).content.decode()
    assert "not verified" in html
    download = client.get(reverse("imported-origin-clearance-document", args=[clearance.pk]))
    assert download.status_code == 200
    kept = b"".join(download.streaming_content)
    # The letter as stored: a PDF, without the metadata that named its author.
    assert kept.startswith(b"%PDF-") and PDF_AUTHOR.encode() not in kept


def test_bad_input_re_renders_the_form_with_errors(client, jute, facilitator):
    client.force_login(facilitator)

    response = client.post(
        URL,
        {
            "material": jute.pk,
            "outcome": "cleared",
            "basis": "A basis",
            "document": SimpleUploadedFile("run.pdf", b"MZ not a document"),
        },
    )

    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert not ImportedOriginClearance.objects.exists()
    empty = client.post(URL, {"material": jute.pk, "outcome": "cleared", "basis": ""})
    assert empty.status_code == 200 and "errorlist" in empty.content.decode()


def test_the_listing_form_says_an_imported_residue_waits_for_a_clearance(client, member_a):
    factories.SiteFactory(organization=member_a.memberships.get().organization)
    client.force_login(member_a)

    text = client.get("/listings/supply/new/").content.decode()

    assert 'name="imported_origin"' in text
    assert "does not propose it until a facilitator records that its material is cleared" in text
