"""Checks and cleaning of uploaded files, by content, never by name
(``symbiosis.attachments`` stores what passes).

- A photo is whatever Pillow opens as a JPEG, PNG or WebP within the pixel limit
  (``PHOTO_MAX_PIXELS``, checked on the header before any pixel is decoded),
  decoded, turned upright and encoded again from its pixels alone: EXIF (GPS
  position, camera serial), XMP, ICC and comments are gone.
- A document is a PDF, written again from its pages alone (no author, title,
  producer, dates, XMP stream, embedded files or open actions), or such a picture.
- A program (Windows, Linux or macOS executable, a script) is named as such in the
  refusal, whatever its name.
"""

from __future__ import annotations

import unicodedata
import warnings
from dataclasses import dataclass
from io import BytesIO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError
from pypdf import PdfReader, PdfWriter

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


def read_upload(upload, limit: int) -> bytes:
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


# Page entries that carry who made the file or run something when it opens.
PDF_PAGE_DROPPED = ("/Metadata", "/PieceInfo", "/AA")


def _not_a_readable_pdf() -> ValidationError:
    return ValidationError(
        _("This PDF could not be read. Save it again as PDF (or scan it) and send it again."),
        code="unreadable_pdf",
    )


def clean_pdf(data: bytes) -> bytes:
    """The PDF written again without its author, title, producer, dates, XMP stream,
    embedded files and open actions: a lab sheet of an anonymous listing must not name
    the company through its metadata. Pages, text and pictures are kept."""
    try:
        reader = PdfReader(BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise ValidationError(
                _("This PDF is protected by a password: send it without one."),
                code="encrypted_pdf",
            )
        if not len(reader.pages):
            raise _not_a_readable_pdf()
        # A new file with the pages alone: the old catalog (XMP stream, embedded files,
        # open actions, forms) and document information are not carried over.
        writer = PdfWriter()
        for page in reader.pages:
            for key in PDF_PAGE_DROPPED:
                page.pop(key, None)
            writer.add_page(page)
        writer.metadata = None
        out = BytesIO()
        writer.write(out)
    except ValidationError:
        raise
    except Exception as exc:  # pypdf raises many kinds of errors on hostile files
        raise _not_a_readable_pdf() from exc
    return out.getvalue()


def clean_document(data: bytes) -> CleanDocument:
    """A PDF without its metadata, or a picture of a document cleaned like a photo."""
    _refuse_programs(data)
    if data.startswith(PDF_MAGIC):
        return CleanDocument(clean_pdf(data), "application/pdf")
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
    as a listing's documents are (a permit's scan, a clearance's letter)."""
    return clean_document(read_upload(upload, settings.DOCUMENT_MAX_BYTES))


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
