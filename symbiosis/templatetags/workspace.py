"""Template filters of the workspace pages."""

from decimal import Decimal, InvalidOperation
from functools import cache

from django import template
from django.utils import formats

register = template.Library()


@register.filter
def amount(value, places: int = 3):
    """A quantity without trailing zeros, formatted for the active language.

    ``41.9000`` -> "41.9", ``1200`` -> "1,200" (English) or "1 200" (Russian).
    Values too small for ``places`` decimals keep up to six.
    """
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
    return formats.number_format(rounded, decimal_pos=decimals, use_l10n=True, force_grouping=True)


@cache
def _choice_labels(model, field_name: str) -> dict:
    # The labels stay lazy: each render translates them to the active language.
    return dict(model._meta.get_field(field_name).flatchoices)


@register.filter
def label(obj, field_name: str):
    """``obj.get_<field_name>_display()``, without building and translating the
    field's whole choice list on every call (that cost adds up per table row)."""
    value = getattr(obj, field_name)
    return _choice_labels(type(obj), field_name).get(value, value)
