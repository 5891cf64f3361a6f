"""Numbers as pages and exports show them: one rule per unit.

- ``measure`` / ``measure_number``: a quantity on a page, grouped in the reader's
  language ("12,300.5 t", "12 300,5 т"), with its unit and the precision of that
  unit (``UNITS``); the template filters ``measure`` and ``number`` of
  ``{% load numbers %}`` (symbiosis/templatetags/numbers.py) call them.
- ``trimmed_number``: a quantity as entered, without trailing zeros (the ``amount``
  filter of ``{% load workspace %}``).
- ``export_value``: a figure in an export (CSV, JSON), fixed decimals per column by
  the unit its name carries (``EXPORT_PLACES``), never grouped nor localized.
- ``number_text``: what ``floatformat`` and ``intcomma`` show, fast, for the long
  tables of the dashboard's and the optimizer's pages; tests/symbiosis/test_numbers.py
  holds it to Django's filters.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils.formats import get_format, number_format
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy, pgettext_lazy


def separators() -> tuple[str, str]:
    """(decimal, thousands) of the active language: fetch once per table and pass
    to ``number_text``, which otherwise looks them up per cell."""
    return get_format("DECIMAL_SEPARATOR"), get_format("THOUSAND_SEPARATOR")


def number_text(
    value, places: int = 1, *, grouping: bool = True, seps: tuple[str, str] | None = None
) -> str:
    """What ``{{ value|floatformat:places }}`` (``places`` 0 or 1), followed by
    ``|intcomma`` with ``grouping``, shows, at a fraction of the filters' cost:
    the city and run pages show hundreds of such cells. intcomma groups a whole
    number with the language's separator but a decimal one with commas, as here.
    tests/symbiosis/test_numbers.py holds it to the filters."""
    if value is None:
        return ""
    rounded = Decimal(repr(float(value))).quantize(_STEPS[places], rounding=ROUND_HALF_UP)
    decimal, thousands = seps or separators()
    sign = "-" if rounded < 0 else ""  # and no "-0.0", as floatformat
    whole, _dot, part = f"{abs(rounded):.{places}f}".partition(".")
    if grouping:
        whole = f"{int(whole):,}"
        if not places and thousands != ",":
            whole = whole.replace(",", thousands)
    if places:
        return f"{sign}{whole}{decimal}{part}"
    return f"{sign}{whole}"


_STEPS = {0: Decimal("1"), 1: Decimal("0.1")}


# --- one rule per unit, for pages ------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    symbol: Promise | str
    # Decimals shown.
    places: int
    # Figures as entered (a weighbridge ticket, agreed terms, a price) drop what is
    # zero: "zeros", every trailing zero ("10 t", "12.25 t"); "whole", the decimals of
    # a whole number only ("2,000 KZT/t" but "1,999.50 KZT/t").
    trim: str = ""


_TONNES = pgettext_lazy("unit symbol: tonnes", "t")

UNITS = {
    # Tonnes summed or computed (delivered, expected, held...).
    "t": Unit(_TONNES, 1),
    # Tonnes as a weighbridge ticket or the deal's terms give them.
    "t_ticket": Unit(_TONNES, 3, trim="zeros"),
    "kg_co2e": Unit(gettext_lazy("kg CO2e"), 0),
    "t_co2e": Unit(gettext_lazy("t CO2e"), 1),
    "kg": Unit(gettext_lazy("kg"), 0),
    "km": Unit(gettext_lazy("km"), 1),
    "kzt": Unit(gettext_lazy("KZT"), 0),
    "kzt_per_t": Unit(gettext_lazy("KZT/t"), 2, trim="whole"),
    "percent": Unit("%", 1),
}

# Between a number and its unit: never broken across lines.
NBSP = "\u00a0"


def _decimal(value) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None
    return number if number.is_finite() else None


def _rounded(number: Decimal, places: int) -> Decimal:
    rounded = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return rounded.copy_abs() if rounded.is_zero() else rounded  # no "-0.0"


def measure_number(value, unit: str) -> str:
    """The number of ``value`` in ``unit`` as a page shows it, in the active language:
    grouped thousands, the unit's decimals (``UNITS``). A value too small for them
    is not shown as 0: it keeps the decimals that show it (up to 6). Text that is no
    number comes back as it is; None as ""."""
    number = _decimal(value)
    if number is None:
        return "" if value is None else str(value)
    spec = UNITS[unit]
    places = spec.places
    try:
        rounded = _rounded(number, places)
        while rounded.is_zero() and not number.is_zero() and places < 6:
            places += 1
            rounded = _rounded(number, places)
    except ArithmeticError:  # more digits than Decimal's precision
        return str(number)
    if spec.trim:
        shown = max(0, -rounded.normalize().as_tuple().exponent)
        if spec.trim == "zeros" or shown == 0:
            places = shown
    return number_format(rounded, decimal_pos=places, use_l10n=True, force_grouping=True)


def trimmed_number(value, places: int = 3):
    """A quantity as entered, without trailing zeros, grouped for the active language
    (the ``amount`` filter): ``41.9000`` -> "41.9", ``1200`` -> "1,200" / "1 200".
    Values too small for ``places`` decimals keep up to six; what is no finite number
    comes back as it is."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return value
    if not number.is_finite():
        return value
    places = int(places)
    try:
        if number and abs(number) < Decimal(10) ** -places:
            places = 6
        rounded = number.quantize(Decimal(10) ** -places).normalize()
    except ArithmeticError:  # more digits than Decimal's precision, or abs() of 1E+1000000
        return str(number)
    decimals = max(0, -rounded.as_tuple().exponent)
    return number_format(rounded, decimal_pos=decimals, use_l10n=True, force_grouping=True)


def unit_symbol(unit: str) -> str:
    return str(UNITS[unit].symbol)


def measure(value, unit: str) -> str:
    """``measure_number`` and the unit's symbol in the active language: "12,300.5 t"."""
    text = measure_number(value, unit)
    if _decimal(value) is None:
        return text
    return f"{text}{NBSP}{unit_symbol(unit)}"


# --- one rule for exports ----------------------------------------------------------------

# Decimals per unit a column's name carries (``export_places``).
EXPORT_PLACES = {
    "tonnes": 3,
    "kg_co2e": 1,
    "t_co2e": 3,
    "percent": 3,
    "fraction": 6,
    "deg": 3,  # a 0.05-degree cell's centre is a multiple of 0.025
    "kzt": 0,
    "km": 1,
}


def export_unit(column: str) -> str | None:
    """The unit a column's name carries, or None (a count, a label, a key)."""
    if column.startswith("kg_co2e") or column.endswith("kg_co2e"):
        return "kg_co2e"
    if column.startswith("t_co2e"):
        return "t_co2e"
    if column.endswith("_percent"):
        return "percent"
    if column.endswith("_fraction"):
        return "fraction"
    if column.endswith(("_lat", "_lon")):
        return "deg"
    if "tonnes" in column:
        return "tonnes"
    if column.endswith("_km") or column.startswith("km"):
        return "km"
    if "kzt" in column:
        return "kzt"
    return None


def export_value(column: str, value):
    """A figure of an export: a Decimal with the fixed decimals of the column's unit
    ("330017.860" for tonnes, "-20358.0" for kg CO2e), so a CSV cell shows them all
    and JSON carries the rounded number. Counts, text and figures of a column with
    no unit come back as they are."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return value
    unit = export_unit(column)
    if unit is None:
        return value
    number = _decimal(value)
    if number is None:
        return value
    return _rounded(number, EXPORT_PLACES[unit])
