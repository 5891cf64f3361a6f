"""Bulk import: templates, a check with row errors, all-or-nothing import, large files.

A file of at most IMPORT_SYNC_MAX_ROWS rows is checked and imported within
the request; a larger one by the Celery task, run here in-process (eagerly)
when the request's transaction commits. tests/integration/test_import_worker.py
runs the same with a real worker process.
"""

import io
import re
from datetime import datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from symbiosis import imports
from symbiosis.models import DemandListing, ListingImport, Membership, SupplyListing
from tests import factories
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


def many_rows(count: int, bad_line: int | None = None) -> str:
    lines = ["material,site,quantity"]
    for number in range(2, count + 2):
        material = "unobtainium" if number == bad_line else "food-waste"
        lines.append(f"{material},Brewhouse,{number}")
    return "\n".join(lines) + "\n"


def preview(client, upload, kind="supply", **headers):
    return client.post("/listings/import/", {"kind": kind, "file": upload}, **(headers or HTMX))


def commit_url(text: str) -> str:
    return re.search(r'action="(/listings/import/\d+/import/)"', text).group(1)


def status_url(text: str) -> str:
    return re.search(r'hx-get="(/listings/import/\d+/status/)"', text).group(1)


@pytest.fixture
def member(client_as, member_a, site_a, spent_grain, food_waste):
    return client_as(member_a)


@pytest.fixture
def eager_tasks(django_capture_on_commit_callbacks):
    """Tasks run in this process when the transaction that queued them commits."""
    from symbiosis.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield lambda: django_capture_on_commit_callbacks(execute=True)
    app.conf.task_always_eager = before


@pytest.fixture
def small_sync_limit(settings):
    settings.IMPORT_SYNC_MAX_ROWS = 3


