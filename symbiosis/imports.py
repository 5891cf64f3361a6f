"""Bulk import of supply or demand listings from CSV or XLSX.

A file becomes rows of text (``read_rows``); each row is parsed by the same
form as the listing pages (``SupplyForm`` / ``DemandForm``) after its
material and site names are looked up, and written by the same services.
``listings_import`` runs every row inside one transaction and keeps it only
when asked to and when no row failed: a dry run and a failed import leave
nothing behind, and the preview reports exactly what the import would.

Limits (settings ``IMPORT_MAX_BYTES``, ``IMPORT_MAX_ROWS``): a larger file is
refused whole with a message, never cut short.
"""

import codecs
import contextlib
import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from symbiosis import selectors, services
from symbiosis.forms import DemandForm, SupplyForm
from symbiosis.models import Material, Use
from symbiosis.models.listings import Status


@dataclass(frozen=True)
class Column:
    name: str
    required: bool
    help: str
    example: str


_LISTING_COLUMNS = (
    Column(
        "site",
        False,
        gettext_lazy("Name of one of your sites; may stay empty if you have only one."),
        "",
    ),
    Column("quantity", True, gettext_lazy("A number; decimal point or comma."), "12.5"),
    Column("unit", False, gettext_lazy("t, kg, m3 or pieces (default t)."), "t"),
    Column("piece_mass_kg", False, gettext_lazy("Mass of one piece in kg, for unit pieces."), ""),
    Column("recurrence", False, gettext_lazy("once, month or year (default year)."), "month"),
    Column("available_from", False, gettext_lazy("Date as YYYY-MM-DD."), "2027-01-01"),
    Column("available_until", False, gettext_lazy("Date as YYYY-MM-DD."), "2027-12-31"),
    Column(
        "visibility",
        False,
        gettext_lazy("public, anonymous or private (default public)."),
        "anonymous",
    ),
    Column("status", False, gettext_lazy("active or draft (default active)."), "active"),
    Column("max_km", False, gettext_lazy("Farthest distance you accept, in km."), ""),
    Column("description", False, gettext_lazy("Free text."), ""),
)

SUPPLY_COLUMNS = (
    Column(
        "material",
        True,
        gettext_lazy("Material: its code (slug), EWC code, English or Russian name."),
        "brewery-spent-grain",
    ),
    *_LISTING_COLUMNS,
    Column(
        "fate",
        False,
        gettext_lazy("Where it goes now: landfill, incineration, open_dump, other."),
        "landfill",
    ),
    Column("fate_cost_kzt_per_t", False, gettext_lazy("What that costs, KZT per tonne."), ""),
    Column(
        "price_kzt_per_t",
        False,
        gettext_lazy("Asking price, KZT per tonne (negative: you pay)."),
        "",
    ),
    Column("moisture_percent", False, gettext_lazy("0 to 100."), ""),
    Column("contamination_percent", False, gettext_lazy("0 to 100."), ""),
)

DEMAND_COLUMNS = (
    Column(
        "materials",
        False,
        gettext_lazy("Accepted materials, separated by ';' (codes or names)."),
        "brewery-spent-grain;bread-bakery-waste",
    ),
    Column(
        "uses",
        False,
        gettext_lazy("Or accepted uses, separated by ';' (codes or names)."),
        "",
    ),
    *_LISTING_COLUMNS,
    Column(
        "reference_material",
        False,
        gettext_lazy("For m3 with several materials: whose density to use."),
        "",
    ),
    Column("max_moisture_percent", False, gettext_lazy("0 to 100."), ""),
    Column("max_contamination_percent", False, gettext_lazy("0 to 100."), ""),
    Column("max_price_kzt_per_t", False, gettext_lazy("KZT per tonne."), ""),
    Column("min_lot_tonnes", False, gettext_lazy("Smallest delivery worth it, t."), ""),
)

COLUMNS = {"supply": SUPPLY_COLUMNS, "demand": DEMAND_COLUMNS}
FORMS = {"supply": SupplyForm, "demand": DemandForm}
DEFAULTS = {
    "unit": "t",
    "recurrence": "year",
    "visibility": "public",
    "status": Status.ACTIVE,
    "fate": "landfill",
}


class ImportFileError(ValueError):
    """The file as a whole cannot be read (format, size, header)."""


@dataclass
class Row:
    line: int  # as a spreadsheet shows it: the header is line 1
    data: dict[str, str]


