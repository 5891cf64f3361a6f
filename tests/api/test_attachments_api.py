"""A listing's photos, documents and data-quality level through the API
(symbiosis/api/attachments.py): uploads checked and cleaned as on the pages, the
files served by the pages' guarded addresses, who may do what, and no hidden
owner's names in the answers."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from symbiosis import attachments
from symbiosis.models import ListingDocument, ListingPhoto
from tests import factories
from tests.attachment_files import CAMERA, ELF, MZ, PDF, exif_of, picture, stored, upload

pytestmark = pytest.mark.django_db

ORG_A = "Company A"
SITE_A = "Secret malt yard"
UPLOADED_NAME = "Company A lab report"


@pytest.fixture
def supply(company_a, attachment_storage):
    """A's anonymous supply: B sees it on the market without its owner."""
    site = factories.SiteFactory(organization=company_a, name=SITE_A)
    return factories.SupplyListingFactory(
        organization=company_a, site=site, visibility="anonymous", status="active"
    )


@pytest.fixture
def private_supply(company_a, attachment_storage):
    return factories.SupplyListingFactory(
        organization=company_a, visibility="private", status="active"
    )


@pytest.fixture
def photo(supply, member_a):
    return attachments.photo_add(
        user=member_a, listing=supply, upload=upload(picture(gps=True), "Company A yard.jpg")
    )


@pytest.fixture
def document(supply, member_a):
    return attachments.document_add(
        user=member_a,
        listing=supply,
        upload=upload(PDF, f"{UPLOADED_NAME}.pdf", "application/pdf"),
        kind="lab_analysis",
    )


def url(listing, what, *ids, kind="supply"):
    plural = "supplies" if kind == "supply" else "demands"
    tail = "".join(f"{i}/" for i in ids)
    return f"/api/v1/{plural}/{listing.pk}/{what}/{tail}"


def content(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def stored_files(folder) -> list:
    return [path for path in folder.rglob("*") if path.is_file()]


# --- uploads -----------------------------------------------------------------------------------


def test_an_uploaded_photo_comes_back_without_its_exif(
    client_as, member_a, supply, attachment_storage, django_capture_on_commit_callbacks
):
    client = client_as(member_a)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url(supply, "photos"), {"photo": upload(picture(gps=True), "Company A yard.jpg")}
        )

    assert response.status_code == 201, response.content
    answer = response.json()
    photo = ListingPhoto.objects.get()
    assert answer["id"] == photo.pk and (answer["width_px"], answer["height_px"]) == (64, 48)
    assert answer["url"] == "http://testserver" + reverse(
        "listing-photo", args=["supply", supply.pk, photo.pk]
    )
    # The address of the guarded view; never the stored name, nor the uploaded one.
    assert photo.image.name not in response.content.decode()
    assert "yard" not in response.content.decode()
    downloaded = client.get(answer["url"])
    assert downloaded.status_code == 200
    data = content(downloaded)
    assert exif_of(data)["gps"] == {} and CAMERA.encode() not in data
    # The worker's thumbnail (queued on commit) is listed, and as clean.
    listed = client.get(url(supply, "photos")).json()
    assert [row["id"] for row in listed] == [photo.pk]
    thumbnail = content(client.get(listed[0]["thumbnail_url"]))
    assert exif_of(thumbnail)["gps"] == {} and CAMERA.encode() not in thumbnail


def test_a_photo_is_added_to_a_demand_too(client_as, member_a, company_a, attachment_storage):
    demand = factories.DemandListingFactory(organization=company_a)
    client = client_as(member_a)

    response = client.post(url(demand, "photos", kind="demand"), {"photo": upload(picture("PNG"))})

    assert response.status_code == 201
    photo = demand.photos.get()
    assert response.json()["url"].endswith(
        reverse("listing-photo", args=["demand", demand.pk, photo.pk])
    )
    assert [p["id"] for p in client.get(url(demand, "photos", kind="demand")).json()] == [photo.pk]


@pytest.mark.parametrize(
    ("data", "name"), [(ELF, "nice-grain.jpg"), (MZ, "yard.png")], ids=["elf", "windows"]
)
def test_a_renamed_program_is_refused(client_as, member_a, supply, attachment_storage, data, name):
    response = client_as(member_a).post(url(supply, "photos"), {"photo": upload(data, name)})

    assert response.status_code == 400
    assert "This file is a program" in response.json()["photo"][0]
    assert not ListingPhoto.objects.exists() and not stored_files(attachment_storage)


