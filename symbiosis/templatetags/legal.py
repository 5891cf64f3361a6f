"""Legal notes on pages: ``{% imported_origin_note %}`` where a residue of imported
origin is shown (market, listing, proposal and introduction pages);
``{% hazardous_note material %}`` on a hazardous material's listing (what the law asks
of giver and receiver); ``{% material_codes material %}`` its EWC and national codes."""

from django import template

from symbiosis.legal import IMPORTED_ORIGIN_BASIS, IMPORTED_ORIGIN_RESTRICTION, hazardous_note

register = template.Library()


@register.inclusion_tag("symbiosis/_imported_origin.html")
def imported_origin_note():
    return {"text": IMPORTED_ORIGIN_RESTRICTION, "basis": IMPORTED_ORIGIN_BASIS}


@register.inclusion_tag("symbiosis/_hazardous_note.html")
def hazardous_note_of(material):
    return {"note": hazardous_note(material)}


@register.inclusion_tag("symbiosis/_material_codes.html")
def material_codes(material):
    return {"material": material}