@dataclass
class RowResult:
    line: int
    data: dict[str, str]
    errors: list[str] = field(default_factory=list)
    tonnes: Decimal | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class ImportResult:
    kind: str
    rows: list[RowResult]
    saved: bool = False

    @property
    def failed(self) -> list[RowResult]:
        return [row for row in self.rows if not row.ok]


# --- reading files ------------------------------------------------------------------------


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _header_key(text: str) -> str:
    return _cell_text(text).lower().replace(" ", "_")


def _rows_from_table(table, kind: str) -> list[Row]:
    max_rows = settings.IMPORT_MAX_ROWS
    table = iter(table)
    try:
        header = [_header_key(cell) for cell in next(table)]
    except StopIteration as exc:
        raise ImportFileError(_("The file is empty.")) from exc
    known = {column.name for column in COLUMNS[kind]}
    unknown = [name for name in header if name and name not in known]
    if unknown:
        raise ImportFileError(
            _("Unknown columns: %(names)s. Download the template for the column names.")
            % {"names": ", ".join(unknown)}
        )
    missing = [c.name for c in COLUMNS[kind] if c.required and c.name not in header]
    if missing:
        raise ImportFileError(_("Missing columns: %(names)s.") % {"names": ", ".join(missing)})
    rows = []
    too_many = ImportFileError(
        _("At most %(count)s rows per file; split it.") % {"count": max_rows}
    )
    for number, cells in enumerate(table, start=2):
        if number - 1 > 2 * max_rows:
            raise too_many  # even blank lines: a sheet of a million empty rows
        values = {name: _cell_text(cell) for name, cell in zip(header, cells, strict=False) if name}
        if not any(values.values()):
            continue  # blank lines are no rows
        rows.append(Row(number, values))
        if len(rows) > max_rows:
            raise too_many
    if not rows:
        raise ImportFileError(_("The file has a header but no rows."))
    return rows


def read_rows(uploaded, kind: str) -> list[Row]:
    """Rows of an uploaded ``.csv`` or ``.xlsx`` file."""
    name = (getattr(uploaded, "name", "") or "").lower()
    max_bytes = settings.IMPORT_MAX_BYTES
    content = uploaded.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise ImportFileError(
            _("The file is larger than %(size)s; split it.") % {"size": filesizeformat(max_bytes)}
        )
    if name.endswith(".xlsx"):
        with contextlib.closing(_xlsx_table(content)) as table:
            return _rows_from_table(table, kind)
    if name.endswith(".csv") or name.endswith(".txt"):
        return _rows_from_table(_csv_table(content), kind)
    raise ImportFileError(_("Upload a .csv or .xlsx file."))


def _csv_table(content: bytes):
    try:
        if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            text = content.decode("utf-16")  # Excel's "Unicode text"
        else:
            text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = content.decode("cp1251")  # what Russian-language Excel saves
        except UnicodeDecodeError as exc:
            raise ImportFileError(_("Save the CSV file as UTF-8.")) from exc
    if "\x00" in text:
        raise ImportFileError(_("This is not a text file; save the CSV file as UTF-8."))
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    try:
        return list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error as exc:  # e.g. a cell longer than the csv module's field limit
        message = _("This CSV file cannot be read: %(error)s") % {"error": exc}
        raise ImportFileError(message) from exc


def _xlsx_table(content: bytes):
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several kinds for a bad file
        raise ImportFileError(_("This is not a readable .xlsx file.")) from exc
    try:
        # A generator, so the row limit stops reading a huge sheet early.
        for row in workbook.worksheets[0].iter_rows(values_only=True):
            yield list(row)
    except Exception as exc:  # a broken sheet inside a readable zip
        raise ImportFileError(_("This is not a readable .xlsx file.")) from exc
    finally:
        workbook.close()


# --- templates -----------------------------------------------------------------------------


def template_rows(kind: str) -> list[list[str]]:
    columns = COLUMNS[kind]
    return [[c.name for c in columns], [c.example for c in columns]]


def template_csv(kind: str) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(template_rows(kind))
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # BOM: Excel opens it as UTF-8


def template_xlsx(kind: str) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = kind
    for row in template_rows(kind):
        sheet.append(row)
    notes = workbook.create_sheet("columns")
    notes.append(["column", "required", "meaning"])
    for column in COLUMNS[kind]:
        notes.append([column.name, "yes" if column.required else "", str(column.help)])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# --- parsing and writing -------------------------------------------------------------------


