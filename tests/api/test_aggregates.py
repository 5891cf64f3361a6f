"""City aggregates: tonnes by material category and district, no organization in sight."""

from decimal import Decimal

import pytest

from tests import factories

pytestmark = pytest.mark.django_db

URL = "/api/v1/aggregates/listings/"


@pytest.fixture
def listings(company_a, company_b):
    grain = factories.MaterialFactory(slug="spent-grain", category="biomass")
    bread = factories.MaterialFactory(slug="old-bread", category="biomass")
    slag = factories.MaterialFactory(slug="steel-slag", category="minerals")
    turksib = factories.SiteFactory(organization=company_a, district="turksib")
    auezov = factories.SiteFactory(organization=company_b, district="auezov")

    def supply(site, material, tonnes, **fields):
        return factories.SupplyListingFactory(
            organization=site.organization,
            site=site,
            material=material,
            quantity=Decimal(tonnes),
            tonnes=Decimal(tonnes),
            **fields,
        )

    supply(turksib, grain, 100, recurrence="year")
    supply(turksib, grain, 10, recurrence="month", visibility="private")
    supply(auezov, slag, 40, recurrence="once", visibility="anonymous")
    supply(auezov, slag, 999, status="draft")  # not active: not counted

    def demand(site, materials, tonnes, **fields):
        return factories.DemandListingFactory(
            organization=site.organization,
            site=site,
            materials=materials,
            quantity=Decimal(tonnes),
            tonnes=Decimal(tonnes),
            **fields,
        )

    demand(auezov, [grain, bread], 60)  # two biomass materials: biomass, once
    demand(turksib, [grain, slag], 5, recurrence="month")  # mixed categories: unspecified


def _rows(side, dimension):
    return {row["key"]: row for row in side[dimension]}


def test_tonnes_by_category_and_district(client_as, analyst, listings):
    response = client_as(analyst).get(URL)

    assert response.status_code == 200
    data = response.json()
    supply_by_category = _rows(data["supply"], "by_category")
    # 100 t/year + 10 t/month x 12 = 220 t/year of biomass
    assert Decimal(supply_by_category["biomass"]["recurring_tonnes_per_year"]) == 220
    assert supply_by_category["biomass"]["listings"] == 2
    assert Decimal(supply_by_category["minerals"]["one_off_tonnes"]) == 40
    assert Decimal(supply_by_category["minerals"]["recurring_tonnes_per_year"]) == 0
    supply_by_district = _rows(data["supply"], "by_district")
    assert set(supply_by_district) == {"turksib", "auezov"}
    assert supply_by_district["turksib"]["label"] == "Turksib"
    assert Decimal(data["supply"]["total"]["recurring_tonnes_per_year"]) == 220

    demand_by_category = _rows(data["demand"], "by_category")
    assert Decimal(demand_by_category["biomass"]["recurring_tonnes_per_year"]) == 60
    assert Decimal(demand_by_category["unspecified"]["recurring_tonnes_per_year"]) == 60
    assert data["demand"]["total"]["listings"] == 2


def test_no_organization_appears(client_as, facilitator, listings, company_a, company_b):
    text = client_as(facilitator).get(URL).content.decode()

    for secret in (company_a.name, company_b.name, company_a.bin, company_b.bin):
        assert secret not in text
    assert "organization" not in text
