"""A supply's composition (issue 18, part 2): typed in the form with inline checks,
imported from a file, written through the API, shown on the listing's page, also
when the listing is anonymous (composition names no owner)."""

import html
import re
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from symbiosis import imports
from symbiosis.models import SupplyListing
from tests import factories
from tests.web.conftest import HTMX
from tests.web.test_listings import supply_data

pytestmark = pytest.mark.django_db


def text_of(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


@pytest.fixture
def grain(db):
    return factories.MaterialFactory(
        slug="spent-grain",
        name_en="Spent grain",
        moisture_percent=Decimal("78"),
        carbon_to_nitrogen_ratio=Decimal("12"),
    )


@pytest.fixture
def member(client_as, member_a):
    return client_as(member_a)


def test_the_form_saves_the_composition(member, site_a, grain, company_a):
    data = supply_data(
        site_a,
        grain,
        moisture_percent="65",
        cn_ratio="18.5",
        particle_size_mm="4",
        contaminants=["glass", "plastics"],
    )
    response = member.post("/listings/supply/new/", data)
    assert response.status_code == 302, text_of(response)
    listing = SupplyListing.objects.get(organization=company_a)
    assert listing.cn_ratio == Decimal("18.5")
    assert listing.particle_size_mm == Decimal("4")
    # Stored in the order of the choices, whatever the order ticked.
    assert listing.contaminants == "plastics,glass"
    assert listing.dry_matter_percent == Decimal("35")
    # Editing shows the boxes ticked.
    page = member.get(f"/listings/supply/{listing.pk}/edit/").content.decode()
    assert re.search(r'value="glass"[^>]*checked', page)
    assert re.search(r'value="plastics"[^>]*checked', page)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("cn_ratio", "-3", "A C:N ratio cannot be negative."),
        ("cn_ratio", "0", "Give a C:N ratio above zero"),
        ("cn_ratio", "5000", "A C:N ratio above 1000 is a typo"),
        ("particle_size_mm", "-1", "A particle size cannot be negative."),
        ("particle_size_mm", "0", "Give a particle size above zero"),
    ],
)
def test_a_bad_composition_is_said_on_leaving_the_field(
    member, site_a, grain, field, value, message
):
    response = member.get(f"/listings/supply/check/{field}/", {field: value}, **HTMX)
    assert response.status_code == 200
    assert message in text_of(response)
    assert f'id="id_{field}_error"' in response.content.decode()
    # And on the submit, with nothing saved.
    response = member.post("/listings/supply/new/", supply_data(site_a, grain, **{field: value}))
    assert response.status_code == 200 and message in text_of(response)
    assert not SupplyListing.objects.exists()


def test_the_form_checks_each_composition_field_as_it_is_left(member, site_a, grain):
    page = member.get("/listings/supply/new/").content.decode()
    for field in ("cn_ratio", "particle_size_mm", "moisture_percent", "contamination_percent"):
        assert f'hx-get="/listings/supply/check/{field}/"' in page
    assert 'name="contaminants"' in page


def test_an_unknown_contaminant_is_refused(member, site_a, grain):
    response = member.post(
        "/listings/supply/new/", supply_data(site_a, grain, contaminants=["asbestos"])
    )
    assert response.status_code == 200
    assert "asbestos" in text_of(response)
    assert not SupplyListing.objects.exists()


def test_the_import_reads_the_composition_and_reports_bad_values(member_a, company_a, grain):
    factories.SiteFactory(organization=company_a, name="Brewhouse")
    text = (
        "material,site,quantity,cn_ratio,contaminants,particle_size_mm\n"
        "spent-grain,Brewhouse,4,20,glass; metal,3\n"
        "spent-grain,Brewhouse,5,-2,,\n"
        "spent-grain,Brewhouse,6,,rubble,\n"
    )
    rows, _complete = imports.parse_rows(text.encode(), "x.csv", "supply")
    checked = imports.listings_check(user=member_a, kind="supply", rows=rows)
    errors = [" ".join(row.errors) for row in checked.results]
    assert errors[0] == ""
    assert "C:N ratio cannot be negative" in errors[1]
    assert "rubble" in errors[2]
    good = text.splitlines()[:2]
    listing_import = imports.listing_import_start(
        user=member_a, kind="supply", file_name="s.csv", content="\n".join(good).encode()
    )
    assert listing_import.ready, listing_import.report
    imports.listing_import_commit(user=member_a, listing_import=listing_import)
    listing = SupplyListing.objects.get(organization=company_a)
    assert (listing.cn_ratio, listing.contaminants, listing.particle_size_mm) == (
        Decimal("20"),
        "glass,metal",
        Decimal("3"),
    )


