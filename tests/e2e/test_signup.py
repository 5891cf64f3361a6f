"""A new company's first minutes: sign up, confirm the address, add a site, list a residue in m3."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from symbiosis.models import Membership, SupplyListing
from symbiosis.taxonomy import load_taxonomy
from tests.e2e.conftest import follow_link
from tests.factories import valid_bin

pytestmark = pytest.mark.e2e


@pytest.mark.django_db(transaction=True)
def test_sign_up_then_site_then_supply_in_m3_shows_tonnes(page):
    load_taxonomy()
    page.goto("/")
    page.get_by_role("link", name="Sign up").click()
    page.fill("#id_email", "founder@medeu-bakery.kz")
    page.fill("#id_password1", "Steppe-eagle-2027")
    page.fill("#id_password2", "Steppe-eagle-2027")
    page.fill("#id_organization_name", "Medeu Bakery")
    # A BIN with a wrong check digit is refused in place, nothing saved.
    good_bin = valid_bin(777)
    page.fill("#id_bin", good_bin[:11] + str((int(good_bin[11]) + 1) % 10))
    page.select_option("#id_sector", "C")
    page.get_by_role("button", name="Register").click()
    # Wait for the refused submit's answer itself: the inline check shows the same
    # words as soon as the BIN field is left, and the answer would then replace the
    # form while the next values are typed.
    expect(page.locator("#signup-form .alert.error")).to_contain_text("Nothing was saved")
    expect(page.locator("#field-bin .errorlist")).to_contain_text("check digit")
    assert not Membership.objects.exists()
    page.fill("#id_bin", good_bin)
    page.fill("#id_password1", "Steppe-eagle-2027")
    page.fill("#id_password2", "Steppe-eagle-2027")
    page.get_by_role("button", name="Register").click()
    # The same answer for a new and a known address; the link comes by e-mail.
    expect(page.locator("#signup-form")).to_contain_text("Check your mailbox")
    assert not Membership.objects.exists()
    link = re.search(r"https?://\S+/accounts/signup/\S+/", mail.outbox[-1].body).group(0)
    page.goto(link)
    expect(page.locator("main")).to_contain_text("Medeu Bakery")
    page.get_by_role("button", name="Confirm and log in").click()

    page.wait_for_url("**/sites/new/")
    page.fill("#id_name", "Bakery")
    page.select_option("#id_district", "medeu")
    page.fill("#id_latitude", "43.236000")
    page.fill("#id_longitude", "76.945000")
    page.get_by_role("button", name="Save site").click()
    page.wait_for_url("**/#site-*")

    follow_link(page, "New supply listing")
    page.fill("#id_material_q", "food waste")
    page.fill("#id_quantity", "10")
    page.select_option("#id_unit", "m3")
    expect(page.locator("#tonnes-preview")).to_contain_text("= 4.19 t")
    page.get_by_role("button", name="Save listing").click()
    page.wait_for_url("**/#supply-*")
    supply = SupplyListing.objects.get()
    assert supply.organization.name == "Medeu Bakery"
    expect(page.locator(f"#supply-{supply.pk}")).to_contain_text("4.19 t per year")
    expect(page.locator(f"#supply-{supply.pk}")).to_contain_text("10 cubic metres")
