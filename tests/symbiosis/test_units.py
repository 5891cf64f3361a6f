from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from symbiosis.units import UnitConversionError, parse_decimal, to_tonnes


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


# --- bounds: a typed number is bounded before any arithmetic ------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("1E+1000000", "max_digits"),
        ("-1e999999", "max_digits"),
        ("9" * 400, "max_digits"),
        ("1e-999999", "max_digits"),
        ("12.34567", "max_decimal_places"),
        ("123456789012", "max_whole_digits"),
        ("abc", "invalid"),
        ("12,5", "invalid"),  # as the form's own field reads it
        ("NaN", "invalid"),
        ("-Infinity", "invalid"),
        ("1\x00", "invalid"),
    ],
)
def test_parse_decimal_refuses_what_no_field_holds(text, code):
    with pytest.raises(ValidationError) as info:
        parse_decimal(text, max_digits=14, decimal_places=4)
    assert info.value.code == code


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", None),
        ("  ", None),
        (" 12.5 ", Decimal("12.5")),
        ("9999999999.9999", Decimal("9999999999.9999")),
        ("-0.0001", Decimal("-0.0001")),
        ("1E+3", Decimal("1000")),
    ],
)
def test_parse_decimal_reads_what_a_field_holds(text, expected):
    assert parse_decimal(text, max_digits=14, decimal_places=4) == expected


@pytest.mark.parametrize(
    ("quantity", "unit", "kwargs"),
    [
        (Decimal("1E+1000000"), "t", {}),
        (Decimal("1E+1000000"), "kg", {}),
        (Decimal("1E+999999"), "m3", {"density_t_per_m3": Decimal("0.65")}),
        (Decimal("5"), "pieces", {"piece_mass_kg": Decimal("1e999999")}),
        (Decimal("9999999999"), "pieces", {"piece_mass_kg": Decimal("999999999")}),
        (Decimal("10000000000"), "t", {}),
        (Decimal("-1E+1000000"), "t", {}),
    ],
)
def test_a_conversion_too_large_is_an_error_on_the_quantity(quantity, unit, kwargs):
    # Regression: 1E+1000000 raised decimal.Overflow (a 500 in the tonnes preview).
    with pytest.raises(UnitConversionError) as info:
        to_tonnes(quantity, unit, **kwargs)
    assert info.value.field == "quantity"
    assert "10,000,000,000 tonnes or more" in str(info.value.message)


def test_the_largest_listing_still_converts():
    assert to_tonnes(Decimal("9999999999.999999"), "t") == Decimal("9999999999.999999")
