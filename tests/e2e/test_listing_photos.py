"""A company adds a photo (taken with GPS on) and a lab analysis to its anonymous
listing from the edit page; another company sees the photo and downloads both,
with no position in the photo and no owner in the names. A renamed program is
refused inline."""

import pytest
from playwright.sync_api import expect

from symbiosis.models import ListingDocument, ListingPhoto
from tests import factories
from tests.attachment_files import CAMERA, ELF, PDF, PDF_AUTHOR, exif_of, picture, stored
from tests.e2e.conftest import login, screenshot

pytestmark = pytest.mark.e2e

PASSWORD = "correct-horse-9"  # tests/factories.py
OWNER = "Zhetysu Maltings LLP"
SITE = "North malt yard"


def _file(name: str, mime: str, data: bytes) -> dict:
    return {"name": name, "mimeType": mime, "buffer": data}


@pytest.mark.django_db(transaction=True)
def test_a_photo_with_gps_comes_out_stripped_and_a_program_is_refused(
    browser, live_server, attachment_storage
):
    owner = factories.OrganizationFactory(name=OWNER)
    member = factories.MembershipFactory(
        organization=owner, user=factories.UserFactory(email="maltings@example.kz")
    ).user
    buyer = factories.MembershipFactory(
        organization=factories.OrganizationFactory(name="Buyer LLP"),
        user=factories.UserFactory(email="buyer@example.kz"),
    ).user
    site = factories.SiteFactory(organization=owner, name=SITE)
    supply = factories.SupplyListingFactory(
        organization=owner, site=site, visibility="anonymous", status="active"
    )
    original = picture(size=(640, 480), gps=True, orientation=6)
    assert exif_of(original)["gps"]

    context = browser.new_context(base_url=live_server.url, locale="en-US")
    context.set_default_timeout(15_000)
    page = context.new_page()
    login(page, member.email, PASSWORD)
    page.goto(f"/listings/supply/{supply.pk}/edit/")
    area = page.locator("#listing-attachments")
    expect(area).to_contain_text("0 of 8 photos")

    # A program renamed to .jpg: refused under the field, nothing stored.
    page.set_input_files("#id_photo", _file("spent-grain.jpg", "image/jpeg", ELF))
    page.get_by_role("button", name="Add photo").click()
    expect(area.get_by_role("alert")).to_contain_text("This file is a program")
    assert not ListingPhoto.objects.exists()

    page.set_input_files("#id_photo", _file(f"{OWNER} {SITE}.jpg", "image/jpeg", original))
    page.get_by_role("button", name="Add photo").click()
    expect(area).to_contain_text("1 of 8 photos")
    # The thumbnail was made by the Celery task when the upload committed.
    expect(area.locator(".gallery img")).to_be_visible()

    page.select_option("#id_kind", "lab_analysis")
    page.set_input_files("#id_document", _file(f"{OWNER} analysis.pdf", "application/pdf", PDF))
    page.get_by_role("button", name="Add document").click()
    expect(area).to_contain_text("1 of 5 documents")
    screenshot(page, "listing-attachments-edit")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_load_state()

    photo = ListingPhoto.objects.get()
    document = ListingDocument.objects.get()
    login(page, buyer.email, PASSWORD)
    page.goto(f"/market/supply/{supply.pk}/")
    expect(page.get_by_test_id("data-quality")).to_have_text("Lab-tested")
    gallery = page.get_by_test_id("gallery")
    expect(gallery.locator("img")).to_have_count(1)
    screenshot(page, "listing-attachments-page")
    page.set_viewport_size({"width": 375, "height": 812})
    screenshot(page, "listing-attachments-page-375")
    html = page.content()
    assert OWNER not in html and SITE not in html

    # Download the photo as the buyer: upright, and nothing of the camera or the place.
    response = page.request.get(f"/market/supply/{supply.pk}/photos/{photo.pk}.jpg")
    assert response.status == 200
    assert response.headers["content-disposition"] == f'inline; filename="photo-{photo.pk}.jpg"'
    data = response.body()
    found = exif_of(data)
    assert found["gps"] == {} and CAMERA.encode() not in data and b"Exif" not in data
    assert (photo.width_px, photo.height_px) == (480, 640)

    # Clicking the thumbnail opens the photo itself.
    gallery.locator("a").first.click()
    page.wait_for_url(f"**/photos/{photo.pk}.jpg")

    page.goto(f"/market/supply/{supply.pk}/")
    with page.expect_download() as download_info:
        page.get_by_test_id("documents").get_by_role("link").first.click()
    download = download_info.value
    assert download.suggested_filename == f"document-{document.pk}.pdf"
    with open(download.path(), "rb") as handle:
        downloaded = handle.read()
    # The stored file, without the author the lab sheet's metadata named.
    assert downloaded == stored(document.file)
    assert downloaded.startswith(b"%PDF-") and PDF_AUTHOR.encode() not in downloaded
    context.close()
