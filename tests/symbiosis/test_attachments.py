"""Photos and documents of listings (symbiosis/attachments.py): content checks,
limits, metadata stripped, thumbnails, and the data-quality level they move."""

import os
import subprocess
import sys
from io import BytesIO
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pypdf import PdfReader

from symbiosis import attachments, file_cleaning
from symbiosis.models import ListingDocument, ListingPhoto, SupplyListing
from tests import factories
from tests.attachment_files import (
    CAMERA,
    ELF,
    MZ,
    PDF,
    PDF_AUTHOR,
    PDF_TEXT,
    PDF_WITHOUT_PAGES,
    exif_of,
    pdf,
    picture,
    stored,
    upload,
)

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def supply(company_a, attachment_storage):
    return factories.SupplyListingFactory(organization=company_a, visibility="anonymous")


@pytest.fixture
def demand(company_a, attachment_storage):
    return factories.DemandListingFactory(organization=company_a)


def refusal(call) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        call()
    return caught.value


# --- photos: content, metadata, limits ---------------------------------------------------------


def test_a_photo_loses_its_gps_and_camera_and_stays_upright(supply, member_a):
    original = picture(size=(64, 48), gps=True, orientation=6)
    assert exif_of(original)["gps"] and CAMERA.encode() in original  # the test's own premise

    photo = attachments.photo_add(
        user=member_a, listing=supply, upload=upload(original, "Zhetysu yard.jpg")
    )

    data = stored(photo.image)
    found = exif_of(data)
    assert found["gps"] == {} and 0x010F not in found and 0x0112 not in found
    assert "exif" not in found["info"] and b"Exif" not in data and CAMERA.encode() not in data
    # Orientation 6 (turn 90 degrees) applied before the metadata went: 48 wide, 64 high.
    assert (photo.width_px, photo.height_px) == (48, 64)
    assert photo.image.name.endswith(".jpg") and "Zhetysu" not in photo.image.name


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "JPEG"])
def test_png_webp_and_jpeg_are_taken_and_stored_as_jpeg(fmt, supply, member_a):
    photo = attachments.photo_add(
        user=member_a, listing=supply, upload=upload(picture(fmt), name="x.bin")
    )

    assert stored(photo.image).startswith(b"\xff\xd8\xff")


@pytest.mark.parametrize(
    ("content", "name", "code"),
    [
        (ELF, "residue.jpg", "program"),
        (MZ, "residue.png", "program"),
        (b"#!/bin/sh\nrm -rf /\n", "x.webp", "program"),
        (PDF, "scan.jpg", "not_a_picture"),
        (b"just some text, not a picture", "photo.jpg", "not_a_picture"),
        (picture("GIF"), "photo.gif", "not_a_picture"),
        (picture()[:60], "truncated.jpg", "not_a_picture"),
    ],
    ids=["elf", "mz", "script", "pdf", "text", "gif", "truncated"],
)
def test_a_photo_is_judged_by_its_content_not_its_name(content, name, code, supply, member_a):
    error = refusal(
        lambda: attachments.photo_add(user=member_a, listing=supply, upload=upload(content, name))
    )

    assert error.code == code
    assert not ListingPhoto.objects.exists()


def test_the_program_refusal_says_so(supply, member_a):
    error = refusal(
        lambda: attachments.photo_add(user=member_a, listing=supply, upload=upload(ELF, "a.jpg"))
    )

    assert "program" in error.messages[0]


def test_a_photo_over_the_byte_limit_is_refused(supply, member_a, settings):
    data = picture(size=(200, 200))
    settings.PHOTO_MAX_BYTES = len(data) - 1

    error = refusal(
        lambda: attachments.photo_add(user=member_a, listing=supply, upload=upload(data))
    )

    assert error.code == "too_large"


def test_a_picture_of_too_many_pixels_is_refused_before_it_is_decoded(supply, member_a, settings):
    settings.PHOTO_MAX_PIXELS = 100 * 100

    error = refusal(
        lambda: attachments.photo_add(
            user=member_a, listing=supply, upload=upload(picture("PNG", size=(101, 100)))
        )
    )

    assert error.code == "too_many_pixels"
    assert "megapixels" in error.messages[0]


def test_a_decompression_bomb_header_is_refused():
    """A PNG that claims 100,000 x 100,000 pixels in a few hundred bytes."""
    import struct
    import zlib

    def chunk(kind, body):
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    bomb = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )

    error = refusal(lambda: file_cleaning.clean_picture(bomb))

    assert error.code == "too_many_pixels"


