"""The demand form's material picker: checkboxes a finger can tick, searched by htmx.

It replaced a ``<select multiple>`` whose help said "hold Ctrl (⌘ on a Mac)",
which a phone cannot do. The form still posts ``materials`` values.
"""

import re

import pytest

from symbiosis.models import DemandListing
from tests.web.conftest import HTMX

pytestmark = pytest.mark.django_db


def _checkbox(html: str, material) -> str:
    """The ``<input>`` of ``material`` in the picker, or "" when it is not listed."""
    found = re.search(rf'<input type="checkbox" name="materials" value="{material.pk}"[^>]*>', html)
    return found.group(0) if found else ""


def _picker(html: str) -> str:
    return html.split('id="field-materials"', 1)[1].split("</fieldset>", 1)[0]


def test_the_demand_form_offers_checkboxes_with_labels_not_a_ctrl_click_list(
    client_as, member_a, site_a, spent_grain, steel_slag
):
    html = client_as(member_a).get("/listings/demand/new/").content.decode()
    assert "Ctrl" not in html and "⌘" not in html
    assert '<select name="materials"' not in html
    picker = _picker(html)
    assert "<legend>Accepted materials" in picker
    for material in (spent_grain, steel_slag):
        box = _checkbox(picker, material)
        assert box and "checked" not in box
        # Each box has its own label, so a tap on the name ticks it.
        box_id = re.search(r'id="([^"]+)"', box).group(1)
        label = re.search(rf'<label for="{box_id}">(.*?)</label>', picker, re.S).group(1)
        assert material.name_en in label and material.ewc_code in label
    # The search box is labelled and narrows the list through htmx, into the list.
    assert '<label for="id_materials_q"' in picker
    search = re.search(r'<input type="search" id="id_materials_q"[^>]*>', picker, re.S).group(0)
    assert 'hx-get="/listings/materials/"' in search
    assert 'hx-target="#id_materials"' in search and '"multiple": "1"' in search
    assert '<div class="picker-options" id="id_materials">' in picker


def test_the_single_material_chooser_of_a_supply_is_unchanged(client_as, member_a, site_a):
    html = client_as(member_a).get("/listings/supply/new/").content.decode()
    assert '<select name="material"' in html
    assert 'type="checkbox" name="material"' not in html


def test_ticked_boxes_save_the_same_materials_as_before(
    client_as, member_a, site_a, spent_grain, food_waste, steel_slag
):
    data = {
        "materials": [spent_grain.pk, food_waste.pk],
        "site": site_a.pk,
        "quantity": "40",
        "unit": "t",
        "recurrence": "year",
        "visibility": "public",
        "status": "active",
        "q": "grain",  # the search box travels with the form; it changes nothing
    }
    response = client_as(member_a).post("/listings/demand/new/", data)
    assert response.status_code == 302
    demand = DemandListing.objects.get()
    assert set(demand.materials.all()) == {spent_grain, food_waste}

    html = client_as(member_a).get(f"/listings/demand/{demand.pk}/edit/").content.decode()
    picker = _picker(html)
    assert "checked" in _checkbox(picker, spent_grain)
    assert "checked" in _checkbox(picker, food_waste)
    assert "checked" not in _checkbox(picker, steel_slag)
    # The ticked materials come first, where the eye lands in the scrolling list.
    assert picker.index(f'value="{steel_slag.pk}"') > picker.index(f'value="{food_waste.pk}"')
    assert picker.index(f'value="{steel_slag.pk}"') > picker.index(f'value="{spent_grain.pk}"')


def test_a_form_with_errors_keeps_the_ticked_boxes(
    client_as, member_a, site_a, spent_grain, steel_slag
):
    data = {"materials": [steel_slag.pk], "site": site_a.pk, "quantity": "-1", "unit": "t"}
    response = client_as(member_a).post("/listings/demand/new/", data, **HTMX)
    assert response.status_code == 200
    picker = _picker(response.content.decode())
    assert "checked" in _checkbox(picker, steel_slag)
    assert "checked" not in _checkbox(picker, spent_grain)
    assert not DemandListing.objects.exists()


def test_search_narrows_the_boxes_and_keeps_the_ticked_ones(
    client_as, member_a, spent_grain, food_waste, steel_slag
):
    params = {"q": "slag", "field": "materials", "multiple": "1", "materials": [spent_grain.pk]}
    response = client_as(member_a).get("/listings/materials/", params, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "checked" in _checkbox(html, spent_grain)  # ticked before: kept, though no match
    assert _checkbox(html, steel_slag) and "checked" not in _checkbox(html, steel_slag)
    assert _checkbox(html, food_waste) == ""  # neither a match nor ticked
    assert "<option" not in html
    assert "1 material matches" in html


def test_search_in_russian_and_without_a_match(client_as, member_a, spent_grain, steel_slag):
    client = client_as(member_a)
    params = {"q": "дробина", "field": "materials", "multiple": "1"}
    html = client.get("/listings/materials/", params, **HTMX).content.decode()
    assert _checkbox(html, spent_grain) and not _checkbox(html, steel_slag)

    params = {"q": "zzz", "field": "materials", "multiple": "1", "materials": [steel_slag.pk]}
    html = client.get("/listings/materials/", params, **HTMX).content.decode()
    assert "No material matches “zzz”" in html
    assert "checked" in _checkbox(html, steel_slag)


def test_a_hostile_field_name_is_escaped(client_as, member_a, spent_grain):
    params = {"q": "", "field": '"><script>alert(1)</script>', "multiple": "1"}
    html = client_as(member_a).get("/listings/materials/", params, **HTMX).content.decode()
    assert "<script>" not in html
    assert "&quot;&gt;&lt;script&gt;" in html


@pytest.mark.parametrize("who", ["member", "facilitator", "analyst"])
def test_who_may_search_the_picker(client, who, member_a, facilitator, analyst, spent_grain):
    """The list of materials is the public taxonomy: any logged-in user may search it."""
    user = {"member": member_a, "facilitator": facilitator, "analyst": analyst}[who]
    client.force_login(user)
    params = {"q": "grain", "field": "materials", "multiple": "1"}
    response = client.get("/listings/materials/", params, **HTMX)
    assert response.status_code == 200
    assert _checkbox(response.content.decode(), spent_grain)


def test_anonymous_visitors_may_not_search_the_picker(client, spent_grain):
    params = {"q": "grain", "field": "materials", "multiple": "1"}
    response = client.get("/listings/materials/", params, **HTMX)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"] or "login" in response["Location"]


def test_the_demand_form_is_for_members_only(client_as, facilitator, analyst):
    for user in (facilitator, analyst):
        response = client_as(user).get("/listings/demand/new/")
        assert response.status_code in (302, 403), user
