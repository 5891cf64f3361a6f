"""Hostile listing files and formula injection in CSV exports.

The import either refuses the file whole (a message on the file field), or
reports every row; it saves all rows or none, and never answers 500. Files
come from hypothesis: random bytes under a .csv or .xlsx name, and CSV text
with extreme cells (formulas, huge numbers, NaN, RTL, emoji, NUL, 100k
characters) in several encodings. Limits: tests at and just above
IMPORT_MAX_BYTES and IMPORT_MAX_ROWS, lowered through the settings fixture.
"""

import codecs
import csv
import io
import random
import re
import struct
import tracemalloc
import zipfile

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
    commit = re.search(r'action="(/listings/import/\d+/import/)"', text)
    if commit is None:
        # A row report with errors: the failing rows are named, nothing is kept.
        assert 'class="row-error"' in text
        assert "nothing was imported" in text
        return
    done = client.post(commit.group(1), **HTMX)
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
        (b"material,quantity\n" + b"x" * 200_000 + b",1\n", "listings.csv", "Line 2 is longer"),
        (b'material,quantity\n"' + b"x\n" * 70_000 + b'",1\n', "listings.csv", "cannot be read"),
        (b"material,quantity\n" + b"x" * 2001 + b",1\n", "listings.csv", "line 2 is longer than"),
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


def csv_of_size(size: int) -> tuple[bytes, int]:
    """Valid rows padded with descriptions to exactly ``size`` bytes, and their count.

    Rows of 1,000 bytes (the last up to 2,000): no cell over IMPORT_MAX_CELL_CHARS.
    """
    head = b"material,site,quantity,description\n"
    row = b"food-waste,Brewhouse,1,"
    body = size - len(head)
    count = max(1, body // 1000)
    last = body - 1000 * (count - 1)
    lines = [row + b"x" * (1000 - len(row) - 1) + b"\n"] * (count - 1)
    lines.append(row + b"x" * (last - len(row) - 1) + b"\n")
    return head + b"".join(lines), count


def test_a_file_at_the_byte_limit_imports_and_one_byte_more_is_refused(member, settings):
    settings.IMPORT_MAX_BYTES = 4000
    content, rows = csv_of_size(4000)
    assert len(content) == 4000
    check_preview(member, SimpleUploadedFile("listings.csv", content))
    assert listing_count() == rows

    response = preview(member, SimpleUploadedFile("listings.csv", csv_of_size(4001)[0]))
    text = response.content.decode()
    assert "larger than 3.9" in file_error(text)
    assert listing_count() == rows


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


def test_the_import_post_is_small_whatever_the_size_of_the_file(member, settings):
    # The checked rows stay on the server (a ListingImport), so the import's POST
    # carries an id in its URL and the CSRF token: a body limit far below the
    # file limit is enough. Before, the rows came back as a signed token as big
    # as the file, and the body limit had to be twice the file limit.
    settings.IMPORT_MAX_BYTES = 20_000
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    content, rows = csv_of_size(20_000)
    check_preview(member, SimpleUploadedFile("listings.csv", content))
    assert listing_count() == rows


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


# --- zip bombs and huge cells in .xlsx -----------------------------------------------------------
# A real workbook written by hand (openpyxl writes inline strings only), with
# shared strings: the part where one huge, highly compressible cell once took
# the web process to 2.5 GB. Each hostile file is checked against a well-formed
# twin, so a refusal is the limit's doing and not a broken file's.

XLSX_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="xl/workbook.xml" Type="http://schemas.openxmlformats'
        '.org/officeDocument/2006/relationships/officeDocument"/>'
        "</Relationships>"
    ),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="supply" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="worksheets/sheet1.xml" Type="http://schemas.'
        'openxmlformats.org/officeDocument/2006/relationships/worksheet"/>'
        '<Relationship Id="rId2" Target="sharedStrings.xml" Type="http://schemas.'
        'openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/>'
        "</Relationships>"
    ),
    "xl/worksheets/sheet1.xml": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
        '<c r="C1" t="s"><v>2</v></c><c r="D1" t="s"><v>3</v></c></row>'
        '<row r="2"><c r="A2" t="s"><v>4</v></c><c r="B2" t="s"><v>5</v></c>'
        '<c r="C2"><v>7</v></c><c r="D2" t="s"><v>6</v></c></row></sheetData></worksheet>'
    ),
}
SHARED_STRINGS = ["material", "site", "quantity", "description", "food-waste", "Brewhouse"]


