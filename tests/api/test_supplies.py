"""Supply listings through the API: units to tonnes, bad input, filters, pages, tokens."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from rest_framework.test import APIClient

from symbiosis import services
from symbiosis.models import SupplyListing
from tests import factories

pytestmark = pytest.mark.django_db

URL = "/api/v1/supplies/"


@pytest.fixture
def site_a(company_a):
    return factories.SiteFactory(organization=company_a, district="turksib")


@pytest.fixture
def grain(db):
    # Brewer's spent grain, bulk density 0.65 t/m3.
    return factories.MaterialFactory(
        slug="spent-grain", category="biomass", density_t_per_m3=Decimal("0.65")
    )


@pytest.fixture
def slag(db):
    return factories.MaterialFactory(slug="steel-slag", category="minerals", density_t_per_m3=None)


@pytest.fixture
def client_a(client_as, member_a):
    return client_as(member_a)


def body(site, material, /, **changes):
    data = {
        "site": site.id,
        "material": material.slug,
        "quantity": "12.5",
        "unit": "t",
        "recurrence": "month",
        "available_from": "2027-01-01",
        "available_until": "2027-12-31",
        "visibility": "public",
        "status": "active",
        "fate": "landfill",
        "price_kzt_per_t": "-1500",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


# --- create: units normalised to tonnes -------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected_tonnes"),
    [
        ({"quantity": "12.5", "unit": "t"}, Decimal("12.5")),
        # 2,500 kg / 1,000 kg per t = 2.5 t
        ({"quantity": "2500", "unit": "kg"}, Decimal("2.5")),
        # 40 m3 x 0.65 t/m3 = 26 t
        ({"quantity": "40", "unit": "m3"}, Decimal("26")),
        # 300 jute bags x 2.5 kg = 750 kg = 0.75 t
        ({"quantity": "300", "unit": "pieces", "piece_mass_kg": "2.5"}, Decimal("0.75")),
    ],
    ids=["t", "kg", "m3", "pieces"],
)
def test_create_normalises_to_tonnes(client_a, company_a, site_a, grain, changes, expected_tonnes):
    response = client_a.post(URL, body(site_a, grain, **changes), format="json")

    assert response.status_code == 201, response.json()
    supply = SupplyListing.objects.get()
    assert supply.tonnes == expected_tonnes
    assert Decimal(response.json()["tonnes"]) == expected_tonnes
    # One organization: it need not be named.
    assert supply.organization == company_a
    assert response.json()["organization"] == company_a.id


def test_create_answers_the_full_listing(client_a, site_a, grain):
    row = client_a.post(URL, body(site_a, grain), format="json").json()

    assert row["material"] == "spent-grain"
    assert row["category"] == "biomass"
    assert row["district"] == "turksib"
    assert row["site"] == site_a.id
    assert Decimal(row["price_kzt_per_t"]) == Decimal("-1500")


# --- create: bad input is a 400 naming the field, and nothing is stored -----------------------


@pytest.fixture
def other_site(company_b):
    return factories.SiteFactory(organization=company_b)


BAD = [
    ("negative quantity", {"quantity": "-5"}, "quantity"),
    ("zero quantity", {"quantity": "0"}, "quantity"),
    ("unknown unit", {"unit": "furlong"}, "unit"),
    ("site of another org", {"site": "OTHER_SITE"}, "site"),
    ("site that does not exist", {"site": 999999}, "site"),
    ("end before start", {"available_until": "2026-06-30"}, "available_until"),
    ("unknown material", {"material": "unobtainium"}, "material"),
    ("m3 without density", {"unit": "m3", "material": "steel-slag"}, "unit"),
    ("pieces without mass", {"unit": "pieces"}, "piece_mass_kg"),
    ("moisture over 100 %", {"moisture_percent": "120"}, "moisture_percent"),
    ("bad visibility", {"visibility": "secret"}, "visibility"),
    ("not a date", {"available_from": "next spring"}, "available_from"),
    # 0.0001 kg rounds to 0 t at six decimals: caught by the service, not the serializer.
    ("less than a gram", {"quantity": "0.0001", "unit": "kg"}, "quantity"),
    ("organization of another", {"organization": "OTHER_ORG"}, "organization"),
]


@pytest.mark.parametrize(("changes", "field"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_is_400_with_the_field_named(
    client_a, site_a, grain, slag, other_site, company_b, changes, field
):
    placeholders = {"OTHER_SITE": other_site.id, "OTHER_ORG": company_b.id}
    changes = {key: placeholders.get(value, value) for key, value in changes.items()}

    response = client_a.post(URL, body(site_a, grain, **changes), format="json")

    assert response.status_code == 400
    errors = response.json()
    assert field in errors, errors
    assert all(isinstance(message, str) for message in errors[field])
    assert SupplyListing.objects.count() == 0


def test_several_bad_fields_are_reported_together(client_a, site_a, grain):
    response = client_a.post(
        URL, body(site_a, grain, quantity="-1", unit="furlong", site=None), format="json"
    )

    assert response.status_code == 400
    assert {"quantity", "unit", "site"} <= set(response.json())


def test_a_member_of_two_organizations_must_say_which(client_as, member_a, company_b, grain):
    factories.MembershipFactory(user=member_a, organization=company_b, role="member")
    site = factories.SiteFactory(organization=company_b)

    response = client_as(member_a).post(URL, body(site, grain), format="json")

    assert response.status_code == 400
    assert "organization" in response.json()
    ok = client_as(member_a).post(URL, body(site, grain, organization=company_b.id), format="json")
    assert ok.status_code == 201


def test_site_of_my_other_organization_is_refused_by_the_model(
    client_as, member_a, company_a, company_b, grain
):
    # Both sites are the user's, so the lookup passes; Listing.clean() catches the mismatch.
    factories.MembershipFactory(user=member_a, organization=company_b, role="member")
    site_b = factories.SiteFactory(organization=company_b)

    response = client_as(member_a).post(
        URL, body(site_b, grain, organization=company_a.id), format="json"
    )

    assert response.status_code == 400
    assert "site" in response.json()
    assert SupplyListing.objects.count() == 0


# --- update -----------------------------------------------------------------------------------


@pytest.fixture
def supply_a(company_a, site_a, grain):
    return factories.SupplyListingFactory(
        organization=company_a, site=site_a, material=grain, quantity=Decimal("10")
    )


def test_patch_recomputes_tonnes(client_a, supply_a):
    response = client_a.patch(
        f"{URL}{supply_a.id}/", {"quantity": "5000", "unit": "kg"}, format="json"
    )

    assert response.status_code == 200, response.json()
    supply_a.refresh_from_db()
    assert supply_a.tonnes == Decimal("5")


def test_put_replaces_the_listing(client_a, supply_a, site_a, grain):
    response = client_a.put(
        f"{URL}{supply_a.id}/", body(site_a, grain, quantity="3", status="paused"), format="json"
    )

    assert response.status_code == 200, response.json()
    supply_a.refresh_from_db()
    assert (supply_a.tonnes, supply_a.status) == (Decimal("3"), "paused")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"available_until": "2026-01-01"}, "available_until"),
        ({"quantity": "-3"}, "quantity"),
        ({"unit": "m3", "material": "steel-slag"}, "unit"),
        ({"site": "OTHER_SITE"}, "site"),
    ],
)
def test_bad_patch_changes_nothing(client_a, supply_a, slag, other_site, changes, field):
    changes = {k: other_site.id if v == "OTHER_SITE" else v for k, v in changes.items()}
    before = SupplyListing.objects.values().get(id=supply_a.id)

    response = client_a.patch(f"{URL}{supply_a.id}/", changes, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert SupplyListing.objects.values().get(id=supply_a.id) == before


def test_the_organization_of_a_listing_cannot_change(client_as, member_a, company_b, supply_a):
    factories.MembershipFactory(user=member_a, organization=company_b, role="member")

    client_as(member_a).patch(f"{URL}{supply_a.id}/", {"organization": company_b.id}, format="json")

    supply_a.refresh_from_db()
    assert supply_a.organization_id != company_b.id


def test_services_refuse_writes_for_other_organizations(member_b, facilitator, supply_a, grain):
    for user in (member_b, facilitator):
        with pytest.raises(PermissionDenied):
            services.supply_update(user=user, supply=supply_a, quantity=Decimal(1))
        with pytest.raises(PermissionDenied):
            services.supply_create(
                user=user,
                organization=supply_a.organization,
                site=supply_a.site,
                material=grain,
                quantity=Decimal(1),
            )
    assert SupplyListing.objects.count() == 1


# --- filters, ordering, pages -----------------------------------------------------------------


@pytest.fixture
def assorted(company_a, company_b, grain, slag):
    turksib = factories.SiteFactory(organization=company_a, district="turksib")
    medeu = factories.SiteFactory(organization=company_a, district="medeu")
    site_b = factories.SiteFactory(organization=company_b, district="auezov")

    def make(site, material, tonnes, **fields):
        return factories.SupplyListingFactory(
            organization=site.organization,
            site=site,
            material=material,
            quantity=Decimal(tonnes),
            tonnes=Decimal(tonnes),
            **fields,
        )

    return {
        "grain_turksib": make(turksib, grain, 30),
        "slag_medeu": make(medeu, slag, 500),
        "grain_draft": make(medeu, grain, 7, status="draft"),
        "grain_private": make(turksib, grain, 1, visibility="private"),
        "b_grain_anonymous": make(site_b, grain, 80, visibility="anonymous"),
        "b_slag_private": make(site_b, slag, 90, visibility="private"),
    }


def _ids(response):
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            "material=spent-grain",
            {"grain_turksib", "grain_draft", "grain_private", "b_grain_anonymous"},
        ),
        ("category=minerals", {"slag_medeu"}),
        ("district=medeu", {"slag_medeu", "grain_draft"}),
        ("district=auezov", {"b_grain_anonymous"}),
        ("status=draft", {"grain_draft"}),
        ("visibility=private", {"grain_private"}),
        ("visibility=anonymous", {"b_grain_anonymous"}),
        ("material=spent-grain&status=active&visibility=public", {"grain_turksib"}),
        ("material=unobtainium", set()),
    ],
)
def test_filters(client_a, assorted, query, expected):
    ids = _ids(client_a.get(f"{URL}?{query}"))

    assert set(ids) == {assorted[key].id for key in expected}


def test_an_unknown_choice_in_a_filter_is_400(client_a, assorted):
    response = client_a.get(f"{URL}?category=unobtainium")

    assert response.status_code == 400
    assert "category" in response.json()


def test_ordering_by_tonnes(client_a, assorted):
    ascending = _ids(client_a.get(f"{URL}?ordering=tonnes"))
    descending = _ids(client_a.get(f"{URL}?ordering=-tonnes"))

    tonnes = [SupplyListing.objects.get(id=i).tonnes for i in ascending]
    assert tonnes == sorted(tonnes)
    assert descending == ascending[::-1]


def test_ordering_by_owner_is_not_offered(client_a, assorted):
    # Sorting by organization would group anonymous listings by their owner.
    plain = _ids(client_a.get(URL))

    assert _ids(client_a.get(f"{URL}?ordering=organization__name")) == plain


def test_pages_of_fifty(client_a, company_a, site_a, grain):
    for _ in range(55):
        factories.SupplyListingFactory(organization=company_a, site=site_a, material=grain)

    first = client_a.get(URL).json()
    second = client_a.get(first["next"]).json()

    assert first["count"] == 55
    assert len(first["results"]) == 50
    assert len(second["results"]) == 5
    assert second["next"] is None
    seen = {row["id"] for row in first["results"]} | {row["id"] for row in second["results"]}
    assert len(seen) == 55


# --- tokens -----------------------------------------------------------------------------------


def test_token_authentication(member_a, company_a, site_a, grain):
    anonymous = APIClient()

    token = anonymous.post(
        "/api/v1/auth/token/",
        {"username": member_a.email, "password": "correct-horse-9"},
        format="json",
    )

    assert token.status_code == 200
    key = token.json()["token"]
    with_token = APIClient()
    with_token.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    created = with_token.post(URL, body(site_a, grain), format="json")
    assert created.status_code == 201, created.json()
    assert with_token.get(URL).json()["count"] == 1
    # A second log-in (another client) gets a token of its own; both work.
    again = anonymous.post(
        "/api/v1/auth/token/", {"username": member_a.email, "password": "correct-horse-9"}
    )
    second = again.json()["token"]
    assert second != key
    with_second = APIClient()
    with_second.credentials(HTTP_AUTHORIZATION=f"Token {second}")
    assert with_second.get(URL).json()["count"] == 1
    assert with_token.get(URL).json()["count"] == 1


def test_token_refused_for_a_wrong_password(member_a):
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": member_a.email, "password": "wrong"}, format="json"
    )

    assert response.status_code == 400
    assert "non_field_errors" in response.json()


def test_a_bad_token_is_refused(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")

    assert client.get(URL).status_code in (401, 403)


def test_a_page_costs_the_same_queries_for_6_or_50_rows(
    client_as, member_b, company_a, site_a, grain, django_assert_max_num_queries
):
    client = client_as(member_b)

    def make(n):
        for visibility in ["public", "anonymous"] * (n // 2):
            factories.SupplyListingFactory(
                organization=company_a, site=site_a, material=grain, visibility=visibility
            )

    make(6)
    with django_assert_max_num_queries(10) as few:
        client.get(URL)
    make(44)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(URL).json()["results"]) == 50
