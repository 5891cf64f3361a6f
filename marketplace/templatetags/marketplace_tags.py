"""Template filters of the deal pages."""

from decimal import Decimal

from django import template

register = template.Library()


def plain_number(value) -> str:
    """A Decimal without trailing zeros and never in exponent form: 10, 12.5, 0.001."""
    if value is None or value == "":
        return ""
    number = Decimal(value).normalize()
    return format(number, "f")


register.filter("plain", plain_number)
