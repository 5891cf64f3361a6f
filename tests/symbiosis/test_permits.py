"""Waste permits: the one rule (pure), the reads that ask it, the writes, and the
national codes the rule reads (issue 21)."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from symbiosis import permits
from symbiosis.models import Material, WastePermit
from symbiosis.taxonomy import load_taxonomy, national_codes
from tests import factories
from tests.attachment_files import PDF, PDF_AUTHOR

OIL = "13 02 05*"
RULE = {
    "status": "verified",
    "activity": "recovery",
    "codes": [OIL, "13 02 08*"],
    "valid_from": date(2026, 1, 1),
    "valid_until": date(2026, 12, 31),
}


# --- the rule, pure -------------------------------------------------------------------------


def test_a_verified_permit_covering_the_code_on_the_day_counts():
    assert permits.permit_covers(**RULE, code=OIL, day=date(2026, 6, 1))
    # Spelled without spaces or "*", it is the same code.
    assert permits.permit_covers(**RULE, code="130205", day=date(2026, 6, 1))


@pytest.mark.parametrize(
    ("change", "code", "day"),
    [
        ({"status": "pending"}, OIL, date(2026, 6, 1)),
        ({"status": "rejected"}, OIL, date(2026, 6, 1)),
        ({"activity": "transport"}, OIL, date(2026, 6, 1)),
        ({}, "13 01 10*", date(2026, 6, 1)),
        ({}, OIL, date(2025, 12, 31)),
        ({}, OIL, date(2027, 1, 1)),
    ],
    ids=["pending", "rejected", "transport-only", "other-code", "before", "after"],
)
def test_the_permit_does_not_count(change, code, day):
    assert not permits.permit_covers(**{**RULE, **change}, code=code, day=day)


def test_a_permit_without_an_end_date_stays_valid():
    assert permits.permit_covers(**{**RULE, "valid_until": None}, code=OIL, day=date(2040, 1, 1))
    # Its last day counts.
    assert permits.permit_covers(**RULE, code=OIL, day=date(2026, 12, 31))


def test_codes_are_read_in_the_classifiers_spelling():
    assert permits.parse_codes("130205*; 13 02 08*\n13 02 05*") == [OIL, "13 02 08*"]
    with pytest.raises(ValidationError) as error:
        permits.parse_codes("13 02 05*, oil")
    assert "oil" in str(error.value.message_dict["codes"])
    with pytest.raises(ValidationError):
        permits.parse_codes(" , ")


# --- reads ---------------------------------------------------------------------------------


@pytest.fixture
def receiver(db, attachment_storage):
    return factories.OrganizationFactory(name="Re-refinery")


def test_may_receive_asks_the_rule_of_the_organizations_permits(receiver):
    day = date(2026, 6, 1)
    assert not permits.may_receive(organization_id=receiver.pk, code=OIL, day=day)
    factories.WastePermitFactory(organization=receiver, status="pending")
    assert not permits.may_receive(organization_id=receiver.pk, code=OIL, day=day)
    permit = factories.WastePermitFactory(organization=receiver, valid_until=date(2026, 12, 31))
    assert permits.valid_permit(organization_id=receiver.pk, code=OIL, day=day) == permit
    other = factories.OrganizationFactory()
    assert not permits.may_receive(organization_id=other.pk, code=OIL, day=day)
    # The batch read (the optimizer's snapshot) answers alike.
    found = permits.permitted_codes(
        organization_ids=[receiver.pk, other.pk], codes=[OIL, "16 06 01*"], day=day
    )
    assert found == {receiver.pk: [OIL]}
    assert (
        permits.permitted_codes(organization_ids=[receiver.pk], codes=[OIL], day=date(2027, 1, 2))
        == {}
    )


def test_expired_permit_names_the_one_that_ended(receiver):
    factories.WastePermitFactory(organization=receiver, valid_until=date(2026, 3, 31))
    ended = permits.expired_permit(organization_id=receiver.pk, code=OIL, day=date(2026, 4, 1))
    assert ended.valid_until == date(2026, 3, 31)
    assert (
        permits.expired_permit(organization_id=receiver.pk, code=OIL, day=date(2026, 3, 1)) is None
    )


def test_permits_visible_to_members_and_facilitators_only(receiver, facilitator, analyst):
    permit = factories.WastePermitFactory(organization=receiver)
    member = factories.MembershipFactory(organization=receiver).user
    outsider = factories.MembershipFactory().user
    assert list(permits.permits_visible(user=member)) == [permit]
    assert list(permits.permits_visible(user=facilitator)) == [permit]
    assert not permits.permits_visible(user=outsider).exists()
    assert not permits.permits_visible(user=analyst).exists()


# --- writes --------------------------------------------------------------------------------


def _add(user, organization, **changes):
    values = {
        "user": user,
        "organization": organization,
        "number": "KZ-1",
        "issuer": "Ministry of Ecology",
        "activity": "recovery",
        "codes": "13 02 05*",
        "valid_from": date(2026, 1, 1),
        "valid_until": date(2030, 12, 31),
        "upload": SimpleUploadedFile("licence.pdf", PDF),
    }
    values.update(changes)
    return permits.permit_add(**values)


def test_a_member_adds_a_permit_that_waits(receiver, attachment_storage):
    member = factories.MembershipFactory(organization=receiver, role="member").user
    permit = _add(member, receiver)
    assert permit.status == "pending" and permit.codes == [OIL]
    assert permit.document_content_type == "application/pdf"
    kept = (attachment_storage / permit.document.name).read_bytes()
    # Stored as a listing's documents are: a PDF without the metadata naming its author.
    assert kept.startswith(b"%PDF-") and PDF_AUTHOR.encode() not in kept
    assert not permits.may_receive(organization_id=receiver.pk, code=OIL, day=date(2026, 6, 1))


def test_an_outsider_cannot_add_a_permit_for_another_organization(receiver, facilitator):
    outsider = factories.MembershipFactory().user
    for user in (outsider, facilitator):
        with pytest.raises(PermissionDenied):
            _add(user, receiver)
    assert not WastePermit.objects.exists()


def test_bad_input_is_a_field_error_and_stores_nothing(receiver, attachment_storage):
    member = factories.MembershipFactory(organization=receiver).user
    with pytest.raises(ValidationError) as error:
        _add(
            member,
            receiver,
            codes="oil",
            valid_until=date(2025, 1, 1),
            upload=SimpleUploadedFile("licence.pdf", b"MZ" + bytes(64)),
        )
    assert set(error.value.message_dict) == {"codes", "valid_until", "document"}
    assert "program" in error.value.message_dict["document"][0]
    assert not WastePermit.objects.exists()
    assert not attachment_storage.exists() or not any(attachment_storage.rglob("*.*"))


def test_a_facilitator_verifies_or_rejects_with_a_reason(receiver, facilitator):
    member = factories.MembershipFactory(organization=receiver).user
    permit = _add(member, receiver)
    with pytest.raises(PermissionDenied):
        permits.permit_review(user=member, permit=permit, verified=True)
    with pytest.raises(ValidationError):
        permits.permit_review(user=facilitator, permit=permit, verified=False, reason=" ")
    permit = permits.permit_review(user=facilitator, permit=permit, verified=True)
    assert (permit.status, permit.verified_by) == ("verified", facilitator)
    assert permits.may_receive(organization_id=receiver.pk, code=OIL, day=date(2026, 6, 1))
    permit = permits.permit_review(
        user=facilitator, permit=permit, verified=False, reason="The scan is of another company"
    )
    assert permit.status == "rejected" and permit.reason.startswith("The scan")
    assert not permits.may_receive(organization_id=receiver.pk, code=OIL, day=date(2026, 6, 1))


# --- the national codes the rule reads -------------------------------------------------------


def test_every_material_has_its_national_code_and_a_source():
    codes = national_codes()
    assert codes["waste-engine-oil"]["kz_code"] == OIL
    assert codes["waste-engine-oil"]["kz_hazardous"] is True
    assert all("not verified" in row["kz_code_source"] for row in codes.values())
    # Mirror entries say why the non-hazardous code was chosen.
    assert "Mirror entry" in codes["asphalt"]["kz_hazard_basis"]


@pytest.mark.django_db
def test_the_taxonomy_loads_the_national_codes():
    load_taxonomy()
    oil = Material.objects.get(slug="waste-engine-oil")
    assert (oil.kz_code, oil.kz_hazardous, oil.needs_permit) == (OIL, True, True)
    grain = Material.objects.get(slug="brewery-spent-grain")
    assert (grain.kz_code, grain.needs_permit) == ("02 07 04", False)
