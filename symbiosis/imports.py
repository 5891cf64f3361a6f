"""Bulk import of supply or demand listings from CSV or XLSX.

A file becomes rows of text (``parse_rows``, reading through
``symbiosis.import_files``, which refuses a hostile file before it costs
memory); each row is parsed by the same form as the listing pages
(``SupplyForm`` / ``DemandForm``) after its material and site names are looked
up, and checked by the same services (``supply_build`` / ``demand_build``)
without writing. An import is a ``ListingImport`` row: the check reports every
row, and the import writes all rows in one short transaction or none.

Small files (``IMPORT_SYNC_MAX_ROWS``) are checked and imported within the
request; larger ones by the Celery worker (``symbiosis.tasks``), which reads
the file from the database and reports its progress there. Checking a row
costs a few queries; only the final writes hold a lock, so a 5,000-row import
neither holds a web worker nor SQLite's one write lock while it checks.

Limits (settings ``IMPORT_MAX_BYTES``, ``IMPORT_MAX_ROWS``,
``IMPORT_MAX_UNCOMPRESSED_BYTES``, ``IMPORT_MAX_CELL_CHARS``): a file over
any of them is refused whole with a message, never cut short.

This module is longer than most: the columns, the row checks and the import's
life cycle belong together and are read together.

A row that repeats an active listing of the same site, material and
recurrence, or an earlier row of the file, is warned about in the preview
(``Duplicates``), not refused: the user imports it anyway or leaves such rows
out (``listing_import_commit(skip_duplicates=True)``).
"""

import csv
import io
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.template.defaultfilters import filesizeformat
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from kombu.exceptions import OperationalError

# The thin tasks call this module and this module queues the tasks: a module import
# both ways, each side reading the other's names only when called.
from symbiosis import profile_forms, profiles, selectors, services, tasks
from symbiosis.forms import DemandForm, SupplyForm, use_known_objects
from symbiosis.import_files import ImportFileError, cell_text, cell_too_long, table_rows
from symbiosis.models import DemandListing, ListingImport, Material, SupplyListing, Use
from symbiosis.models.listings import Recurrence, Status

log = logging.getLogger(__name__)

__all__ = ["ImportFileError"]  # raised by parse_rows and listing_import_start


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
    Column(
        "season",
        False,
        gettext_lazy(
            "When in the year, for runs by month: all_year (default, evenly), harvest "
            "(August to October), heating (October to April) or spring (March to May)."
        ),
        "",
    ),
    Column(
        "monthly_profile",
        False,
        gettext_lazy(
            "Or a share for each month, January to December: 12 numbers separated by ';', "
            "e.g. 0;0;0;0;0;0;0;1;1;1;0;0 (leave season empty)."
        ),
        "",
    ),
    Column(
        "storage_capacity_tonnes",
        False,
        gettext_lazy("What your site can hold from one month to the next, t (empty: none)."),
        "",
    ),
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
        gettext_lazy(
            "Where it goes now: landfill, incineration, open_dump, stored_on_farm, "
            "already_used (sold, fed, recycled) or other (default landfill)."
        ),
        "landfill",
    ),
    Column(
        "fate_evidence",
        False,
        gettext_lazy(
            "How you know: declared or documented (default declared); only a facilitator verifies."
        ),
        "documented",
    ),
    Column(
        "fate_evidence_note",
        False,
        gettext_lazy("What the evidence is; needed for documented."),
        "Landfill receipts 2026",
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
    Column("cn_ratio", False, gettext_lazy("Carbon to nitrogen, e.g. 25 for 25:1."), ""),
    Column(
        "contaminants",
        False,
        gettext_lazy(
            "Separated by ';': plastics, glass, metal, stones, wood, packaging, oil, "
            "chemicals, other."
        ),
        "",
    ),
    Column("particle_size_mm", False, gettext_lazy("Typical particle size, mm."), ""),
    Column(
        "imported_origin",
        False,
        gettext_lazy("yes if the residue comes from imported goods (default no)."),
        "",
    ),
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
    "fate_evidence": "declared",
}
# Yes/no columns, as a person types them; anything else is an error, never a guess
# (the form's checkbox would read "no" as ticked).
BOOLEAN_COLUMNS = {"imported_origin"}
# Columns of codes separated by ';' (or ','), read as the form's ticked boxes.
LIST_COLUMNS = {"contaminants"}
YES = frozenset({"yes", "y", "true", "1", "да", "д"})
NO = frozenset({"no", "n", "false", "0", "нет", "н", ""})


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
    # Duplicates: shown in the preview, never a reason to refuse the file.
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_report(self, kind: str) -> dict:
        """What the preview table shows of the row (kept in ``ListingImport.report``)."""
        data = self.data
        if kind == "supply":
            label = data.get("material", "")
        else:
            label = data.get("materials") or data.get("uses", "")
        return {
            "line": self.line,
            "label": label,
            "quantity": data.get("quantity", ""),
            "unit": data.get("unit") or "t",
            "errors": [str(error) for error in self.errors],
            "warnings": [str(warning) for warning in self.warnings],
            "tonnes": None if self.tonnes is None else str(self.tonnes),
        }


