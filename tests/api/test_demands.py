"""Demand listings through the API: accepted materials and uses, units, bad input, filters."""

from decimal import Decimal

import pytest

from symbiosis.models import DemandListing
from tests import factories

pytestmark = pytest.mark.django_db

URL = "/api/v1/demands/"


@pytest.fixture
def site_a(company_a):
    return factories.SiteFactory(organization=company_a, district="alatau")


@pytest.fixture
def grain(db):
    return factories.MaterialFactory(
        slug="spent-grain", category="biomass", density_t_per_m3=Decimal("0.65")
    )


@pytest.fixture
def bread(db):
    return factories.MaterialFactory(
        slug="old-bread", category="biomass", density_t_per_m3=Decimal("0.25")
    )


@pytest.fixture
def concrete(db):
    return factories.MaterialFactory(
        slug="crushed-concrete", category="minerals", density_t_per_m3=None
    )


@pytest.fixture
def feed(db):
    return factories.UseFactory(slug="animal-feed")


@pytest.fixture
def client_a(client_as, member_a):
    return client_as(member_a)


def body(site, /, **changes):
    data = {
        "site": site.id,
        "materials": ["spent-grain"],
        "uses": ["animal-feed"],
        "quantity": "100",
        "unit": "t",
        "recurrence": "year",
        "available_from": "2027-03-01",
        "available_until": "2027-10-31",
        "max_km": "60",
        "max_moisture_percent": "80",
        "max_price_kzt_per_t": "2000",
        "visibility": "public",
        "status": "active",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def reference_data(grain, bread, concrete, feed):
    return None


# --- create ------------------------------------------------------------------------------------


def test_create_with_materials_and_uses(client_a, company_a, site_a, reference_data):
    response = client_a.post(
        URL, body(site_a, materials=["spent-grain", "old-bread"]), format="json"
    )

    assert response.status_code == 201, response.json()
    demand = DemandListing.objects.get()
    assert demand.organization == company_a
    assert sorted(m.slug for m in demand.materials.all()) == ["old-bread", "spent-grain"]
    assert [u.slug for u in demand.uses.all()] == ["animal-feed"]
    row = response.json()
    assert sorted(row["materials"]) == ["old-bread", "spent-grain"]
    assert row["uses"] == ["animal-feed"]
    assert Decimal(row["tonnes"]) == Decimal("100")


@pytest.mark.parametrize(
    ("changes", "expected_tonnes"),
    [
        # 8,000 kg = 8 t
        ({"quantity": "8000", "unit": "kg"}, Decimal("8")),
        # 200 m3 of old bread at 0.25 t/m3 = 50 t (measured in the named material)
        (
            {
                "quantity": "200",
                "unit": "m3",
                "materials": ["spent-grain", "old-bread"],
                "reference_material": "old-bread",
            },
            Decimal("50"),
        ),
        # one accepted material: 200 m3 x 0.65 t/m3 = 130 t without naming it again
        ({"quantity": "200", "unit": "m3"}, Decimal("130")),
        # 1,200 pieces of 12.5 kg = 15,000 kg = 15 t
        ({"quantity": "1200", "unit": "pieces", "piece_mass_kg": "12.5"}, Decimal("15")),
    ],
    ids=["kg", "m3-reference", "m3-single-material", "pieces"],
)
def test_create_normalises_to_tonnes(client_a, site_a, reference_data, changes, expected_tonnes):
    response = client_a.post(URL, body(site_a, **changes), format="json")

    assert response.status_code == 201, response.json()
    assert DemandListing.objects.get().tonnes == expected_tonnes
    assert Decimal(response.json()["tonnes"]) == expected_tonnes


@pytest.fixture
def other_site(company_b):
    return factories.SiteFactory(organization=company_b)


BAD = [
    ("negative quantity", {"quantity": "-1"}, "quantity"),
    ("unknown unit", {"unit": "bushel"}, "unit"),
    ("site of another org", {"site": "OTHER_SITE"}, "site"),
    ("end before start", {"available_until": "2027-02-01"}, "available_until"),
    ("unknown material", {"materials": ["spent-grain", "unobtainium"]}, "materials"),
    ("unknown use", {"uses": ["alchemy"]}, "uses"),
    ("nothing accepted", {"materials": [], "uses": []}, "materials"),
    (
        "m3 with two materials and no reference",
        {"unit": "m3", "materials": ["spent-grain", "old-bread"]},
        "reference_material",
    ),
    (
        "m3 with a density-less material",
        {"unit": "m3", "materials": ["crushed-concrete"]},
        "unit",
    ),
    ("moisture over 100 %", {"max_moisture_percent": "101"}, "max_moisture_percent"),
    ("negative distance", {"max_km": "-5"}, "max_km"),
    ("negative minimum lot", {"min_lot_tonnes": "-1"}, "min_lot_tonnes"),
]


@pytest.mark.parametrize(("changes", "field"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_is_400_with_the_field_named(
    client_a, site_a, other_site, reference_data, changes, field
):
    changes = {k: other_site.id if v == "OTHER_SITE" else v for k, v in changes.items()}

    response = client_a.post(URL, body(site_a, **changes), format="json")

    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert DemandListing.objects.count() == 0
    assert DemandListing.materials.through.objects.count() == 0


def test_missing_reference_material_is_not_blamed_on_the_unit(client_a, site_a, reference_data):
    response = client_a.post(
        URL, body(site_a, unit="m3", materials=["spent-grain", "old-bread"]), format="json"
    )

    assert set(response.json()) == {"reference_material"}


# --- update ------------------------------------------------------------------------------------


@pytest.fixture
def demand_a(company_a, site_a, grain, feed):
    demand = factories.DemandListingFactory(organization=company_a, site=site_a, materials=[grain])
    demand.uses.add(feed)
    return demand


def test_patch_replaces_accepted_materials(client_a, demand_a, bread):
    response = client_a.patch(f"{URL}{demand_a.id}/", {"materials": ["old-bread"]}, format="json")

    assert response.status_code == 200, response.json()
    assert [m.slug for m in demand_a.materials.all()] == ["old-bread"]
    assert response.json()["materials"] == ["old-bread"]
    # Uses were not in the request and stay.
    assert [u.slug for u in demand_a.uses.all()] == ["animal-feed"]


def test_patch_unit_recomputes_tonnes(client_a, demand_a):
    response = client_a.patch(f"{URL}{demand_a.id}/", {"quantity": "40", "unit": "m3"})

    assert response.status_code == 200, response.json()
    demand_a.refresh_from_db()
    # 40 m3 x 0.65 t/m3 of the only accepted material
    assert demand_a.tonnes == Decimal("26")


def test_bad_patch_changes_nothing_not_even_the_materials(client_a, demand_a, bread, concrete):
    before = DemandListing.objects.values().get(id=demand_a.id)

    response = client_a.patch(
        f"{URL}{demand_a.id}/",
        {
            "materials": ["old-bread", "crushed-concrete"],
            "available_from": "2027-05-01",
            "available_until": "2027-01-01",
        },
        format="json",
    )

    assert response.status_code == 400
    assert "available_until" in response.json()
    assert DemandListing.objects.values().get(id=demand_a.id) == before
    assert [m.slug for m in demand_a.materials.all()] == ["spent-grain"]


def test_clearing_everything_accepted_is_refused(client_a, demand_a):
    response = client_a.patch(f"{URL}{demand_a.id}/", {"materials": [], "uses": []}, format="json")

    assert response.status_code == 400
    assert "materials" in response.json()
    assert demand_a.materials.count() == 1


# --- filters -------------------------------------------------------------------------------------


@pytest.fixture
def assorted(company_a, company_b, grain, bread, concrete, feed):
    alatau = factories.SiteFactory(organization=company_a, district="alatau")
    bostandyk = factories.SiteFactory(organization=company_b, district="bostandyk")
    bakery = factories.DemandListingFactory(
        organization=company_a, site=alatau, materials=[grain, bread]
    )
    roads = factories.DemandListingFactory(
        organization=company_b, site=bostandyk, materials=[concrete], visibility="anonymous"
    )
    farm = factories.DemandListingFactory(organization=company_a, site=alatau, status="paused")
    farm.uses.add(feed)
    return {"bakery": bakery, "roads": roads, "farm": farm}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("material=old-bread", {"bakery"}),
        # Two biomass materials, still one row.
        ("category=biomass", {"bakery"}),
        ("category=minerals", {"roads"}),
        ("use=animal-feed", {"farm"}),
        ("district=bostandyk", {"roads"}),
        ("status=paused", {"farm"}),
        ("visibility=anonymous", {"roads"}),
    ],
)
def test_filters(client_a, assorted, query, expected):
    response = client_a.get(f"{URL}?{query}")

    assert response.status_code == 200
    ids = [row["id"] for row in response.json()["results"]]
    assert sorted(ids) == sorted(assorted[key].id for key in expected)


def test_a_page_costs_the_same_queries_for_6_or_50_rows(
    client_as, member_b, company_a, site_a, grain, feed, django_assert_max_num_queries
):
    client = client_as(member_b)

    def make(n):
        for visibility in ["public", "anonymous"] * (n // 2):
            demand = factories.DemandListingFactory(
                organization=company_a, site=site_a, materials=[grain], visibility=visibility
            )
            demand.uses.add(feed)

    make(6)
    with django_assert_max_num_queries(12) as few:
        client.get(URL)
    make(44)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(URL).json()["results"]) == 50
