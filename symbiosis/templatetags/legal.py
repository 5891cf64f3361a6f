"""Legal notes on pages: ``{% imported_origin_note %}`` where a residue of imported
origin is shown (market, listing, proposal and introduction pages; given the material,
it also says whether a facilitator cleared it: ``symbiosis.clearances``);
``{% hazardous_note_of material %}`` on a hazardous material's listing (what the law asks
of giver and receiver); ``{% material_codes material %}`` its EWC and national codes."""

from django import template

from symbiosis import regulation
from symbiosis.clearances import clearance_for
from symbiosis.legal import IMPORTED_ORIGIN_BASIS, IMPORTED_ORIGIN_RESTRICTION, hazardous_note

register = template.Library()


@register.inclusion_tag("symbiosis/_imported_origin.html")
def imported_origin_note(material=None):
    context = {
        "text": IMPORTED_ORIGIN_RESTRICTION,
        "basis": IMPORTED_ORIGIN_BASIS,
        "rules": regulation.legal_rule_citations("imported-origin"),
    }
    if material is not None:
        context["with_clearance"] = True
        context["clearance"] = clearance_for(material.pk)
    return context


@register.inclusion_tag("symbiosis/_hazardous_note.html")
def hazardous_note_of(material):
    return {"note": hazardous_note(material)}


@register.inclusion_tag("symbiosis/_material_codes.html")
def material_codes(material):
    return {"material": material}