# --- reading files ------------------------------------------------------------------------


def _header_key(text) -> str:
    return cell_text(text).lower().replace(" ", "_")


def max_line_chars(kind: str) -> int:
    """The longest CSV line a valid row can have: every column full, quoted."""
    return (len(COLUMNS[kind]) + 1) * (settings.IMPORT_MAX_CELL_CHARS + 3)


def _rows_from_table(table, kind: str, peek_rows: int | None = None) -> tuple[list[Row], bool]:
    """The rows, and whether that is all of them (``peek_rows``: stop after so many)."""
    max_rows = settings.IMPORT_MAX_ROWS
    max_cell_chars = settings.IMPORT_MAX_CELL_CHARS
    table = iter(table)
    try:
        header_cells = next(table)
    except StopIteration as exc:
        raise ImportFileError(_("The file is empty.")) from exc
    if any(len(cell_text(cell)) > max_cell_chars for cell in header_cells):
        raise cell_too_long(1)
    header = [_header_key(cell) for cell in header_cells]
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
        if peek_rows is not None and (len(rows) >= peek_rows or number - 1 > 2 * peek_rows):
            return rows, False  # there is more: the worker reads the rest
        if number - 1 > 2 * max_rows:
            raise too_many  # even blank lines: a sheet of a million empty rows
        texts = [cell_text(cell) for cell in cells]
        if any(len(text) > max_cell_chars for text in texts):
            raise cell_too_long(number)
        values = {name: text for name, text in zip(header, texts, strict=False) if name}
        if not any(values.values()):
            continue  # blank lines are no rows
        rows.append(Row(number, values))
        if len(rows) > max_rows:
            raise too_many
    if not rows:
        raise ImportFileError(_("The file has a header but no rows."))
    return rows, True


def parse_rows(
    content: bytes, name: str, kind: str, *, peek_rows: int | None = None
) -> tuple[list[Row], bool]:
    """Rows of a ``.csv`` or ``.xlsx`` file, and whether they are all of them.

    ``peek_rows``: read no further than that many rows (plus as many blank
    lines), so a large file costs the web process only its first lines.
    """
    max_bytes = settings.IMPORT_MAX_BYTES
    if len(content) > max_bytes:
        raise ImportFileError(
            _("The file is larger than %(size)s; split it.") % {"size": filesizeformat(max_bytes)}
        )
    scan_rows = None if peek_rows is None else 2 * peek_rows + 2
    table = table_rows(content, name, max_line_chars=max_line_chars(kind), scan_rows=scan_rows)
    try:
        return _rows_from_table(table, kind, peek_rows)
    finally:
        table.close()  # a generator: closes the workbook when stopped early


def read_upload(uploaded) -> bytes:
    """The uploaded file's bytes, or ``ImportFileError`` when it is over the byte limit."""
    max_bytes = settings.IMPORT_MAX_BYTES
    content = uploaded.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise ImportFileError(
            _("The file is larger than %(size)s; split it.") % {"size": filesizeformat(max_bytes)}
        )
    return content


# --- templates -----------------------------------------------------------------------------


def template_rows(kind: str) -> list[list[str]]:
    columns = COLUMNS[kind]
    return [[c.name for c in columns], [c.example for c in columns]]


