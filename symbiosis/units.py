"""Quantity units to tonnes: listings store what was typed and its tonnes.

Typed numbers are bounded before any arithmetic (``parse_decimal``), and the
conversion bounds its result (``to_tonnes``): ``Decimal("1E+1000000")`` is a
valid number, but multiplying or rounding it overflows the decimal context.
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import DecimalValidator
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

KG_PER_TONNE = Decimal(1000)
# Listing.tonnes is a DecimalField(max_digits=16, decimal_places=6): ten whole digits.
TONNES_LIMIT = Decimal(10) ** 10


class UnitConversionError(ValueError):
    def __init__(self, field: str, message):
        super().__init__(str(message))
        self.field = field
        self.message = message


def to_tonnes(
    quantity: Decimal,
    unit: str,
    *,
    density_t_per_m3: Decimal | None = None,
    piece_mass_kg: Decimal | None = None,
) -> Decimal:
    """Convert ``quantity`` in ``unit`` (t, kg, m3, pieces) to tonnes.

    A result a listing cannot hold (``TONNES_LIMIT``), or one too large to compute
    at all, is a ``UnitConversionError`` on the quantity, never an arithmetic error.
    """
    quantity = Decimal(quantity)
    try:
        tonnes = _tonnes(quantity, unit, density_t_per_m3, piece_mass_kg)
        too_large = not abs(tonnes) < TONNES_LIMIT
    except ArithmeticError:  # decimal.Overflow, InvalidOperation of a huge exponent
        too_large = True
    if too_large:
        limit = number_format(TONNES_LIMIT, force_grouping=True)
        raise UnitConversionError(
            "quantity",
            _("This comes to %(limit)s tonnes or more; check the quantity and the unit.")
            % {"limit": limit},
        )
    return tonnes


def _tonnes(quantity: Decimal, unit: str, density_t_per_m3, piece_mass_kg) -> Decimal:
    if unit == "t":
        return quantity
    if unit == "kg":
        return quantity / KG_PER_TONNE
    if unit == "m3":
        if not density_t_per_m3:
            raise UnitConversionError(
                "unit", _("This material has no known density; give the quantity in t or kg.")
            )
        return quantity * Decimal(density_t_per_m3)
    if unit == "pieces":
        if not piece_mass_kg:
            raise UnitConversionError(
                "piece_mass_kg", _("Give the mass of one piece to count in pieces.")
            )
        return quantity * Decimal(piece_mass_kg) / KG_PER_TONNE
    raise UnitConversionError("unit", _("Unknown unit %(unit)s.") % {"unit": unit})


def parse_decimal(text, *, max_digits: int, decimal_places: int) -> Decimal | None:
    """A typed number, bounded as a ``DecimalField(max_digits, decimal_places)``
    stores it, or None for an empty text.

    The same reading and the same messages as the listing form's fields, so a
    preview never shows a number the form then refuses; ``ValidationError`` with
    code ``invalid`` for what is not a finite number, ``max_digits``,
    ``max_whole_digits`` or ``max_decimal_places`` for what no field holds (an
    exponent such as 1E+1000000 has a million digits, counted without arithmetic).
    """
    text = str(text).strip()
    if not text:
        return None
    try:
        number = Decimal(text)
    except ArithmeticError:
        number = None
    if number is None or not number.is_finite():
        raise ValidationError(_("Enter a number."), code="invalid")
    DecimalValidator(max_digits, decimal_places)(number)
    return number


def listing_tonnes(listing) -> Decimal:
    """Tonnes per period of a supply or demand listing."""
    material = getattr(listing, "material", None) if hasattr(listing, "material_id") else None
    if material is None and getattr(listing, "reference_material_id", None):
        material = listing.reference_material
    density = material.density_t_per_m3 if material is not None else None
    tonnes = to_tonnes(
        listing.quantity,
        listing.unit,
        density_t_per_m3=density,
        piece_mass_kg=listing.piece_mass_kg,
    )
    return tonnes.quantize(Decimal("0.000001"))