def hand_made_xlsx(description_chunks, *, parts=None, inline=False) -> bytes:
    """The workbook above; its one description is written in chunks, streamed into the zip."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in {**XLSX_PARTS, **(parts or {})}.items():
            if inline and name == "xl/worksheets/sheet1.xml":
                head, tail = text.split('<c r="D2" t="s"><v>6</v></c>')
                with archive.open(name, "w") as part:
                    part.write((head + '<c r="D2" t="inlineStr"><is><t>').encode())
                    for chunk in description_chunks:
                        part.write(chunk)
                    part.write(("</t></is></c>" + tail).encode())
                description_chunks = [b"unused"]
            else:
                archive.writestr(name, text)
        strings = "".join(f"<si><t>{text}</t></si>" for text in SHARED_STRINGS)
        with archive.open("xl/sharedStrings.xml", "w") as part:
            part.write(
                '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.'
                f'openxmlformats.org/spreadsheetml/2006/main">{strings}<si><t>'.encode()
            )
            for chunk in description_chunks:
                part.write(chunk)
            part.write(b"</t></si></sst>")
    return out.getvalue()


def repeated(byte: bytes, megabytes: int):
    return (byte * (1 << 20) for _ in range(megabytes))


def runs_of_letters(megabytes: int):
    """Runs of a or b, 20 to 120 long, at random (seeded): deflate packs it about 50 times.

    Under the ratio limit (100) and, at 40 MB, under the unpacked limit (50 MB).
    """
    source = random.Random(13)
    for _ in range(megabytes):
        chunk = bytearray()
        while len(chunk) < 1 << 20:
            chunk += source.choice((b"a", b"b")) * source.randint(20, 120)
        yield bytes(chunk[: 1 << 20])


def preview_measured(client, content: bytes) -> tuple[str, int]:
    """The preview's answer and the peak of Python memory allocated while answering.

    A small file first, so templates, translations and caches are loaded
    before the measurement: that peak is the hostile file's alone.
    """
    preview(client, SimpleUploadedFile("listings.csv", b"material,quantity\nx,1\n"))
    upload = SimpleUploadedFile("listings.xlsx", content)
    tracemalloc.start()
    try:
        response = preview(client, upload)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert response.status_code == 200
    return response.content.decode(), peak


def test_the_hand_made_workbook_is_a_good_one(member):
    for inline in (False, True):
        content = hand_made_xlsx([b"Wet grain, weekly"], inline=inline)
        check_preview(member, SimpleUploadedFile("listings.xlsx", content))
    assert SupplyListing.objects.filter(description="Wet grain, weekly", quantity=7).count() == 2


def test_an_xlsx_bomb_is_refused_before_it_is_unpacked(member, settings):
    """60 MB of one cell packed into about 60 kB: refused from the zip's directory alone."""
    megabytes = 60
    content = hand_made_xlsx(repeated(b"x", megabytes))
    assert len(content) < settings.IMPORT_MAX_BYTES / 50  # well under the byte limit
    text, peak = preview_measured(member, content)
    # Unpacking the cell would allocate its 60 MB at least (2.5 GB for 1 GB once).
    assert peak < 2 * 1024 * 1024, f"{peak / 1e6:.1f} MB allocated"
    assert "unpacks to more than 50.0" in file_error(text)
    assert 'id="import-line-' not in text
    assert listing_count() == 0


