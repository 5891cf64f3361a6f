"""A listings import in progress: the uploaded file, its check and its import.

The web process stores what the worker needs here, in the database, never as
a path on its own disk: web and worker may run in different containers.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

ERROR_MAX_CHARS = 1_000


class ListingImport(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting for a worker")
        CHECKING = "checking", _("Checking the rows")
        CHECKED = "checked", _("Checked")
        IMPORTING = "importing", _("Importing")
        IMPORTED = "imported", _("Imported")
        FAILED = "failed", _("Failed")

    IN_PROGRESS = (Status.QUEUED, Status.CHECKING, Status.IMPORTING)

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="listing_imports"
    )
    # The uploader's organization when the file came in: only its members who
    # are also the owner see the import (a member who left loses it).
    organization = models.ForeignKey(
        "symbiosis.Organization", on_delete=models.CASCADE, related_name="listing_imports"
    )
    kind = models.CharField(max_length=10, choices=[("supply", "supply"), ("demand", "demand")])
    file_name = models.CharField(max_length=255, blank=True)
    # The page language, so messages the worker writes read like the page.
    language = models.CharField(max_length=10, blank=True)
    # The uploaded file (at most IMPORT_MAX_BYTES), until the worker has read it.
    content = models.BinaryField(blank=True, default=b"")
    # The rows as read, [[line, {column: text}], ...]: what the import writes.
    rows = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    stage = models.CharField(max_length=20, blank=True)
    total_rows = models.PositiveIntegerField(default=0)
    done_rows = models.PositiveIntegerField(default=0)
    failed_rows = models.PositiveIntegerField(default=0)
    # Rows that repeat an active listing or an earlier row: a warning, not an error.
    duplicate_rows = models.PositiveIntegerField(default=0)
    imported_rows = models.PositiveIntegerField(default=0)
    # The rows the page shows: every failed one, or the first ones when none failed.
    report = models.JSONField(default=list, blank=True)
    error = models.CharField(max_length=ERROR_MAX_CHARS, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Import {self.pk} of {self.file_name} ({self.status})"

    @property
    def in_progress(self) -> bool:
        return self.status in self.IN_PROGRESS

    @property
    def ready(self) -> bool:
        """Checked with no failing row: the import may be started."""
        return self.status == self.Status.CHECKED and not self.failed_rows and self.total_rows > 0

    @property
    def progress_percent(self) -> int:
        if not self.total_rows:
            return 0
        return min(100, 100 * self.done_rows // self.total_rows)
