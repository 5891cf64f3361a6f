"""Quantity units to tonnes: listings store what was typed and its tonnes."""

from decimal import Decimal

from django.utils.translation import gettext_lazy as _

KG_PER_TONNE = Decimal(1000)


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
    """Convert ``quantity`` in ``unit`` (t, kg, m3, pieces) to tonnes."""
    quantity = Decimal(quantity)
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
