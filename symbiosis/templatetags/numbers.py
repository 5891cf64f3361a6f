"""Quantities on pages, one rule per unit (``symbiosis.numbers.UNITS``).

``{{ deal.price_kzt_per_t|measure:"kzt_per_t" }}`` -> "2,000 KZT/t" ("2 000 тенге/т");
``{{ figure|number:"kg" }}`` the number alone, where the unit is in the sentence or
the column's heading.
"""

from django import template

from symbiosis import numbers

register = template.Library()


@register.filter
def measure(value, unit: str = "t"):
    """The value grouped, with the unit's precision and symbol."""
    return numbers.measure(value, unit)


@register.filter
def number(value, unit: str = "t"):
    """The value grouped, with the unit's precision, without its symbol."""
    return numbers.measure_number(value, unit)
