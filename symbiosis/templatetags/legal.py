"""Legal notes on pages: ``{% imported_origin_note %}`` where a residue of imported
origin is shown (market, listing, proposal and introduction pages). Given the
material, the note also says whether a facilitator cleared it (``symbiosis.clearances``)."""

from django import template

from symbiosis.clearances import clearance_for
from symbiosis.legal import IMPORTED_ORIGIN_BASIS, IMPORTED_ORIGIN_RESTRICTION

register = template.Library()


@register.inclusion_tag("symbiosis/_imported_origin.html")
def imported_origin_note(material=None):
    context = {"text": IMPORTED_ORIGIN_RESTRICTION, "basis": IMPORTED_ORIGIN_BASIS}
    if material is not None:
        context["with_clearance"] = True
        context["clearance"] = clearance_for(material.pk)
    return context
