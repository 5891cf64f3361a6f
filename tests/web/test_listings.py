"""Listing pages: create, edit, pause, close, duplicate; permissions and bad input."""

from decimal import Decimal

import pytest

from symbiosis.models import DemandListing, SupplyListing
from tests import factories
from tests.web.conftest import HTMX

pytestmark = pytest.mark.django_db


def supply_data(site, material, overrides=None, **more):
    data = {
        "material": material.pk,
        "site": site.pk,
        "quantity": "12.5",
        "unit": "t",
        "recurrence": "month",
        "visibility": "anonymous",
        "status": "active",
        "fate": "landfill",
    }
    data.update(overrides or {}, **more)
    return data


def demand_data(site, materials, **overrides):
    data = {
        "materials": [m.pk for m in materials],
        "site": site.pk,
        "quantity": "40",
        "unit": "t",
        "recurrence": "year",
        "visibility": "public",
        "status": "active",
    }
    data.update(overrides)
    return data


# --- permissions -------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/listings/supply/new/",
        "/listings/demand/new/",
        "/listings/supply/1/edit/",
        "/listings/supply/1/duplicate/",
        "/listings/materials/?q=grain",
        "/listings/tonnes/?quantity=1&unit=t",
        "/listings/supply/duplicates/",
    ],
)
def test_anonymous_visitors_are_sent_to_log_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_anonymous_visitors_cannot_change_a_status(client, company_a, site_a):
    supply = factories.SupplyListingFactory(organization=company_a, site=site_a)
    response = client.post(f"/listings/supply/{supply.pk}/status/", {"status": "closed"})
    assert response.status_code == 302
    supply.refresh_from_db()
    assert supply.status == "active"


@pytest.mark.parametrize("who", ["facilitator", "analyst"])
def test_staff_without_membership_cannot_create_listings(client_as, request, who):
    user = request.getfixturevalue(who)
    assert client_as(user).get("/listings/supply/new/").status_code == 403


@pytest.mark.parametrize("action", ["edit", "duplicate"])
def test_another_companys_listing_is_404(client_as, member_a, company_b, site_b, action):
    supply = factories.SupplyListingFactory(organization=company_b, site=site_b)
    response = client_as(member_a).get(f"/listings/supply/{supply.pk}/{action}/")
    assert response.status_code == 404


def test_another_companys_listing_cannot_be_closed(client_as, member_a, company_b, site_b):
    demand = factories.DemandListingFactory(organization=company_b, site=site_b)
    response = client_as(member_a).post(
        f"/listings/demand/{demand.pk}/status/", {"status": "closed"}
    )
    assert response.status_code == 404
    demand.refresh_from_db()
    assert demand.status == "active"


def test_a_facilitator_cannot_edit_a_company_listing(client_as, facilitator, company_a, site_a):
    supply = factories.SupplyListingFactory(organization=company_a, site=site_a)
    assert client_as(facilitator).get(f"/listings/supply/{supply.pk}/edit/").status_code == 403


def test_another_companys_site_is_not_offered_nor_accepted(
    client_as, member_a, site_a, site_b, spent_grain
):
    client = client_as(member_a)
    page = client.get("/listings/supply/new/").content.decode()
    assert "Brewhouse" in page
    assert "Bakery yard" not in page
    response = client.post("/listings/supply/new/", supply_data(site_b, spent_grain), **HTMX)
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not SupplyListing.objects.exists()


# --- create ------------------------------------------------------------------------


def test_a_member_creates_a_supply_listing(client_as, member_a, company_a, site_a, food_waste):
    response = client_as(member_a).post(
        "/listings/supply/new/", supply_data(site_a, food_waste, quantity="100", unit="m3")
    )
    supply = SupplyListing.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/#supply-{supply.pk}"
    assert supply.organization == company_a
    assert supply.tonnes == Decimal("41.9")
    assert supply.visibility == "anonymous"


def test_htmx_create_answers_with_a_client_redirect(client_as, member_a, site_a, spent_grain):
    response = client_as(member_a).post(
        "/listings/supply/new/", supply_data(site_a, spent_grain), **HTMX
    )
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith("/#supply-")
    assert SupplyListing.objects.count() == 1


