"""Waste permits: the one rule "may organization X receive code C on day D", the
reads around it, and the writes (a company adds a permit, a facilitator reviews it).

The rule (``permit_covers``) is pure: a permit counts when a facilitator verified
it, its activity is one that receives waste, it lists the code and the day is
within its validity. ``may_receive`` / ``valid_permit`` ask it of one
organization; ``permitted_codes`` of many at once (the optimizer's snapshot), by
the same function. The optimizer, the deal policy and the delivery hold all ask
here and nowhere else.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from symbiosis.file_cleaning import clean_file_name, read_document
from symbiosis.models import Organization, WastePermit
from symbiosis.models.attachments import attachment_storage
from symbiosis.models.permits import PermitActivity, PermitStatus
from symbiosis.visibility import as_viewer

# Activities whose permit lets a company take waste in. A transport permit alone does
# not: the carrier hands the waste on. Not verified against the law (symbiosis.legal).
RECEIVING_ACTIVITIES = frozenset(
    {
        PermitActivity.COLLECTION,
        PermitActivity.PROCESSING,
        PermitActivity.RECOVERY,
        PermitActivity.DISPOSAL,
    }
)
MAX_CODES = 200
_CODE_RE = re.compile(r"^(\d{2})\s*(\d{2})\s*(\d{2})\s*(\*?)$")


# --- the rule (pure) -------------------------------------------------------------------------


def code_digits(code: str) -> str:
    """The six digits of a code: "13 02 05*" and "130205" are one code."""
    return re.sub(r"\D", "", code or "")


def permit_covers(
    *,
    status: str,
    activity: str,
    codes: Iterable[str],
    valid_from: date,
    valid_until: date | None,
    code: str,
    day: date,
) -> bool:
    """May a permit with these fields receive ``code`` on ``day``?"""
    return (
        status == PermitStatus.VERIFIED
        and activity in RECEIVING_ACTIVITIES
        and code_digits(code) in {code_digits(c) for c in codes}
        and valid_from <= day
        and (valid_until is None or day <= valid_until)
    )


def _covers(permit: WastePermit, code: str, day: date) -> bool:
    return permit_covers(
        status=permit.status,
        activity=permit.activity,
        codes=permit.codes,
        valid_from=permit.valid_from,
        valid_until=permit.valid_until,
        code=code,
        day=day,
    )


def parse_codes(text: str) -> list[str]:
    """Codes typed as "13 02 05*, 13 02 08*" (commas, semicolons or new lines) as a
    list in the classifier's spelling; a bad one is a field error naming it."""
    parts = [p.strip() for p in re.split(r"[,;\n]+", text or "") if p.strip()]
    codes, bad = [], []
    for part in parts:
        found = _CODE_RE.match(part)
        if not found:
            bad.append(part)
            continue
        code = "{} {} {}{}".format(*found.groups())
        if code not in codes:
            codes.append(code)
    if bad:
        raise ValidationError(
            {
                "codes": _("Not a waste code: %(codes)s. A code looks like 13 02 05*.")
                % {"codes": ", ".join(bad[:5])}
            }
        )
    if not codes:
        raise ValidationError({"codes": _("Name at least one waste code the permit covers.")})
    if len(codes) > MAX_CODES:
        raise ValidationError({"codes": _("At most %(n)s codes.") % {"n": MAX_CODES}})
    return codes


# --- reads -----------------------------------------------------------------------------------


def _verified(organization_ids) -> list[WastePermit]:
    return list(
        WastePermit.objects.filter(
            organization_id__in=list(organization_ids), status=PermitStatus.VERIFIED
        ).order_by("-valid_until", "-pk")
    )


def valid_permit(*, organization_id: int, code: str, day: date) -> WastePermit | None:
    """The verified permit of ``organization_id`` covering ``code`` on ``day``, or None."""
    for permit in _verified([organization_id]):
        if _covers(permit, code, day):
            return permit
    return None


def may_receive(*, organization_id: int, code: str, day: date) -> bool:
    return valid_permit(organization_id=organization_id, code=code, day=day) is not None


def permitted_codes(*, organization_ids, codes: Iterable[str], day: date) -> dict[int, list[str]]:
    """{organization: the ``codes`` it may receive on ``day``}, for many at once."""
    codes = sorted(set(codes))
    found: dict[int, list[str]] = {}
    for permit in _verified(organization_ids):
        for code in codes:
            if _covers(permit, code, day) and code not in found.get(permit.organization_id, []):
                found.setdefault(permit.organization_id, []).append(code)
    return {org: sorted(c) for org, c in found.items()}


