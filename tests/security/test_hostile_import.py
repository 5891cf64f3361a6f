"""Hostile listing files and formula injection in CSV exports.

The import either refuses the file whole (a message on the file field), or
reports every row; it saves all rows or none, and never answers 500. Files
come from hypothesis: random bytes under a .csv or .xlsx name, and CSV text
with extreme cells (formulas, huge numbers, NaN, RTL, emoji, NUL, 100k
characters) in several encodings. Limits: tests at and just above
IMPORT_MAX_BYTES and IMPORT_MAX_ROWS, lowered through the settings fixture.
"""

import base64
import codecs
import csv
import hashlib
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook

from dashboard.api import FORMULA_STARTS, TABLE_NAMES
from symbiosis.imports import COLUMNS
from symbiosis.models import DemandListing, SupplyListing
from tests.dashboard.conftest import city  # noqa: F401 (fixture)
from tests.security.examples import HYPOTHESIS
from tests.web.conftest import HTMX, food_waste, site_a, spent_grain  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

HOSTILE_CELLS = st.one_of(
    st.sampled_from(
        [
            "=cmd|' /C calc'!A0",
            '=HYPERLINK("http://evil","x")',
            "+1+1",
            "-2+3",
            "@SUM(A1)",
            "\t=1",
            "1e308",
            "-1e308",
            "1" + "0" * 30,
            "NaN",
            "inf",
            "-inf",
            "-5",
            "0",
            "0,000001",
            "12,5",
            "1 000",
            "\u202etxt.exe",  # right-to-left override
            "مخلفات",
            "🍺♻️",
            "2027-02-30",
            "9999-12-31",
            "x" * 100_000,
            "brewery-spent-grain",
            "Brewhouse",
            "t",
            "pieces",
            "m3",
        ]
    ),
    st.text(max_size=40),
)
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "cp1251", "latin-1"]


@pytest.fixture
def member(client, member_a, site_a, spent_grain, food_waste):  # noqa: F811
    client.force_login(member_a)
    return client


def listing_count() -> int:
    return SupplyListing.objects.count() + DemandListing.objects.count()


def preview(client, upload, kind="supply"):
    return client.post("/listings/import/", {"kind": kind, "file": upload}, **HTMX)


def file_error(text: str) -> str:
    """The message on the file field, or "" when the file was read."""
    found = re.search(r'<ul class="errorlist" id="id_file_error"[^>]*>(.*?)</ul>', text, re.S)
    return found.group(1) if found else ""


def check_preview(client, upload, kind="supply"):
    """Preview, then confirm when offered; assert the report and all-or-nothing."""
    before = listing_count()
    response = preview(client, upload, kind)
    assert response.status_code == 200
    assert listing_count() == before, "a preview saved something"
    text = response.content.decode()
    lines = re.findall(r'id="import-line-(\d+)"', text)
    if not lines:
        assert "errorlist" in text, "neither a file error nor a row report"
        return
    token = re.search(r'name="token" value="([^"]+)"', text)
    if token is None:
        # A row report with errors: the failing rows are named, nothing is kept.
        assert 'class="row-error"' in text
        assert "nothing was imported" in text
        return
    done = client.post("/listings/import/confirm/", {"token": token.group(1)}, **HTMX)
    assert done.status_code == 200
    assert listing_count() == before + len(lines)


# --- malformed files -----------------------------------------------------------------------


@HYPOTHESIS
@given(
    content=st.binary(max_size=3000),
    name=st.sampled_from(["listings.csv", "listings.xlsx", "listings.txt"]),
    kind=st.sampled_from(["supply", "demand"]),
)
def test_random_bytes_never_break_the_import(member, content, name, kind):
    check_preview(member, SimpleUploadedFile(name, content), kind)