def test_a_huge_cell_under_the_unpacked_limit_is_refused_while_streaming(member, settings):
    """40 MB of one cell, packed 50 to 1: within every size limit, refused by the cell limit.

    The parts are scanned as streams, so the cell is never held: memory stays
    near the uploaded bytes, far below the cell's size.
    """
    megabytes = 40
    for inline in (False, True):
        content = hand_made_xlsx(runs_of_letters(megabytes), inline=inline)
        assert len(content) < settings.IMPORT_MAX_BYTES / 2
        text, peak = preview_measured(member, content)
        assert peak < 8 * 1024 * 1024, f"{peak / 1e6:.1f} MB allocated"
        assert "A cell is longer than 2000 characters" in file_error(text), inline
    assert listing_count() == 0


def test_a_part_packed_absurdly_tightly_is_refused(member, settings):
    """2 MB of one byte in 2 kB: under the unpacked limit, yet no spreadsheet writes that."""
    content = hand_made_xlsx(repeated(b"x", 2))
    text, peak = preview_measured(member, content)
    assert "a part of it unpacks" in file_error(text)
    assert listing_count() == 0


@pytest.mark.parametrize(
    ("parts", "why"),
    [
        (
            {
                "xl/worksheets/sheet1.xml": XLSX_PARTS["xl/worksheets/sheet1.xml"].replace(
                    "<worksheet", '<!DOCTYPE w [<!ENTITY a "aaaaaaaaaa">]><worksheet', 1
                )
            },
            "a DOCTYPE with an entity",
        ),
        ({f"xl/media/image{i}.xml": "<x/>" for i in range(600)}, "600 parts"),
        ({"xl/worksheets/sheet1.xml": "<worksheet><sheetData><row>"}, "a broken sheet"),
    ],
)
def test_strange_workbooks_are_refused_as_unreadable(member, parts, why):
    content = hand_made_xlsx([b"Wet grain"], parts=parts)
    text = preview(member, SimpleUploadedFile("listings.xlsx", content)).content.decode()
    assert "not a readable .xlsx" in file_error(text), why
    assert listing_count() == 0


def test_a_member_that_lies_about_its_size_is_refused(member):
    """The directory says 20 bytes; the member unpacks to 2 MB. zipfile stops at 20."""
    content = bytearray(hand_made_xlsx(runs_of_letters(2)))
    name = b"xl/sharedStrings.xml"
    directory = content.rfind(b"PK\x01\x02")
    while content[directory + 46 : directory + 46 + len(name)] != name:
        directory = content.rfind(b"PK\x01\x02", 0, directory)
    struct.pack_into("<L", content, directory + 24, 20)
    text, peak = preview_measured(member, bytes(content))
    assert "not a readable .xlsx" in file_error(text)
    assert peak < 8 * 1024 * 1024
    assert listing_count() == 0


def test_too_many_different_texts_are_refused(member, settings):
    settings.IMPORT_MAX_ROWS = 5  # allows 25 x 2 x 6 = 300 shared strings
    many = b"</t></si>".join(f"<si><t>text {i}".encode() for i in range(400))
    content = hand_made_xlsx([b"Wet grain</t></si>" + many])
    text = preview(member, SimpleUploadedFile("listings.xlsx", content)).content.decode()
    assert "more than 300 different texts" in file_error(text)
    assert listing_count() == 0


def test_a_long_csv_line_is_refused_and_named(member):
    content = b"material,site,quantity\n" + b"food-waste," * 300_000 + b"\n"
    response = preview(member, SimpleUploadedFile("listings.csv", content))
    assert "Line 2 is longer than" in file_error(response.content.decode())
    assert listing_count() == 0


# --- formula injection in CSV exports -----------------------------------------------------------


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


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
        # A number (a negative net saving: "-227.9") is data, not a formula.
        assert not [c for c in cells if c.startswith(FORMULA_STARTS) and not _number(c)], table
        seen = seen or ("'" + hostile) in cells
    assert seen, "the hostile material name reached no export"