def test_a_member_creates_a_demand_listing(client_as, member_a, site_a, spent_grain, food_waste):
    response = client_as(member_a).post(
        "/listings/demand/new/", demand_data(site_a, [spent_grain, food_waste])
    )
    assert response.status_code == 302
    demand = DemandListing.objects.get()
    assert set(demand.materials.all()) == {spent_grain, food_waste}
    assert demand.tonnes == Decimal("40")


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"quantity": "-5"}, "quantity", "above zero"),
        ({"quantity": "abc"}, "quantity", "Enter a number"),
        ({"quantity": ""}, "quantity", "This field is required"),
        ({"material": ""}, "material", "This field is required"),
        ({"unit": "m3"}, "unit", "no known density"),
        ({"unit": "pieces"}, "piece_mass_kg", "mass of one piece"),
        (
            {"available_from": "2027-05-01", "available_until": "2027-01-01"},
            "available_until",
            "end date is before the start date",
        ),
        ({"quantity": "0.0001", "unit": "kg"}, "quantity", "rounds to 0 tonnes"),
    ],
)
def test_bad_supply_input_shows_inline_errors_and_saves_nothing(
    client_as, member_a, site_a, spent_grain, overrides, field, message
):
    response = client_as(member_a).post(
        "/listings/supply/new/", supply_data(site_a, spent_grain, overrides), **HTMX
    )
    text = response.content.decode()
    assert response.status_code == 200
    # The form partial alone, for htmx to swap in place: no page around it.
    assert text.lstrip().startswith("<form")
    assert "<html" not in text
    assert f'id="field-{field}"' in text
    field_html = text.split(f'id="field-{field}"', 1)[1].split('class="field', 1)[0]
    assert "errorlist" in field_html
    assert message in field_html
    assert "Nothing was saved" in text
    assert not SupplyListing.objects.exists()


def test_bad_input_without_htmx_renders_the_whole_page(client_as, member_a, site_a, spent_grain):
    response = client_as(member_a).post(
        "/listings/supply/new/", supply_data(site_a, spent_grain, quantity="-1")
    )
    assert response.status_code == 200
    assert b"<html" in response.content
    assert not SupplyListing.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"materials": []}, "materials", "at least one accepted material or use"),
        ({"unit": "m3", "materials": "both"}, "reference_material", "measured in"),
        # Issue 17: said in human words, no longer "Ensure this value is greater than or equal".
        ({"min_lot_tonnes": "-1"}, "min_lot_tonnes", "A minimum lot cannot be negative."),
    ],
)
def test_bad_demand_input_shows_inline_errors_and_saves_nothing(
    client_as, member_a, site_a, spent_grain, food_waste, overrides, field, message
):
    if overrides.get("materials") == "both":
        overrides["materials"] = [spent_grain.pk, food_waste.pk]
    data = demand_data(site_a, [spent_grain])
    data.update(overrides)
    response = client_as(member_a).post("/listings/demand/new/", data, **HTMX)
    text = response.content.decode()
    assert response.status_code == 200
    field_html = text.split(f'id="field-{field}"', 1)[1].split('class="field', 1)[0]
    assert message in field_html
    assert not DemandListing.objects.exists()


# --- edit, status, duplicate -----------------------------------------------------------


def test_a_member_edits_a_listing(client_as, member_a, company_a, site_a, spent_grain):
    supply = factories.SupplyListingFactory(
        organization=company_a, site=site_a, material=spent_grain
    )
    data = supply_data(site_a, spent_grain, quantity="2500", unit="kg")
    del data["status"]
    response = client_as(member_a).post(f"/listings/supply/{supply.pk}/edit/", data)
    assert response.status_code == 302
    supply.refresh_from_db()
    assert supply.tonnes == Decimal("2.5")
    assert supply.status == "active"


def test_a_bad_edit_changes_nothing(client_as, member_a, company_a, site_a, spent_grain):
    supply = factories.SupplyListingFactory(
        organization=company_a, site=site_a, material=spent_grain
    )
    data = supply_data(site_a, spent_grain, quantity="5", unit="m3")
    response = client_as(member_a).post(f"/listings/supply/{supply.pk}/edit/", data, **HTMX)
    assert response.status_code == 200
    assert b"no known density" in response.content
    supply.refresh_from_db()
    assert supply.unit == "t"
    assert supply.quantity == Decimal("100")


