"""Site pages: create and edit with typed coordinates; permissions; bad input."""

from decimal import Decimal

import pytest

from symbiosis.models import Site
from tests import factories
from tests.web.conftest import HTMX

pytestmark = pytest.mark.django_db


def site_data(**overrides):
    data = {
        "name": "Warehouse",
        "address": "Suyunbay Ave 2",
        "district": "turksib",
        "latitude": "43.318000",
        "longitude": "76.955000",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize("url", ["/sites/new/", "/sites/1/edit/"])
def test_anonymous_visitors_are_sent_to_log_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("who", ["facilitator", "analyst"])
def test_staff_without_membership_cannot_add_sites(client_as, request, who):
    assert client_as(request.getfixturevalue(who)).get("/sites/new/").status_code == 403


def test_another_companys_site_is_404(client_as, member_a, site_b):
    client = client_as(member_a)
    assert client.get(f"/sites/{site_b.pk}/edit/").status_code == 404
    assert client.post(f"/sites/{site_b.pk}/edit/", site_data()).status_code == 404
    site_b.refresh_from_db()
    assert site_b.name == "Bakery yard"


def test_the_form_carries_the_map_with_the_tile_url_from_settings(client_as, member_a, settings):
    settings.MAP_TILE_URL = "https://tiles.example.kz/{z}/{x}/{y}.png"
    text = client_as(member_a).get("/sites/new/").content.decode()
    assert 'data-tiles="https://tiles.example.kz/{z}/{x}/{y}.png"' in text
    assert "vendor/leaflet/leaflet.js" in text
    # One organization: no choice to make, it is a hidden field.
    assert 'type="hidden" name="organization"' in text


def test_a_member_adds_a_site_with_typed_coordinates(client_as, member_a, company_a):
    response = client_as(member_a).post("/sites/new/", site_data(organization=company_a.pk))
    site = Site.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/#site-{site.pk}"
    assert site.organization == company_a
    assert site.latitude == Decimal("43.318000")


def test_a_member_of_two_organizations_chooses_one(client_as, member_a, company_b):
    factories.MembershipFactory(user=member_a, organization=company_b, role="member")
    client = client_as(member_a)
    assert b'<select name="organization"' in client.get("/sites/new/").content
    client.post("/sites/new/", site_data(organization=company_b.pk))
    assert Site.objects.get().organization == company_b


def test_a_site_cannot_be_added_to_another_organization(client_as, member_a, company_b):
    response = client_as(member_a).post("/sites/new/", site_data(organization=company_b.pk), **HTMX)
    assert response.status_code == 200
    assert b"Select a valid choice" in response.content
    assert not Site.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"latitude": "95"}, "latitude"),
        ({"longitude": "-200"}, "longitude"),
        ({"latitude": "north"}, "latitude"),
        ({"name": ""}, "name"),
        ({"district": "atlantis"}, "district"),
    ],
)
def test_bad_site_input_shows_inline_errors_and_saves_nothing(
    client_as, member_a, company_a, overrides, field
):
    data = site_data(organization=company_a.pk, **overrides)
    response = client_as(member_a).post("/sites/new/", data, **HTMX)
    text = response.content.decode()
    assert response.status_code == 200
    assert text.lstrip().startswith("<form")
    field_html = text.split(f'id="field-{field}"', 1)[1].split('class="field', 1)[0]
    assert "errorlist" in field_html
    assert not Site.objects.exists()


def test_a_member_edits_a_site(client_as, member_a, site_a):
    response = client_as(member_a).post(
        f"/sites/{site_a.pk}/edit/", site_data(name="Brewhouse 2"), **HTMX
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/#site-{site_a.pk}"
    site_a.refresh_from_db()
    assert site_a.name == "Brewhouse 2"
    assert site_a.district == "turksib"


def test_a_bad_edit_changes_nothing(client_as, member_a, site_a):
    response = client_as(member_a).post(f"/sites/{site_a.pk}/edit/", site_data(latitude="91"))
    assert response.status_code == 200
    site_a.refresh_from_db()
    assert site_a.latitude == Decimal("43.250000")


def test_the_workspace_links_to_adding_and_editing_sites(client_as, member_a, site_a):
    text = client_as(member_a).get("/").content.decode()
    assert 'href="/sites/new/"' in text
    assert f'href="/sites/{site_a.pk}/edit/"' in text