def test_the_import_template_names_the_composition_columns():
    header = imports.template_rows("supply")[0]
    assert {"cn_ratio", "contaminants", "particle_size_mm"} <= set(header)


def test_the_api_writes_and_shows_the_composition(member_a, site_a, grain):
    client = APIClient()
    client.force_login(member_a)
    body = {
        "site": site_a.pk,
        "material": grain.slug,
        "quantity": "10",
        "unit": "t",
        "recurrence": "year",
        "cn_ratio": "-1",
        "contaminants": "glass,uranium",
    }
    response = client.post("/api/v1/supplies/", body, format="json")
    assert response.status_code == 400
    assert set(response.json()) >= {"cn_ratio", "contaminants"}
    body.update(cn_ratio="22", contaminants="glass, plastics", particle_size_mm="12")
    response = client.post("/api/v1/supplies/", body, format="json")
    assert response.status_code == 201, response.json()
    shown = client.get(f"/api/v1/supplies/{response.json()['id']}/").json()
    assert shown["cn_ratio"] == "22.00"
    assert shown["contaminants"] == "plastics,glass"
    assert shown["particle_size_mm"] == "12.00"
    # The material's typical moisture, 78 %: dry matter is derived from it.
    assert shown["dry_matter_percent"] == "22.00"
    assert shown["ewc_code"] == grain.ewc_code and shown["hazardous"] is False


def test_an_anonymous_listing_shows_its_composition_not_its_owner(
    client_as, member_b, company_a, site_a, grain
):
    grain.hazardous = True
    grain.save()
    listing = factories.SupplyListingFactory(
        organization=company_a,
        site=site_a,
        material=grain,
        visibility="anonymous",
        cn_ratio=Decimal("25"),
        contamination_percent=Decimal("1.5"),
        contaminants="plastics,stones",
        particle_size_mm=Decimal("8"),
    )
    page = client_as(member_b).get(f"/market/supply/{listing.pk}/")
    words = text_of(page)
    assert page.status_code == 200
    assert company_a.name not in words and site_a.name not in words
    for shown in (
        "Moisture % 78",
        "typical of the material",
        "Dry matter % 22",
        "C:N ratio 25",
        "Contamination % 1.5",
        "plastics, stones, sand or soil",
        "Particle size (mm) 8",
        "hazardous",
        grain.ewc_code,
    ):
        assert shown in words, shown
    # The API's redacted row carries it too.
    client = APIClient()
    client.force_login(member_b)
    row = client.get(f"/api/v1/supplies/{listing.pk}/").json()
    assert "organization" not in row and row["cn_ratio"] == "25.00"
    assert row["contaminants"] == "plastics,stones"


def test_the_api_filters_supplies_by_composition_as_the_optimizer_reads_it(member_b, grain):
    measured = factories.SupplyListingFactory(material=grain, moisture_percent=Decimal("40"))
    typical = factories.SupplyListingFactory(material=grain)  # 78 %, C:N 12: the material's
    rich = factories.SupplyListingFactory(
        material=grain, cn_ratio=Decimal("25"), contamination_percent=Decimal("3")
    )
    hazardous = factories.SupplyListingFactory(
        material=factories.MaterialFactory(slug="sludge", hazardous=True),
        particle_size_mm=Decimal("2"),
    )
    client = APIClient()
    client.force_login(member_b)

    def ids(**query):
        response = client.get("/api/v1/supplies/", query)
        assert response.status_code == 200, response.json()
        return {row["id"] for row in response.json()["results"]}

    assert ids(max_moisture_percent=50) == {measured.pk}
    assert ids(max_moisture_percent=80) == {measured.pk, typical.pk, rich.pk}
    assert ids(min_cn_ratio=20) == {rich.pk}
    assert ids(max_cn_ratio=20) == {measured.pk, typical.pk}
    # Not stated: not shown to pass a limit.
    assert ids(max_contamination_percent=5) == {rich.pk}
    assert ids(max_particle_size_mm=5) == {hazardous.pk}
    assert ids(hazardous="true") == {hazardous.pk}
    assert client.get("/api/v1/supplies/", {"min_cn_ratio": "lots"}).status_code == 400