def test_the_edit_form_is_filled_in(client_as, member_a, company_a, site_a, spent_grain):
    supply = factories.SupplyListingFactory(
        organization=company_a, site=site_a, material=spent_grain, quantity=Decimal("77")
    )
    text = client_as(member_a).get(f"/listings/supply/{supply.pk}/edit/").content.decode()
    assert 'value="77' in text
    assert f'<option value="{spent_grain.pk}" selected>' in text


@pytest.mark.parametrize(
    ("start", "new", "end"),
    [
        ("active", "paused", "paused"),
        ("paused", "active", "active"),
        ("draft", "active", "active"),
        ("active", "closed", "closed"),
        ("closed", "active", "closed"),
        ("active", "draft", "active"),
    ],
)
def test_status_buttons(client_as, member_a, company_a, site_a, start, new, end):
    supply = factories.SupplyListingFactory(organization=company_a, site=site_a, status=start)
    response = client_as(member_a).post(
        f"/listings/supply/{supply.pk}/status/", {"status": new}, **HTMX
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert text.startswith(f'<li class="listing status-{end}" id="supply-{supply.pk}"')
    supply.refresh_from_db()
    assert supply.status == end
    if start == end:
        assert 'role="alert"' in text


def test_status_change_without_htmx_redirects_home(client_as, member_a, company_a, site_a):
    demand = factories.DemandListingFactory(organization=company_a, site=site_a)
    demand.materials.set([factories.MaterialFactory()])
    response = client_as(member_a).post(
        f"/listings/demand/{demand.pk}/status/", {"status": "paused"}
    )
    assert response.status_code == 302
    demand.refresh_from_db()
    assert demand.status == "paused"


def test_duplicate_fills_a_new_form_and_saves_nothing(
    client_as, member_a, company_a, site_a, spent_grain
):
    supply = factories.SupplyListingFactory(
        organization=company_a, site=site_a, material=spent_grain, quantity=Decimal("33")
    )
    response = client_as(member_a).get(f"/listings/supply/{supply.pk}/duplicate/")
    text = response.content.decode()
    assert response.status_code == 200
    assert 'action="/listings/supply/new/"' in text
    assert 'value="33' in text
    # The copy of an active listing at the same site warns at once.
    assert "already exists" in text
    assert SupplyListing.objects.count() == 1


def test_duplicate_of_a_demand_keeps_its_materials(
    client_as, member_a, company_a, site_a, spent_grain, food_waste
):
    demand = factories.DemandListingFactory(
        organization=company_a, site=site_a, materials=[spent_grain, food_waste]
    )
    text = client_as(member_a).get(f"/listings/demand/{demand.pk}/duplicate/").content.decode()
    for material in (spent_grain, food_waste):  # the material picker's ticked boxes
        box = f'name="materials" value="{material.pk}" id="id_materials_{material.pk}" checked>'
        assert box in text


# --- the htmx helpers ------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["spent grain", "дробина", "ДРОБИНА", "02 07", "020704", "grain"])
def test_material_search_finds_spent_grain(client_as, member_a, spent_grain, steel_slag, query):
    response = client_as(member_a).get("/listings/materials/", {"q": query}, **HTMX)
    text = response.content.decode()
    assert response.status_code == 200
    assert f'<option value="{spent_grain.pk}" selected>' in text
    assert "Steel slag" not in text
    assert "materialChanged" in response["HX-Trigger-After-Settle"]


def test_material_search_shows_russian_names_in_russian(client_as, member_a, spent_grain):
    client = client_as(member_a)
    response = client.get("/listings/materials/", {"q": "spent"}, HTTP_ACCEPT_LANGUAGE="ru", **HTMX)
    assert "Пивная дробина" in response.content.decode()


def test_material_search_without_a_match_keeps_the_choice(
    client_as, member_a, spent_grain, steel_slag
):
    response = client_as(member_a).get(
        "/listings/materials/", {"q": "zzz", "field": "material", "material": steel_slag.pk}
    )
    text = response.content.decode()
    assert "No material matches" in text
    assert f'<option value="{steel_slag.pk}" selected>' in text


def test_material_search_in_a_multiple_select_keeps_all_choices(
    client_as, member_a, spent_grain, steel_slag
):
    response = client_as(member_a).get(
        "/listings/materials/",
        {"q": "slag", "field": "materials", "multiple": "1", "materials": [spent_grain.pk]},
    )
    text = response.content.decode()  # the material picker's checkboxes
    assert f'value="{spent_grain.pk}" id="id_materials_{spent_grain.pk}" checked>' in text
    assert f'value="{steel_slag.pk}" id="id_materials_{steel_slag.pk}">' in text


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"quantity": "100", "unit": "m3", "material": "food"}, "= 41.9 t"),
        ({"quantity": "2500", "unit": "kg"}, "= 2.5 t"),
        ({"quantity": "3", "unit": "t", "recurrence": "month"}, "= 3 t per month"),
        ({"quantity": "200", "unit": "pieces", "piece_mass_kg": "25"}, "= 5 t"),
        ({"quantity": "100", "unit": "m3", "materials": "food"}, "= 41.9 t"),
        ({"quantity": "1", "unit": "m3"}, "Choose the material first"),
        ({"quantity": "1", "unit": "pieces"}, "mass of one piece"),
        ({"quantity": "abc", "unit": "t"}, "Type a quantity"),
        ({"quantity": "100", "unit": "m3", "material": "grain"}, "no known density"),
    ],
)
def test_tonnes_preview(client_as, member_a, food_waste, spent_grain, params, expected):
    params = dict(params)
    for name in ("material", "materials"):
        if params.get(name) == "food":
            params[name] = food_waste.pk
        elif params.get(name) == "grain":
            params[name] = spent_grain.pk
    response = client_as(member_a).get("/listings/tonnes/", params, **HTMX)
    assert response.status_code == 200
    assert expected in response.content.decode()


