"""Forms that help before they refuse, and the public city page (issue 17), in a browser
at 1366 px and on a 375 px phone, with screenshots:

- sign-up: each field is checked as it is left (BIN check digit, address, password
  strength and match), and after a refused submit the typed passwords are still there;
- a supply listing: moisture, distance and dates said in human words on leaving the
  field; a negative price is a gate fee, in the form and on the listing's page;
- the public city page, linked from the home page, with the chart's legend, units,
  period and methodology.
"""

import pytest
from playwright.sync_api import expect

from symbiosis.models import SignupRequest, SupplyListing
from tests import factories
from tests.dashboard.conftest import city  # noqa: F401  (fixture)
from tests.e2e.conftest import login, screenshot
from tests.factories import valid_bin

pytestmark = pytest.mark.e2e

PASSWORD = "Steppe-eagle-2027"


def _no_sideways_scroll(page):
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px"


def _leave(page, selector: str, value: str) -> None:
    page.fill(selector, value)
    page.press(selector, "Tab")


def _bad_check_digit(n: int) -> str:
    good = valid_bin(n)
    return good[:11] + str((int(good[11]) + 1) % 10)


def _sign_up_with_help(page, *, email: str, bin_number: int, taken_bin: str, shot: str):
    page.goto("/accounts/signup/")
    # Each field says what is wrong as it is left, before any submit.
    _leave(page, "#id_email", "founder@")
    expect(page.locator("#id_email_check")).to_contain_text("Enter a valid email address")
    _leave(page, "#id_email", email)
    expect(page.locator("#id_email_check")).to_be_empty()
    _leave(page, "#id_password1", "password")
    expect(page.locator("#id_password1_check")).to_contain_text("too common")
    _leave(page, "#id_password1", PASSWORD)
    expect(page.locator("#id_password1_check")).to_contain_text("Strong enough.")
    _leave(page, "#id_password2", PASSWORD + "x")
    expect(page.locator("#id_password2_check")).to_contain_text("The two passwords differ.")
    _leave(page, "#id_password2", PASSWORD)
    expect(page.locator("#id_password2_check")).to_contain_text("The passwords match.")
    page.fill("#id_organization_name", "Medeu Bakery")
    _leave(page, "#id_bin", _bad_check_digit(bin_number))
    expect(page.locator("#field-bin .errorlist")).to_contain_text("check digit")
    page.select_option("#id_sector", "C")
    screenshot(page, f"{shot}-field-checks")
    _no_sideways_scroll(page)
    assert not SignupRequest.objects.filter(email=email).exists()

    # A BIN registered already is refused on submit; the passwords typed stay typed.
    page.fill("#id_bin", taken_bin)
    page.get_by_role("button", name="Register").click()
    # The submit's own answer (the inline check says the same words on leaving the field).
    expect(page.locator("#signup-form .alert.error")).to_contain_text("Nothing was saved")
    expect(page.locator("#field-bin .errorlist")).to_contain_text("already exists")
    expect(page.locator("#id_password1")).to_have_value(PASSWORD)
    expect(page.locator("#id_password2")).to_have_value(PASSWORD)
    expect(page.locator("#id_email")).to_have_value(email)
    expect(page.locator("#passwords-again")).to_have_count(0)
    screenshot(page, f"{shot}-refused")

    _leave(page, "#id_bin", valid_bin(bin_number))
    expect(page.locator("#id_bin_check")).to_contain_text("A valid BIN.")
    page.get_by_role("button", name="Register").click()
    expect(page.locator("#signup-form")).to_contain_text("Check your mailbox")
    assert SignupRequest.objects.filter(email=email).exists()


@pytest.mark.django_db(transaction=True)
def test_sign_up_checks_each_field_as_it_is_left(page, phone_page):
    taken = factories.OrganizationFactory(name="Taken Co").bin
    _sign_up_with_help(
        page, email="founder@medeu-bakery.kz", bin_number=7101, taken_bin=taken, shot="signup-1366"
    )
    _sign_up_with_help(
        phone_page, email="owner@medeu-mill.kz", bin_number=7102, taken_bin=taken, shot="signup-375"
    )