def test_a_renamed_program_is_refused_as_a_document(
    client_as, member_a, supply, attachment_storage
):
    response = client_as(member_a).post(
        url(supply, "documents"), {"kind": "lab_analysis", "document": upload(MZ, "analysis.pdf")}
    )

    assert response.status_code == 400
    assert "This file is a program" in response.json()["document"][0]
    assert not ListingDocument.objects.exists() and not stored_files(attachment_storage)
    supply.refresh_from_db()
    assert supply.data_quality == "declared"


def test_a_file_too_large_is_refused(client_as, member_a, supply, settings):
    settings.PHOTO_MAX_BYTES = 100

    response = client_as(member_a).post(url(supply, "photos"), {"photo": upload(picture())})

    assert response.status_code == 400
    assert "the limit is 100" in response.json()["photo"][0]
    assert not ListingPhoto.objects.exists()


def test_a_document_too_large_is_refused(client_as, member_a, supply, settings):
    settings.DOCUMENT_MAX_BYTES = 20

    response = client_as(member_a).post(
        url(supply, "documents"), {"kind": "other", "document": upload(PDF, "a.pdf")}
    )

    assert response.status_code == 400
    assert "the limit is 20" in response.json()["document"][0]


def test_a_picture_with_too_many_pixels_is_refused(client_as, member_a, supply, settings):
    settings.PHOTO_MAX_PIXELS = 1000  # the picture has 64 x 48 = 3072

    response = client_as(member_a).post(url(supply, "photos"), {"photo": upload(picture())})

    assert response.status_code == 400
    assert "megapixels" in response.json()["photo"][0]
    assert not ListingPhoto.objects.exists()


def test_the_ninth_photo_is_refused(client_as, member_a, supply):
    for _ in range(attachments.PHOTOS_PER_LISTING):
        attachments.photo_add(user=member_a, listing=supply, upload=upload(picture()))

    response = client_as(member_a).post(url(supply, "photos"), {"photo": upload(picture())})

    assert response.status_code == 400
    assert "at most 8 photos" in response.json()["photo"][0]
    assert supply.photos.count() == 8


def test_the_sixth_document_is_refused(client_as, member_a, supply):
    for _ in range(attachments.DOCUMENTS_PER_LISTING):
        attachments.document_add(
            user=member_a, listing=supply, upload=upload(PDF, "a.pdf"), kind="other"
        )

    response = client_as(member_a).post(
        url(supply, "documents"), {"kind": "other", "document": upload(PDF, "b.pdf")}
    )

    assert response.status_code == 400
    assert "at most 5 documents" in response.json()["document"][0]
    assert supply.documents.count() == 5


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "recipe", "document": "pdf"}, "kind"),
        ({"document": "pdf"}, "kind"),
        ({"kind": "other"}, "document"),
        ({"kind": "other", "document": "empty"}, "document"),
    ],
    ids=["unknown-kind", "no-kind", "no-file", "empty-file"],
)
def test_a_document_upload_names_the_field_in_error(client_as, member_a, supply, data, field):
    files = {"pdf": upload(PDF, "a.pdf"), "empty": SimpleUploadedFile("a.pdf", b"")}
    body = {key: files.get(value, value) for key, value in data.items()}

    response = client_as(member_a).post(url(supply, "documents"), body)

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert not ListingDocument.objects.exists()


def test_a_photo_sent_as_json_is_refused_without_a_trace(client_as, member_a, supply):
    response = client_as(member_a).post(url(supply, "photos"), {"photo": "x"}, format="json")

    assert response.status_code == 415
    assert not ListingPhoto.objects.exists()


# --- documents, order, delete --------------------------------------------------------------------


def test_a_lab_analysis_makes_the_listing_lab_tested_and_its_delete_declared(
    client_as, member_a, supply
):
    client = client_as(member_a)

    response = client.post(
        url(supply, "documents"),
        {"kind": "lab_analysis", "document": upload(PDF, f"{UPLOADED_NAME}.pdf")},
    )

    assert response.status_code == 201
    answer = response.json()
    document = ListingDocument.objects.get()
    # The owner sees its own document's name.
    assert answer == {
        "id": document.pk,
        "kind": "lab_analysis",
        "kind_label": "Lab analysis",
        "content_type": "application/pdf",
        "name": f"{UPLOADED_NAME}.pdf",
        "size_bytes": len(stored(document.file)),
        "url": "http://testserver"
        + reverse("listing-document", args=["supply", supply.pk, document.pk]),
    }
    assert content(client.get(answer["url"])) == stored(document.file)
    assert client.get(f"/api/v1/supplies/{supply.pk}/").json()["data_quality"] == "lab_tested"

    deleted = client.delete(url(supply, "documents", document.pk))

    assert deleted.status_code == 204
    assert not ListingDocument.objects.exists()
    supply.refresh_from_db()
    assert supply.data_quality == "declared"


