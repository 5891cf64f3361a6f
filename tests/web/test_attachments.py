"""Photos and documents on the pages: the edit page's upload area (with and without
htmx), the guarded file addresses, their headers, and the data-quality badge."""

import pytest
from django.urls import reverse

from symbiosis import attachments
from symbiosis.models import ListingDocument, ListingPhoto
from tests import factories
from tests.attachment_files import CAMERA, ELF, MZ, PDF, exif_of, picture, stored, upload
from tests.web.conftest import HTMX

pytestmark = pytest.mark.django_db

ORG_A = "Company A"
SITE_A = "Secret malt yard"
UPLOADED_NAME = "Company A lab report"


@pytest.fixture
def supply(company_a, attachment_storage):
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
def photo(supply, member_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        made = attachments.photo_add(
            user=member_a, listing=supply, upload=upload(picture(gps=True), "Company A yard.jpg")
        )
    made.refresh_from_db()
    return made


@pytest.fixture
def document(supply, member_a):
    return attachments.document_add(
        user=member_a,
        listing=supply,
        upload=upload(PDF, f"{UPLOADED_NAME}.pdf", "application/pdf"),
        kind="lab_analysis",
    )


def urls(listing, kind="supply"):
    args = [kind, listing.pk]
    return {
        "edit": reverse("listing-edit", args=args),
        "page": reverse("market-listing", args=args),
        "photos": reverse("listing-photo-upload", args=args),
        "documents": reverse("listing-document-upload", args=args),
    }


def body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("latin-1")
    return response.content.decode()


# --- the upload area ---------------------------------------------------------------------------


def test_the_edit_page_has_the_upload_area_with_counts(client_as, member_a, supply):
    html = client_as(member_a).get(urls(supply)["edit"]).content.decode()

    assert 'id="listing-attachments"' in html
    assert "0 of 8 photos" in html and "0 of 5 documents" in html
    assert 'enctype="multipart/form-data"' in html
    assert f'action="{urls(supply)["photos"]}"' in html


def test_a_photo_upload_without_javascript_goes_back_to_the_edit_page(client_as, member_a, supply):
    response = client_as(member_a).post(
        urls(supply)["photos"], {"photo": upload(picture(gps=True))}
    )

    assert response.status_code == 302
    assert response["Location"] == urls(supply)["edit"] + "#attachments"
    assert supply.photos.count() == 1


def test_a_photo_upload_with_htmx_answers_the_partial(client_as, member_a, supply):
    response = client_as(member_a).post(
        urls(supply)["photos"], {"photo": upload(picture())}, **HTMX
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "1 of 8 photos" in html and "Thumbnail on its way" in html
    assert "<html" not in html


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_a_renamed_program_is_refused_inline(client_as, member_a, supply, headers):
    response = client_as(member_a).post(
        urls(supply)["photos"], {"photo": upload(ELF, "nice-grain.jpg")}, **headers
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "This file is a program" in html and 'role="alert"' in html
    assert not ListingPhoto.objects.exists()


def test_a_renamed_program_is_refused_as_a_document(client_as, member_a, supply):
    response = client_as(member_a).post(
        urls(supply)["documents"],
        {"kind": "lab_analysis", "document": upload(MZ, "analysis.pdf")},
        **HTMX,
    )

    assert "This file is a program" in response.content.decode()
    assert not ListingDocument.objects.exists()
    supply.refresh_from_db()
    assert supply.data_quality == "declared"


def test_a_document_upload_makes_the_listing_lab_tested(client_as, member_a, supply):
    response = client_as(member_a).post(
        urls(supply)["documents"],
        {"kind": "lab_analysis", "document": upload(PDF, "analysis.pdf")},
        **HTMX,
    )

    html = response.content.decode()
    assert "1 of 5 documents" in html and "analysis.pdf" in html
    supply.refresh_from_db()
    assert supply.data_quality == "lab_tested"


def test_a_document_without_a_kind_keeps_the_file_unsaved(client_as, member_a, supply):
    response = client_as(member_a).post(
        urls(supply)["documents"], {"kind": "", "document": upload(PDF, "a.pdf")}, **HTMX
    )

    assert response.status_code == 200 and 'role="alert"' in response.content.decode()
    assert not ListingDocument.objects.exists()


def test_the_owner_deletes_and_reorders(client_as, member_a, supply, photo):
    client = client_as(member_a)
    second = attachments.photo_add(user=member_a, listing=supply, upload=upload(picture()))
    delete_url = reverse("listing-photo-delete", args=["supply", supply.pk, second.pk])

    client.post(delete_url, {"action": "first"}, **HTMX)
    assert supply.first_photo == second
    response = client.post(delete_url, {"action": "delete"}, **HTMX)

    assert response.status_code == 200 and "1 of 8 photos" in response.content.decode()
    assert list(supply.photos.all()) == [photo]


def test_the_document_delete_drops_the_level(client_as, member_a, supply, document):
    response = client_as(member_a).post(
        reverse("listing-document-delete", args=["supply", supply.pk, document.pk])
    )

    assert response.status_code == 302
    supply.refresh_from_db()
    assert supply.data_quality == "declared"


@pytest.mark.parametrize(
    ("who", "status"),
    [("member_b", 404), ("facilitator", 403), ("analyst", 403), (None, 302)],
)
def test_only_the_owner_uploads_and_deletes(client, who, status, supply, photo, request):
    if who:
        client.force_login(request.getfixturevalue(who))
    delete_url = reverse("listing-photo-delete", args=["supply", supply.pk, photo.pk])

    answers = [
        client.post(urls(supply)["photos"], {"photo": upload(picture())}),
        client.post(urls(supply)["documents"], {"kind": "other", "document": upload(PDF, "a.pdf")}),
        client.post(delete_url, {"action": "delete"}),
    ]

    for response in answers:
        assert response.status_code == status
        if status == 302:
            assert response["Location"].startswith("/accounts/login/")
    assert list(supply.photos.all()) == [photo] and not supply.documents.exists()


def test_a_photo_of_another_listing_is_not_found_through_mine(
    client_as, member_a, company_a, photo, attachment_storage
):
    mine = factories.SupplyListingFactory(organization=company_a)

    response = client_as(member_a).post(
        reverse("listing-photo-delete", args=["supply", mine.pk, photo.pk])
    )

    assert response.status_code == 404
    assert ListingPhoto.objects.filter(pk=photo.pk).exists()


# --- serving the files ---------------------------------------------------------------------------


def _photo_url(supply, photo, view="listing-photo"):
    return reverse(view, args=["supply", supply.pk, photo.pk])


@pytest.mark.parametrize(
    ("who", "status"),
    [("member_a", 200), ("member_b", 200), ("facilitator", 200), ("analyst", 403), (None, 302)],
)
def test_photos_go_to_whoever_sees_the_listing(client, who, status, supply, photo, request):
    if who:
        client.force_login(request.getfixturevalue(who))

    for view in ("listing-photo", "listing-photo-thumbnail"):
        response = client.get(_photo_url(supply, photo, view))
        assert response.status_code == status, view
        if status == 200:
            data = b"".join(response.streaming_content)
            assert response["Content-Type"] == "image/jpeg"
            assert response["X-Content-Type-Options"] == "nosniff"
            assert "private" in response["Cache-Control"]
            assert f"photo-{photo.pk}" in response["Content-Disposition"]
            assert response["Content-Disposition"].startswith("inline")
            assert exif_of(data)["gps"] == {} and CAMERA.encode() not in data
            assert ORG_A not in str(response.headers) and "yard" not in str(response.headers)


def test_photos_of_a_private_listing_are_not_found_by_others(
    client_as, member_b, member_a, private_supply
):
    photo = attachments.photo_add(user=member_a, listing=private_supply, upload=upload(picture()))

    response = client_as(member_b).get(_photo_url(private_supply, photo))

    assert response.status_code == 404


def test_a_photo_is_found_only_under_its_own_listing(client_as, member_b, supply, photo):
    other = factories.SupplyListingFactory(visibility="public", status="active")

    response = client_as(member_b).get(
        reverse("listing-photo", args=["supply", other.pk, photo.pk])
    )

    assert response.status_code == 404


def test_no_thumbnail_yet_answers_404(client_as, member_a, supply):
    photo = attachments.photo_add(user=member_a, listing=supply, upload=upload(picture()))

    response = client_as(member_a).get(_photo_url(supply, photo, "listing-photo-thumbnail"))

    assert response.status_code == 404


def _document_url(supply, document):
    return reverse("listing-document", args=["supply", supply.pk, document.pk])


def test_a_hidden_owner_s_document_comes_with_a_neutral_name(client_as, member_b, supply, document):
    response = client_as(member_b).get(_document_url(supply, document))

    assert response.status_code == 200
    assert response["Content-Disposition"] == (f'attachment; filename="document-{document.pk}.pdf"')
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert UPLOADED_NAME not in str(response.headers) and ORG_A not in str(response.headers)
    assert b"".join(response.streaming_content) == stored(document.file)


@pytest.mark.parametrize("who", ["member_a", "facilitator"])
def test_those_who_see_the_owner_get_the_uploaded_name(client, who, supply, document, request):
    client.force_login(request.getfixturevalue(who))

    response = client.get(_document_url(supply, document))

    assert response.status_code == 200
    assert f'filename="{UPLOADED_NAME}.pdf"' in response["Content-Disposition"]
    assert response["Content-Disposition"].startswith("attachment")


def test_a_public_listing_s_document_keeps_its_cleaned_name(
    client_as, member_a, member_b, company_a, attachment_storage
):
    public = factories.SupplyListingFactory(
        organization=company_a, visibility="public", status="active"
    )
    document = attachments.document_add(
        user=member_a,
        listing=public,
        upload=upload(PDF, "../../Сертификат\r\n№5.pdf"),
        kind="certificate",
    )

    response = client_as(member_b).get(_document_url(public, document))

    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment") and "\r" not in disposition
    assert "filename*=utf-8''" in disposition and ".." not in disposition


@pytest.mark.parametrize(("who", "status"), [("analyst", 403), (None, 302), ("member_b", 404)])
def test_documents_are_refused_to_those_who_may_not_see_the_listing(
    client, who, status, private_supply, member_a, request
):
    document = attachments.document_add(
        user=member_a, listing=private_supply, upload=upload(PDF, "a.pdf"), kind="other"
    )
    if who:
        client.force_login(request.getfixturevalue(who))

    response = client.get(_document_url(private_supply, document))

    assert response.status_code == status


# --- the listing page ----------------------------------------------------------------------------


def test_the_listing_page_shows_gallery_documents_and_badge_without_the_owner(
    client_as, member_b, supply, photo, document
):
    html = client_as(member_b).get(urls(supply)["page"]).content.decode()

    assert _photo_url(supply, photo) in html
    assert _photo_url(supply, photo, "listing-photo-thumbnail") in html
    assert _document_url(supply, document) in html
    assert f"document-{document.pk}.pdf" in html and "Lab analysis" in html
    assert 'data-testid="data-quality">Lab-tested<' in html
    for secret in (ORG_A, SITE_A, UPLOADED_NAME, "Company A yard"):
        assert secret not in html, secret
    # Companies do not verify.
    assert reverse("listing-data-quality", args=["supply", supply.pk]) not in html


def test_a_placeholder_until_the_thumbnail_exists(client_as, member_a, member_b, supply):
    attachments.photo_add(user=member_a, listing=supply, upload=upload(picture()))

    html = client_as(member_b).get(urls(supply)["page"]).content.decode()

    assert "Thumbnail on its way" in html


def test_a_facilitator_verifies_from_the_listing_page(client_as, facilitator, supply):
    client = client_as(facilitator)
    quality_url = reverse("listing-data-quality", args=["supply", supply.pk])
    assert quality_url in client.get(urls(supply)["page"]).content.decode()

    response = client.post(quality_url, {"level": "verified"})

    assert response.status_code == 302
    supply.refresh_from_db()
    assert supply.data_quality == "verified" and supply.data_quality_verified_by == facilitator
    html = client.get(urls(supply)["page"]).content.decode()
    assert 'data-testid="data-quality">Verified<' in html and "Withdraw the verification" in html


@pytest.mark.parametrize("who", ["member_a", "member_b", "analyst"])
def test_no_one_else_verifies(client, who, supply, request):
    client.force_login(request.getfixturevalue(who))

    response = client.post(
        reverse("listing-data-quality", args=["supply", supply.pk]), {"level": "verified"}
    )

    assert response.status_code == 403
    supply.refresh_from_db()
    assert supply.data_quality == "declared"


# --- the API -------------------------------------------------------------------------------------


def test_the_api_lists_photos_and_documents_without_names(
    client_as, member_b, supply, photo, document
):
    row = client_as(member_b).get(f"/api/v1/supplies/{supply.pk}/").json()

    assert row["data_quality"] == "lab_tested"
    assert [p["id"] for p in row["photos"]] == [photo.pk]
    assert row["photos"][0]["url"].endswith(_photo_url(supply, photo))
    assert row["photos"][0]["thumbnail_url"].endswith(
        _photo_url(supply, photo, "listing-photo-thumbnail")
    )
    assert row["documents"] == [
        {
            "id": document.pk,
            "kind": "lab_analysis",
            "content_type": "application/pdf",
            "size_bytes": len(stored(document.file)),
            "url": "http://testserver" + _document_url(supply, document),
        }
    ]
    assert UPLOADED_NAME not in str(row) and ORG_A not in str(row)


def test_the_api_list_reads_attachments_in_a_fixed_number_of_queries(
    client_as, member_b, supply, photo, document, company_a, django_assert_max_num_queries
):
    for _ in range(3):
        factories.SupplyListingFactory(organization=company_a, visibility="public", status="active")
    client = client_as(member_b)
    client.get("/api/v1/supplies/")  # warm the session

    with django_assert_max_num_queries(12):
        rows = client.get("/api/v1/supplies/").json()["results"]

    assert {len(row["photos"]) for row in rows} == {0, 1}
