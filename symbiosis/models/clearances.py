"""Clearances of residues of imported origin, per material (issue 21).

The Almaty analysis reports that the law restricts reusing residues of imported goods;
which rule applies is not verified (``symbiosis.legal``). So the rule is data: a
facilitator records, per material, whether its imported residues are cleared for
exchange, refused, or pending, on what basis and with what document. Without a
"cleared" decision, an imported-origin supply is left out of the optimizer's proposals.

Append-only, as the fate record: a new decision is a new row (the latest counts); a
stored row is never changed or deleted, so the history of each material stays.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from symbiosis.models.attachments import attachment_storage
from symbiosis.validators import REASON_MAX_CHARS, capped_text

CLEARANCE_IS_FINAL = _("Clearance decisions are kept as a history: record a new decision instead.")


class ClearanceQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ValidationError(CLEARANCE_IS_FINAL, code="append_only")

    def delete(self):
        raise ValidationError(CLEARANCE_IS_FINAL, code="append_only")

    delete.queryset_only = True


class ImportedOriginClearance(models.Model):
    class Outcome(models.TextChoices):
        CLEARED = "cleared", _("Cleared: may be exchanged")
        REFUSED = "refused", _("Refused: may not be exchanged")
        PENDING = "pending", _("Pending: not decided yet")

    material = models.ForeignKey(
        "symbiosis.Material",
        on_delete=models.PROTECT,
        related_name="import_clearances",
        verbose_name=_("material"),
    )
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    basis = models.TextField(
        _("basis"),
        help_text=_(
            "What the decision rests on: the authority's answer, the legal text (article, "
            "order number and date), or the dialogue with legislators."
        ),
        **capped_text(REASON_MAX_CHARS),
    )
    # Whether a facilitator has read the legal text the basis cites; shown as
    # "not verified" otherwise.
    basis_verified = models.BooleanField(_("legal basis verified"), default=False)
    document = models.FileField(
        _("document"),
        storage=attachment_storage,
        upload_to="clearances/",
        blank=True,
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), default=timezone.now)

    objects = ClearanceQuerySet.as_manager()

    class Meta:
        ordering = ["-decided_at", "-pk"]
        verbose_name = _("imported-origin clearance")
        verbose_name_plural = _("imported-origin clearances")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(outcome__in=["cleared", "refused", "pending"]),
                name="clearance_outcome_known",
            ),
            models.CheckConstraint(condition=~models.Q(basis=""), name="clearance_has_basis"),
        ]

    def __str__(self):
        return f"{self.material_id} {self.outcome} ({self.decided_at:%Y-%m-%d})"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValidationError(CLEARANCE_IS_FINAL, code="append_only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(CLEARANCE_IS_FINAL, code="append_only")