@HYPOTHESIS
@given(
    extra_columns=st.lists(st.sampled_from(["colour", "", "Quantity", "=1+1"]), max_size=2),
    drop=st.sets(st.sampled_from(["material", "quantity", "site", "unit"])),
    rows=st.lists(st.lists(HOSTILE_CELLS, min_size=0, max_size=8), min_size=0, max_size=4),
    encoding=st.sampled_from(ENCODINGS),
    delimiter=st.sampled_from([",", ";"]),
)
def test_hostile_cells_and_encodings_are_reported_row_by_row(
    member, extra_columns, drop, rows, encoding, delimiter
):
    header = [c.name for c in COLUMNS["supply"][:8] if c.name not in drop] + extra_columns
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    content = out.getvalue().encode(encoding, errors="replace")
    check_preview(member, SimpleUploadedFile("listings.csv", content))


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "listings.csv", "file is empty"),
        (b"\x00" * 50, "listings.csv", "not a text file"),
        (b"material,quantity\n\x00food-waste,1\n", "listings.csv", "not a text file"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "listings.csv", ""),
        (b"PK\x03\x04 not really a zip", "listings.xlsx", "not a readable .xlsx"),
        (b"material,quantity\nfood-waste,1\n", "listings.xlsx", "not a readable .xlsx"),
        (b"material,quantity\n" + b"x" * 200_000 + b",1\n", "listings.csv", "cannot be read"),
    ],
)
def test_unreadable_files_are_refused_whole(member, content, name, message):
    response = preview(member, SimpleUploadedFile(name, content))
    assert response.status_code == 200
    text = response.content.decode()
    assert file_error(text), "no message on the file field"
    assert message in file_error(text)
    assert 'id="import-line-' not in text
    assert listing_count() == 0


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le-bom", "cp1251"])
def test_russian_excel_encodings_import_the_same(member, encoding):
    text = "material;site;quantity\nПищевые отходы (кухонные и столовые);Brewhouse;12,5\n"
    if encoding == "utf-16-le-bom":
        content = codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    else:
        content = text.encode(encoding)
    check_preview(member, SimpleUploadedFile("listings.csv", content))
    listing = SupplyListing.objects.get()
    assert listing.material.slug == "food-waste"
    assert str(listing.quantity).rstrip("0") == "12.5"


def test_a_formula_cell_is_stored_as_text_and_a_bad_row_stops_all(member):
    text = (
        "material,site,quantity,description\n"
        "brewery-spent-grain,Brewhouse,1,\"=cmd|' /C calc'!A0\"\n"
        "=1+1,Brewhouse,2,\n"
    )
    response = preview(member, SimpleUploadedFile("listings.csv", text.encode()))
    body = response.content.decode()
    bad = body.split('id="import-line-3"', 1)[1].split("</tr>", 1)[0]
    assert "Unknown material “=1+1”" in bad
    assert listing_count() == 0
    fixed = text.replace("=1+1", "food-waste")
    check_preview(member, SimpleUploadedFile("listings.csv", fixed.encode()))
    assert SupplyListing.objects.get(quantity=1).description == "=cmd|' /C calc'!A0"


def xlsx(rows) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    "quantity", [1e308, float("inf"), float("nan"), -1.0, 0, 10**30, "1e308", "=1/0"]
)
def test_extreme_numbers_in_xlsx_are_row_errors(member, quantity):
    content = xlsx([["material", "site", "quantity"], ["food-waste", "Brewhouse", quantity]])
    response = preview(member, SimpleUploadedFile("listings.xlsx", content))
    text = response.content.decode()
    assert response.status_code == 200
    assert 'class="row-error" id="import-line-2"' in text
    assert listing_count() == 0


# --- limits ----------------------------------------------------------------------------------


def csv_of_size(size: int) -> bytes:
    """A valid one-row file padded with a description to exactly ``size`` bytes."""
    head = b"material,site,quantity,description\nfood-waste,Brewhouse,1,"
    return head + b"x" * (size - len(head) - 1) + b"\n"


def test_a_file_at_the_byte_limit_imports_and_one_byte_more_is_refused(member, settings):
    settings.IMPORT_MAX_BYTES = 4000
    check_preview(member, SimpleUploadedFile("listings.csv", csv_of_size(4000)))
    assert listing_count() == 1

    response = preview(member, SimpleUploadedFile("listings.csv", csv_of_size(4001)))
    text = response.content.decode()
    assert "larger than 3.9" in file_error(text)
    assert listing_count() == 1