def test_duplicate_warning_names_the_active_listing_at_the_same_site(
    client_as, member_a, company_a, site_a, spent_grain, food_waste
):
    existing = factories.SupplyListingFactory(
        organization=company_a, site=site_a, material=spent_grain
    )
    client = client_as(member_a)
    url = "/listings/supply/duplicates/"
    same = client.get(url, {"site": site_a.pk, "material": spent_grain.pk}, **HTMX)
    assert "already exists" in same.content.decode()
    assert f"/listings/supply/{existing.pk}/edit/" in same.content.decode()
    other = client.get(url, {"site": site_a.pk, "material": food_waste.pk}, **HTMX)
    assert other.content.decode().strip() == ""
    itself = client.get(
        url, {"site": site_a.pk, "material": spent_grain.pk, "exclude": existing.pk}, **HTMX
    )
    assert itself.content.decode().strip() == ""
    existing.status = "paused"
    existing.save()
    paused = client.get(url, {"site": site_a.pk, "material": spent_grain.pk}, **HTMX)
    assert paused.content.decode().strip() == ""


def test_duplicate_warning_for_demands(client_as, member_a, company_a, site_a, spent_grain):
    factories.DemandListingFactory(organization=company_a, site=site_a, materials=[spent_grain])
    response = client_as(member_a).get(
        "/listings/demand/duplicates/", {"site": site_a.pk, "materials": [spent_grain.pk]}
    )
    assert "already exists" in response.content.decode()


def test_duplicate_warning_ignores_other_companies(
    client_as, member_a, company_b, site_b, spent_grain
):
    factories.SupplyListingFactory(organization=company_b, site=site_b, material=spent_grain)
    response = client_as(member_a).get(
        "/listings/supply/duplicates/", {"site": site_b.pk, "material": spent_grain.pk}
    )
    assert response.content.decode().strip() == ""


def test_a_warning_does_not_block_saving(client_as, member_a, company_a, site_a, spent_grain):
    factories.SupplyListingFactory(organization=company_a, site=site_a, material=spent_grain)
    response = client_as(member_a).post("/listings/supply/new/", supply_data(site_a, spent_grain))
    assert response.status_code == 302
    assert SupplyListing.objects.count() == 2
