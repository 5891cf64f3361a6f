"""Listing forms, the tonnes preview and import rows at the edges of what they take.

Regressions (issue 13, item 7): ``quantity=1E+1000000`` or ``piece_mass_kg=1e999999``
made the tonnes preview and the listing forms answer 500 (``decimal.Overflow``);
availability dates of year 1 and 9999 were saved; a 9 MB description was saved.
Each now gets a clear error on its field, and nothing is written.
"""

import html
import re
from datetime import date

import pytest

from symbiosis.imports import Row, listings_check
from symbiosis.models import DemandListing, SupplyListing
from symbiosis.validators import DESCRIPTION_MAX_CHARS, business_date_window
from tests.web.conftest import HTMX
from tests.web.test_listings import demand_data, supply_data

pytestmark = pytest.mark.django_db

HUGE = ["1E+1000000", "1e999999", "-1e999999", "1e-999999", "9" * 400]


def field_errors(response, name: str) -> str:
    found = re.search(
        rf'<ul class="errorlist" id="id_{name}_error"[^>]*>(.*?)</ul>',
        response.content.decode(),
        re.S,
    )
    return html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))) if found else ""


def preview(client, **params) -> str:
    response = client.get("/listings/tonnes/", params, **HTMX)
    assert response.status_code == 200
    return html.unescape(response.content.decode())


@pytest.fixture
def member(client_as, member_a, site_a, spent_grain, food_waste):
    return client_as(member_a)


# --- the tonnes preview ------------------------------------------------------------------


@pytest.mark.parametrize("quantity", HUGE)
@pytest.mark.parametrize("unit", ["t", "kg", "m3", "pieces"])
def test_preview_of_a_huge_quantity_says_what_is_wrong(member, food_waste, quantity, unit):
    text = preview(member, quantity=quantity, unit=unit, material=food_waste.pk, piece_mass_kg="25")
    assert "preview-value" not in text
    assert "Quantity: Ensure that there are no more than" in text


@pytest.mark.parametrize("piece_mass_kg", HUGE)
def test_preview_of_a_huge_piece_mass_says_what_is_wrong(member, piece_mass_kg):
    text = preview(member, quantity="200", unit="pieces", piece_mass_kg=piece_mass_kg)
    assert "preview-value" not in text
    assert "Mass per piece (kg): Ensure that there are no more than" in text


def test_preview_ignores_the_piece_mass_of_other_units(member):
    assert "= 2.5 t" in preview(member, quantity="2500", unit="kg", piece_mass_kg="1e999999")


def test_preview_of_more_tonnes_than_a_listing_holds(member):
    # Each number fits its field; their product (10^16 t) does not fit the tonnes column.
    text = preview(member, quantity="9999999999", unit="pieces", piece_mass_kg="999999999")
    assert "preview-value" not in text
    assert "This comes to 10,000,000,000 tonnes or more" in text


def test_preview_still_converts_the_largest_quantity(member):
    assert "= 9,999,999,999.999 t" in preview(member, quantity="9999999999.9990", unit="t")


# --- the listing forms: numbers ---------------------------------------------------------------


@pytest.mark.parametrize("value", HUGE)
@pytest.mark.parametrize("field", ["quantity", "piece_mass_kg", "price_kzt_per_t", "max_km"])
def test_supply_form_refuses_huge_numbers_on_their_field(member, site_a, spent_grain, field, value):
    data = supply_data(site_a, spent_grain, {field: value, "unit": "pieces"})
    data.setdefault("piece_mass_kg", "25")
    response = member.post("/listings/supply/new/", data, **HTMX)
    assert response.status_code == 200
    assert "Ensure that there are no more than" in field_errors(response, field)
    assert not SupplyListing.objects.exists()


@pytest.mark.parametrize("value", HUGE)
@pytest.mark.parametrize("field", ["quantity", "piece_mass_kg", "min_lot_tonnes"])
def test_demand_form_refuses_huge_numbers_on_their_field(member, site_a, spent_grain, field, value):
    data = demand_data(
        site_a, [spent_grain], **({"unit": "pieces", "piece_mass_kg": "25"} | {field: value})
    )
    response = member.post("/listings/demand/new/", data)
    assert response.status_code == 200
    assert "Ensure that there are no more than" in field_errors(response, field)
    assert not DemandListing.objects.exists()


def test_a_product_too_large_for_the_tonnes_column_is_said_on_the_quantity(
    member, site_a, spent_grain
):
    data = supply_data(
        site_a, spent_grain, quantity="9999999999", unit="pieces", piece_mass_kg="999999999"
    )
    response = member.post("/listings/supply/new/", data, **HTMX)
    assert "10,000,000,000 tonnes or more" in field_errors(response, "quantity")
    assert not SupplyListing.objects.exists()


