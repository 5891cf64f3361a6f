"""Permits to handle waste: who may receive a hazardous code (issue 21).

A company adds its permit (number, issuer, activity, the national codes it
covers, validity and a scan of the document); a facilitator reads the document
and verifies or rejects it with a reason. Only a verified permit valid on a day
counts (``symbiosis.permits.may_receive``). The document lives in the same
``attachments`` storage as listing documents, under a random name, served only
through a guarded view.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from symbiosis.models.attachments import attachment_storage
from symbiosis.validators import SOURCE_MAX_CHARS, capped_text


class PermitActivity(models.TextChoices):
    COLLECTION = "collection", _("Collection")
    TRANSPORT = "transport", _("Transport")
    PROCESSING = "processing", _("Processing")
    RECOVERY = "recovery", _("Recovery")
    DISPOSAL = "disposal", _("Disposal")


class PermitStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for a facilitator")
    VERIFIED = "verified", _("Verified")
    REJECTED = "rejected", _("Rejected")


class WastePermit(models.Model):
    organization = models.ForeignKey(
        "symbiosis.Organization", on_delete=models.CASCADE, related_name="waste_permits"
    )
    number = models.CharField(_("permit number"), max_length=100)
    issuer = models.CharField(_("issued by"), max_length=200)
    activity = models.CharField(_("activity"), max_length=20, choices=PermitActivity.choices)
    # National waste codes ("13 02 05*"), as the permit lists them.
    codes = models.JSONField(_("waste codes covered"), default=list)
    valid_from = models.DateField(_("valid from"))
    # Empty: no end date on the permit.
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    document = models.FileField(storage=attachment_storage, upload_to="permits/")
    document_content_type = models.CharField(max_length=40)
    document_name = models.CharField(max_length=150, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=PermitStatus.choices, default=PermitStatus.PENDING
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True, **capped_text(SOURCE_MAX_CHARS))

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["organization", "status"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_until__isnull=True)
                | models.Q(valid_until__gte=models.F("valid_from")),
                name="wastepermit_valid_order",
            )
        ]

    def __str__(self):
        return f"{self.number} ({self.get_activity_display()})"

    @property
    def document_extension(self) -> str:
        return "pdf" if self.document_content_type == "application/pdf" else "jpg"

    @property
    def codes_text(self) -> str:
        return ", ".join(self.codes)
