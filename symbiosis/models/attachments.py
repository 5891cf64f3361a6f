"""Photos and documents of a listing (issue 18): what a buyer looks at before asking.

Each row belongs to one supply or one demand listing (two nullable keys, exactly
one set, held by a check constraint): the reverse names are ``photos`` and
``documents`` on both listing kinds. Files live in the ``attachments`` storage
(``settings.STORAGES``: a folder under ``VAR_DIR`` or an S3-compatible bucket)
under random names; nothing of the uploaded file name reaches a stored name.
They are never served from a public address: views check who may see the
listing (``symbiosis.views.attachments``). Written only by
``symbiosis.attachments``, which checks the content, strips photos' metadata
and keeps the listing's data-quality level.
"""

import logging

from django.conf import settings
from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.db import models, transaction
from django.db.models import Q
from django.dispatch import receiver
from django.urls import reverse
from django.utils.functional import LazyObject, empty
from django.utils.translation import gettext_lazy as _


class _AttachmentStorage(LazyObject):
    """``storages["attachments"]``, looked up when first used (as ``default_storage``)."""

    def _setup(self):
        self._wrapped = storages["attachments"]


_storage = _AttachmentStorage()


@receiver(setting_changed)
def _storages_changed(*, setting, **kwargs):
    # As Django does for default_storage: tests may point STORAGES elsewhere.
    if setting == "STORAGES":
        _storage._wrapped = empty


def attachment_storage():
    """The storage named ``attachments`` (a callable, so migrations do not freeze it)."""
    return _storage


log = logging.getLogger(__name__)


def listing_file_names(listing) -> list[str]:
    """Every stored file of ``listing``'s photos and documents (to delete with it)."""
    names = []
    for photo in listing.photos.all():
        names += [name for name in (photo.image.name, photo.thumbnail.name) if name]
    names += [document.file.name for document in listing.documents.all() if document.file.name]
    return names


def delete_files_on_commit(names: list[str]) -> None:
    """Delete stored files once the rows that named them are gone for good."""
    if not names:
        return

    def delete():
        for name in names:
            try:
                _storage.delete(name)
            except Exception as exc:  # already gone, or the storage is down: not the user's
                log.warning("attachment file %s not deleted: %s", name, exc)

    transaction.on_commit(delete, robust=True)


class DocumentKind(models.TextChoices):
    LAB_ANALYSIS = "lab_analysis", _("Lab analysis")
    SAFETY_DATA_SHEET = "safety_data_sheet", _("Safety data sheet")
    CERTIFICATE = "certificate", _("Certificate")
    OTHER = "other", _("Other document")


def _one_listing(name: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(supply__isnull=False, demand__isnull=True)
        | Q(supply__isnull=True, demand__isnull=False),
        name=name,
    )


class Attachment(models.Model):
    """What photos and documents share: the listing, the uploader, the size."""

    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    size_bytes = models.PositiveIntegerField(_("size (bytes)"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True

    @property
    def listing(self):
        return self.supply if self.supply_id else self.demand

    @property
    def listing_kind(self) -> str:
        return "supply" if self.supply_id else "demand"


class ListingPhoto(Attachment):
    """A photo, re-encoded as a JPEG without any metadata (EXIF, GPS, ICC, comments)."""

    supply = models.ForeignKey(
        "symbiosis.SupplyListing",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="photos",
    )
    demand = models.ForeignKey(
        "symbiosis.DemandListing",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="photos",
    )
    image = models.FileField(storage=attachment_storage, upload_to="listings/photos/")
    # Made by the Celery worker after the upload commits; pages show a placeholder till then.
    thumbnail = models.FileField(
        storage=attachment_storage, upload_to="listings/thumbnails/", blank=True
    )
    width_px = models.PositiveIntegerField()
    height_px = models.PositiveIntegerField()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [_one_listing("listingphoto_one_listing")]

    def __str__(self):
        return f"photo {self.pk} of {self.listing_kind} {self.supply_id or self.demand_id}"

    @property
    def thumbnail_ready(self) -> bool:
        return bool(self.thumbnail)

    @property
    def url(self) -> str:
        """The photo's guarded address (it checks who may see the listing)."""
        return reverse("listing-photo", args=self._address)

    @property
    def thumbnail_url(self) -> str | None:
        """The thumbnail's guarded address; None until the worker has made it (show a
        placeholder). For lists: ``listing.first_photo.thumbnail_url``."""
        if not self.thumbnail_ready:
            return None
        return reverse("listing-photo-thumbnail", args=self._address)

    @property
    def _address(self) -> list:
        return [self.listing_kind, self.supply_id or self.demand_id, self.pk]


class ListingDocument(Attachment):
    """A lab analysis, safety data sheet or certificate: a PDF, or a picture of one
    (re-encoded like a photo)."""

    supply = models.ForeignKey(
        "symbiosis.SupplyListing",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="documents",
    )
    demand = models.ForeignKey(
        "symbiosis.DemandListing",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="documents",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=DocumentKind.choices)
    file = models.FileField(storage=attachment_storage, upload_to="listings/documents/")
    # What the uploader called it (cleaned): shown and used as the download name only
    # to those who may see the owner; others get "document-<id>.pdf".
    uploaded_name = models.CharField(max_length=150, blank=True)
    content_type = models.CharField(max_length=40)

    class Meta:
        ordering = ["pk"]
        constraints = [_one_listing("listingdocument_one_listing")]

    def __str__(self):
        return f"{self.kind} {self.pk} of {self.listing_kind} {self.supply_id or self.demand_id}"

    @property
    def extension(self) -> str:
        return "pdf" if self.content_type == "application/pdf" else "jpg"
