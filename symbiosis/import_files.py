"""Reading an uploaded listings file (CSV or XLSX) into rows of cells, within limits.

A hostile file must be refused before it costs memory or time: a 1 MB .xlsx
with one 1 GB cell once took the web process to 2.5 GB, because the byte
limit counted the compressed file and openpyxl read the whole cell.

- XLSX, in this order: the zip's directory (member count, total unpacked size
  ``IMPORT_MAX_UNCOMPRESSED_BYTES``, compression ratio of each part), then
  every XML part scanned as a stream by expat, never held whole (no DOCTYPE,
  no cell longer than ``IMPORT_MAX_CELL_CHARS``, a bounded number of shared
  strings), and only then openpyxl, in read-only (streaming) mode.
- CSV: decoded and split a line at a time; an overlong line or a NUL byte
  stops the reading.

``table_rows`` is a generator: the caller's row limit stops the reading early,
and ``scan_rows`` bounds how far the scan of a sheet goes when only the start
of the file is wanted (the web process reads at most that much).
"""

import codecs
import csv
import io
import itertools
import struct
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from xml.parsers import expat

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

# A workbook has a dozen parts; thousands mean a crafted file (and a zip's
# directory is read whole into memory before anything else).
XLSX_MAX_MEMBERS = 500
# Deflate packs ordinary sheet XML 5 to 20 times (measured: 14x for 5,000
# rows written by openpyxl); a part packed more than this is a bomb. Small
# parts are exempt: a tiny run of repeated bytes packs well and costs nothing.
XLSX_MAX_RATIO = 100
XLSX_RATIO_MIN_BYTES = 1024 * 1024
# Different texts a sheet may hold per allowed row: far above the columns of
# an import, low enough that openpyxl's list of shared strings stays small.
SHARED_STRINGS_PER_ROW = 25
XML_CHUNK_BYTES = 64 * 1024


class ImportFileError(ValueError):
    """The file as a whole cannot be read (format, size, header, limits)."""


def cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def table_rows(
    content: bytes, name: str, *, max_line_chars: int, scan_rows: int | None = None
) -> Iterator[list]:
    """Rows of cells of a ``.csv`` or ``.xlsx`` file's first sheet."""
    name = name.lower()
    if name.endswith(".xlsx"):
        return _xlsx_rows(content, scan_rows=scan_rows)
    if name.endswith((".csv", ".txt")):
        return _csv_rows(content, max_line_chars=max_line_chars)
    raise ImportFileError(_("Upload a .csv or .xlsx file."))


def cell_too_long(line: int) -> ImportFileError:
    return ImportFileError(
        _("A cell in line %(line)s is longer than %(count)s characters; shorten it.")
        % {"line": line, "count": settings.IMPORT_MAX_CELL_CHARS}
    )


# --- CSV ---------------------------------------------------------------------------------------


def _csv_encoding(content: bytes) -> str:
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"  # Excel's "Unicode text"
    # Checked in slices, so no decoded copy of the whole file is ever held.
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for start in range(0, len(content), XML_CHUNK_BYTES):
            decoder.decode(content[start : start + XML_CHUNK_BYTES])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "cp1251"  # what Russian-language Excel saves
    return "utf-8-sig"


def _csv_lines(content: bytes, encoding: str, max_line_chars: int) -> Iterator[str]:
    stream = io.TextIOWrapper(io.BytesIO(content), encoding=encoding, newline="")
    number = 0
    while True:
        try:
            line = stream.readline(max_line_chars + 1)
        except UnicodeDecodeError as exc:
            raise ImportFileError(_("Save the CSV file as UTF-8.")) from exc
        if not line:
            return
        number += 1
        if len(line.rstrip("\r\n")) > max_line_chars:
            raise ImportFileError(
                _("Line %(line)s is longer than %(count)s characters; is this a listings file?")
                % {"line": number, "count": max_line_chars}
            )
        if "\x00" in line:
            raise ImportFileError(_("This is not a text file; save the CSV file as UTF-8."))
        yield line


def _csv_rows(content: bytes, *, max_line_chars: int) -> Iterator[list]:
    lines = _csv_lines(content, _csv_encoding(content), max_line_chars)
    first = next(lines, None)
    if first is None:
        return
    delimiter = ";" if first.count(";") > first.count(",") else ","
    try:
        yield from csv.reader(itertools.chain([first], lines), delimiter=delimiter)
    except csv.Error as exc:  # e.g. a quoted cell running past the csv module's field limit
        message = _("This CSV file cannot be read: %(error)s") % {"error": exc}
        raise ImportFileError(message) from exc


# --- XLSX --------------------------------------------------------------------------------------


def _not_xlsx() -> ImportFileError:
    return ImportFileError(_("This is not a readable .xlsx file."))


def _zip_member_count(content: bytes) -> int | None:
    """Entries the zip's end record announces, read before ``ZipFile`` reads them all."""
    # The end record is 22 bytes plus a comment of at most 65,535.
    at = content.rfind(b"PK\x05\x06", max(0, len(content) - 22 - 65_535))
    if at < 0 or len(content) < at + 22:
        return None
    return struct.unpack("<H", content[at + 10 : at + 12])[0]


