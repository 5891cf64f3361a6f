"""Photos and documents of listings: upload, delete, thumbnails, data-quality level.

- **Type by content, never by name; nothing of the uploader's file leaks**:
  ``symbiosis.file_cleaning`` checks every file and writes it again (a picture from
  its pixels alone, a PDF from its pages alone). Stored names are random; a
  document's own name is kept cleaned, shown only to who may see the owner
  (``document_download_name``).
- **Limits.** ``PHOTOS_PER_LISTING`` and ``DOCUMENTS_PER_LISTING`` are counted
  under a lock of the listing row, so two uploads at once cannot pass 8 or 5.
- **Thumbnails** are made by the Celery worker (``photo_thumbnail_task``),
  queued when the upload commits; pages show a placeholder until then.
- **Data quality** (``DataQuality``): a lab analysis among the documents makes a
  declared listing lab-tested; deleting the last one makes it declared again; a
  facilitator verifies (and may withdraw that), recorded with who and when. A
  verified listing stays verified when documents change: the facilitator decided.

Only members of the listing's organization upload and delete
(``Viewer.writes_for``); who may read them is the listing's visibility rule
(``symbiosis.visibility``), applied by the views.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from symbiosis import roles, tasks
from symbiosis.file_cleaning import (
    THUMBNAIL_SIDE_PX,
    clean_document,
    clean_file_name,
    clean_picture,
    read_upload,
)
from symbiosis.models import ListingDocument, ListingPhoto
from symbiosis.models.attachments import DocumentKind, attachment_storage, delete_files_on_commit
from symbiosis.models.listings import DataQuality
from symbiosis.visibility import as_viewer, listing_kind

log = logging.getLogger(__name__)

PHOTOS_PER_LISTING = 8
DOCUMENTS_PER_LISTING = 5


def document_download_name(document: ListingDocument, *, hides_owner: bool) -> str:
    """The name a document is sent and shown under: neutral where the owner is hidden."""
    neutral = f"document-{document.pk}.{document.extension}"
    if hides_owner or not document.uploaded_name:
        return neutral
    return f"{document.uploaded_name}.{document.extension}"


# --- writes ------------------------------------------------------------------------------------


def _check_writer(user, listing) -> None:
    if not as_viewer(user).writes_for(listing.organization_id):
        raise PermissionDenied(_("Only the listing's organization changes its attachments."))


def _locked(listing):
    return type(listing).objects.select_for_update().get(pk=listing.pk)


def _owner(listing) -> dict:
    return {listing_kind(listing): listing}


def _store(field, data: bytes, extension: str) -> None:
    field.save(f"{uuid.uuid4().hex}.{extension}", ContentFile(data), save=False)


def photo_add(*, user, listing, upload) -> ListingPhoto:
    """Check, clean and store a photo; its thumbnail is queued for the worker."""
    _check_writer(user, listing)
    picture = clean_picture(read_upload(upload, settings.PHOTO_MAX_BYTES))
    with transaction.atomic():
        locked = _locked(listing)
        count = locked.photos.count()
        if count >= PHOTOS_PER_LISTING:
            raise ValidationError(
                _("A listing has at most %(limit)s photos: delete one first.")
                % {"limit": PHOTOS_PER_LISTING},
                code="too_many",
            )
        last = locked.photos.order_by("-position").values_list("position", flat=True).first()
        photo = ListingPhoto(
            **_owner(locked),
            uploaded_by=user if getattr(user, "pk", None) else None,
            size_bytes=len(picture.data),
            width_px=picture.width_px,
            height_px=picture.height_px,
            position=0 if last is None else last + 1,
        )
        _store(photo.image, picture.data, "jpg")
        try:
            photo.save()
        except BaseException:
            attachment_storage().delete(photo.image.name)
            raise
        transaction.on_commit(lambda: photo_thumbnail_enqueue(photo_id=photo.pk), robust=True)
    return photo


def photo_thumbnail_enqueue(*, photo_id: int) -> None:
    try:
        tasks.photo_thumbnail_task.delay(photo_id)
    except Exception as exc:  # the broker down: the page keeps its placeholder
        log.warning("thumbnail of photo %s not queued: %s", photo_id, exc)


def photo_thumbnail_make(*, photo_id: int) -> bool:
    """Make the thumbnail of a photo (the worker's task). False when there is nothing
    to do: the photo was deleted, or it has its thumbnail already."""
    photo = ListingPhoto.objects.filter(pk=photo_id).first()
    if photo is None or photo.thumbnail:
        return False
    try:
        with photo.image.open("rb") as stored:
            data = stored.read()
    except FileNotFoundError:  # deleted meanwhile (its files go after the commit)
        return False
    thumbnail = clean_picture(data, max_side_px=THUMBNAIL_SIDE_PX)
    _store(photo.thumbnail, thumbnail.data, "jpg")
    updated = ListingPhoto.objects.filter(pk=photo_id, thumbnail="").update(
        thumbnail=photo.thumbnail.name
    )
    if not updated:  # deleted meanwhile, or another worker was first
        attachment_storage().delete(photo.thumbnail.name)
    return bool(updated)


def photo_delete(*, user, photo: ListingPhoto) -> None:
    listing = photo.listing
    _check_writer(user, listing)
    names = [name for name in (photo.image.name, photo.thumbnail.name) if name]
    with transaction.atomic():
        photo.delete()
        delete_files_on_commit(names)


def photo_move_first(*, user, photo: ListingPhoto) -> None:
    """Make ``photo`` the listing's first (the one lists show)."""
    listing = photo.listing
    _check_writer(user, listing)
    with transaction.atomic():
        locked = _locked(listing)
        others = [p for p in locked.photos.all() if p.pk != photo.pk]
        for position, other in enumerate([photo, *others]):
            ListingPhoto.objects.filter(pk=other.pk).update(position=position)


def document_add(*, user, listing, upload, kind: str) -> ListingDocument:
    """Check and store a document; a lab analysis makes a declared listing lab-tested."""
    _check_writer(user, listing)
    if kind not in DocumentKind.values:
        raise ValidationError({"kind": _("Choose what kind of document this is.")})
    document_file = clean_document(read_upload(upload, settings.DOCUMENT_MAX_BYTES))
    with transaction.atomic():
        locked = _locked(listing)
        if locked.documents.count() >= DOCUMENTS_PER_LISTING:
            raise ValidationError(
                _("A listing has at most %(limit)s documents: delete one first.")
                % {"limit": DOCUMENTS_PER_LISTING},
                code="too_many",
            )
        document = ListingDocument(
            **_owner(locked),
            kind=kind,
            uploaded_by=user if getattr(user, "pk", None) else None,
            uploaded_name=clean_file_name(getattr(upload, "name", "")),
            content_type=document_file.content_type,
            size_bytes=len(document_file.data),
        )
        extension = "pdf" if document_file.content_type == "application/pdf" else "jpg"
        _store(document.file, document_file.data, extension)
        try:
            document.save()
        except BaseException:
            attachment_storage().delete(document.file.name)
            raise
        if kind == DocumentKind.LAB_ANALYSIS and locked.data_quality == DataQuality.DECLARED:
            type(locked).objects.filter(pk=locked.pk).update(data_quality=DataQuality.LAB_TESTED)
    listing.refresh_from_db(fields=["data_quality"])
    return document


def document_delete(*, user, document: ListingDocument) -> None:
    """Delete a document; without a lab analysis left a lab-tested listing is declared."""
    listing = document.listing
    _check_writer(user, listing)
    with transaction.atomic():
        locked = _locked(listing)
        name = document.file.name
        document.delete()
        delete_files_on_commit([name])
        has_lab = locked.documents.filter(kind=DocumentKind.LAB_ANALYSIS).exists()
        if not has_lab and locked.data_quality == DataQuality.LAB_TESTED:
            type(locked).objects.filter(pk=locked.pk).update(data_quality=DataQuality.DECLARED)
    listing.refresh_from_db(fields=["data_quality"])


def data_quality_verify(*, user, listing, verified: bool = True) -> None:
    """A facilitator marks the listing's data verified, or withdraws that."""
    if not roles.is_facilitator(user):
        raise PermissionDenied(_("Only a facilitator verifies a listing's data."))
    with transaction.atomic():
        locked = _locked(listing)
        if verified:
            changes = {
                "data_quality": DataQuality.VERIFIED,
                "data_quality_verified_by": user,
                "data_quality_verified_at": timezone.now(),
            }
        else:
            has_lab = locked.documents.filter(kind=DocumentKind.LAB_ANALYSIS).exists()
            changes = {
                "data_quality": DataQuality.LAB_TESTED if has_lab else DataQuality.DECLARED,
                "data_quality_verified_by": None,
                "data_quality_verified_at": None,
            }
        type(locked).objects.filter(pk=locked.pk).update(**changes)
    listing.refresh_from_db(
        fields=["data_quality", "data_quality_verified_by", "data_quality_verified_at"]
    )


# --- reads -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PhotoEntry:
    pk: int
    url: str
    thumbnail_url: str | None
    width_px: int
    height_px: int


@dataclass(frozen=True)
class DocumentEntry:
    pk: int
    kind: str
    kind_label: str
    name: str
    size_bytes: int
    url: str


def photo_entries(photos) -> list[PhotoEntry]:
    """What pages and the API show of photos: addresses of the guarded views, no names."""
    return [
        PhotoEntry(
            pk=photo.pk,
            url=photo.url,
            thumbnail_url=photo.thumbnail_url,
            width_px=photo.width_px,
            height_px=photo.height_px,
        )
        for photo in photos
    ]


def document_entries(
    *, kind: str, listing_id: int, documents, hides_owner: bool
) -> list[DocumentEntry]:
    labels = dict(DocumentKind.choices)
    return [
        DocumentEntry(
            pk=document.pk,
            kind=document.kind,
            kind_label=str(labels.get(document.kind, document.kind)),
            name=document_download_name(document, hides_owner=hides_owner),
            size_bytes=document.size_bytes,
            url=reverse("listing-document", args=[kind, listing_id, document.pk]),
        )
        for document in documents
    ]


def listing_attachments(card) -> dict:
    """Photos and documents of the listing behind ``card`` (a ``ListingCard``), as its
    viewer may see them: document names only where the owner is shown."""
    return {
        "photos": photo_entries(card.photos.all()),
        "documents": document_entries(
            kind=card.kind,
            listing_id=card.pk,
            documents=card.documents.all(),
            hides_owner=card.hides_owner,
        ),
        "photo_limit": PHOTOS_PER_LISTING,
        "document_limit": DOCUMENTS_PER_LISTING,
    }