def test_the_owner_moves_a_photo_first_and_deletes_one(
    client_as, member_a, supply, photo, attachment_storage, django_capture_on_commit_callbacks
):
    client = client_as(member_a)
    second = attachments.photo_add(user=member_a, listing=supply, upload=upload(picture()))

    moved = client.post(url(supply, "photos", second.pk, "move-first"))

    assert moved.status_code == 200
    assert [row["id"] for row in moved.json()] == [second.pk, photo.pk]
    assert supply.first_photo == second
    with django_capture_on_commit_callbacks(execute=True):
        deleted = client.delete(url(supply, "photos", second.pk))
    assert deleted.status_code == 204
    assert [row["id"] for row in client.get(url(supply, "photos")).json()] == [photo.pk]
    # The deleted photo's file is gone; the other's is kept.
    assert [path.name for path in stored_files(attachment_storage)] == [
        photo.image.name.rsplit("/", 1)[-1]
    ]


def test_a_photo_of_another_listing_is_not_found_through_mine(
    client_as, member_a, company_a, photo, attachment_storage
):
    mine = factories.SupplyListingFactory(organization=company_a)
    client = client_as(member_a)

    assert client.delete(url(mine, "photos", photo.pk)).status_code == 404
    assert client.post(url(mine, "photos", photo.pk, "move-first")).status_code == 404
    assert ListingPhoto.objects.filter(pk=photo.pk).exists()


def test_a_document_of_another_listing_is_not_found_through_mine(
    client_as, member_a, company_a, document
):
    mine = factories.SupplyListingFactory(organization=company_a)

    response = client_as(member_a).delete(url(mine, "documents", document.pk))

    assert response.status_code == 404
    assert ListingDocument.objects.filter(pk=document.pk).exists()


# --- a hidden owner's names -----------------------------------------------------------------------


def test_a_hidden_owner_s_documents_have_neutral_names(
    client_as, member_b, supply, photo, document
):
    client = client_as(member_b)

    documents = client.get(url(supply, "documents"))
    photos = client.get(url(supply, "photos"))

    assert documents.status_code == 200 and photos.status_code == 200
    assert [row["name"] for row in documents.json()] == [f"document-{document.pk}.pdf"]
    for answer in (documents, photos):
        text = answer.content.decode()
        for secret in (UPLOADED_NAME, ORG_A, SITE_A, "yard", "listings/"):
            assert secret not in text, secret
    downloaded = client.get(documents.json()[0]["url"])
    assert UPLOADED_NAME not in downloaded["Content-Disposition"]


@pytest.mark.parametrize("who", ["member_a", "facilitator"])
def test_those_who_see_the_owner_get_the_uploaded_name(client, who, supply, document, request):
    client.force_login(request.getfixturevalue(who))

    rows = client.get(url(supply, "documents")).json()

    assert [row["name"] for row in rows] == [f"{UPLOADED_NAME}.pdf"]


def test_a_public_listing_s_document_keeps_its_name(
    client_as, member_a, member_b, company_a, attachment_storage
):
    public = factories.SupplyListingFactory(
        organization=company_a, visibility="public", status="active"
    )
    named = attachments.document_add(
        user=member_a,
        listing=public,
        upload=upload(PDF, "Certificate 5.pdf"),
        kind="certificate",
    )

    rows = client_as(member_b).get(url(public, "documents")).json()

    # A public listing shows its owner: the document's own name too.
    assert [row["name"] for row in rows] == [f"Certificate 5.{named.extension}"]


# --- who may do what ----------------------------------------------------------------------------

ROLES = ["member_a", "member_b", "facilitator", "analyst", None]


def _client(client, who, request):
    if who:
        client.force_login(request.getfixturevalue(who))
    return client


def _denied(status):
    # Anonymous callers: DRF answers 403 with session authentication first.
    return (401, 403) if status == "deny" else (status,)


@pytest.mark.parametrize(
    ("who", "status"),
    [("member_a", 200), ("member_b", 200), ("facilitator", 200), ("analyst", 403), (None, "deny")],
)
def test_whoever_sees_the_listing_reads_its_files(
    client, who, status, supply, photo, document, request
):
    client = _client(client, who, request)

    for what in ("photos", "documents"):
        response = client.get(url(supply, what))
        assert response.status_code in _denied(status), what
        if status == 200:
            assert len(response.json()) == 1


@pytest.mark.parametrize(
    ("who", "status"),
    [("member_a", 200), ("member_b", 404), ("facilitator", 200), ("analyst", 403), (None, "deny")],
)
def test_a_private_listing_s_files_are_not_found_by_others(
    client, who, status, private_supply, member_a, request
):
    attachments.photo_add(user=member_a, listing=private_supply, upload=upload(picture()))
    client = _client(client, who, request)

    for what in ("photos", "documents"):
        assert client.get(url(private_supply, what)).status_code in _denied(status), what


