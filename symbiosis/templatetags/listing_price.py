"""``{{ price|gate_fee }}``: the amount of a negative price, paid to whoever takes the material.

A listing's negative asking price (or a demand's negative maximum price) is a gate
fee: the supplier pays the receiver (``SupplyListing.price_kzt_per_t``). Pages say
so in words, with the amount as a positive number.
"""

from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()


@register.filter
def gate_fee(value):
    """The fee a negative price stands for (``-2000`` -> ``2000``); None otherwise."""
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return -number if number < 0 else None