def test_a_listing_takes_eight_photos_and_no_ninth(supply, member_a):
    for _ in range(attachments.PHOTOS_PER_LISTING):
        attachments.photo_add(user=member_a, listing=supply, upload=upload(picture()))

    error = refusal(
        lambda: attachments.photo_add(user=member_a, listing=supply, upload=upload(picture()))
    )

    assert error.code == "too_many"
    assert supply.photos.count() == 8
    assert [p.position for p in supply.photos.all()] == list(range(8))


def test_big_photos_are_stored_at_most_2560_px_a_side(supply, member_a):
    photo = attachments.photo_add(
        user=member_a, listing=supply, upload=upload(picture(size=(3000, 1000)))
    )

    assert (photo.width_px, photo.height_px) == (2560, 853)


# --- who may write ------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["member_b", "facilitator", "analyst"])
def test_only_the_listings_organization_uploads(who, supply, request):
    user = request.getfixturevalue(who)

    with pytest.raises(PermissionDenied):
        attachments.photo_add(user=user, listing=supply, upload=upload(picture()))
    with pytest.raises(PermissionDenied):
        attachments.document_add(user=user, listing=supply, upload=upload(PDF), kind="other")
    assert not ListingPhoto.objects.exists() and not ListingDocument.objects.exists()


def test_only_the_listings_organization_deletes(supply, member_a, member_b):
    photo = attachments.photo_add(user=member_a, listing=supply, upload=upload(picture()))

    with pytest.raises(PermissionDenied):
        attachments.photo_delete(user=member_b, photo=photo)
    assert ListingPhoto.objects.filter(pk=photo.pk).exists()


# --- thumbnails -------------------------------------------------------------------------------


def test_the_thumbnail_is_made_by_the_task_when_the_upload_commits(
    supply, member_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        photo = attachments.photo_add(
            user=member_a, listing=supply, upload=upload(picture(size=(1200, 900), gps=True))
        )
        # Before the commit: a placeholder.
        assert not photo.thumbnail_ready

    photo.refresh_from_db()
    assert photo.thumbnail_ready
    data = stored(photo.thumbnail)
    assert exif_of(data)["gps"] == {} and CAMERA.encode() not in data
    from PIL import Image

    with Image.open(photo.thumbnail.open("rb")) as thumb:
        assert max(thumb.size) == attachments.THUMBNAIL_SIDE_PX
    # Run again (a redelivered task): nothing to do.
    assert attachments.photo_thumbnail_make(photo_id=photo.pk) is False


def test_a_thumbnail_of_a_deleted_photo_is_not_made(supply, member_a):
    photo = attachments.photo_add(user=member_a, listing=supply, upload=upload(picture()))
    ListingPhoto.objects.filter(pk=photo.pk).delete()

    assert attachments.photo_thumbnail_make(photo_id=photo.pk) is False


def test_deleting_a_photo_deletes_its_files_after_commit(
    supply, member_a, attachment_storage, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        photo = attachments.photo_add(user=member_a, listing=supply, upload=upload(picture()))
    photo.refresh_from_db()
    files = [attachment_storage / photo.image.name, attachment_storage / photo.thumbnail.name]
    assert all(path.exists() for path in files)

    with django_capture_on_commit_callbacks(execute=True):
        attachments.photo_delete(user=member_a, photo=photo)

    assert not any(path.exists() for path in files)
    assert not ListingPhoto.objects.filter(pk=photo.pk).exists()


def test_show_first_reorders(supply, member_a):
    first, second = (
        attachments.photo_add(user=member_a, listing=supply, upload=upload(picture()))
        for _ in range(2)
    )

    attachments.photo_move_first(user=member_a, photo=second)

    assert list(supply.photos.all()) == [second, first]
    assert supply.first_photo == second


def test_first_photo_reads_a_prefetch(supply, member_a, django_assert_num_queries):
    photo = attachments.photo_add(user=member_a, listing=supply, upload=upload(picture()))
    bare = factories.SupplyListingFactory(organization=supply.organization)
    rows = SupplyListing.objects.filter(pk__in=[supply.pk, bare.pk]).prefetch_related(
        Prefetch("photos")
    )
    rows = {row.pk: row for row in rows}

    with django_assert_num_queries(0):
        assert rows[supply.pk].first_photo == photo
        assert rows[bare.pk].first_photo is None


# --- documents -----------------------------------------------------------------------------------


def test_a_pdf_document_is_kept_without_who_made_it(supply, member_a):
    document = attachments.document_add(
        user=member_a,
        listing=supply,
        upload=upload(PDF, "C:\\Users\\aigerim\\Lab report 03\x07.pdf", "application/pdf"),
        kind="lab_analysis",
    )

    kept = stored(document.file)
    assert PDF_AUTHOR.encode() in PDF and PDF_AUTHOR.encode() not in kept
    reader = PdfReader(BytesIO(kept))
    assert reader.metadata is None and "/Metadata" not in reader.trailer["/Root"]
    assert [page.extract_text() for page in reader.pages] == [PDF_TEXT]
    assert document.content_type == "application/pdf"
    assert document.uploaded_name == "Lab report 03"
    assert attachments.document_download_name(document, hides_owner=True) == (
        f"document-{document.pk}.pdf"
    )
    assert attachments.document_download_name(document, hides_owner=False) == "Lab report 03.pdf"


def test_a_picture_of_a_document_is_cleaned_like_a_photo(supply, member_a):
    document = attachments.document_add(
        user=member_a,
        listing=supply,
        upload=upload(picture(gps=True), "certificate.jpg"),
        kind="certificate",
    )

    data = stored(document.file)
    assert document.content_type == "image/jpeg"
    assert exif_of(data)["gps"] == {} and CAMERA.encode() not in data


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (MZ, "program"),
        (ELF, "program"),
        (b"<html>not a pdf</html>", "not_a_document"),
        (PDF_WITHOUT_PAGES, "unreadable_pdf"),
        (pdf(password="secret"), "encrypted_pdf"),
    ],
    ids=["mz", "elf", "html", "no-pages", "password"],
)
def test_a_document_is_judged_by_its_content(content, code, supply, member_a):
    error = refusal(
        lambda: attachments.document_add(
            user=member_a, listing=supply, upload=upload(content, "analysis.pdf"), kind="other"
        )
    )

    assert error.code == code
    assert not ListingDocument.objects.exists()