def _open_zip(content: bytes) -> zipfile.ZipFile:
    count = _zip_member_count(content)
    if count is None:
        raise _not_xlsx()
    if count > XLSX_MAX_MEMBERS:  # 0xFFFF also stands for a zip64 directory
        raise _not_xlsx()
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except Exception as exc:  # BadZipFile, and others for stranger damage
        raise _not_xlsx() from exc
    members = archive.infolist()
    if len(members) > XLSX_MAX_MEMBERS or "[Content_Types].xml" not in archive.namelist():
        raise _not_xlsx()
    limit = settings.IMPORT_MAX_UNCOMPRESSED_BYTES
    # zipfile never returns more than a member's declared size (it fails the
    # CRC instead), so the declared sizes bound what parsing can unpack.
    if sum(member.file_size for member in members) > limit:
        raise ImportFileError(
            _("This .xlsx file unpacks to more than %(size)s; split it.")
            % {"size": filesizeformat(limit)}
        )
    for member in members:
        if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _not_xlsx()
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size >= XLSX_RATIO_MIN_BYTES and ratio > XLSX_MAX_RATIO:
            raise ImportFileError(
                _(
                    "This is not an ordinary .xlsx file: a part of it unpacks %(ratio)s times "
                    "larger. Save it again from your spreadsheet program."
                )
                % {"ratio": int(ratio)}
            )
    return archive


class _StopScan(Exception):
    """Enough of a sheet was scanned."""


class _XmlScan:
    """Streams one XML part through expat, counting as it goes, keeping no text.

    A cell is a shared string (``<si>``) or a sheet cell (``<c>``), rich-text
    runs and formula included; text outside cells is bounded by the part's size.
    """

    def __init__(self, *, max_cell_chars: int, max_strings: int, scan_rows: int | None):
        self.max_cell_chars = max_cell_chars
        self.max_strings = max_strings
        self.scan_rows = scan_rows
        self.strings = 0
        self.rows = 0
        self.chars = 0
        self.cell_depth = 0

    def scan(self, stream, *, is_sheet: bool) -> None:
        parser = expat.ParserCreate()
        self.rows = 0
        self.is_sheet = is_sheet
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._text
        # No DOCTYPE, so no entities to expand: an .xlsx never has one.
        parser.StartDoctypeDeclHandler = self._refuse
        parser.EntityDeclHandler = self._refuse
        try:
            while chunk := stream.read(XML_CHUNK_BYTES):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
        except _StopScan:
            return
        except expat.ExpatError as exc:
            raise _not_xlsx() from exc

    def _refuse(self, *args):
        raise _not_xlsx()

    def _start(self, name, attrs):
        local = name.rpartition(":")[2]
        if local in ("si", "c"):
            self.cell_depth += 1
            self.chars = 0
            if local == "si":
                self.strings += 1
                if self.strings > self.max_strings:
                    raise ImportFileError(
                        _("The file holds more than %(count)s different texts; split it.")
                        % {"count": self.max_strings}
                    )
        if local == "row" and self.is_sheet:
            self.rows += 1
            if self.scan_rows is not None and self.rows > self.scan_rows:
                raise _StopScan

    def _end(self, name):
        if name.rpartition(":")[2] in ("si", "c"):
            self.cell_depth -= 1

    def _text(self, data):
        if not self.cell_depth:
            return  # between cells: whitespace, or properties openpyxl reads whole anyway
        self.chars += len(data)
        if self.chars > self.max_cell_chars:
            raise ImportFileError(
                _("A cell is longer than %(count)s characters; shorten it.")
                % {"count": self.max_cell_chars}
            )


def xlsx_check(content: bytes, *, scan_rows: int | None = None) -> zipfile.ZipFile:
    """The workbook's zip, once nothing in it can blow up a parser; else ``ImportFileError``.

    ``scan_rows``: scan each sheet only this far (the rows that will be read).
    """
    archive = _open_zip(content)
    scan = _XmlScan(
        max_cell_chars=settings.IMPORT_MAX_CELL_CHARS,
        max_strings=SHARED_STRINGS_PER_ROW * 2 * (settings.IMPORT_MAX_ROWS + 1),
        scan_rows=scan_rows,
    )
    for member in archive.infolist():
        if not member.filename.endswith((".xml", ".rels")):
            continue  # images, printer settings, VBA: openpyxl does not parse them
        try:
            with archive.open(member) as stream:
                scan.scan(stream, is_sheet="worksheets/" in member.filename)
        except ImportFileError:
            raise
        except Exception as exc:  # a bad CRC, a truncated or an encrypted member
            raise _not_xlsx() from exc
    return archive


def _xlsx_rows(content: bytes, *, scan_rows: int | None) -> Iterator[list]:
    # Heavy (openpyxl): loaded when a workbook is read, not by every web process.
    from openpyxl import load_workbook

    xlsx_check(content, scan_rows=scan_rows).close()
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several kinds for a bad file
        raise _not_xlsx() from exc
    try:
        # A generator over a read-only sheet: rows are parsed as they are asked for.
        for row in workbook.worksheets[0].iter_rows(values_only=True):
            yield list(row)
    except Exception as exc:  # a broken sheet inside a readable zip
        raise _not_xlsx() from exc
    finally:
        workbook.close()