def template_csv(kind: str) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(template_rows(kind))
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # BOM: Excel opens it as UTF-8


def template_xlsx(kind: str) -> bytes:
    # Heavy (openpyxl): loaded when a template is asked for, not by every web process.
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
        materials, uses = list(Material.objects.all()), list(Use.objects.all())
        self.materials = self._index(materials, with_ewc=True)
        self.uses = self._index(uses)
        self.sites = list(selectors.own_site_list(user=user))
        # The forms' choices by primary key, read once for all rows.
        by_pk = {
            "material": {m.pk: m for m in materials},
            "use": {u.pk: u for u in uses},
            "site": {s.pk: s for s in self.sites},
        }
        self.known = {
            "supply": {"site": by_pk["site"], "material": by_pk["material"]},
            "demand": {
                "site": by_pk["site"],
                "reference_material": by_pk["material"],
                "materials": by_pk["material"],
                "uses": by_pk["use"],
            },
        }

    @staticmethod
    def _index(objects, with_ewc=False) -> dict:
        index: dict[str, list] = {}
        for obj in objects:
            names = [obj.slug, obj.name_en, obj.name_ru, obj.name_kk]
            if with_ewc:
                # Either code: the EWC one or the national one (issue 21).
                names += [obj.ewc_code, obj.ewc_digits, obj.kz_code, obj.kz_digits]
            # Folded first: "Glass" named "glass" is one material, not two.
            for key in {name.casefold().strip() for name in names if name}:
                index.setdefault(key, []).append(obj)
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
    "cn_ratio",
    "particle_size_mm",
    "max_moisture_percent",
    "max_contamination_percent",
    "max_price_kzt_per_t",
    "min_lot_tonnes",
    "storage_capacity_tonnes",
}
# The season column's words -> the listing form's preset (symbiosis.profiles).
SEASONS = {
    "all_year": profiles.ALL_YEAR,
    "harvest": "harvest_aug_oct",
    "heating": "heating_oct_apr",
    "spring": "spring_mar_may",
    **{key: key for key in profiles.PRESETS},
}


def _season_data(row: Row, data: dict, errors: list[str]) -> None:
    """The season and monthly_profile columns as the form's preset and month fields."""
    season = row.data.get("season", "").strip().casefold().replace("-", "_").replace(" ", "_")
    shares = row.data.get("monthly_profile", "").strip()
    if season == profiles.CUSTOM:
        # The form's own word for "the shares below": the shares must then be given.
        if not shares:
            errors.append(f"monthly_profile: {profiles.profile_errors([])[0]}")
            return
        season = ""
    if season and season not in SEASONS:
        errors.append(
            _("season: unknown season “%(text)s”; use %(names)s.")
            % {"text": row.data["season"], "names": "all_year, harvest, heating, spring"}
        )
        return
    if not shares:
        data[profile_forms.PRESET] = SEASONS.get(season, profiles.ALL_YEAR)
        return
    if season:
        errors.append(_("monthly_profile: give either a season or the monthly shares, not both."))
        return
    parts = [_number(part) for part in shares.split(";")]
    numbers = []
    for part in parts:
        try:
            number = float(part) if part else 0.0
        except ValueError:
            number = float("nan")
        numbers.append(number)
    problems = profiles.profile_errors(numbers)
    if problems:
        errors.append(f"monthly_profile: {problems[0]}")
        return
    data[profile_forms.PRESET] = profiles.CUSTOM
    data.update(zip(profile_forms.MONTH_FIELDS, (repr(n) for n in numbers), strict=True))


def _form_data(kind: str, row: Row, lookup: _Lookup) -> tuple[dict, list[str]]:
    """The row as the listing form's POST data, plus lookup errors."""
    data: dict = {}
    errors: list[str] = []
    for name, text in row.data.items():
        if name in NUMBER_COLUMNS:
            data[name] = _number(text)
        elif name in BOOLEAN_COLUMNS:
            answer = text.strip().casefold()
            if answer in YES:
                data[name] = "on"
            elif answer not in NO:
                errors.append(
                    _("%(column)s: answer yes or no, not “%(text)s”.")
                    % {"column": name, "text": text}
                )
        elif name in LIST_COLUMNS:
            data[name] = [p.strip() for p in text.replace(",", ";").split(";") if p.strip()]
        elif name not in {
            "material",
            "materials",
            "uses",
            "reference_material",
            "site",
            "season",
            "monthly_profile",
        }:
            data[name] = text
    _season_data(row, data, errors)
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