class _Lookup:
    """Materials, uses and the user's sites by any name a person would type."""

    def __init__(self, user):
        self.materials = self._index(Material.objects.all(), with_ewc=True)
        self.uses = self._index(Use.objects.all())
        self.sites = list(selectors.own_site_list(user=user))

    @staticmethod
    def _index(objects, with_ewc=False) -> dict:
        index: dict[str, list] = {}
        for obj in objects:
            keys = {obj.slug, obj.name_en, obj.name_ru}
            if with_ewc:
                keys |= {obj.ewc_code, obj.ewc_digits}
            for key in keys:
                if key:
                    index.setdefault(key.casefold().strip(), []).append(obj)
        return index

    def find(self, index: dict, text: str, what: str):
        found = index.get(text.casefold().strip(), [])
        if len(found) == 1:
            return found[0].pk
        if not found:
            raise ValueError(_("Unknown %(what)s “%(text)s”.") % {"what": what, "text": text})
        raise ValueError(
            _("“%(text)s” names several materials (%(names)s); use the code.")
            % {"text": text, "names": ", ".join(m.slug for m in found)}
        )

    def site(self, text: str):
        if not text:
            if len(self.sites) == 1:
                return self.sites[0].pk
            raise ValueError(_("Name the site: you have several."))
        matches = [s.pk for s in self.sites if s.name.casefold() == text.casefold().strip()]
        if not matches:
            raise ValueError(_("You have no site named “%(text)s”.") % {"text": text})
        return matches[0]


def _number(text: str) -> str:
    text = text.replace(" ", "").replace("\u00a0", "")
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    return text


NUMBER_COLUMNS = {
    "quantity",
    "piece_mass_kg",
    "max_km",
    "fate_cost_kzt_per_t",
    "price_kzt_per_t",
    "moisture_percent",
    "contamination_percent",
    "max_moisture_percent",
    "max_contamination_percent",
    "max_price_kzt_per_t",
    "min_lot_tonnes",
}


def _form_data(kind: str, row: Row, lookup: _Lookup) -> tuple[dict, list[str]]:
    """The row as the listing form's POST data, plus lookup errors."""
    data: dict = {}
    errors: list[str] = []
    for name, text in row.data.items():
        if name in NUMBER_COLUMNS:
            data[name] = _number(text)
        elif name not in {"material", "materials", "uses", "reference_material", "site"}:
            data[name] = text
    for name, default in DEFAULTS.items():
        if not data.get(name):
            data[name] = default

    def look(column, index, what, many=False):
        text = row.data.get(column, "")
        parts = [p for p in text.split(";") if p.strip()] if many else [text] if text else []
        found = []
        for part in parts:
            try:
                found.append(lookup.find(index, part, what))
            except ValueError as exc:
                errors.append(f"{column}: {exc}")
        if many:
            data[column] = found
        elif found:
            data[column] = found[0]

    if kind == "supply":
        look("material", lookup.materials, _("material"))
    else:
        look("materials", lookup.materials, _("material"), many=True)
        look("uses", lookup.uses, _("use"), many=True)
        look("reference_material", lookup.materials, _("material"))
    try:
        data["site"] = lookup.site(row.data.get("site", ""))
    except ValueError as exc:
        errors.append(f"site: {exc}")
    return data, errors


def _messages(form) -> list[str]:
    found = []
    for name, errors in form.errors.items():
        label = name if name != "__all__" else ""
        found += [f"{label}: {e}" if label else str(e) for e in errors]
    return found


def _create(kind: str, user, values: dict):
    create = services.supply_create if kind == "supply" else services.demand_create
    return create(user=user, organization=values["site"].organization, **values)


@transaction.atomic
def listings_import(*, user, kind: str, rows: list[Row], commit: bool) -> ImportResult:
    """Create one listing per row, all or none; ``commit=False`` is the dry run."""
    lookup = _Lookup(user)
    result = ImportResult(kind=kind, rows=[])
    for row in rows:
        data, errors = _form_data(kind, row, lookup)
        outcome = RowResult(row.line, row.data, errors)
        result.rows.append(outcome)
        form = FORMS[kind](data, user=user)
        if not form.is_valid():
            outcome.errors += _messages(form)
            continue
        if outcome.errors:
            continue
        try:
            with transaction.atomic():
                listing = _create(kind, user, form.service_values())
        except ValidationError as exc:
            form.add_service_errors(exc)
            outcome.errors += _messages(form)
        else:
            outcome.tonnes = listing.tonnes
    if not commit or result.failed:
        transaction.set_rollback(True)
    else:
        result.saved = True
    return result
