"""Template filters of the workspace pages."""

from functools import cache

from django import template

from symbiosis import numbers

register = template.Library()


@register.filter
def amount(value, places: int = 3):
    """A quantity without trailing zeros, formatted for the active language.

    ``41.9000`` -> "41.9", ``1200`` -> "1,200" (English) or "1 200" (Russian).
    Values too small for ``places`` decimals keep up to six
    (``symbiosis.numbers.trimmed_number``; ``{% load numbers %}`` adds the unit).
    """
    return numbers.trimmed_number(value, places)


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
