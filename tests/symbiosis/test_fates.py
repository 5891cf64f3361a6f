"""A supply's current fate and its evidence (symbiosis.fates): companies declare or
document it, only facilitators verify or downgrade it, and every decision stays on an
append-only record the company reads."""

from decimal import Decimal

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError

from symbiosis import fates, legal, services
from symbiosis.models import FateReview, Notification, SupplyListing
from tests import factories

LANDFILL, OPEN_DUMP, OTHER = "landfill", "open_dump", "other"
DECLARED, DOCUMENTED, VERIFIED = "declared", "documented", "verified"


# --- the rule (no database) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("fate", "evidence", "note", "before", "fields"),
    [
        (LANDFILL, DECLARED, "", None, set()),
        (LANDFILL, DOCUMENTED, "Landfill receipts 2026", None, set()),
        # Documented says what the document is.
        (LANDFILL, DOCUMENTED, "  ", None, {"fate_evidence_note"}),
        # A company never verifies, on a new listing or an old one.
        (LANDFILL, VERIFIED, "", None, {"fate_evidence"}),
        (LANDFILL, VERIFIED, "", (LANDFILL, DECLARED), {"fate_evidence"}),
        # A verified fate may be kept as it is ...
        (LANDFILL, VERIFIED, "", (LANDFILL, VERIFIED), set()),
        # ... but a changed fate is not the one a facilitator verified.
        (OPEN_DUMP, VERIFIED, "", (LANDFILL, VERIFIED), {"fate_evidence"}),
        (OPEN_DUMP, DECLARED, "", (LANDFILL, VERIFIED), set()),
    ],
)
def test_what_a_company_may_say_of_its_fate(fate, evidence, note, before, fields):
    errors = fates.fate_declaration_errors(fate=fate, evidence=evidence, note=note, before=before)
    assert set(errors) == fields


class _Material:
    def __init__(self, banned):
        self.landfill_banned = banned


@pytest.mark.parametrize(
    ("banned", "fate", "applies"),
    [
        (True, LANDFILL, True),
        (True, OPEN_DUMP, True),
        (True, "incineration", False),
        (True, "already_used", False),
        (False, LANDFILL, False),
    ],
)
def test_a_landfill_ban_applies_to_burying_and_dumping_only(banned, fate, applies):
    assert legal.landfill_ban_applies(_Material(banned), fate) is applies


# --- companies ----------------------------------------------------------------------------


@pytest.fixture
def site_a(company_a):
    return factories.SiteFactory(organization=company_a)


@pytest.fixture
def glass(db):
    return factories.MaterialFactory(
        slug="glass", category="minerals", landfill_banned=True, landfill_ban_basis="Code, 2021"
    )


def _create(user, site, material, **fields):
    return services.supply_create(
        user=user,
        organization=site.organization,
        site=site,
        material=material,
        quantity=Decimal("10"),
        **fields,
    )


def test_a_company_declares_or_documents_but_never_verifies(member_a, site_a, glass):
    supply = _create(
        member_a,
        site_a,
        glass,
        fate=LANDFILL,
        fate_evidence=DOCUMENTED,
        fate_evidence_note="Receipts",
        imported_origin=True,
    )
    supply.refresh_from_db()
    assert (supply.fate_evidence, supply.fate_evidence_note, supply.imported_origin) == (
        DOCUMENTED,
        "Receipts",
        True,
    )
    with pytest.raises(ValidationError) as refused:
        _create(member_a, site_a, glass, fate=LANDFILL, fate_evidence=VERIFIED)
    assert "fate_evidence" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        _create(member_a, site_a, glass, fate=LANDFILL, fate_evidence=DOCUMENTED)
    assert "fate_evidence_note" in refused.value.message_dict
    assert SupplyListing.objects.count() == 1


@pytest.fixture
def supply_a(company_a, site_a, glass):
    return factories.SupplyListingFactory(
        organization=company_a, site=site_a, material=glass, fate=LANDFILL
    )


def _review(user, supply, fate=LANDFILL, evidence=VERIFIED, reason="Saw the receipts"):
    return fates.supply_fate_review(
        user=user, supply=supply, fate=fate, fate_evidence=evidence, reason=reason
    )


# --- facilitators -----------------------------------------------------------------------


def test_a_facilitator_verifies_and_the_company_is_told(facilitator, supply_a, member_a, admin_a):
    review = _review(facilitator, supply_a)

    supply_a.refresh_from_db()
    assert (supply_a.fate, supply_a.fate_evidence) == (LANDFILL, VERIFIED)
    assert supply_a.fate_reviewed_by == facilitator and supply_a.fate_reviewed_at is not None
    assert (review.from_fate, review.to_fate, review.from_evidence, review.to_evidence) == (
        LANDFILL,
        LANDFILL,
        DECLARED,
        VERIFIED,
    )
    assert (
        review.by == facilitator and review.by_facilitator and review.reason == "Saw the receipts"
    )
    told = Notification.objects.filter(kind="fate_reviewed")
    assert {n.recipient for n in told} == {member_a, admin_a}
    assert told[0].params["reason"] == "Saw the receipts"
    # In every language of settings.LANGUAGES (kk from its catalogue).
    assert set(told[0].params["fate"]) == {code for code, _name in settings.LANGUAGES}
    assert (told[0].params["fate"]["en"], told[0].params["fate"]["ru"]) == ("Landfill", "Полигон")
    assert told[0].params["evidence"]["en"] == "Verified by a facilitator"


