"""The import's services and file reading, without the pages (see tests/web/test_import.py)."""

import io

import pytest
from django.core.exceptions import ValidationError
from openpyxl import Workbook

from symbiosis import imports
from symbiosis.models import ListingImport, Material, Site, SupplyListing
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(company_a, member_a):
    factories.SiteFactory(organization=company_a, name="Brewhouse")
    factories.MaterialFactory(slug="food-waste", name_en="Food waste")
    return member_a


def rows_csv(count: int, extra: str = "") -> bytes:
    lines = ["material,site,quantity"] + [f"food-waste,Brewhouse,{n}" for n in range(1, count + 1)]
    return ("\n".join(lines) + "\n" + extra).encode()


def rows_xlsx(count: int, extra_row=None) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["material", "site", "quantity", "description"])
    for number in range(1, count + 1):
        sheet.append(["food-waste", "Brewhouse", number, ""])
    if extra_row:
        sheet.append(extra_row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def queued(user, content: bytes, name="big.csv") -> ListingImport:
    return ListingImport.objects.create(
        owner=user,
        organization=user.memberships.first().organization,
        kind="supply",
        file_name=name,
        content=content,
    )


# --- reading: the web reads only the start of a large file -----------------------------------


@pytest.mark.parametrize(("name", "make"), [("x.csv", rows_csv), ("x.xlsx", rows_xlsx)])
def test_a_peek_reads_only_the_first_rows(settings, name, make):
    settings.IMPORT_MAX_CELL_CHARS = 50
    # A cell far down the file is over the limit: the peek does not get there.
    late = "\nfood-waste,Brewhouse,1," + "x" * 60 if name.endswith("csv") else None
    content = make(3000, late) if late else make(3000, ["food-waste", "Brewhouse", 1, "x" * 60])
    rows, complete = imports.parse_rows(content, name, "supply", peek_rows=200)
    assert (len(rows), complete) == (200, False)
    with pytest.raises(imports.ImportFileError, match="longer than 50 characters"):
        imports.parse_rows(content, name, "supply")


def test_a_file_within_the_peek_is_read_whole():
    rows, complete = imports.parse_rows(rows_csv(200), "x.csv", "supply", peek_rows=200)
    assert (len(rows), complete) == (200, True)
    rows, complete = imports.parse_rows(rows_csv(201), "x.csv", "supply", peek_rows=200)
    assert (len(rows), complete) == (200, False)


def test_blank_lines_count_towards_the_peek():
    content = rows_csv(3, "\n" * 500)
    assert imports.parse_rows(content, "x.csv", "supply", peek_rows=200)[1] is False
    assert len(imports.parse_rows(content, "x.csv", "supply")[0]) == 3


@pytest.mark.parametrize(
    ("content", "found"),
    [
        ("material;quantity\nпивная дробина;1\n".encode("cp1251"), "пивная дробина"),
        ("material;quantity\nпивная дробина;1\n".encode("utf-8-sig"), "пивная дробина"),
        ("material;quantity\nпивная дробина;1\n".encode("utf-16"), "пивная дробина"),
    ],
)
def test_csv_encodings_are_told_apart_without_decoding_the_whole_file(content, found):
    rows, _complete = imports.parse_rows(content, "x.csv", "supply")
    assert rows[0].data["material"] == found


def test_a_byte_cp1251_lacks_is_refused_with_a_message():
    content = b"material,quantity\n\x98,1\n"  # invalid in UTF-8 and undefined in cp1251
    with pytest.raises(imports.ImportFileError, match="Save the CSV file as UTF-8"):
        imports.parse_rows(content, "x.csv", "supply")


# --- the worker's part: attempts, redelivery, all or nothing -----------------------------------


def test_the_worker_checks_a_queued_file_and_records_progress(member, settings):
    listing_import = queued(member, rows_csv(250))
    imports.listing_import_check(import_id=listing_import.pk)
    listing_import.refresh_from_db()
    assert listing_import.status == "checked"
    assert (listing_import.total_rows, listing_import.done_rows) == (250, 250)
    assert listing_import.content == b""  # the file is not kept once read
    assert len(listing_import.rows) == 250 and len(listing_import.report) == imports.REPORT_ROWS


def test_a_worker_that_stopped_three_times_on_a_file_gives_up(member):
    listing_import = queued(member, rows_csv(3))
    ListingImport.objects.filter(pk=listing_import.pk).update(status="checking", attempts=3)
    imports.listing_import_check(import_id=listing_import.pk)
    listing_import.refresh_from_db()
    assert listing_import.status == "failed"
    assert "stopped on this file 3 times" in listing_import.error


def test_a_second_delivery_of_the_write_task_writes_nothing_more(member):
    listing_import = queued(member, rows_csv(5))
    imports.listing_import_check(import_id=listing_import.pk)
    listing_import.refresh_from_db()
    imports.listing_import_commit(user=member, listing_import=listing_import)
    imports.listing_import_write(import_id=listing_import.pk)  # the task, delivered again
    assert SupplyListing.objects.count() == 5
    listing_import.refresh_from_db()
    assert (listing_import.status, listing_import.imported_rows) == ("imported", 5)


def test_a_file_the_worker_cannot_read_fails_with_the_reason(member):
    listing_import = queued(member, b"PK\x03\x04 not a zip", name="big.xlsx")
    imports.listing_import_check(import_id=listing_import.pk)
    listing_import.refresh_from_db()
    assert listing_import.status == "failed"
    assert listing_import.error == "This is not a readable .xlsx file."
    assert listing_import.content == b""


def test_demands_are_written_with_their_materials_and_uses(member, company_a):
    factories.MaterialFactory(slug="grain", name_en="Grain")
    feed = factories.UseFactory(slug="feed", name_en="Feed")
    text = "materials,uses,site,quantity\nfood-waste;grain,feed,Brewhouse,4\ngrain,,Brewhouse,5\n"
    listing_import = imports.listing_import_start(
        user=member, kind="demand", file_name="d.csv", content=text.encode()
    )
    assert listing_import.ready, [row["errors"] for row in listing_import.report]
    imports.listing_import_commit(user=member, listing_import=listing_import)
    first, second = company_a.demandlisting_set.order_by("quantity")
    assert {m.slug for m in first.materials.all()} == {"food-waste", "grain"}
    assert [u.slug for u in first.uses.all()] == ["feed"]
    assert [m.slug for m in second.materials.all()] == ["grain"] and not second.uses.exists()
    assert feed.demands.get() == first


def test_a_material_named_like_its_code_is_one_material(member):
    # Found on the way: "Glass" (slug "glass") was indexed twice under "glass",
    # so the row said it "names several materials (glass, glass)".
    factories.MaterialFactory(slug="glass", name_en="Glass")
    rows, _complete = imports.parse_rows(
        b"material,site,quantity\nGLASS,Brewhouse,1\n", "x.csv", "supply"
    )
    checked = imports.listings_check(user=member, kind="supply", rows=rows)
    assert [row.errors for row in checked.results] == [[]]


def test_supplies_are_imported_with_their_fate_evidence_and_origin(member, company_a):
    text = (
        "material,site,quantity,fate,fate_evidence,fate_evidence_note,imported_origin\n"
        "food-waste,Brewhouse,4,already_used,documented,Feed contract 2026,yes\n"
        "food-waste,Brewhouse,5,stored_on_farm,,,Нет\n"
    )
    listing_import = imports.listing_import_start(
        user=member, kind="supply", file_name="s.csv", content=text.encode()
    )
    assert listing_import.ready, [row["errors"] for row in listing_import.report]
    imports.listing_import_commit(user=member, listing_import=listing_import)
    first, second = company_a.supplylisting_set.order_by("quantity")
    assert (first.fate, first.fate_evidence, first.fate_evidence_note, first.imported_origin) == (
        "already_used",
        "documented",
        "Feed contract 2026",
        True,
    )
    assert (second.fate, second.fate_evidence, second.imported_origin) == (
        "stored_on_farm",
        "declared",
        False,
    )


@pytest.mark.parametrize(
    ("cells", "words"),
    [
        # Only a facilitator verifies a fate, in a file as on the page.
        ("landfill,verified,,no", "only a facilitator verifies a fate"),
        ("landfill,documented,,no", "Say what the document is"),
        # "no" must never read as a ticked box.
        ("landfill,declared,,maybe", "answer yes or no"),
    ],
)
def test_a_row_with_bad_fate_evidence_is_reported(member, cells, words):
    text = "material,site,quantity,fate,fate_evidence,fate_evidence_note,imported_origin\n"
    text += f"food-waste,Brewhouse,4,{cells}\n"
    rows, _complete = imports.parse_rows(text.encode(), "x.csv", "supply")
    checked = imports.listings_check(user=member, kind="supply", rows=rows)
    assert any(words in error for error in checked.results[0].errors), checked.results[0].errors
    assert not SupplyListing.objects.exists()


def test_the_supply_template_names_the_fate_columns():
    header = imports.template_rows("supply")[0]
    assert {"fate", "fate_evidence", "fate_evidence_note", "imported_origin"} <= set(header)


# --- duplicates: warned about in the preview, imported unless left out ------------------------


def _start(user, text: str, kind="supply", name="listings.csv") -> ListingImport:
    return imports.listing_import_start(user=user, kind=kind, file_name=name, content=text.encode())


def _active_supply(company, recurrence="year", status="active", site_name="Brewhouse"):
    return factories.SupplyListingFactory(
        organization=company,
        site=Site.objects.get(organization=company, name=site_name),
        material=Material.objects.get(slug="food-waste"),
        recurrence=recurrence,
        status=status,
    )


def test_a_row_repeating_an_active_listing_is_warned_about_not_refused(member, company_a):
    _active_supply(company_a, recurrence="year")
    _active_supply(company_a, recurrence="once", status="paused")  # not active: no warning
    text = (
        "material,site,quantity,recurrence\n"
        "food-waste,Brewhouse,4,year\n"  # line 2: repeats the active yearly listing
        "food-waste,Brewhouse,4,month\n"  # another recurrence: a different listing
        "food-waste,Brewhouse,4,once\n"  # only a paused listing is like it
    )
    listing_import = _start(member, text)
    assert (listing_import.status, listing_import.failed_rows) == ("checked", 0)
    assert listing_import.duplicate_rows == 1
    assert listing_import.ready
    report = {row["line"]: row for row in listing_import.report}
    assert report[2]["errors"] == []
    assert report[2]["warnings"] == [
        "Possible duplicate: an active listing of Food waste per year at Brewhouse already exists."
    ]
    assert report[3]["warnings"] == [] and report[4]["warnings"] == []

    imports.listing_import_commit(user=member, listing_import=listing_import)
    assert SupplyListing.objects.filter(status="active").count() == 1 + 3  # imported anyway


def test_a_row_repeating_an_earlier_row_is_warned_about(member):
    listing_import = _start(member, rows_csv(3).decode())  # three rows of one material and site
    assert listing_import.duplicate_rows == 2
    warnings = [row["warnings"] for row in listing_import.report]
    assert warnings[0] == []
    for found in warnings[1:]:
        assert found == [
            "Possible duplicate of line 2: same site, material and recurrence "
            "(Food waste per year)."
        ]


def test_leaving_the_duplicates_out_imports_the_other_rows(member, company_a):
    _active_supply(company_a, recurrence="month")
    text = (
        "material,site,quantity,recurrence\n"
        "food-waste,Brewhouse,1,month\n"  # repeats the active listing: left out
        "food-waste,Brewhouse,2,year\n"  # kept: the first of two alike
        "food-waste,Brewhouse,3,year\n"  # repeats line 3: left out
        "food-waste,Brewhouse,4,once\n"  # kept
    )
    listing_import = _start(member, text)
    assert listing_import.duplicate_rows == 2
    imports.listing_import_commit(user=member, listing_import=listing_import, skip_duplicates=True)
    listing_import.refresh_from_db()
    assert (listing_import.status, listing_import.imported_rows) == ("imported", 2)
    imported = SupplyListing.objects.exclude(recurrence="month")
    assert sorted(str(x.quantity.normalize()) for x in imported) == ["2", "4"]
    assert SupplyListing.objects.filter(recurrence="month").count() == 1


def test_when_every_row_is_a_duplicate_leaving_them_out_imports_nothing(member, company_a):
    _active_supply(company_a)
    listing_import = _start(member, "material,site,quantity\nfood-waste,Brewhouse,4\n")
    with pytest.raises(ValidationError, match="nothing to import"):
        imports.listing_import_commit(
            user=member, listing_import=listing_import, skip_duplicates=True
        )
    listing_import.refresh_from_db()
    assert listing_import.status == "checked"  # still there to import with the duplicate
    assert SupplyListing.objects.count() == 1


def test_listings_of_other_organizations_and_sites_are_no_duplicates(member, company_a, company_b):
    factories.SiteFactory(organization=company_a, name="Warehouse")
    factories.SiteFactory(organization=company_b, name="Brewhouse")
    _active_supply(company_b)  # another company's "Brewhouse"
    _active_supply(company_a, site_name="Warehouse")  # our other site
    listing_import = _start(member, "material,site,quantity\nfood-waste,Brewhouse,4\n")
    assert listing_import.duplicate_rows == 0
    assert listing_import.report[0]["warnings"] == []


def test_a_demand_accepting_a_material_an_active_demand_accepts_is_warned_about(member, company_a):
    food = Material.objects.get(slug="food-waste")
    factories.MaterialFactory(slug="grain", name_en="Grain")
    factories.DemandListingFactory(
        organization=company_a,
        site=Site.objects.get(name="Brewhouse"),
        materials=[food],
        recurrence="year",
        status="active",
    )
    text = "materials,site,quantity\nfood-waste;grain,Brewhouse,4\ngrain,Brewhouse,5\n"
    listing_import = _start(member, text, kind="demand")
    assert listing_import.duplicate_rows == 2
    first, second = listing_import.report
    assert "Food waste per year at Brewhouse already exists" in first["warnings"][0]
    assert second["warnings"] == [
        "Possible duplicate of line 2: same site, material and recurrence (Grain per year)."
    ]


def test_a_large_file_reports_its_duplicates_first(member, monkeypatch):
    monkeypatch.setattr(imports, "REPORT_ROWS", 3)
    for n in range(1, 8):
        factories.MaterialFactory(slug=f"m{n}", name_en=f"Material {n}")
    lines = ["material,site,quantity"] + [f"m{n},Brewhouse,1" for n in range(1, 8)]
    lines += ["m1,Brewhouse,2"]  # line 9: repeats line 2
    listing_import = queued(member, ("\n".join(lines) + "\n").encode())
    imports.listing_import_check(import_id=listing_import.pk)
    listing_import.refresh_from_db()
    assert (listing_import.total_rows, listing_import.duplicate_rows) == (8, 1)
    # The warned row is shown though it is past the first rows, in the file's order.
    assert [row["line"] for row in listing_import.report] == [2, 3, 9]
    assert "line 2" in listing_import.report[2]["warnings"][0]


# --- checking many rows: no query per row ----------------------------------------------------


def _check_queries(user, kind: str, content: bytes) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    rows, _complete = imports.parse_rows(content, "x.csv", kind)
    with CaptureQueriesContext(connection) as captured:
        checked = imports.listings_check(user=user, kind=kind, rows=rows)
    assert not checked.failed, [row.errors for row in checked.failed]
    assert len(checked.listings) == len(rows)
    return len(captured)


def test_checking_more_supply_rows_asks_the_database_no_more(member):
    _check_queries(member, "supply", rows_csv(1))  # what is read once a process
    assert _check_queries(member, "supply", rows_csv(5)) == _check_queries(
        member, "supply", rows_csv(40)
    )


def test_checking_more_demand_rows_asks_the_database_no_more(member):
    factories.UseFactory(slug="compost", name_en="Compost")

    def demands(count):
        lines = ["materials,uses,site,quantity"]
        lines += [f"food-waste,compost,Brewhouse,{n}" for n in range(1, count + 1)]
        return ("\n".join(lines) + "\n").encode()

    _check_queries(member, "demand", demands(1))
    assert _check_queries(member, "demand", demands(5)) == _check_queries(
        member, "demand", demands(40)
    )


def test_a_row_naming_another_companys_site_is_still_refused(member, company_b):
    factories.SiteFactory(organization=company_b, name="Their yard")
    rows, _complete = imports.parse_rows(
        b"material,site,quantity\nfood-waste,Their yard,5\n", "x.csv", "supply"
    )

    checked = imports.listings_check(user=member, kind="supply", rows=rows)

    (result,) = checked.results
    assert result.errors[0] == "site: You have no site named “Their yard”."
    assert not checked.listings
