"""Numbers as the template filters show them, written in Python for long tables.

Shared by the dashboard's and the optimizer's pages; tests/symbiosis/test_numbers.py
holds them to Django's filters.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.utils.formats import get_format


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
