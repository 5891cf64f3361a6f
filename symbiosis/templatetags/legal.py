"""Legal notes on pages: ``{% imported_origin_note %}`` where a residue of imported
origin is shown (market, listing, proposal and introduction pages)."""

from django import template

from symbiosis.legal import IMPORTED_ORIGIN_BASIS, IMPORTED_ORIGIN_RESTRICTION

register = template.Library()


@register.inclusion_tag("symbiosis/_imported_origin.html")
def imported_origin_note():
    return {"text": IMPORTED_ORIGIN_RESTRICTION, "basis": IMPORTED_ORIGIN_BASIS}
