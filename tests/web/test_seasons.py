"""A listing's monthly profile and store (issue 19): set on the form by a preset or 12
numbers (inline errors), through the API (400 with field errors), shown on the
listing's page; profile arithmetic checked by hand."""

import html
import re
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from symbiosis import profiles
from symbiosis.models import DemandListing, SupplyListing
from symbiosis.storage import storage_factors
from tests import factories
from tests.web.test_listings import demand_data, supply_data

pytestmark = pytest.mark.django_db


def text_of(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


@pytest.fixture
def grain(db):
    return factories.MaterialFactory(slug="spent-grain", name_en="Spent grain")


@pytest.fixture
def member(client_as, member_a):
    return client_as(member_a)


def months(*values):
    return {f"profile_{m}": str(v) for m, v in enumerate(values, start=1)}


def test_spread_by_hand():
    # 120 t, shares 1 (Jan) and 3 (Feb) only, window Jan-Mar: 30 and 90, March 0.
    profile = [1, 3] + [0] * 10
    assert profiles.spread(120, profile, [1, 2, 3], [True, True, True]) == [30, 90, 0]
    # February outside the window: January takes all.
    assert profiles.spread(120, profile, [1, 2, 3], [True, False, True]) == [120, 0, 0]
    # Flat over the active periods only.
    assert profiles.spread(90, None, [1, 2, 3, 4], [False, True, True, True]) == [0, 30, 30, 30]
    assert profiles.preset_of([0] * 7 + [5, 5, 5, 0, 0]) == "harvest_aug_oct"
    assert profiles.preset_of([1] * 12) == "custom"  # equal shares typed: still custom
    assert profiles.preset_of(None) == "all_year"


def test_the_form_saves_a_preset(member, site_a, grain, company_a):
    response = member.post(
        "/listings/supply/new/",
        supply_data(site_a, grain, profile_preset="harvest_aug_oct", storage_capacity_tonnes="40"),
    )
    assert response.status_code == 302, text_of(response)
    listing = SupplyListing.objects.get(organization=company_a)
    assert listing.monthly_profile == [0] * 7 + [1, 1, 1, 0, 0]
    assert listing.storage_capacity_tonnes == Decimal(40)
    page = member.get(f"/listings/supply/{listing.pk}/edit/").content.decode()
    assert re.search(r'<option value="harvest_aug_oct"[^>]*selected', page)
    # The listing's page shows it, its name and 12 bars.
    shown = member.get(f"/market/supply/{listing.pk}/")
    assert "Harvest: August to October" in text_of(shown)
    assert shown.content.decode().count("<rect") == 12


def test_the_form_saves_custom_months_and_all_year_clears(member, site_a, grain, company_a):
    data = supply_data(site_a, grain, profile_preset="custom", **months(*range(12)))
    assert member.post("/listings/supply/new/", data).status_code == 302
    listing = SupplyListing.objects.get(organization=company_a)
    assert listing.monthly_profile == [float(v) for v in range(12)]
    edit = supply_data(site_a, grain, profile_preset="all_year")
    assert member.post(f"/listings/supply/{listing.pk}/edit/", edit).status_code == 302
    listing.refresh_from_db()
    assert listing.monthly_profile is None


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ((1, -2, *[0] * 10), "profile_2", "A month's share cannot be negative."),
        ((0,) * 12, "profile_preset", "Give at least one month a share above zero."),
        (("",) * 12, "profile_preset", "Give at least one month a share above zero."),
    ],
    ids=["negative", "all-zero", "empty"],
)
def test_custom_months_errors_are_inline(member, site_a, grain, values, field, message):
    data = supply_data(site_a, grain, profile_preset="custom", **months(*values))
    response = member.post("/listings/supply/new/", data)
    assert response.status_code == 200
    assert not SupplyListing.objects.exists()
    page = response.content.decode()
    # In the field's own block, before the next field.
    block = page.split(f'id="field-{field}"', 1)[1].split('id="field-', 1)[0]
    assert message in html.unescape(block)


def test_negative_storage_is_refused_inline(member, site_a, grain):
    data = supply_data(site_a, grain, storage_capacity_tonnes="-3")
    response = member.post("/listings/supply/new/", data)
    assert response.status_code == 200
    assert "A storage capacity cannot be negative." in text_of(response)


def test_a_demand_takes_a_heating_season(member, site_a, grain, company_a):
    data = demand_data(site_a, [grain], profile_preset="heating_oct_apr")
    assert member.post("/listings/demand/new/", data).status_code == 302
    demand = DemandListing.objects.get(organization=company_a)
    assert demand.monthly_profile == [1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1]


def _api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def _body(site, material, **changes):
    return {
        "site": site.id,
        "material": material.slug,
        "quantity": "12",
        "unit": "t",
        "recurrence": "month",
        "visibility": "public",
        "status": "active",
        "fate": "landfill",
        **changes,
    }


@pytest.mark.parametrize("profile", [[1] * 11, [1, -1] + [0] * 10, [0] * 12, ["a"] * 12], ids=str)
def test_api_refuses_a_bad_profile_with_its_field(member_a, site_a, grain, profile):
    response = _api(member_a).post(
        "/api/v1/supplies/", _body(site_a, grain, monthly_profile=profile), format="json"
    )
    assert response.status_code == 400
    assert "monthly_profile" in response.json()


def test_api_writes_and_reads_the_profile(member_a, site_a, grain):
    harvest = [0] * 7 + [1, 1, 1, 0, 0]
    client = _api(member_a)
    response = client.post(
        "/api/v1/supplies/",
        _body(site_a, grain, monthly_profile=harvest, storage_capacity_tonnes="15"),
        format="json",
    )
    assert response.status_code == 201, response.json()
    got = client.get(f"/api/v1/supplies/{response.json()['id']}/").json()
    assert got["monthly_profile"] == harvest
    assert Decimal(got["storage_capacity_tonnes"]) == 15


def test_storage_estimates_by_material():
    slag = factories.MaterialFactory(slug="slag", category="minerals")
    wet = factories.MaterialFactory(slug="wet", category="biomass", moisture_percent=78)
    dry = factories.MaterialFactory(slug="straw", category="biomass", moisture_percent=15)
    mixed = factories.MaterialFactory(slug="mixed", category="mixed")
    assert storage_factors(slag).loss_fraction_per_month == 0
    assert storage_factors(wet).loss_fraction_per_month == 0.5
    assert storage_factors(dry).loss_fraction_per_month == 0.2
    assert {storage_factors(m).tier for m in (slag, wet, dry)} == {"estimate"}
    assert storage_factors(mixed) is None
