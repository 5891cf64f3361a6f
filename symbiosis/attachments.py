"""Photos and documents of listings: upload, delete, thumbnails, data-quality level.

- **Type by content, never by name.** A photo is whatever Pillow opens as a JPEG,
  PNG or WebP within the pixel limit (``PHOTO_MAX_PIXELS``, checked on the
  header before any pixel is decoded); a document is a PDF (``%PDF-`` first) or
  such a picture (a scanned certificate). A program (Windows, Linux or macOS
  executable, a script) is named as such in the refusal, whatever its name.
- **Nothing of the uploader's file leaks.** Every picture is decoded, turned
  upright (EXIF orientation applied) and encoded again as a new JPEG from its
  pixels alone: EXIF (GPS position, camera serial), XMP, ICC and comments are
  gone. Stored names are random; a document's own name is kept cleaned, shown
  only to who may see the owner (``document_download_name``).
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
import unicodedata
import uuid
import warnings
from dataclasses import dataclass
from io import BytesIO

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from symbiosis import roles, tasks
from symbiosis.models import ListingDocument, ListingPhoto
from symbiosis.models.attachments import DocumentKind, attachment_storage, delete_files_on_commit
from symbiosis.models.listings import DataQuality
from symbiosis.visibility import as_viewer, listing_kind

log = logging.getLogger(__name__)

PHOTOS_PER_LISTING = 8
DOCUMENTS_PER_LISTING = 5
PICTURE_FORMATS = {"JPEG", "PNG", "WEBP"}
# Stored photos are at most this wide or high (a phone's 12 MP photo is 4032 px).
PHOTO_MAX_SIDE_PX = 2560
THUMBNAIL_SIDE_PX = 400
JPEG_QUALITY = 85
PDF_MAGIC = b"%PDF-"
# The first bytes of programs: Windows PE/MZ, ELF, Mach-O (32/64, both byte
# orders, universal), a script's "#!", Java classes (same as Mach-O universal).
PROGRAM_MAGIC = (
    b"MZ",
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
    b"#!",
)


# --- checking and cleaning content ---------------------------------------------------------


@dataclass(frozen=True)
class CleanPicture:
    """A picture re-encoded as a JPEG with no metadata."""

    data: bytes
    width_px: int
    height_px: int


def _refuse_programs(data: bytes) -> None:
    if data.startswith(PROGRAM_MAGIC):
        raise ValidationError(
            _("This file is a program, not a picture or a PDF: it was refused."), code="program"
        )


def _read(upload, limit: int) -> bytes:
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise ValidationError(
            _("This file is %(size)s; the limit is %(limit)s.")
            % {"size": filesizeformat(size), "limit": filesizeformat(limit)},
            code="too_large",
        )
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise ValidationError(
            _("This file is larger than %(limit)s.") % {"limit": filesizeformat(limit)},
            code="too_large",
        )
    if not data:
        raise ValidationError(_("This file is empty."), code="empty")
    return data


def _not_a_picture() -> ValidationError:
    return ValidationError(
        _("This file is not a JPEG, PNG or WebP picture (judged by its content, not its name)."),
        code="not_a_picture",
    )


def _flattened(image: Image.Image) -> Image.Image:
    """RGB, transparent parts on white."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    return image.convert("RGB")


def _jpeg(image: Image.Image) -> bytes:
    # A new image from the pixels alone: no info, EXIF, ICC or XMP comes along.
    bare = Image.frombytes("RGB", image.size, image.tobytes())
    out = BytesIO()
    bare.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def clean_picture(data: bytes, *, max_side_px: int = PHOTO_MAX_SIDE_PX) -> CleanPicture:
    """``data`` as a metadata-free JPEG, upright, at most ``max_side_px`` a side;
    ``ValidationError`` for anything but a JPEG, PNG or WebP within the limits."""
    _refuse_programs(data)
    try:
        with Image.open(BytesIO(data)) as probe:
            if probe.format not in PICTURE_FORMATS:
                raise _not_a_picture()
            width, height = probe.size
            if width * height > settings.PHOTO_MAX_PIXELS:
                raise ValidationError(
                    _(
                        "This picture has %(pixels)s megapixels; the limit is %(limit)s. "
                        "Send a smaller one."
                    )
                    % {
                        "pixels": round(width * height / 1e6, 1),
                        "limit": round(settings.PHOTO_MAX_PIXELS / 1e6, 1),
                    },
                    code="too_many_pixels",
                )
            probe.verify()
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(BytesIO(data)) as image:
                image.load()
                upright = ImageOps.exif_transpose(image)
                upright.thumbnail((max_side_px, max_side_px))
                rgb = _flattened(upright)
                return CleanPicture(_jpeg(rgb), rgb.width, rgb.height)
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own guard, for headers far beyond ours.
        raise ValidationError(
            _("This picture has too many pixels; the limit is %(limit)s megapixels.")
            % {"limit": round(settings.PHOTO_MAX_PIXELS / 1e6, 1)},
            code="too_many_pixels",
        ) from exc
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
    ) as exc:
        raise _not_a_picture() from exc


@dataclass(frozen=True)
class CleanDocument:
    data: bytes
    content_type: str


def clean_document(data: bytes) -> CleanDocument:
    """A PDF as it is, or a picture of a document cleaned like a photo."""
    _refuse_programs(data)
    if data.startswith(PDF_MAGIC):
        return CleanDocument(data, "application/pdf")
    try:
        picture = clean_picture(data)
    except ValidationError as exc:
        if exc.code == "not_a_picture":
            raise ValidationError(
                _("Send a PDF, or a JPEG, PNG or WebP picture of the document."),
                code="not_a_document",
            ) from exc
        raise
    return CleanDocument(picture.data, "image/jpeg")


def read_document(upload) -> CleanDocument:
    """An uploaded document read within ``settings.DOCUMENT_MAX_BYTES`` and checked
    (a permit's scan is checked as a listing's documents are)."""
    return clean_document(_read(upload, settings.DOCUMENT_MAX_BYTES))


def clean_file_name(name: str, *, max_chars: int = 100) -> str:
    """The last part of an uploaded file's name without its extension, with no path,
    control or quoting characters: a name safe to show and to send back."""
    base = str(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    stem = base.rsplit(".", 1)[0] if "." in base.strip(".") else base
    kept = "".join(
        " " if unicodedata.category(ch).startswith(("C", "Z")) else ch
        for ch in stem
        if ch not in '"<>:*?|;'
    )
    return " ".join(kept.split()).strip(". ")[:max_chars]


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
    picture = clean_picture(_read(upload, settings.PHOTO_MAX_BYTES))
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
    document_file = clean_document(_read(upload, settings.DOCUMENT_MAX_BYTES))
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
