"""Every model refuses its bad values with a message on the right field."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from symbiosis.models import SupplyListing
from symbiosis.validators import validate_bin, validate_ewc_code
from tests import factories

pytestmark = pytest.mark.django_db


def _errors(instance) -> dict:
    with pytest.raises(ValidationError) as info:
        instance.full_clean()
    return info.value.message_dict


def _bin_from_first_eleven(first: str) -> str | None:
    """Kazakh BIN check digit, computed here independently of the code."""
    digits = [int(c) for c in first]
    s = sum(d * (i + 1) for i, d in enumerate(digits)) % 11
    if s == 10:
        weights = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]
        s = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
        if s == 10:
            return None
    return first + str(s)


@pytest.mark.parametrize("first", ["04014000123", "99034000567", "12345678901", "00000000001"])
def test_valid_bins_pass_and_every_wrong_check_digit_fails(first):
    good = _bin_from_first_eleven(first)
    if good is None:
        pytest.skip("no valid check digit exists for this prefix")
    validate_bin(good)
    for digit in "0123456789":
        if digit != good[-1]:
            with pytest.raises(ValidationError):
                validate_bin(first + digit)


@pytest.mark.parametrize("value", ["", "12345", "1234567890123", "12345678901a", " 123456789012"])
def test_bin_format_is_refused(value):
    with pytest.raises(ValidationError):
        validate_bin(value)


def test_organization_with_bad_bin_names_the_field():
    org = factories.OrganizationFactory.build(bin="123456789012")
    if _bin_from_first_eleven("12345678901") == "123456789012":
        org.bin = "123456789013"
    assert "bin" in _errors(org)


@pytest.mark.parametrize("code", ["02 07 04", "17 01 01", "16 01 03*"])
def test_ewc_codes_accepted(code):
    validate_ewc_code(code)


@pytest.mark.parametrize("code", ["020704", "2 07 04", "02-07-04", "02 07 04 01", "ab cd ef"])
def test_ewc_codes_refused(code):
    with pytest.raises(ValidationError):
        validate_ewc_code(code)


@pytest.mark.parametrize(
    "field, value",
    [("latitude", Decimal("200")), ("latitude", Decimal("-90.5")), ("longitude", Decimal("180.1"))],
)
def test_site_coordinates_out_of_range(field, value):
    site = factories.SiteFactory.build(organization=factories.OrganizationFactory())
    setattr(site, field, value)
    assert field in _errors(site)


def test_site_latitude_out_of_range_is_refused_by_the_database_too():
    site = factories.SiteFactory()
    site.latitude = Decimal("200")
    with pytest.raises(IntegrityError), transaction.atomic():
        site.save()


def _supply(**overrides):
    org = factories.OrganizationFactory()
    site = factories.SiteFactory(organization=org)
    material = factories.MaterialFactory(density_t_per_m3=Decimal("0.4"))
    fields = dict(
        organization=org,
        site=site,
        material=material,
        quantity=Decimal("10"),
        unit="t",
        tonnes=Decimal("0"),
        available_from=date(2027, 1, 1),
        available_until=date(2027, 12, 31),
    )
    fields.update(overrides)
    return SupplyListing(**fields)


def test_negative_quantity_is_refused():
    assert "quantity" in _errors(_supply(quantity=Decimal("-5")))


def test_zero_quantity_is_refused():
    assert "quantity" in _errors(_supply(quantity=Decimal("0")))


def test_unknown_unit_is_refused():
    assert "unit" in _errors(_supply(unit="barrels"))


def test_window_end_before_start_is_refused():
    errors = _errors(_supply(available_from=date(2027, 5, 1), available_until=date(2027, 4, 1)))
    assert "available_until" in errors


def test_site_of_another_organization_is_refused():
    other_site = factories.SiteFactory()
    assert "site" in _errors(_supply(site=other_site))


def test_m3_without_density_is_refused():
    material = factories.MaterialFactory(density_t_per_m3=None)
    assert "unit" in _errors(_supply(unit="m3", material=material))


def test_pieces_without_piece_mass_is_refused():
    assert "piece_mass_kg" in _errors(_supply(unit="pieces"))


@pytest.mark.parametrize("field", ["moisture_percent", "contamination_percent"])
def test_percentages_above_100_are_refused(field):
    assert field in _errors(_supply(**{field: Decimal("101")}))


def test_valid_supply_stores_tonnes_from_kilograms():
    supply = _supply(quantity=Decimal("2500"), unit="kg")
    supply.full_clean()
    supply.save()
    supply.refresh_from_db()
    assert supply.tonnes == Decimal("2.5")


def test_database_refuses_nonpositive_tonnes_even_past_validation():
    supply = _supply()
    supply.save()
    with pytest.raises(IntegrityError), transaction.atomic():
        SupplyListing.objects.filter(pk=supply.pk).update(tonnes=Decimal("-1"))


def test_email_is_the_login_and_is_unique():
    from symbiosis.models import User

    User.objects.create_user("Someone@Example.KZ", "pw-123456789")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user("someone@example.kz", "pw-123456789")
    assert User.USERNAME_FIELD == "email"


@pytest.mark.parametrize(
    "field, value",
    [
        ("density_t_per_m3", Decimal("0")),
        ("moisture_percent", Decimal("150")),
        ("carbon_to_nitrogen_ratio", Decimal("-1")),
        ("ewc_code", "2 7 4"),
        ("category", "gold"),
    ],
)
def test_material_bad_values(field, value):
    material = factories.MaterialFactory.build(**{field: value})
    assert field in _errors(material)


def test_compatibility_rule_negative_substitution_ratio():
    rule = factories.CompatibilityRuleFactory.build(
        material=factories.MaterialFactory(),
        use=factories.UseFactory(),
        substitution_ratio=Decimal("-0.5"),
    )
    assert "substitution_ratio" in _errors(rule)


@pytest.mark.parametrize("field, value", [("sector", "Z"), ("kind", "cartel")])
def test_organization_bad_choices(field, value):
    org = factories.OrganizationFactory.build(**{field: value})
    assert field in _errors(org)


def test_membership_unknown_role():
    membership = factories.MembershipFactory.build(
        user=factories.UserFactory(), organization=factories.OrganizationFactory(), role="owner"
    )
    assert "role" in _errors(membership)


def test_only_one_factor_set_is_active():
    from symbiosis.models import FactorSet

    FactorSet.objects.create(version="a", name="a", transport_kg_co2e_per_tkm=1, is_active=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        FactorSet.objects.create(version="b", name="b", transport_kg_co2e_per_tkm=1, is_active=True)
