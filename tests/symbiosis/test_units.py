from decimal import Decimal

import pytest

from symbiosis.units import UnitConversionError, to_tonnes


@pytest.mark.parametrize(
    "quantity, unit, kwargs, expected",
    [
        ("12.5", "t", {}, "12.5"),
        ("2500", "kg", {}, "2.5"),
        ("10", "m3", {"density_t_per_m3": Decimal("0.419")}, "4.19"),
        ("40", "pieces", {"piece_mass_kg": Decimal("1250")}, "50"),
    ],
)
def test_conversion_to_tonnes(quantity, unit, kwargs, expected):
    assert to_tonnes(Decimal(quantity), unit, **kwargs) == Decimal(expected)


@pytest.mark.parametrize(
    "unit, kwargs, field",
    [("m3", {}, "unit"), ("pieces", {}, "piece_mass_kg"), ("barrels", {}, "unit")],
)
def test_conversion_errors_name_the_field(unit, kwargs, field):
    with pytest.raises(UnitConversionError) as info:
        to_tonnes(Decimal("1"), unit, **kwargs)
    assert info.value.field == field