# --- the listing forms: dates ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("available_from", "0001-01-01"),
        ("available_from", "1999-12-31"),
        ("available_until", "9999-12-31"),
        ("available_until", "2100-01-01"),
    ],
)
def test_dates_outside_the_window_are_refused_on_their_field(
    member, site_a, spent_grain, field, value
):
    earliest, latest = business_date_window()
    data = supply_data(site_a, spent_grain, {field: value})
    response = member.post("/listings/supply/new/", data, **HTMX)
    assert response.status_code == 200
    expected = f"Give a date between {earliest.isoformat()} and {latest.isoformat()}."
    assert expected in field_errors(response, field)
    assert not SupplyListing.objects.exists()
    data = demand_data(site_a, [spent_grain], **{field: value})
    response = member.post("/listings/demand/new/", data, **HTMX)
    assert expected in field_errors(response, field)
    assert not DemandListing.objects.exists()


def test_the_window_edges_are_accepted_and_offered_to_the_date_picker(member, site_a, spent_grain):
    earliest, latest = business_date_window()
    assert earliest == date(2000, 1, 1)
    assert latest == date(date.today().year + 20, 12, 31)
    page = member.get("/listings/supply/new/").content.decode()
    assert f'min="{earliest.isoformat()}" max="{latest.isoformat()}"' in page
    data = supply_data(
        site_a,
        spent_grain,
        available_from=earliest.isoformat(),
        available_until=latest.isoformat(),
    )
    response = member.post("/listings/supply/new/", data, **HTMX)
    assert "HX-Redirect" in response
    supply = SupplyListing.objects.get()
    assert (supply.available_from, supply.available_until) == (earliest, latest)


def test_editing_a_listing_to_year_9999_changes_nothing(member, site_a, spent_grain):
    member.post("/listings/supply/new/", supply_data(site_a, spent_grain), **HTMX)
    supply = SupplyListing.objects.get()
    data = supply_data(site_a, spent_grain, available_until="9999-12-31")
    del data["status"]
    response = member.post(f"/listings/supply/{supply.pk}/edit/", data, **HTMX)
    assert "Give a date between" in field_errors(response, "available_until")
    supply.refresh_from_db()
    assert supply.available_until is None


# --- the listing forms: free text --------------------------------------------------------------


@pytest.mark.parametrize("kind", ["supply", "demand"])
def test_a_description_over_the_cap_is_refused_and_one_at_the_cap_is_saved(
    member, site_a, spent_grain, kind
):
    model = SupplyListing if kind == "supply" else DemandListing

    def post(length):
        # Cyrillic at the edge (characters, not bytes, count); ASCII beyond, within
        # Django's 2.5 MB request body limit.
        text = ("ж" if length <= DESCRIPTION_MAX_CHARS + 1 else "x") * length
        if kind == "supply":
            data = supply_data(site_a, spent_grain, description=text)
        else:
            data = demand_data(site_a, [spent_grain], description=text)
        return member.post(f"/listings/{kind}/new/", data, **HTMX)

    page = member.get(f"/listings/{kind}/new/").content.decode()
    assert f'maxlength="{DESCRIPTION_MAX_CHARS}"' in page
    for length in (DESCRIPTION_MAX_CHARS + 1, 100_000, 2_000_000):
        response = post(length)
        expected = f"Ensure this value has at most {DESCRIPTION_MAX_CHARS} characters"
        assert expected in field_errors(response, "description")
        assert not model.objects.exists()
    assert "HX-Redirect" in post(DESCRIPTION_MAX_CHARS)
    assert len(model.objects.get().description) == DESCRIPTION_MAX_CHARS


# --- import rows ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("quantity", "1E+1000000", "quantity: Ensure that there are no more than 14 digits"),
        ("available_from", "0001-01-01", "available_from: Give a date between 2000-01-01"),
        ("available_until", "9999-12-31", "available_until: Give a date between 2000-01-01"),
        ("description", "x" * 100_000, "description: Ensure this value has at most 5000"),
    ],
)
def test_an_import_row_over_a_bound_fails_with_its_column_named(
    member_a, site_a, spent_grain, column, value, message
):
    row = {"material": spent_grain.slug, "quantity": "12.5", column: value}
    checked = listings_check(user=member_a, kind="supply", rows=[Row(2, row)])
    (outcome,) = checked.results
    assert any(error.startswith(message) for error in outcome.errors), outcome.errors
    assert checked.listings == []
    assert not SupplyListing.objects.exists()


def test_the_bounds_are_said_in_russian(member, site_a, spent_grain):
    member.post("/i18n/setlang/", {"language": "ru", "next": "/"})
    text = preview(member, quantity="9999999999", unit="pieces", piece_mass_kg="999999999")
    assert "Это 10\xa0000\xa0000\xa0000 т или больше" in text
    assert "Количество: Убедитесь, что вы ввели не более 14 цифр" in preview(
        member, quantity="1E+1000000", unit="t"
    )
    response = member.post(
        "/listings/supply/new/",
        supply_data(site_a, spent_grain, available_until="9999-12-31"),
        **HTMX,
    )
    _earliest, latest = business_date_window()
    expected = f"Укажите дату с 2000-01-01 по {latest.isoformat()}."
    assert expected in field_errors(response, "available_until")
