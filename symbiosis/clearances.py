"""Imported-origin clearances (``ImportedOriginClearance``): a facilitator's decision
per material, and what it means for a supply of imported origin.

- ``clearance_record``: a facilitator records a decision (cleared, refused, pending)
  with its basis and an optional document; earlier ones stay as history.
- ``imported_origin_withheld``: an imported-origin supply whose material's latest
  decision is not "cleared" (or that has none) is left out of optimizer proposals
  (``optimizer.snapshot``), and its listing says why.
"""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from symbiosis import file_cleaning, roles
from symbiosis.models import ImportedOriginClearance, Material, SupplyListing
from symbiosis.models.listings import Status

Outcome = ImportedOriginClearance.Outcome


@transaction.atomic
def clearance_record(
    *,
    user,
    material: Material,
    outcome: str,
    basis: str,
    basis_verified: bool = False,
    document=None,
) -> ImportedOriginClearance:
    """A facilitator's decision on residues of imported origin of ``material``."""
    if not roles.is_facilitator(user):
        raise PermissionDenied(_("Facilitators record imported-origin clearances."))
    errors = {}
    if outcome not in Outcome.values:
        errors["outcome"] = [_("Choose cleared, refused or pending.")]
    if not (basis or "").strip():
        errors["basis"] = [_("Say what the decision rests on.")]
    if errors:
        raise ValidationError(errors)
    clearance = ImportedOriginClearance(
        material=material,
        outcome=outcome,
        basis=basis.strip(),
        basis_verified=basis_verified,
        decided_by=user,
    )
    if document:
        # Checked as a listing's documents are: a PDF, or a picture cleaned of metadata.
        try:
            cleaned = file_cleaning.read_document(document)
        except ValidationError as exc:
            raise ValidationError({"document": exc.messages}) from exc
        extension = "pdf" if cleaned.content_type == "application/pdf" else "jpg"
        clearance.document.save(
            f"clearance-{material.slug}.{extension}", ContentFile(cleaned.data), save=False
        )
    clearance.full_clean()
    clearance.save()
    return clearance


def clearances_latest() -> dict[int, ImportedOriginClearance]:
    """Material id -> its latest decision."""
    latest: dict[int, ImportedOriginClearance] = {}
    for clearance in ImportedOriginClearance.objects.select_related("decided_by").order_by(
        "decided_at", "pk"
    ):
        latest[clearance.material_id] = clearance
    return latest


def cleared_material_ids() -> set[int]:
    """Materials whose residues of imported origin may be proposed."""
    return {pk for pk, c in clearances_latest().items() if c.outcome == Outcome.CLEARED}


def imported_origin_withheld(supply, cleared: set[int] | None = None) -> bool:
    """An imported-origin supply without a "cleared" decision for its material."""
    if not supply.imported_origin:
        return False
    if cleared is None:
        latest = clearances_latest().get(supply.material_id)
        return latest is None or latest.outcome != Outcome.CLEARED
    return supply.material_id not in cleared


def clearance_for(material_id: int) -> ImportedOriginClearance | None:
    return (
        ImportedOriginClearance.objects.filter(material_id=material_id)
        .select_related("decided_by")
        .first()
    )


def clearance_history(*, material_id: int) -> QuerySet[ImportedOriginClearance]:
    return ImportedOriginClearance.objects.filter(material_id=material_id).select_related(
        "decided_by"
    )


@dataclass
class ClearanceRow:
    material: Material
    supplies: int  # active imported-origin supplies of it
    latest: ImportedOriginClearance | None
    history: list


def clearance_rows() -> list[ClearanceRow]:
    """The facilitators' page: every material with an imported-origin supply or a
    decision, the undecided first."""
    counts: dict[int, int] = {}
    for material_id in SupplyListing.objects.filter(
        imported_origin=True, status=Status.ACTIVE
    ).values_list("material_id", flat=True):
        counts[material_id] = counts.get(material_id, 0) + 1
    history: dict[int, list] = {}
    for clearance in ImportedOriginClearance.objects.select_related("decided_by"):
        history.setdefault(clearance.material_id, []).append(clearance)
    materials = Material.objects.filter(pk__in=set(counts) | set(history)).order_by("name_en")
    rows = [
        ClearanceRow(
            material=m,
            supplies=counts.get(m.pk, 0),
            latest=(history.get(m.pk) or [None])[0],
            history=history.get(m.pk, []),
        )
        for m in materials
    ]
    rows.sort(key=lambda r: r.latest is not None and r.latest.outcome != Outcome.PENDING)
    return rows