@pytest.mark.parametrize(
    ("who", "status"),
    [("member_b", 404), ("facilitator", 403), ("analyst", 403), (None, "deny")],
)
def test_only_the_owner_uploads_deletes_and_reorders(
    client, who, status, supply, photo, document, request
):
    """As on the pages: another company gets the 404 of a listing it may not change
    (even one it sees on the market); users who are no company's member 403."""
    client = _client(client, who, request)

    answers = {
        "photo": client.post(url(supply, "photos"), {"photo": upload(picture())}),
        "document": client.post(
            url(supply, "documents"), {"kind": "other", "document": upload(PDF, "a.pdf")}
        ),
        "first": client.post(url(supply, "photos", photo.pk, "move-first")),
        "delete photo": client.delete(url(supply, "photos", photo.pk)),
        "delete document": client.delete(url(supply, "documents", document.pk)),
    }

    for name, response in answers.items():
        assert response.status_code in _denied(status), name
        assert UPLOADED_NAME not in response.content.decode()
    assert list(supply.photos.all()) == [photo] and list(supply.documents.all()) == [document]


def test_a_plain_member_of_the_owner_uploads(client_as, company_a, supply):
    plain = factories.MembershipFactory(organization=company_a, role="member").user

    response = client_as(plain).post(url(supply, "photos"), {"photo": upload(picture())})

    assert response.status_code == 201


# --- data quality ------------------------------------------------------------------------------


def test_a_facilitator_verifies_and_withdraws(client_as, facilitator, supply, document):
    client = client_as(facilitator)

    verified = client.post(url(supply, "data-quality"), {"level": "verified"}, format="json")

    assert verified.status_code == 200
    assert verified.json()["data_quality"] == "verified"
    assert verified.json()["data_quality_verified_at"]
    supply.refresh_from_db()
    assert supply.data_quality == "verified" and supply.data_quality_verified_by == facilitator

    withdrawn = client.post(url(supply, "data-quality"), {"level": "declared"}, format="json")

    # Back to what the documents say: it has a lab analysis.
    assert withdrawn.json() == {"data_quality": "lab_tested", "data_quality_verified_at": None}
    supply.refresh_from_db()
    assert supply.data_quality_verified_by is None


def test_a_facilitator_verifies_a_demand(client_as, facilitator, attachment_storage):
    demand = factories.DemandListingFactory(visibility="private")

    response = client_as(facilitator).post(
        url(demand, "data-quality", kind="demand"), {"level": "verified"}, format="json"
    )

    assert response.status_code == 200
    demand.refresh_from_db()
    assert demand.data_quality == "verified"


@pytest.mark.parametrize("level", ["", "lab_tested", "VERIFIED"])
def test_a_level_that_is_not_offered_is_a_field_error(client_as, facilitator, supply, level):
    response = client_as(facilitator).post(
        url(supply, "data-quality"), {"level": level}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["level"]
    supply.refresh_from_db()
    assert supply.data_quality == "declared"


def test_a_missing_listing_is_not_found_by_the_facilitator(client_as, facilitator, db):
    response = client_as(facilitator).post(
        "/api/v1/supplies/987654/data-quality/", {"level": "verified"}, format="json"
    )

    assert response.status_code == 404


@pytest.mark.parametrize("who", ["member_a", "member_b", "analyst", None])
def test_no_one_else_sets_the_level(client, who, supply, request):
    client = _client(client, who, request)

    response = client.post(
        url(supply, "data-quality"), {"level": "verified"}, content_type="application/json"
    )

    assert response.status_code in (401, 403)
    supply.refresh_from_db()
    assert supply.data_quality == "declared"


# --- the schema ---------------------------------------------------------------------------------


def test_the_schema_has_the_endpoints(client_as, member_a):
    schema = (
        client_as(member_a)
        .get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
        .json()
    )

    for plural in ("supplies", "demands"):
        paths = schema["paths"]
        photos = paths[f"/api/v1/{plural}/{{id}}/photos/"]
        assert set(photos) >= {"get", "post"}
        upload_body = photos["post"]["requestBody"]["content"]
        assert "multipart/form-data" in upload_body
        assert set(paths[f"/api/v1/{plural}/{{id}}/photos/{{photo_id}}/"]) >= {"delete"}
        assert "post" in paths[f"/api/v1/{plural}/{{id}}/photos/{{photo_id}}/move-first/"]
        assert set(paths[f"/api/v1/{plural}/{{id}}/documents/"]) >= {"get", "post"}
        assert "delete" in paths[f"/api/v1/{plural}/{{id}}/documents/{{document_id}}/"]
        assert "post" in paths[f"/api/v1/{plural}/{{id}}/data-quality/"]