class Duplicates:
    """Rows that repeat a listing: an active one of the same site, material and
    recurrence among the user's organizations, or an earlier row of the file.

    A demand repeats another when both accept one same material. Read from
    the row's looked-up values (``_form_data``), so the preview and the
    import's "leave them out" find the same rows.
    """

    def __init__(self, user, kind: str):
        self.kind = kind
        self.sites = sites = selectors.own_site_list(user=user)
        if kind == "supply":
            active = SupplyListing.objects.filter(status=Status.ACTIVE, site__in=sites)
            existing = active.values_list("site_id", "material_id", "recurrence")
        else:
            through = DemandListing.materials.through.objects.filter(
                demandlisting__status=Status.ACTIVE, demandlisting__site__in=sites
            )
            existing = through.values_list(
                "demandlisting__site_id", "material_id", "demandlisting__recurrence"
            )
        self.existing = set(existing)
        self.seen: dict[tuple, int] = {}  # key: the first line that has it
        self._names: dict | None = None

    def _keys(self, data: dict) -> list[tuple]:
        site, recurrence = data.get("site"), data.get("recurrence")
        materials = [data.get("material")] if self.kind == "supply" else data.get("materials", [])
        return [(site, material, recurrence) for material in materials if site and material]

    def _name(self, key: tuple) -> dict:
        if self._names is None:  # only when a row repeats something
            self._names = {
                "site": dict(self.sites.values_list("pk", "name")),
                "material": {m.pk: m.name for m in Material.objects.all()},
            }
        site, material, recurrence = key
        return {
            "site": self._names["site"].get(site, ""),
            "material": self._names["material"].get(material, ""),
            "recurrence": Recurrence(recurrence).label if recurrence in Recurrence else "",
        }

    def check(self, line: int, data: dict) -> list[str]:
        """Warnings for the row at ``line`` (its form data); remembers its keys."""
        warnings = []
        for key in self._keys(data):
            if key in self.existing:
                warnings.append(
                    _(
                        "Possible duplicate: an active listing of %(material)s %(recurrence)s "
                        "at %(site)s already exists."
                    )
                    % self._name(key)
                )
            first = self.seen.setdefault(key, line)
            if first != line:
                warnings.append(
                    _(
                        "Possible duplicate of line %(line)s: same site, material and "
                        "recurrence (%(material)s %(recurrence)s)."
                    )
                    % {"line": first, **self._name(key)}
                )
        return list(dict.fromkeys(warnings))


def duplicate_lines(*, user, kind: str, rows: list[Row]) -> set[int]:
    """Lines of the rows ``Duplicates`` warns about (the first of repeated rows is kept)."""
    lookup = _Lookup(user)
    duplicates = Duplicates(user, kind)
    found = set()
    for row in rows:
        data, errors = _form_data(kind, row, lookup)
        if not errors and duplicates.check(row.line, data):
            found.add(row.line)
    return found


def _messages(form) -> list[str]:
    found = []
    for name, errors in form.errors.items():
        label = name if name != "__all__" else ""
        found += [f"{label}: {e}" if label else str(e) for e in errors]
    return found


_BUILD = {"supply": services.supply_build, "demand": services.demand_build}
PROGRESS_EVERY_ROWS = 100


@dataclass
class Checked:
    """Every row's outcome, and the unsaved listings of the rows that passed."""

    results: list[RowResult]
    listings: list = field(default_factory=list)  # (listing, materials, uses)

    @property
    def failed(self) -> list[RowResult]:
        return [row for row in self.results if not row.ok]

    @property
    def warned(self) -> list[RowResult]:
        return [row for row in self.results if row.ok and row.warnings]


