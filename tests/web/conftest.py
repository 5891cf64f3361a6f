"""Fixtures for the htmx page tests (Django's test client, no browser)."""

from decimal import Decimal

import pytest

from tests import factories

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def client_as(client):
    """``client_as(user)``: the test client logged in as ``user``."""

    def make(user=None):
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def site_a(company_a):
    return factories.SiteFactory(organization=company_a, name="Brewhouse")


@pytest.fixture
def site_b(company_b):
    return factories.SiteFactory(
        organization=company_b,
        name="Bakery yard",
        district="bostandyk",
        latitude=Decimal("43.220000"),
        longitude=Decimal("76.900000"),
    )


@pytest.fixture
def spent_grain(db):
    return factories.MaterialFactory(
        slug="brewery-spent-grain",
        name_en="Brewery spent grain",
        name_ru="Пивная дробина",
        ewc_code="02 07 04",
        category="biomass",
        density_t_per_m3=None,
    )


@pytest.fixture
def food_waste(db):
    return factories.MaterialFactory(
        slug="food-waste",
        name_en="Food waste (kitchen and canteen)",
        name_ru="Пищевые отходы (кухонные и столовые)",
        ewc_code="20 01 08",
        category="biomass",
        density_t_per_m3=Decimal("0.419"),
    )


@pytest.fixture
def steel_slag(db):
    return factories.MaterialFactory(
        slug="steel-slag",
        name_en="Steel slag",
        name_ru="Сталеплавильный шлак",
        ewc_code="10 02 02",
        category="minerals",
        density_t_per_m3=Decimal("1.8"),
    )
