"""A supply's current fate and the evidence for it: the baseline of every tonne it moves.

- A company states its listing's fate as "declared" or "documented" (then saying what
  the document is: landfill receipts, a contract); only a facilitator verifies
  (``fate_declaration_errors``, a pure rule the supply services apply to the pages,
  the API and the import alike).
- A facilitator verifies or downgrades a fate (``supply_fate_review``): the listing's
  fate and evidence change, the decision and its reason go to the append-only
  ``FateReview`` record, and the company's members are told.
- A company that changes a fate a facilitator has reviewed may do so, but the change
  is recorded beside the reviews (``fate_change_record``), so the record shows every
  baseline from the first review on.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from symbiosis import notifications, roles
from symbiosis.models import FateReview, SupplyListing, User
from symbiosis.models.listings import Fate, FateEvidence, Status
from symbiosis.validators import REASON_MAX_CHARS
from symbiosis.visibility import as_viewer

# What a company may say of its own fate; "verified" is a facilitator's word.
COMPANY_EVIDENCE = (FateEvidence.DECLARED, FateEvidence.DOCUMENTED)
# Fates whose tonnes may count as kept out of landfill: the ones worth checking first.
LANDFILL_FATES = (Fate.LANDFILL, Fate.OPEN_DUMP)


# --- the rule (pure) -------------------------------------------------------------------


def fate_declaration_errors(
    *, fate: str, evidence: str, note: str, before: tuple[str, str] | None
) -> dict:
    """Field errors of a company's fate and evidence; ``before`` is the stored
    (fate, evidence) of the listing, None for a new one. Empty when it may be saved."""
    errors: dict[str, list] = {}
    if evidence == FateEvidence.VERIFIED:
        if before is None or before[1] != FateEvidence.VERIFIED:
            errors["fate_evidence"] = [
                _("Only a facilitator verifies a fate: choose declared or documented.")
            ]
        elif before[0] != fate:
            errors["fate_evidence"] = [
                _(
                    "A facilitator verified the earlier fate, not this one: choose declared "
                    "or documented."
                )
            ]
    if evidence == FateEvidence.DOCUMENTED and not (note or "").strip():
        errors["fate_evidence_note"] = [
            _("Say what the document is, e.g. landfill receipts for 2026 or a haulage contract.")
        ]
    return errors


# --- writes ------------------------------------------------------------------------------


def fate_change_record(*, user, supply: SupplyListing, before: dict) -> FateReview | None:
    """Record a company's change of a fate a facilitator has reviewed (``before``: the
    stored fate, fate_evidence and fate_reviewed_at); the caller saves the listing in
    the same transaction. Nothing for a listing no facilitator has reviewed yet."""
    if before["fate_reviewed_at"] is None:
        return None
    if (supply.fate, supply.fate_evidence) == (before["fate"], before["fate_evidence"]):
        return None
    return FateReview.objects.create(
        listing=supply,
        from_fate=before["fate"],
        to_fate=supply.fate,
        from_evidence=before["fate_evidence"],
        to_evidence=supply.fate_evidence,
        by=user,
        by_facilitator=False,
    )


def _labels(choices, value) -> dict[str, str]:
    """A choice's label in every language, for a notification's params."""
    labels = {}
    for language in notifications.LANGUAGE_CODES:
        with translation.override(language):
            labels[language] = str(dict(choices.choices)[value])
    return labels


@transaction.atomic
def supply_fate_review(
    *, user, supply: SupplyListing, fate: str, fate_evidence: str, reason: str
) -> FateReview:
    """A facilitator verifies or downgrades ``supply``'s current fate, with a reason.

    The listing takes the new fate and evidence; the decision is recorded for good and
    the listing's organization is told. A fate can be verified unchanged (evidence
    "verified"), corrected (another fate) or downgraded (declared or documented).
    """
    if not roles.is_facilitator(user):
        raise PermissionDenied(_("Only a facilitator reviews a listing's fate."))
    reason = (reason or "").strip()
    errors: dict[str, list] = {}
    if fate not in Fate.values:
        errors["fate"] = [_("Choose one of the fates offered.")]
    if fate_evidence not in FateEvidence.values:
        errors["fate_evidence"] = [_("Choose one of the evidence levels offered.")]
    if not reason:
        errors["reason"] = [_("Give the reason for your decision: the company reads it.")]
    elif len(reason) > REASON_MAX_CHARS:
        errors["reason"] = [
            _("At most %(count)d characters.") % {"count": REASON_MAX_CHARS},
        ]
    if errors:
        raise ValidationError(errors)
    # Locked as the supply services lock it: an edit by the company waits for this.
    listing = SupplyListing.objects.select_for_update().select_related("material").get(pk=supply.pk)
    review = FateReview.objects.create(
        listing=listing,
        from_fate=listing.fate,
        to_fate=fate,
        from_evidence=listing.fate_evidence,
        to_evidence=fate_evidence,
        reason=reason,
        by=user,
        by_facilitator=True,
    )
    now = timezone.now()
    SupplyListing.objects.filter(pk=listing.pk).update(
        fate=fate,
        fate_evidence=fate_evidence,
        fate_reviewed_by=user,
        fate_reviewed_at=now,
        updated_at=now,
    )
    supply.fate, supply.fate_evidence = fate, fate_evidence
    supply.fate_reviewed_by, supply.fate_reviewed_at = user, now
    notifications.notify(
        recipients=User.objects.filter(
            memberships__organization_id=listing.organization_id, is_active=True
        )
        .exclude(pk=user.pk)
        .distinct()
        .order_by("email"),
        kind="fate_reviewed",
        params={
            "listing": listing.pk,
            "material": listing.material.names(),
            "fate": _labels(Fate, fate),
            "evidence": _labels(FateEvidence, fate_evidence),
            "reason": reason,
        },
        url=reverse("home") + f"#supply-{listing.pk}",
        actor=user,
    )
    return review


# --- reads ---------------------------------------------------------------------------------


def fate_review_list(*, user, supply: SupplyListing) -> QuerySet[FateReview]:
    """The record of ``supply``'s fate: its organization's members and facilitators."""
    viewer = as_viewer(user)
    if not (viewer.is_facilitator or supply.organization_id in viewer.organization_ids):
        raise PermissionDenied(_("Only the listing's organization and facilitators read this."))
    return FateReview.objects.filter(listing=supply).select_related("by")


def supplies_for_fate_review(
    *, user, fate: str = "", evidence: str = "", material_id: int | None = None
) -> QuerySet[SupplyListing]:
    """Facilitators: supply listings that are not closed, by fate and evidence.

    Landfill and open-dump fates come first (their tonnes may count as kept out of
    landfill), then the least proven evidence, then the most tonnes.
    """
    viewer = as_viewer(user)
    if not viewer.is_facilitator:
        raise PermissionDenied(_("Facilitators review the fates of listings."))
    listings = (
        SupplyListing.objects.exclude(status=Status.CLOSED)
        .select_related("organization", "site", "material", "fate_reviewed_by")
        .annotate(
            landfill_first=Case(
                When(fate__in=LANDFILL_FATES, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            ),
            evidence_rank=Case(
                When(fate_evidence=FateEvidence.DECLARED, then=Value(0)),
                When(fate_evidence=FateEvidence.DOCUMENTED, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            ),
        )
    )
    if fate:
        listings = listings.filter(fate=fate)
    if evidence:
        listings = listings.filter(fate_evidence=evidence)
    if material_id is not None:
        listings = listings.filter(material_id=material_id)
    return listings.order_by("landfill_first", "evidence_rank", "-tonnes", "pk")