def test_a_document_over_the_byte_limit_is_refused(supply, member_a, settings):
    settings.DOCUMENT_MAX_BYTES = len(PDF) - 1

    error = refusal(
        lambda: attachments.document_add(
            user=member_a, listing=supply, upload=upload(PDF, "a.pdf"), kind="other"
        )
    )

    assert error.code == "too_large"


def test_a_listing_takes_five_documents_and_no_sixth(demand, member_a):
    for _ in range(attachments.DOCUMENTS_PER_LISTING):
        attachments.document_add(
            user=member_a, listing=demand, upload=upload(PDF, "a.pdf"), kind="certificate"
        )

    error = refusal(
        lambda: attachments.document_add(
            user=member_a, listing=demand, upload=upload(PDF, "a.pdf"), kind="certificate"
        )
    )

    assert error.code == "too_many"
    assert demand.documents.count() == 5


@pytest.mark.parametrize(
    ("name", "cleaned"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot"),
        ('report"; filename="evil.exe.pdf', "report filename=evil.exe"),
        ("line\r\nbreak\x00.pdf", "line break"),
        ("Анализ дробины.pdf", "Анализ дробины"),
        ("", ""),
        ("." * 5, ""),
    ],
)
def test_clean_file_name(name, cleaned):
    assert file_cleaning.clean_file_name(name) == cleaned


# --- the data-quality level -----------------------------------------------------------------------


def _lab(listing, user, kind="lab_analysis"):
    return attachments.document_add(
        user=user, listing=listing, upload=upload(PDF, "lab.pdf"), kind=kind
    )


def _level(listing) -> str:
    listing.refresh_from_db()
    return listing.data_quality


def test_a_listing_is_declared_until_a_lab_analysis_comes(supply, member_a):
    assert _level(supply) == "declared"
    _lab(supply, member_a, kind="certificate")
    assert _level(supply) == "declared"

    _lab(supply, member_a)

    assert _level(supply) == "lab_tested"


def test_deleting_the_last_lab_analysis_makes_it_declared_again(demand, member_a):
    first, second = _lab(demand, member_a), _lab(demand, member_a)

    attachments.document_delete(user=member_a, document=first)
    assert _level(demand) == "lab_tested"
    attachments.document_delete(user=member_a, document=second)

    assert _level(demand) == "declared"


def test_a_facilitator_verifies_and_withdraws(supply, member_a, facilitator):
    lab = _lab(supply, member_a)

    attachments.data_quality_verify(user=facilitator, listing=supply)
    supply.refresh_from_db()
    assert supply.data_quality == "verified"
    assert supply.data_quality_verified_by == facilitator
    assert supply.data_quality_verified_at is not None
    # The facilitator decided: deleting the lab analysis keeps it verified.
    attachments.document_delete(user=member_a, document=lab)
    assert _level(supply) == "verified"

    attachments.data_quality_verify(user=facilitator, listing=supply, verified=False)
    supply.refresh_from_db()
    assert supply.data_quality == "declared" and supply.data_quality_verified_by is None


def test_withdrawing_keeps_lab_tested_where_a_lab_analysis_is(supply, member_a, facilitator):
    _lab(supply, member_a)
    attachments.data_quality_verify(user=facilitator, listing=supply)

    attachments.data_quality_verify(user=facilitator, listing=supply, verified=False)

    assert _level(supply) == "lab_tested"