# --- permissions --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/listings/import/",
        "/listings/import/template/supply.csv",
        "/listings/import/1/",
        "/listings/import/1/status/",
    ],
)
def test_anonymous_visitors_are_sent_to_log_in(client, url):
    assert client.get(url)["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("who", ["facilitator", "analyst"])
def test_staff_without_membership_cannot_import(client_as, request, member, who):
    listing_import = imports.listing_import_start(
        user=request.getfixturevalue("member_a"),
        kind="supply",
        file_name="x.csv",
        content=GOOD.encode(),
    )
    client = client_as(request.getfixturevalue(who))
    assert client.get("/listings/import/").status_code == 403
    for url in (
        f"/listings/import/{listing_import.pk}/",
        f"/listings/import/{listing_import.pk}/status/",
    ):
        assert client.get(url).status_code == 403
    assert client.post(f"/listings/import/{listing_import.pk}/import/").status_code == 403


def test_only_the_uploader_sees_and_imports_the_file(member, client, company_a, member_b):
    text = preview(member, csv_file(GOOD)).content.decode()
    url = commit_url(text)
    import_id = url.split("/")[3]
    colleague = factories.MembershipFactory(organization=company_a, role="admin").user
    for other in (member_b, colleague):
        client.force_login(other)
        assert client.get(f"/listings/import/{import_id}/").status_code == 404
        assert client.get(f"/listings/import/{import_id}/status/", **HTMX).status_code == 404
        assert client.post(url, **HTMX).status_code == 404
    assert not SupplyListing.objects.exists()


def test_a_member_who_left_the_organization_loses_the_import(member, member_a, company_b):
    text = preview(member, csv_file(GOOD)).content.decode()
    url = commit_url(text)
    Membership.objects.create(user=member_a, organization=company_b, role="member")
    Membership.objects.filter(user=member_a).exclude(organization=company_b).delete()
    assert member.get(url.replace("import/", "", 1).rsplit("import/", 1)[0]).status_code == 404
    assert member.post(url, **HTMX).status_code == 404
    assert not SupplyListing.objects.exists()


# --- templates -------------------------------------------------------------------------------


def test_the_page_documents_the_columns_and_links_the_templates(member):
    text = member.get("/listings/import/").content.decode()
    assert "/listings/import/template/supply.xlsx" in text
    assert "/listings/import/template/demand.csv" in text
    assert "<code>piece_mass_kg</code>" in text
    assert "more than 200 rows is checked and imported in the background" in text


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


def test_the_xlsx_template_imports_as_it_is(member):
    template = member.get("/listings/import/template/supply.xlsx")
    workbook = load_workbook(io.BytesIO(template.content))
    workbook.active["B2"] = "Brewhouse"
    out = io.BytesIO()
    workbook.save(out)
    response = preview(member, SimpleUploadedFile("template.xlsx", out.getvalue()))
    assert "1 row is ready to import" in response.content.decode()


def test_an_unknown_template_extension_is_404(member):
    assert member.get("/listings/import/template/supply.pdf").status_code == 404


# --- a small file: checked and imported within the request -------------------------------------


def test_a_check_saves_nothing_then_the_import_saves_every_row(member, food_waste):
    response = preview(member, csv_file(GOOD))
    text = response.content.decode()
    assert response.status_code == 200
    assert "All 3 rows are ready to import" in text
    assert "41.9" in text  # 100 m3 of food waste
    assert not SupplyListing.objects.exists()
    assert re.match(r"/listings/import/\d+/$", response["HX-Push-Url"])
    done = member.post(commit_url(text), **HTMX)
    assert done["HX-Redirect"] == "/"
    assert SupplyListing.objects.count() == 3
    kinds = set(SupplyListing.objects.values_list("visibility", "recurrence"))
    assert kinds == {("anonymous", "month"), ("public", "year"), ("private", "once")}
    assert SupplyListing.objects.get(unit="kg").material == food_waste
    assert "3 listings imported." in member.get("/").content.decode()


def test_without_javascript_the_same_in_plain_posts(member):
    response = member.post("/listings/import/", {"kind": "supply", "file": csv_file(GOOD)})
    text = response.content.decode()
    assert response.status_code == 200
    assert "All 3 rows are ready to import" in text
    done = member.post(commit_url(text))
    assert done.status_code == 302 and done["Location"] == "/"
    assert SupplyListing.objects.count() == 3


def test_two_bad_rows_import_nothing_and_are_named(member):
    response = preview(member, csv_file(TWO_BAD))
    text = response.content.decode()
    assert "2 rows have errors: nothing was imported" in text
    bad_3 = text.split('id="import-line-3"', 1)[1].split("</tr>", 1)[0]
    assert "Unknown material “unobtainium”" in bad_3
    bad_5 = text.split('id="import-line-5"', 1)[1].split("</tr>", 1)[0]
    assert "above zero" in bad_5
    assert "/import/" not in text.split('id="import-preview"', 1)[1]  # no import button
    assert not SupplyListing.objects.exists()
    # And the import cannot be forced by posting anyway.
    listing_import = ListingImport.objects.get()
    forced = member.post(f"/listings/import/{listing_import.pk}/import/", **HTMX)
    assert forced.status_code == 400
    assert "cannot be imported" in forced.content.decode()
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
    member.post(commit_url(response.content.decode()))
    demand = DemandListing.objects.get()
    assert set(demand.materials.all()) == {spent_grain, food_waste}


def test_a_demand_needs_a_material_or_a_use_as_on_the_demand_form(member):
    text = "materials,uses,quantity\n,,40\n"
    response = preview(member, csv_file(text), kind="demand")
    assert "Name at least one accepted material or use" in response.content.decode()


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
    assert not ListingImport.objects.exists()


def test_another_companys_site_is_unknown(member, site_b):
    text = preview(member, csv_file("material,site,quantity\nfood-waste,Bakery yard,1\n"))
    assert "no site named “Bakery yard”" in text.content.decode()


def test_a_second_import_of_the_same_check_is_refused(member):
    text = preview(member, csv_file(GOOD)).content.decode()
    assert member.post(commit_url(text), **HTMX)["HX-Redirect"] == "/"
    again = member.post(commit_url(text), **HTMX)
    assert again.status_code == 400
    assert "cannot be imported (again)" in again.content.decode()
    assert SupplyListing.objects.count() == 3


def test_a_row_that_broke_since_the_check_stops_the_whole_import(member, site_a):
    text = preview(member, csv_file(GOOD)).content.decode()
    site_a.name = "Renamed"
    site_a.save()
    done = member.post(commit_url(text), **HTMX)
    assert done.status_code == 200
    assert "nothing was imported" in done.content.decode()
    assert not SupplyListing.objects.exists()


def test_imports_older_than_a_day_are_forgotten_at_the_next_upload(member):
    preview(member, csv_file(GOOD))
    ListingImport.objects.update(created_at=timezone.now() - timedelta(days=1, minutes=1))
    preview(member, csv_file(GOOD))
    assert ListingImport.objects.count() == 1


# --- a large file: checked and imported by the task ----------------------------------------


def test_a_large_file_is_checked_and_imported_by_the_task(member, small_sync_limit, eager_tasks):
    with eager_tasks():
        response = preview(member, csv_file(many_rows(5)))
    text = response.content.decode()
    # The answer came before the check: it is the progress card, polling.
    assert 'id="import-status"' in text and 'hx-trigger="every 2s"' in text
    assert "The check starts as soon as a worker is free" in text
    assert not SupplyListing.objects.exists()

    checked = member.get(status_url(text), **HTMX)
    assert checked.status_code == 286  # stop polling: the report takes the card's place
    body = checked.content.decode()
    assert "All 5 rows are ready to import" in body

    with eager_tasks():
        started = member.post(commit_url(body), **HTMX)
    assert 'id="import-status"' in started.content.decode()
    done = member.get(status_url(started.content.decode()), **HTMX)
    assert done.status_code == 286
    assert done["HX-Redirect"] == "/"
    assert SupplyListing.objects.count() == 5
    assert "5 listings imported." in member.get("/").content.decode()
    listing_import = ListingImport.objects.get()
    assert (listing_import.done_rows, listing_import.imported_rows) == (5, 5)
    assert listing_import.content == b"" and listing_import.rows == []  # nothing kept


def test_without_javascript_a_large_file_has_its_own_page(member, small_sync_limit, eager_tasks):
    with eager_tasks():
        response = member.post(
            "/listings/import/", {"kind": "supply", "file": csv_file(many_rows(5))}
        )
    assert response.status_code == 302
    page = member.get(response["Location"])
    assert "All 5 rows are ready to import" in page.content.decode()
    with eager_tasks():
        started = member.post(commit_url(page.content.decode()))
    assert started["Location"] == response["Location"]
    assert "5 listings imported" in member.get(started["Location"]).content.decode()
    assert SupplyListing.objects.count() == 5


def test_a_bad_row_in_a_large_file_imports_nothing(member, settings, eager_tasks):
    settings.IMPORT_SYNC_MAX_ROWS = 10
    with eager_tasks():
        text = preview(member, csv_file(many_rows(250, bad_line=140))).content.decode()
    body = member.get(status_url(text), **HTMX).content.decode()
    assert "1 row has errors: nothing was imported" in body
    assert "1 row with errors is shown below, of 250 rows." in body
    assert re.findall(r'id="import-line-(\d+)"', body) == ["140"]
    assert "/import/" not in body.split('id="import-preview"', 1)[1]
    assert not SupplyListing.objects.exists()


def test_a_long_file_shows_its_first_rows(member, settings, eager_tasks):
    settings.IMPORT_SYNC_MAX_ROWS = 10
    with eager_tasks():
        text = preview(member, csv_file(many_rows(250))).content.decode()
    body = member.get(status_url(text), **HTMX).content.decode()
    assert "All 250 rows are ready to import" in body
    assert f"The first {imports.REPORT_ROWS} rows are shown below, of 250." in body
    assert len(re.findall(r'id="import-line-', body)) == imports.REPORT_ROWS


def test_a_file_error_after_the_first_lines_is_shown_by_the_status(
    member, settings, small_sync_limit, eager_tasks
):
    settings.IMPORT_MAX_CELL_CHARS = 50
    text = many_rows(8) + "food-waste,Brewhouse,1," + "x" * 51 + "\n"
    text = text.replace("material,site,quantity", "material,site,quantity,description")
    with eager_tasks():
        response = preview(member, csv_file(text))
    body = member.get(status_url(response.content.decode()), **HTMX)
    assert body.status_code == 286
    assert "A cell in line 10 is longer than 50 characters" in body.content.decode()
    assert "Nothing was imported" in body.content.decode()
    assert ListingImport.objects.get().status == "failed"


def test_the_worker_writes_its_messages_in_the_page_language(member, small_sync_limit, eager_tasks):
    member.cookies["django_language"] = "ru"
    with eager_tasks():
        text = preview(member, csv_file(many_rows(5, bad_line=3))).content.decode()
    body = member.get(status_url(text), **HTMX).content.decode()
    assert "Неизвестный материал «unobtainium»" in body
    assert ListingImport.objects.get().language == "ru"


def test_progress_is_recorded_while_rows_are_checked(member, member_a):
    seen = []
    rows, _complete = imports.parse_rows(many_rows(250).encode(), "x.csv", "supply")
    checked = imports.listings_check(
        user=member_a, kind="supply", rows=rows, on_progress=seen.append
    )
    assert seen == [100, 200]
    assert len(checked.listings) == 250 and not checked.failed
