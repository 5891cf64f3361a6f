"""Bulk import: templates, dry-run preview with row errors, all-or-nothing import."""

import io
import re
from datetime import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook

from symbiosis.models import DemandListing, SupplyListing
from tests.web.conftest import HTMX

pytestmark = pytest.mark.django_db


def csv_file(text: str, name="listings.csv"):
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def xlsx_file(rows, name="listings.xlsx"):
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return SimpleUploadedFile(name, out.getvalue())


GOOD = """material,site,quantity,unit,recurrence,visibility
brewery-spent-grain,Brewhouse,120,t,month,anonymous
Пищевые отходы (кухонные и столовые),Brewhouse,100,m3,year,public
20 01 08,,2500,kg,once,private
"""

TWO_BAD = """material,site,quantity,unit
brewery-spent-grain,Brewhouse,120,t
unobtainium,Brewhouse,5,t
food-waste,Brewhouse,10,t
brewery-spent-grain,Brewhouse,-4,t
"""


def preview(client, upload, kind="supply"):
    return client.post("/listings/import/", {"kind": kind, "file": upload}, **HTMX)


@pytest.fixture
def member(client_as, member_a, site_a, spent_grain, food_waste):
    return client_as(member_a)


# --- permissions --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["/listings/import/", "/listings/import/template/supply.csv"],
)
def test_anonymous_visitors_are_sent_to_log_in(client, url):
    assert client.get(url)["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("who", ["facilitator", "analyst"])
def test_staff_without_membership_cannot_import(client_as, request, who):
    client = client_as(request.getfixturevalue(who))
    assert client.get("/listings/import/").status_code == 403
    assert client.post("/listings/import/confirm/", {"token": "x"}).status_code == 403


# --- templates -------------------------------------------------------------------------------


def test_the_page_documents_the_columns_and_links_the_templates(member):
    text = member.get("/listings/import/").content.decode()
    assert "/listings/import/template/supply.xlsx" in text
    assert "/listings/import/template/demand.csv" in text
    assert "<code>piece_mass_kg</code>" in text


def test_the_csv_template_imports_as_it_is(member):
    template = member.get("/listings/import/template/supply.csv")
    assert template["Content-Disposition"].endswith('.csv"')
    text = template.content.decode("utf-8-sig").replace(",,", ",Brewhouse,", 1)
    response = preview(member, csv_file(text))
    assert "ready to import" in response.content.decode()


def test_the_xlsx_template_has_the_columns_and_their_meaning(member):
    template = member.get("/listings/import/template/demand.xlsx")
    workbook = load_workbook(io.BytesIO(template.content))
    header = [c.value for c in workbook.worksheets[0][1]]
    assert header[:3] == ["materials", "uses", "site"]
    assert workbook["columns"]["A2"].value == "materials"


def test_an_unknown_template_extension_is_404(member):
    assert member.get("/listings/import/template/supply.pdf").status_code == 404


# --- dry run and import ----------------------------------------------------------------------


def test_a_dry_run_saves_nothing_then_the_import_saves_every_row(member, food_waste):
    response = preview(member, csv_file(GOOD))
    text = response.content.decode()
    assert response.status_code == 200
    assert "All 3 rows are ready to import" in text
    assert "41.9" in text  # 100 m3 of food waste
    assert not SupplyListing.objects.exists()
    token = re.search(r'name="token" value="([^"]+)"', text).group(1)
    done = member.post("/listings/import/confirm/", {"token": token}, **HTMX)
    assert done["HX-Redirect"] == "/"
    assert SupplyListing.objects.count() == 3
    kinds = set(SupplyListing.objects.values_list("visibility", "recurrence"))
    assert kinds == {("anonymous", "month"), ("public", "year"), ("private", "once")}
    assert SupplyListing.objects.get(unit="kg").material == food_waste


def test_two_bad_rows_import_nothing_and_are_named(member):
    response = preview(member, csv_file(TWO_BAD))
    text = response.content.decode()
    assert "2 rows have errors: nothing was imported" in text
    bad_3 = text.split('id="import-line-3"', 1)[1].split("</tr>", 1)[0]
    assert "Unknown material “unobtainium”" in bad_3
    bad_5 = text.split('id="import-line-5"', 1)[1].split("</tr>", 1)[0]
    assert "above zero" in bad_5
    assert 'name="token"' not in text
    assert not SupplyListing.objects.exists()


def test_xlsx_with_numbers_and_dates(member):
    rows = [
        ["material", "site", "quantity", "unit", "available_from", "available_until"],
        [
            "brewery-spent-grain",
            "Brewhouse",
            12.5,
            "t",
            datetime(2027, 1, 1),
            datetime(2027, 6, 30),
        ],
        ["food-waste", "Brewhouse", 3, "t", datetime(2027, 5, 1), datetime(2027, 1, 1)],
    ]
    text = preview(member, xlsx_file(rows)).content.decode()
    bad = text.split('id="import-line-3"', 1)[1].split("</tr>", 1)[0]
    assert "end date is before the start date" in bad
    ok = text.split('id="import-line-2"', 1)[1].split("</tr>", 1)[0]
    assert "12.5" in ok
    assert "OK" in ok


def test_semicolons_decimal_commas_and_russian_names(member):
    text = "material;quantity;unit\nпивная дробина;12,5;t\n"
    response = preview(member, csv_file(text))
    assert "ready to import" in response.content.decode()
    assert "12.5" in response.content.decode()


def test_demands_with_several_materials(member, spent_grain, food_waste):
    text = "materials,quantity\nbrewery-spent-grain;food-waste,40\n"
    response = preview(member, csv_file(text), kind="demand")
    token = re.search(r'name="token" value="([^"]+)"', response.content.decode()).group(1)
    member.post("/listings/import/confirm/", {"token": token})
    demand = DemandListing.objects.get()
    assert set(demand.materials.all()) == {spent_grain, food_waste}


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (csv_file("material,colour,quantity\nx,red,1\n"), "Unknown columns: colour"),
        (csv_file("site,unit\nBrewhouse,t\n"), "Missing columns: material, quantity"),
        (csv_file("material,quantity\n"), "no rows"),
        (SimpleUploadedFile("listings.pdf", b"%PDF"), "Upload a .csv or .xlsx file"),
        (SimpleUploadedFile("listings.xlsx", b"not a workbook"), "not a readable .xlsx"),
    ],
)
def test_unreadable_files_are_refused_whole(member, upload, message):
    text = preview(member, upload).content.decode()
    assert message in text.split('id="field-file"', 1)[1]
    assert not SupplyListing.objects.exists()


def test_another_companys_site_is_unknown(member, site_b):
    text = preview(member, csv_file("material,site,quantity\nfood-waste,Bakery yard,1\n"))
    assert "no site named “Bakery yard”" in text.content.decode()


def test_a_tampered_or_foreign_token_is_refused(member, client, member_b):
    response = preview(member, csv_file(GOOD))
    token = re.search(r'name="token" value="([^"]+)"', response.content.decode()).group(1)
    assert member.post("/listings/import/confirm/", {"token": token + "x"}).status_code == 400
    client.force_login(member_b)
    assert client.post("/listings/import/confirm/", {"token": token}).status_code == 400
    assert not SupplyListing.objects.exists()


def test_a_row_that_broke_since_the_preview_stops_the_whole_import(member, site_a):
    response = preview(member, csv_file(GOOD))
    token = re.search(r'name="token" value="([^"]+)"', response.content.decode()).group(1)
    site_a.name = "Renamed"
    site_a.save()
    done = member.post("/listings/import/confirm/", {"token": token}, **HTMX)
    assert done.status_code == 200
    assert "nothing was imported" in done.content.decode()
    assert not SupplyListing.objects.exists()