def test_a_facilitator_downgrades_a_fate(facilitator, supply_a):
    _review(facilitator, supply_a, fate="already_used", evidence=DECLARED, reason="Sold as cullet")
    supply_a.refresh_from_db()
    assert (supply_a.fate, supply_a.fate_evidence) == ("already_used", DECLARED)
    assert list(supply_a.fate_reviews.values_list("from_fate", "to_fate")) == [
        (LANDFILL, "already_used")
    ]


@pytest.mark.parametrize("who", ["member_a", "admin_a", "member_b", "analyst"])
def test_only_a_facilitator_reviews(request, who, supply_a):
    with pytest.raises(PermissionDenied):
        _review(request.getfixturevalue(who), supply_a)
    supply_a.refresh_from_db()
    assert supply_a.fate_evidence == DECLARED
    assert not FateReview.objects.exists()


@pytest.mark.parametrize(
    ("fate", "evidence", "reason", "field"),
    [
        (LANDFILL, VERIFIED, "  ", "reason"),
        (LANDFILL, VERIFIED, "x" * 2001, "reason"),
        ("swamp", VERIFIED, "ok", "fate"),
        (LANDFILL, "rumoured", "ok", "fate_evidence"),
    ],
)
def test_a_review_needs_a_known_fate_and_a_reason(
    facilitator, supply_a, fate, evidence, reason, field
):
    with pytest.raises(ValidationError) as refused:
        _review(facilitator, supply_a, fate=fate, evidence=evidence, reason=reason)
    assert field in refused.value.message_dict
    assert not FateReview.objects.exists()


def test_the_record_is_append_only(facilitator, supply_a):
    review = _review(facilitator, supply_a)
    review.reason = "rewritten"
    with pytest.raises(ValidationError):
        review.save()
    with pytest.raises(ValidationError):
        review.delete()
    with pytest.raises(ValidationError):
        FateReview.objects.filter(pk=review.pk).update(reason="rewritten")
    with pytest.raises(ValidationError):
        FateReview.objects.all().delete()
    assert FateReview.objects.get().reason == "Saw the receipts"


def test_a_reviewed_listing_is_closed_not_deleted(facilitator, member_a, supply_a):
    _review(facilitator, supply_a)
    with pytest.raises(ValidationError, match="close it"):
        services.supply_delete(user=member_a, supply=supply_a)
    assert SupplyListing.objects.filter(pk=supply_a.pk).exists()


def test_a_company_changing_a_verified_fate_loses_the_verification_on_record(
    facilitator, member_a, supply_a
):
    _review(facilitator, supply_a)
    # Other changes keep the verification and add nothing to the record.
    services.supply_update(user=member_a, supply=supply_a, quantity=Decimal("12"))
    assert supply_a.fate_evidence == VERIFIED and supply_a.fate_reviews.count() == 1
    # A changed fate cannot stay verified ...
    with pytest.raises(ValidationError) as refused:
        services.supply_update(user=member_a, supply=supply_a, fate=OPEN_DUMP)
    assert "fate_evidence" in refused.value.message_dict
    supply_a = SupplyListing.objects.get(pk=supply_a.pk)
    # ... the company states it anew, and the change joins the record.
    services.supply_update(user=member_a, supply=supply_a, fate=OPEN_DUMP, fate_evidence=DECLARED)
    latest = supply_a.fate_reviews.first()
    assert (latest.from_fate, latest.to_fate, latest.to_evidence) == (LANDFILL, OPEN_DUMP, DECLARED)
    assert latest.by == member_a and not latest.by_facilitator and latest.reason == ""


def test_changes_before_any_review_are_not_recorded(member_a, supply_a):
    services.supply_update(user=member_a, supply=supply_a, fate=OPEN_DUMP)
    assert not FateReview.objects.exists()


def test_the_record_is_the_companys_and_the_facilitators(
    facilitator, member_a, member_b, analyst, supply_a
):
    _review(facilitator, supply_a)
    assert len(fates.fate_review_list(user=member_a, supply=supply_a)) == 1
    assert len(fates.fate_review_list(user=facilitator, supply=supply_a)) == 1
    for outsider in (member_b, analyst):
        with pytest.raises(PermissionDenied):
            fates.fate_review_list(user=outsider, supply=supply_a)


def test_the_review_list_puts_landfill_and_the_least_proven_first(
    facilitator, member_a, company_a, site_a, glass
):
    def supply(fate, evidence, tonnes, **more):
        return factories.SupplyListingFactory(
            organization=company_a,
            site=site_a,
            material=glass,
            fate=fate,
            fate_evidence=evidence,
            quantity=Decimal(tonnes),
            tonnes=Decimal(tonnes),
            **more,
        )

    verified = supply(LANDFILL, VERIFIED, 900)
    small = supply(LANDFILL, DECLARED, 5)
    large = supply(OPEN_DUMP, DECLARED, 50)
    documented = supply(LANDFILL, DOCUMENTED, 500)
    other = supply(OTHER, DECLARED, 1000)
    supply(LANDFILL, DECLARED, 7, status="closed")

    listed = list(fates.supplies_for_fate_review(user=facilitator))
    assert listed == [large, small, documented, verified, other]
    assert list(fates.supplies_for_fate_review(user=facilitator, evidence=VERIFIED)) == [verified]
    assert list(fates.supplies_for_fate_review(user=facilitator, fate=OTHER)) == [other]
    with pytest.raises(PermissionDenied):
        fates.supplies_for_fate_review(user=member_a)