def _supply_form_with_help(page, *, material, shot: str) -> SupplyListing:
    page.goto("/listings/supply/new/")
    _leave(page, "#id_moisture_percent", "150")
    expect(page.locator("#id_moisture_percent_check")).to_have_text(
        "Moisture is a percentage: 0 to 100."
    )
    _leave(page, "#id_max_km", "-5")
    expect(page.locator("#id_max_km_check")).to_have_text("A distance cannot be negative.")
    _leave(page, "#id_available_from", "2026-06-01")
    _leave(page, "#id_available_until", "2026-05-01")
    expect(page.locator("#id_available_until_check")).to_have_text(
        "The end date is before the start date."
    )
    # A negative price is no error: the help says it is a gate fee.
    _leave(page, "#id_price_kzt_per_t", "-2000")
    expect(page.locator("#id_price_kzt_per_t_check")).to_be_empty()
    expect(page.locator("#id_price_kzt_per_t_helptext")).to_contain_text("a gate fee")
    page.locator("#field-moisture_percent").scroll_into_view_if_needed()
    screenshot(page, f"{shot}-field-checks")
    _no_sideways_scroll(page)

    # Fixing each field clears its message; moving the start clears the end's too.
    _leave(page, "#id_moisture_percent", "35")
    expect(page.locator("#id_moisture_percent_check")).to_be_empty()
    _leave(page, "#id_max_km", "40")
    expect(page.locator("#id_max_km_check")).to_be_empty()
    _leave(page, "#id_available_from", "2026-04-01")
    expect(page.locator("#id_available_until_check")).to_be_empty()

    page.fill("#id_material_q", material.name_en)
    expect(page.locator("#id_material")).to_have_value(str(material.pk))
    page.fill("#id_quantity", "12")
    page.get_by_role("button", name="Save listing").click()
    page.wait_for_url("**/#supply-*")
    supply = SupplyListing.objects.latest("pk")
    assert supply.price_kzt_per_t == -2000
    assert supply.moisture_percent == 35

    page.goto(f"/market/supply/{supply.pk}/")
    expect(page.locator("[data-testid=price]")).to_have_text(
        "Gate fee: the supplier pays whoever takes it 2,000 KZT per tonne"
    )
    screenshot(page, f"{shot}-gate-fee")
    _no_sideways_scroll(page)
    return supply


@pytest.mark.django_db(transaction=True)
def test_listing_form_says_what_is_wrong_on_leaving_a_field(page, phone_page):
    company = factories.OrganizationFactory(name="Medeu Bakery")
    user = factories.MembershipFactory(organization=company, role="admin").user
    factories.SiteFactory(organization=company, name="Bakery yard")
    material = factories.MaterialFactory(slug="old-bread", name_en="Old bread", category="biomass")
    for each, shot in ((page, "listing-1366"), (phone_page, "listing-375")):
        login(each, user.email, "correct-horse-9")
        _supply_form_with_help(each, material=material, shot=shot)
    assert SupplyListing.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_public_city_page_from_the_home_page(page, phone_page, settings, city):  # noqa: F811
    settings.CITY_PUBLIC_PAGE = True
    for each, width in ((page, 1366), (phone_page, 375)):
        if width == 1366:
            each.set_viewport_size({"width": 1366, "height": 900})
        each.goto("/")
        screenshot(each, f"home-visitor-{width}")
        each.get_by_role(
            "link", name="See what Almaty's companies have kept out of landfill"
        ).click()
        each.wait_for_url("**/city/public/")
        expect(each.locator("#month-legend")).to_contain_text("t, scale on the left")
        expect(each.locator("#month-legend")).to_contain_text("t CO2e, scale on the right")
        expect(each.locator("[data-testid=period]")).to_contain_text("January 2026 to March 2026")
        expect(each.locator("#month-chart")).to_be_visible()
        screenshot(each, f"public-city-{width}")
        _no_sideways_scroll(each)
        each.get_by_role("link", name="How these figures are counted").click()
        expect(each.locator("#methodology")).to_be_in_viewport()
        expect(each.locator("#methodology-link")).to_have_attribute("href", "/city/methodology/")