def rows_csv(count: int, blank_lines: int = 0) -> bytes:
    lines = ["material,site,quantity"] + ["food-waste,Brewhouse,1"] * count + [""] * blank_lines
    return "\n".join(lines).encode() + b"\n"


def test_a_file_at_the_row_limit_imports_and_one_row_more_is_refused(member, settings):
    settings.IMPORT_MAX_ROWS = 5
    check_preview(member, SimpleUploadedFile("listings.csv", rows_csv(5, blank_lines=3)))
    assert listing_count() == 5

    response = preview(member, SimpleUploadedFile("listings.csv", rows_csv(6)))
    text = response.content.decode()
    assert "At most 5 rows per file" in file_error(text)
    assert 'id="import-line-' not in text
    assert listing_count() == 5


def test_an_xlsx_sheet_of_blank_lines_stops_at_twice_the_row_limit(member, settings):
    settings.IMPORT_MAX_ROWS = 5
    rows = [["material", "site", "quantity"], ["food-waste", "Brewhouse", 1]]
    rows += [[None, None, " "]] * 20
    response = preview(member, SimpleUploadedFile("listings.xlsx", xlsx(rows)))
    assert "At most 5 rows per file" in file_error(response.content.decode())
    assert listing_count() == 0


def test_the_confirm_post_of_a_file_at_the_byte_limit_fits_the_body_limit(member, settings):
    # The confirm step posts the previewed rows back as a token about as big as
    # the file, so the default DATA_UPLOAD_MAX_MEMORY_SIZE is twice IMPORT_MAX_BYTES.
    settings.IMPORT_MAX_BYTES = 20_000
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * settings.IMPORT_MAX_BYTES
    # Hardly compressible text (base64 of hashes), so the token is as big as the file.
    digests = b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(600))
    noise = base64.b64encode(digests)[:19_000]
    content = b"material,site,quantity,description\nfood-waste,Brewhouse,1," + noise + b"\n"
    content = content[: settings.IMPORT_MAX_BYTES - 1] + b"\n"
    text = preview(member, SimpleUploadedFile("listings.csv", content)).content.decode()
    token = re.search(r'name="token" value="([^"]+)"', text).group(1)
    assert len(token) > 0.9 * settings.IMPORT_MAX_BYTES  # why the body limit is larger
    done = member.post("/listings/import/confirm/", {"token": token}, **HTMX)
    assert done["HX-Redirect"] == "/"
    assert listing_count() == 1


@pytest.mark.parametrize(("fields", "status"), [(10, 200), (11, 400)])
def test_form_fields_at_and_above_the_limit(member, settings, fields, status):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    data = "&".join(f"f{i}=x" for i in range(fields))
    response = member.post(
        "/listings/supply/new/", data, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == status
    assert listing_count() == 0


@pytest.mark.parametrize(("extra_bytes", "status"), [(0, 200), (1, 400)])
def test_a_body_at_and_above_the_upload_limit(member, settings, extra_bytes, status):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    head = "quantity=1&description="
    data = head + "x" * (1000 - len(head) + extra_bytes)
    response = member.post(
        "/listings/supply/new/", data, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == status
    assert listing_count() == 0


# --- formula injection in CSV exports -----------------------------------------------------------


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_every_csv_export_neutralises_formulas(client, city, analyst, start):  # noqa: F811
    hostile = f'{start}HYPERLINK("http://evil","x")'
    for material in city.materials.values():
        material.name_en = hostile
        material.save()
    client.force_login(analyst)
    seen = False
    for table in TABLE_NAMES:
        response = client.get(reverse("api:city-table", args=[table]), {"format": "csv"})
        assert response.status_code == 200
        cells = [cell for row in csv.reader(io.StringIO(response.content.decode())) for cell in row]
        assert not [c for c in cells if c.startswith(FORMULA_STARTS)], table
        seen = seen or ("'" + hostile) in cells
    assert seen, "the hostile material name reached no export"