@pytest.mark.parametrize("who", ["member_a", "member_b", "analyst"])
def test_only_a_facilitator_verifies(who, supply, request):
    with pytest.raises(PermissionDenied):
        attachments.data_quality_verify(user=request.getfixturevalue(who), listing=supply)
    assert _level(supply) == "declared"


def test_the_listing_form_cannot_set_the_level(supply):
    from symbiosis.forms import SupplyForm

    assert "data_quality" not in SupplyForm.base_fields


# --- storage settings -------------------------------------------------------------------------


def _storage_class(**env_overrides) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(env_overrides)
    code = (
        "from django.core.files.storage import storages; s = storages['attachments']; "
        "print(type(s).__module__ + '.' + type(s).__name__); "
        "print(getattr(s, 'bucket_name', None), getattr(s, 'endpoint_url', None), "
        "getattr(s, 'location', None), getattr(s, 'default_acl', None))"
    )
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )


def test_the_filesystem_under_var_dir_is_the_default(settings):
    result = _storage_class()

    assert result.returncode == 0, result.stderr
    kind, details = result.stdout.strip().splitlines()[-2:]
    assert kind == "django.core.files.storage.filesystem.FileSystemStorage"
    assert details.endswith(f"{Path(settings.VAR_DIR) / 'media' / 'attachments'} None")


def test_s3_is_chosen_by_settings():
    """No S3 server here: this checks the settings select and configure the backend."""
    result = _storage_class(
        MEDIA_STORAGE="s3",
        AWS_STORAGE_BUCKET_NAME="symbiosis-media",
        AWS_S3_ENDPOINT_URL="https://storage.example.kz",
    )

    assert result.returncode == 0, result.stderr
    kind, details = result.stdout.strip().splitlines()[-2:]
    assert kind == "storages.backends.s3.S3Storage"
    assert details == "symbiosis-media https://storage.example.kz attachments private"


def test_an_unknown_media_storage_fails_loudly():
    result = _storage_class(MEDIA_STORAGE="ftp")

    assert result.returncode != 0
    assert "MEDIA_STORAGE must be filesystem or s3" in result.stderr


def test_web_and_worker_share_the_media_volume():
    """The web stores uploads and the worker reads them for thumbnails: one named volume."""
    import yaml

    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for name in ("web", "worker"):
        assert "media:/app/var/media" in services[name]["volumes"], name
    assert "media" in yaml.safe_load((ROOT / "docker-compose.yml").read_text())["volumes"]


def test_s3_without_a_bucket_fails_loudly():
    result = _storage_class(MEDIA_STORAGE="s3", AWS_STORAGE_BUCKET_NAME="")

    assert result.returncode != 0
    assert "needs AWS_STORAGE_BUCKET_NAME" in result.stderr


def test_deleting_a_listing_deletes_its_files(
    supply, member_a, attachment_storage, django_capture_on_commit_callbacks
):
    from symbiosis import services

    with django_capture_on_commit_callbacks(execute=True):
        photo = attachments.photo_add(user=member_a, listing=supply, upload=upload(picture()))
    document = _lab(supply, member_a)
    photo.refresh_from_db()
    files = [
        attachment_storage / name
        for name in (photo.image.name, photo.thumbnail.name, document.file.name)
    ]
    assert all(path.exists() for path in files)

    with django_capture_on_commit_callbacks(execute=True):
        services.supply_delete(user=member_a, supply=supply)

    assert not any(path.exists() for path in files)


def test_a_photo_names_its_guarded_addresses(supply, member_a):
    photo = attachments.photo_add(user=member_a, listing=supply, upload=upload(picture()))

    assert photo.url == f"/market/supply/{supply.pk}/photos/{photo.pk}.jpg"
    assert photo.thumbnail_url is None
    attachments.photo_thumbnail_make(photo_id=photo.pk)
    photo.refresh_from_db()
    assert photo.thumbnail_url == f"/market/supply/{supply.pk}/photos/{photo.pk}/small.jpg"


MAGIC = [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"RIFF\x10\x00\x00\x00WEBPVP8 ", b"%PDF-", b""]


@given(
    head=st.sampled_from(MAGIC),
    tail=st.binary(max_size=600),
)
@hypothesis_settings(max_examples=150, deadline=None)
def test_any_bytes_are_taken_or_refused_with_a_message(head, tail):
    """Hostile or broken files (a picture's first bytes, then anything) never escape as
    another exception: each is a clean picture or document, or a ValidationError."""
    data = head + tail
    for clean in (file_cleaning.clean_picture, file_cleaning.clean_document):
        try:
            cleaned = clean(data)
        except ValidationError as exc:
            assert exc.messages and exc.code
        else:
            assert cleaned.data.startswith((b"\xff\xd8\xff", b"%PDF-"))
