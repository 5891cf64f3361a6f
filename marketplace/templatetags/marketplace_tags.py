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


@register.inclusion_tag("marketplace/_movement_form.html")
def movement_export_form():
    """The movement-record export form (a period, a format), as on its own page."""
    # Late: the forms module imports this one for ``plain_number``.
    from marketplace.movement_views import period_form

    return {"form": period_form()}


@register.simple_tag
def transfer_note(delivery):
    """The note's lines of ``delivery``'s movement record, as the PDF prints them."""
    from marketplace.movement import movement_record
    from marketplace.transfer_note import note_rows, party_lines

    record = movement_record(delivery)
    return {
        "record": record,
        "rows": note_rows(record),
        "giver": party_lines(record["giver"]),
        "receiver": party_lines(record["receiver"]),
    }