def expired_permit(*, organization_id: int, code: str, day: date) -> WastePermit | None:
    """A verified permit for ``code`` that ended before ``day`` (to say why a delivery
    is held), the latest one; None if there is none."""
    for permit in _verified([organization_id]):
        if (
            permit.valid_until is not None
            and permit.valid_until < day
            and code_digits(code) in {code_digits(c) for c in permit.codes}
        ):
            return permit
    return None


def permits_of(*, user, organization_id: int):
    """An organization's permits, for its members and facilitators."""
    viewer = as_viewer(user)
    if not (viewer.is_facilitator or organization_id in viewer.organization_ids):
        raise PermissionDenied(_("Only the organization's members see its permits."))
    return WastePermit.objects.filter(organization_id=organization_id)


def permits_visible(*, user):
    """Permits ``user`` may read: its organizations', or every one for a facilitator."""
    viewer = as_viewer(user)
    found = WastePermit.objects.select_related("organization", "verified_by")
    if viewer.is_facilitator:
        return found
    return found.filter(organization_id__in=viewer.organization_ids)


def permits_pending():
    return WastePermit.objects.filter(status=PermitStatus.PENDING).select_related("organization")


# --- writes ----------------------------------------------------------------------------------


def permit_add(
    *,
    user,
    organization: Organization,
    number: str,
    issuer: str,
    activity: str,
    codes: list[str] | str,
    valid_from: date,
    valid_until: date | None,
    upload,
) -> WastePermit:
    """A member adds its organization's permit with a scan; it waits for a facilitator."""
    if not as_viewer(user).writes_for(organization.pk):
        raise PermissionDenied(_("Only the organization's members add its permits."))
    errors = {}
    if isinstance(codes, str):
        try:
            codes = parse_codes(codes)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    else:
        try:
            codes = parse_codes(", ".join(codes))
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if activity not in PermitActivity.values:
        errors["activity"] = [_("Choose the activity the permit allows.")]
    if not (number or "").strip():
        errors["number"] = [_("Give the permit's number.")]
    if not (issuer or "").strip():
        errors["issuer"] = [_("Say who issued the permit.")]
    if valid_from and valid_until and valid_until < valid_from:
        errors["valid_until"] = [_("The permit ends before it starts.")]
    if upload is None:
        errors["document"] = [_("Attach the permit's document (a PDF or a picture of it).")]
    else:
        try:
            document = read_document(upload)
        except ValidationError as exc:
            errors["document"] = exc.messages
    if errors:
        raise ValidationError(errors)
    permit = WastePermit(
        organization=organization,
        number=number.strip(),
        issuer=issuer.strip(),
        activity=activity,
        codes=codes,
        valid_from=valid_from,
        valid_until=valid_until,
        document_content_type=document.content_type,
        document_name=clean_file_name(getattr(upload, "name", "")),
        submitted_by=user if getattr(user, "pk", None) else None,
    )
    permit.full_clean(exclude=["document", "organization", "submitted_by", "verified_by"])
    extension = "pdf" if document.content_type == "application/pdf" else "jpg"
    permit.document.save(f"{uuid.uuid4().hex}.{extension}", ContentFile(document.data), save=False)
    try:
        with transaction.atomic():
            permit.save()
    except BaseException:
        attachment_storage().delete(permit.document.name)
        raise
    return permit


@transaction.atomic
def permit_review(*, user, permit: WastePermit, verified: bool, reason: str = "") -> WastePermit:
    """A facilitator verifies the permit (it counts from now) or rejects it with a
    reason the company reads. A verified permit can be rejected later (withdrawn)."""
    if not as_viewer(user).is_facilitator:
        raise PermissionDenied(_("Facilitators verify permits."))
    reason = (reason or "").strip()
    if not verified and not reason:
        raise ValidationError({"reason": [_("Say why the permit is rejected.")]})
    permit = WastePermit.objects.select_for_update().get(pk=permit.pk)
    permit.status = PermitStatus.VERIFIED if verified else PermitStatus.REJECTED
    permit.verified_by = user
    permit.verified_at = timezone.now()
    permit.reason = reason
    permit.full_clean(exclude=["document", "organization", "submitted_by", "verified_by"])
    permit.save()
    return permit