def listings_check(*, user, kind: str, rows: list[Row], on_progress=None) -> Checked:
    """Check every row as the listing pages would, writing nothing.

    ``on_progress(done)`` is called every ``PROGRESS_EVERY_ROWS`` rows. No query
    per row: the forms take their choices from the lookup, and the services a
    viewer and relations already read (2,000 rows: 6 queries a row before).
    """
    lookup = _Lookup(user)
    # The form reads the user's memberships only to offer their sites: read
    # once here, not once a row (selectors take a Viewer in place of a user).
    viewer = selectors.viewer_for(user)
    duplicates = Duplicates(user, kind)
    checked = Checked(results=[])
    for done, row in enumerate(rows, start=1):
        data, errors = _form_data(kind, row, lookup)
        outcome = RowResult(row.line, row.data, errors)
        checked.results.append(outcome)
        if on_progress and done % PROGRESS_EVERY_ROWS == 0:
            on_progress(done)
        form = FORMS[kind](data, user=viewer)
        use_known_objects(form, lookup.known[kind])
        if not form.is_valid():
            outcome.errors += _messages(form)
            continue
        if outcome.errors:
            continue
        values = form.service_values()
        try:
            listing = _BUILD[kind](
                user=viewer,
                organization=values["site"].organization,
                relations_checked=True,
                **values,
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
            outcome.errors += _messages(form)
        else:
            outcome.tonnes = listing.tonnes
            outcome.warnings = duplicates.check(row.line, data)
            checked.listings.append(
                (listing, list(values.get("materials", ())), list(values.get("uses", ())))
            )
    return checked


def _write(kind: str, user, listings: list) -> None:
    """Save checked listings; the caller's transaction makes it all or nothing."""
    own_sites = set(selectors.own_site_list(user=user).values_list("pk", flat=True))
    if any(listing.site_id not in own_sites for listing, _m, _u in listings):
        # A site or a membership went away since the rows were checked.
        raise PermissionDenied(_("You may only change data of your own organizations."))
    # One INSERT per 500 rows, so the write lock is held for a moment: 5,000
    # save() calls took 4 s on a loaded SQLite host. Listing.save() has one job,
    # tonnes from quantity and unit, which the check's clean() has already done.
    model = type(listings[0][0]) if listings else None
    if model is not None:
        model.objects.bulk_create([listing for listing, _m, _u in listings], batch_size=500)
    if kind == "demand":
        materials = DemandListing.materials.through
        uses = DemandListing.uses.through
        materials.objects.bulk_create(
            materials(demandlisting_id=listing.pk, material_id=material.pk)
            for listing, chosen, _u in listings
            for material in chosen
        )
        uses.objects.bulk_create(
            uses(demandlisting_id=listing.pk, use_id=use.pk)
            for listing, _m, chosen in listings
            for use in chosen
        )


# --- an import's life: start, check, import ------------------------------------------------

REPORT_ROWS = 200  # rows of the preview table: the failed ones, or the first ones
KEEP_IMPORTS = timedelta(days=1)
MAX_ATTEMPTS = 3  # a worker that dies on a file three times will die on it again
Import = ListingImport.Status


def _report(kind: str, checked: Checked) -> list[dict]:
    """The rows the preview shows: all of a small file; else the failed ones, or
    the ones warned about and then the first others, in the file's order."""
    failed = checked.failed
    if len(checked.results) <= REPORT_ROWS:
        shown = checked.results
    elif failed:
        shown = failed[:REPORT_ROWS]
    else:
        warned = checked.warned[:REPORT_ROWS]
        lines = {row.line for row in warned}
        others = [row for row in checked.results if row.line not in lines]
        shown = sorted(warned + others[: REPORT_ROWS - len(warned)], key=lambda row: row.line)
    return [row.as_report(kind) for row in shown]


def _organization_id(user) -> int:
    organization_ids = selectors.viewer_for(user).organization_ids
    if not organization_ids:
        raise PermissionDenied(_("This page is for members of an organization."))
    return min(organization_ids)


def listing_import_cleanup() -> int:
    """Forget imports older than a day (their rows and files): the count deleted."""
    deleted, _by_model = ListingImport.objects.filter(
        created_at__lt=timezone.now() - KEEP_IMPORTS
    ).delete()
    return deleted


def listing_import_start(
    *, user, kind: str, file_name: str, content: bytes, language: str = ""
) -> ListingImport:
    """Read the file's first lines here; check a small file at once, hand a large one over.

    A file error found in those lines raises ``ImportFileError`` and keeps
    nothing; later ones the worker records on the import.
    """
    if kind not in COLUMNS:
        raise ValueError(f"unknown listing kind {kind!r}")
    organization_id = _organization_id(user)
    listing_import_cleanup()
    rows, complete = parse_rows(content, file_name, kind, peek_rows=settings.IMPORT_SYNC_MAX_ROWS)
    fields = {
        "owner": user,
        "organization_id": organization_id,
        "kind": kind,
        "file_name": file_name[:255],
        "language": language,
    }
    if not complete:
        listing_import = ListingImport.objects.create(
            **fields, status=Import.QUEUED, content=content
        )
        transaction.on_commit(lambda: _enqueue("check", listing_import.pk))
        return listing_import
    listing_import = ListingImport.objects.create(
        **fields,
        status=Import.CHECKING,
        rows=[[row.line, row.data] for row in rows],
        total_rows=len(rows),
    )
    _check(listing_import, rows)
    listing_import.refresh_from_db()
    return listing_import


def listing_import_commit(
    *, user, listing_import: ListingImport, skip_duplicates: bool = False
) -> ListingImport:
    """Import the checked rows: at once when few, else in the worker. All or none.

    ``skip_duplicates``: leave out the rows the preview warned about as
    duplicates (the first of rows repeated within the file stays).
    """
    ready = ListingImport.objects.filter(
        pk=listing_import.pk,
        owner=user,
        status=Import.CHECKED,
        failed_rows=0,
        total_rows__gt=0,
    )
    cannot = ValidationError(
        _("This file cannot be imported (again): upload it again to check it.")
    )
    changes = {}
    if skip_duplicates and listing_import.duplicate_rows:
        stored = ready.values_list("rows", flat=True).first()
        if stored is None:
            raise cannot
        rows = [Row(line, data) for line, data in stored]
        skipped = duplicate_lines(user=user, kind=listing_import.kind, rows=rows)
        kept = [[row.line, row.data] for row in rows if row.line not in skipped]
        if not kept:
            raise ValidationError(
                _("Every row repeats a listing: there is nothing to import."), code="nothing_left"
            )
        changes = {"rows": kept, "total_rows": len(kept), "duplicate_rows": 0}
    claimed = ready.update(status=Import.IMPORTING, stage="", done_rows=0, attempts=0, **changes)
    if not claimed:  # imported already (a second click), or never ready
        raise cannot
    listing_import.total_rows = changes.get("total_rows", listing_import.total_rows)
    if listing_import.total_rows <= settings.IMPORT_SYNC_MAX_ROWS:
        listing_import_write(import_id=listing_import.pk)
    else:
        transaction.on_commit(lambda: _enqueue("write", listing_import.pk))
    listing_import.refresh_from_db()
    return listing_import


def _enqueue(step: str, import_id: int) -> None:
    task = tasks.listing_import_check_task if step == "check" else tasks.listing_import_write_task
    try:
        task.delay(import_id)
    except OperationalError as exc:
        # No message exists, so no worker would ever pick the import up.
        log.error("import %s not queued: %s", import_id, exc)
        _fail(import_id, _("The task queue could not be reached; try again in a minute."))


def _fail(import_id: int, message: str) -> None:
    ListingImport.objects.filter(pk=import_id).update(
        status=Import.FAILED,
        stage="",
        error=str(message)[: ListingImport._meta.get_field("error").max_length],
        content=b"",
        finished_at=timezone.now(),
    )


def _claim(import_id: int, statuses: tuple, status: str) -> ListingImport | None:
    """The import, now in ``status``; None when there is nothing (more) to do.

    One conditional UPDATE, no read-then-write transaction: on SQLite a
    transaction that reads first and writes later fails at once ("database is
    locked") when another connection is waiting to write meanwhile.
    """
    claimed = ListingImport.objects.filter(
        pk=import_id, status__in=statuses, attempts__lt=MAX_ATTEMPTS
    ).update(status=status, attempts=F("attempts") + 1)
    listing_import = ListingImport.objects.select_related("owner").filter(pk=import_id).first()
    if claimed:
        return listing_import
    if listing_import is not None and listing_import.status in statuses:
        with translation.override(listing_import.language or settings.LANGUAGE_CODE):
            message = _("The worker stopped on this file %(count)s times; split it.")
            _fail(import_id, message % {"count": MAX_ATTEMPTS})
    return None


def _progress(import_id: int, done: int, stage: str) -> None:
    ListingImport.objects.filter(pk=import_id).update(done_rows=done, stage=stage)


def _stored_rows(listing_import: ListingImport) -> list[Row]:
    return [Row(line, data) for line, data in listing_import.rows]


def _check(listing_import: ListingImport, rows: list[Row]) -> Checked:
    """Check the rows and keep the report; the import is then CHECKED."""
    pk = listing_import.pk
    checked = listings_check(
        user=listing_import.owner,
        kind=listing_import.kind,
        rows=rows,
        on_progress=lambda done: _progress(pk, done, "checking"),
    )
    ListingImport.objects.filter(pk=pk).update(
        status=Import.CHECKED,
        stage="",
        done_rows=len(rows),
        failed_rows=len(checked.failed),
        duplicate_rows=len(checked.warned),
        report=_report(listing_import.kind, checked),
        content=b"",
        finished_at=timezone.now(),
    )
    return checked


def listing_import_check(*, import_id: int) -> None:
    """The worker's part of a large file: read it all, then check every row."""
    listing_import = _claim(import_id, (Import.QUEUED, Import.CHECKING), Import.CHECKING)
    if listing_import is None:
        return
    with translation.override(listing_import.language or settings.LANGUAGE_CODE):
        try:
            _progress(import_id, 0, "reading")
            rows, _complete = parse_rows(
                bytes(listing_import.content), listing_import.file_name, listing_import.kind
            )
            ListingImport.objects.filter(pk=import_id).update(
                rows=[[row.line, row.data] for row in rows], total_rows=len(rows), content=b""
            )
            listing_import.total_rows = len(rows)
            _check(listing_import, rows)
        except ImportFileError as exc:
            _fail(import_id, str(exc))
        except Exception:  # the import records that it failed, in plain words
            log.exception("import %s: the check failed", import_id)
            _fail(import_id, _("The check stopped with an unexpected error; nothing was imported."))


def listing_import_write(*, import_id: int) -> None:
    """Check the rows again (sites may have changed), then write all of them or none.

    Only the writes run in the transaction, so the database's write lock is
    held for the inserts alone, not for the checks.
    """
    listing_import = _claim(import_id, (Import.IMPORTING,), Import.IMPORTING)
    if listing_import is None:
        return
    with translation.override(listing_import.language or settings.LANGUAGE_CODE):
        try:
            _write_all(listing_import)
        except Exception:
            log.exception("import %s: the import failed", import_id)
            message = _("The import stopped with an unexpected error; nothing was imported.")
            _fail(import_id, message)


def _write_all(listing_import: ListingImport) -> None:
    pk, kind, user = listing_import.pk, listing_import.kind, listing_import.owner
    rows = _stored_rows(listing_import)
    checked = listings_check(
        user=user, kind=kind, rows=rows, on_progress=lambda done: _progress(pk, done, "checking")
    )
    if checked.failed:
        # Something changed since the preview (a site renamed...): say why, write nothing.
        ListingImport.objects.filter(pk=pk).update(
            status=Import.CHECKED,
            stage="",
            failed_rows=len(checked.failed),
            duplicate_rows=len(checked.warned),
            report=_report(kind, checked),
            finished_at=timezone.now(),
        )
        return
    _progress(pk, len(rows), "saving")
    try:
        with transaction.atomic():
            # A write first, so SQLite's write lock is taken (or waited for) now;
            # see _claim. Rolled back with the listings if they fail.
            finished = ListingImport.objects.filter(pk=pk, status=Import.IMPORTING).update(
                status=Import.IMPORTED,
                stage="",
                imported_rows=len(checked.listings),
                rows=[],
                finished_at=timezone.now(),
            )
            if not finished:
                return  # deleted meanwhile, or another delivery of the task finished it
            _write(kind, user, checked.listings)
    except PermissionDenied as exc:
        _fail(pk, str(exc))
