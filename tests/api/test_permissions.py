"""Every API route x every role: the status code each gets.

The table below is the permission matrix of the API. ``test_every_route_is_in_the_table``
walks the URL resolver and fails when a route or HTTP method under /api/v1/
is missing from it, so a new endpoint cannot ship without a decision about
who may call it.

Company A owns the rows under test; company B is another company. Rows of
A that B may not see at all answer 404 (as an id that does not exist), rows
B may see but not change answer 403.
"""

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from symbiosis.models import (
    DemandListing,
    EmissionFactor,
    FactorSet,
    Organization,
    Site,
    SupplyListing,
)
from tests import factories

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "member_a", "admin_a", "member_b", "facilitator", "analyst")
# Anonymous requests get 403 with session authentication first in the list,
# 401 with token authentication first; either refuses.
D = "denied"
PASSWORD = "correct-horse-9"  # tests/factories.py UserFactory

SECRET_ORG_NAME = "Zhetysu Secret Brewery"
SECRET_SITE_NAME = "Hidden malt yard"
SECRET_ADDRESS = "77 Unlisted Street"
SECRET_LATITUDE = Decimal("43.187654")
SECRET_LONGITUDE = Decimal("76.876543")


# --- the world every case runs in ------------------------------------------------------


@pytest.fixture
def world(company_a, company_b):
    company_a.name = SECRET_ORG_NAME
    company_a.save()
    grain = factories.MaterialFactory(slug="spent-grain", category="biomass")
    feed = factories.UseFactory(slug="animal-feed")
    site_a = factories.SiteFactory(
        organization=company_a,
        name=SECRET_SITE_NAME,
        address=SECRET_ADDRESS,
        district="zhetysu",
        latitude=SECRET_LATITUDE,
        longitude=SECRET_LONGITUDE,
    )
    spare_site_a = factories.SiteFactory(organization=company_a, name="Spare yard A")
    site_b = factories.SiteFactory(organization=company_b, name="Yard B")

    def supply(visibility, status):
        return factories.SupplyListingFactory(
            organization=company_a,
            site=site_a,
            material=grain,
            visibility=visibility,
            status=status,
        )

    def demand(visibility, status):
        return factories.DemandListingFactory(
            organization=company_a,
            site=site_a,
            visibility=visibility,
            status=status,
            materials=[grain],
        )

    factor_set = make_factor_set(grain)
    world = {
        "company_a": company_a,
        "company_b": company_b,
        "material": grain,
        "use": feed,
        "site_a": site_a,
        "spare_site_a": spare_site_a,
        "site_b": site_b,
        "rule": factories.CompatibilityRuleFactory(material=grain, use=feed),
        "factor_set": factor_set,
    }
    for visibility, status in [
        ("private", "active"),
        ("public", "active"),
        ("anonymous", "active"),
        ("public", "draft"),
        ("anonymous", "closed"),
    ]:
        world[f"supply_{visibility}_{status}"] = supply(visibility, status)
        world[f"demand_{visibility}_{status}"] = demand(visibility, status)
    world["supply_b"] = factories.SupplyListingFactory(
        organization=company_b, site=site_b, material=grain, visibility="private"
    )
    world.update(_marketplace_world(world))
    # URL slugs of the city tables (api:city-table): a row for a table and one for the headline.
    world["city_table"] = CityTable(slug="category")
    world["city_headline"] = CityTable(slug="headline")
    return world


@dataclass(frozen=True)
class CityTable:
    slug: str


def _marketplace_world(w):
    """Deals of A (supplier) with B (receiver), one per state, on a private supply of A."""
    from datetime import UTC, datetime

    from marketplace.models import Deal, Delivery

    supply = factories.SupplyListingFactory(
        organization=w["company_a"],
        site=w["site_a"],
        material=w["material"],
        visibility="private",
        recurrence="year",
        available_from=None,
        available_until=None,
    )
    accepted_at = datetime(2026, 1, 1, tzinfo=UTC)
    agreed = {"supplier_accepted_at": accepted_at, "receiver_accepted_at": accepted_at}
    deals = {}
    for state, extra in [("draft", {}), ("offered", {}), ("accepted", agreed), ("active", agreed)]:
        deals[f"deal_{state}"] = Deal.objects.create(
            supplier=w["company_a"],
            receiver=w["company_b"],
            supply=supply,
            receiver_site=w["site_b"],
            material=w["material"],
            tonnes_per_period=Decimal("10"),
            tonnes_total=Decimal("10"),
            period="year",
            transport_by="supplier",
            start_date=date(2026, 1, 1),
            end_date=date(2026, 12, 31),
            initiator="supplier",
            state=state,
            **extra,
        )
    deals["delivery_logged"] = Delivery.objects.create(
        deal=deals["deal_active"], date=date(2026, 3, 1), tonnes=Decimal("4"), ticket_number="T-1"
    )
    deals["delivery_held"] = Delivery.objects.create(
        deal=deals["deal_active"],
        date=date(2026, 3, 1),
        tonnes=Decimal("50"),
        ticket_number="T-2",
        status="held",
    )
    deals["delivery_confirmed"] = Delivery.objects.create(
        deal=deals["deal_active"],
        date=date(2026, 2, 1),
        tonnes=Decimal("3"),
        ticket_number="T-3",
        status="confirmed",
        confirmed_at=accepted_at,
    )
    return deals


def make_factor_set(material):
    factor_set = FactorSet.objects.create(
        version="test-1", name="Test factors", transport_kg_co2e_per_tkm=Decimal("0.1")
    )
    EmissionFactor.objects.create(
        factor_set=factor_set,
        material=material,
        kind="landfill",
        kg_co2e_per_t=Decimal("500"),
        source="test",
    )
    return factor_set


# --- request bodies -----------------------------------------------------------------------


def supply_body(w, user):
    return {
        "organization": w["company_a"].id,
        "site": w["site_a"].id,
        "material": w["material"].slug,
        "quantity": "10",
        "unit": "t",
        "visibility": "public",
        "status": "active",
    }


def demand_body(w, user):
    return {
        "organization": w["company_a"].id,
        "site": w["site_a"].id,
        "materials": [w["material"].slug],
        "quantity": "20",
        "unit": "t",
    }


def site_body(w, user):
    return {
        "organization": w["company_a"].id,
        "name": "New yard",
        "district": "almaly",
        "latitude": "43.250000",
        "longitude": "76.950000",
    }


def organization_new_body(w, user):
    return {"name": "Newly registered LLP", "bin": factories.valid_bin(77_000_123), "sector": "C"}


def organization_a_body(w, user):
    return {"name": "Renamed A", "bin": w["company_a"].bin, "sector": "C", "kind": "company"}


def token_body(w, user):
    if user is None:
        user = factories.UserFactory(email="token-seeker@example.kz")
    return {"username": user.email, "password": PASSWORD}


def quantity_patch(w, user):
    return {"quantity": "12"}


def name_patch(w, user):
    return {"name": "Renamed"}


# --- the matrix ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str  # URL name in the "api" namespace
    method: str
    target: str | None  # key in ``world`` of the row in the URL
    body: object  # callable (world, user) -> dict, or None
    expected: tuple  # status per role, in ROLES order

    @property
    def id(self):
        return f"{self.name}:{self.target or '-'}:{self.method}"


def _reference(name, slug_target):
    """Reference data: everyone logged in reads, nobody writes through the API."""
    read = (D, 200, 200, 200, 200, 200)
    no = (D, 405, 405, 405, 405, 405)
    return [
        Case(f"{name}-list", "GET", None, None, read),
        Case(f"{name}-list", "POST", None, None, no),
        Case(f"{name}-detail", "GET", slug_target, None, read),
        Case(f"{name}-detail", "PUT", slug_target, None, no),
        Case(f"{name}-detail", "PATCH", slug_target, None, no),
        Case(f"{name}-detail", "DELETE", slug_target, None, no),
    ]


def _listing(kind, body, put_body):
    own_read = (D, 200, 200, 404, 200, 403)
    published_read = (D, 200, 200, 200, 200, 403)
    own_write = (D, 200, 200, 404, 403, 403)
    published_write = (D, 200, 200, 403, 403, 403)
    own_delete = (D, 204, 204, 404, 403, 403)
    published_delete = (D, 204, 204, 403, 403, 403)
    d = f"{kind}-detail"
    cases = [
        Case(f"{kind}-list", "GET", None, None, (D, 200, 200, 200, 200, 403)),
        # B and the facilitator name A's organization and site: to them those do not
        # exist, so the answer is a field error, and nothing is stored.
        Case(f"{kind}-list", "POST", None, body, (D, 201, 201, 400, 400, 403)),
        Case(d, "GET", f"{kind}_private_active", None, own_read),
        Case(d, "GET", f"{kind}_public_active", None, published_read),
        Case(d, "GET", f"{kind}_anonymous_active", None, published_read),
        Case(d, "GET", f"{kind}_public_draft", None, own_read),
        Case(d, "GET", f"{kind}_anonymous_closed", None, own_read),
        Case(d, "PATCH", f"{kind}_private_active", quantity_patch, own_write),
        Case(d, "PATCH", f"{kind}_public_active", quantity_patch, published_write),
        Case(d, "PATCH", f"{kind}_anonymous_active", quantity_patch, published_write),
        Case(d, "PUT", f"{kind}_private_active", put_body, own_write),
        Case(d, "PUT", f"{kind}_anonymous_active", put_body, published_write),
        Case(d, "DELETE", f"{kind}_private_active", None, own_delete),
        Case(d, "DELETE", f"{kind}_public_active", None, published_delete),
        Case(d, "DELETE", f"{kind}_public_draft", None, own_delete),
    ]
    return cases


def _put(body):
    def put(w, user):
        data = body(w, user)
        data.pop("organization")
        return data

    return put


def deal_body(w, user):
    # B takes 5 t of A's public supply to its own yard.
    return {
        "supply": w["supply_public_active"].id,
        "receiver_site": w["site_b"].id,
        "tonnes_per_period": "5",
        "start_date": "2027-02-01",
        "end_date": "2027-06-30",
    }


def delivery_body(w, user):
    return {"deal": w["deal_active"].id, "date": "2026-03-02", "tonnes": "5", "ticket_number": "N"}


def _deals():
    """Deals between A (supplier) and B (receiver): parties act, facilitators cancel.

    A's draft is A's alone until offered (B: 404). A deal a user may see but not
    act on answers 403. Analysts see no deals at all.
    """
    read = (D, 200, 200, 200, 200, 403)
    party_step = (D, 200, 200, 200, 403, 403)
    return [
        Case("deal-list", "GET", None, None, read),
        # A names B's yard, which A cannot use: a field error. B and a facilitator may.
        Case("deal-list", "POST", None, deal_body, (D, 400, 400, 201, 201, 403)),
        Case("deal-detail", "GET", "deal_offered", None, read),
        Case("deal-detail", "GET", "deal_draft", None, (D, 200, 200, 404, 200, 403)),
        Case("deal-detail", "DELETE", "deal_offered", None, (D, 405, 405, 405, 405, 403)),
        Case("deal-offer", "POST", "deal_draft", None, (D, 200, 200, 404, 403, 403)),
        Case("deal-accept", "POST", "deal_offered", lambda w, u: {"terms_version": 1}, party_step),
        Case(
            "deal-update-terms",
            "POST",
            "deal_offered",
            lambda w, u: {"tonnes_per_period": "7"},
            party_step,
        ),
        Case("deal-decline", "POST", "deal_offered", lambda w, u: {"reason": "No"}, party_step),
        Case("deal-activate", "POST", "deal_accepted", None, party_step),
        Case("deal-complete", "POST", "deal_active", None, party_step),
        Case("deal-cancel", "POST", "deal_active", lambda w, u: {"reason": "Closed"}, read),
        Case("deal-messages", "GET", "deal_offered", None, read),
        Case(
            "deal-messages",
            "POST",
            "deal_offered",
            lambda w, u: {"body": "Hello"},
            (D, 201, 201, 201, 201, 403),
        ),
        # Deliveries: either party logs; the other party (the receiver here) or a
        # facilitator judges; only a facilitator releases or rejects a held one.
        Case("delivery-list", "GET", None, None, read),
        Case("delivery-list", "POST", None, delivery_body, (D, 201, 201, 201, 403, 403)),
        Case("delivery-detail", "GET", "delivery_logged", None, read),
        Case("delivery-confirm", "POST", "delivery_logged", None, (D, 403, 403, 200, 200, 403)),
        Case(
            "delivery-dispute",
            "POST",
            "delivery_logged",
            lambda w, u: {"reason": "Wet"},
            (D, 403, 403, 200, 200, 403),
        ),
        Case("delivery-release", "POST", "delivery_held", None, (D, 403, 403, 403, 200, 403)),
        Case(
            "delivery-reject",
            "POST",
            "delivery_held",
            lambda w, u: {"reason": "Typo"},
            (D, 403, 403, 403, 200, 403),
        ),
        Case(
            "delivery-correct",
            "POST",
            "delivery_confirmed",
            lambda w, u: {"reason": "Re-read", "tonnes": "2"},
            (D, 201, 201, 201, 201, 403),
        ),
    ]


CASES = [
    Case("api-root", "GET", None, None, (D, 200, 200, 200, 200, 200)),
    Case("auth-token", "POST", None, token_body, (200, 200, 200, 200, 200, 200)),
    # Revoking: a session carries no token to revoke (400); "all" is one's own tokens.
    Case("auth-token-revoke", "POST", None, None, (D, 400, 400, 400, 400, 400)),
    Case("auth-token-revoke-all", "POST", None, None, (D, 200, 200, 200, 200, 200)),
    Case("aggregates-listings", "GET", None, None, (D, 403, 403, 403, 200, 200)),
    # The city dashboard's exports: facilitators and city analysts only; read-only.
    Case("city-table", "GET", "city_table", None, (D, 403, 403, 403, 200, 200)),
    Case("city-table", "GET", "city_headline", None, (D, 403, 403, 403, 200, 200)),
    Case("city-table", "POST", "city_table", None, (D, 403, 403, 403, 405, 405)),
    # Organizations: members see their own, admins change them, anyone may register one.
    Case("organization-list", "GET", None, None, (D, 200, 200, 200, 200, 403)),
    Case("organization-list", "POST", None, organization_new_body, (D, 201, 201, 201, 201, 403)),
    Case("organization-detail", "GET", "company_a", None, (D, 200, 200, 404, 200, 403)),
    Case(
        "organization-detail",
        "PUT",
        "company_a",
        organization_a_body,
        (D, 403, 200, 404, 403, 403),
    ),
    Case("organization-detail", "PATCH", "company_a", name_patch, (D, 403, 200, 404, 403, 403)),
    # Not offered (cascades to everything): the admin site deletes organizations.
    Case("organization-detail", "DELETE", "company_a", None, (D, 405, 405, 405, 405, 403)),
    # Sites: only their organization's members; facilitators read.
    Case("site-list", "GET", None, None, (D, 200, 200, 200, 200, 403)),
    Case("site-list", "POST", None, site_body, (D, 201, 201, 400, 400, 403)),
    Case("site-detail", "GET", "spare_site_a", None, (D, 200, 200, 404, 200, 403)),
    Case("site-detail", "PUT", "spare_site_a", _put(site_body), (D, 200, 200, 404, 403, 403)),
    Case("site-detail", "PATCH", "spare_site_a", name_patch, (D, 200, 200, 404, 403, 403)),
    Case("site-detail", "DELETE", "spare_site_a", None, (D, 204, 204, 404, 403, 403)),
    *_reference("material", "material"),
    *_reference("use", "use"),
    *_reference("compatibility-rule", "rule"),
    *_reference("factor-set", "factor_set"),
    *_listing("supply", supply_body, _put(supply_body)),
    *_listing("demand", demand_body, _put(demand_body)),
    *_deals(),
]


def _url(case, w):
    if case.target is None:
        return reverse(f"api:{case.name}")
    row = w[case.target]
    key = row.slug if hasattr(row, "slug") else row.pk
    return reverse(f"api:{case.name}", args=[key])


def _snapshot():
    """Everything a refused write could have touched."""
    return {
        model.__name__: sorted(map(repr, model.objects.values()))
        for model in (
            Organization,
            Site,
            SupplyListing,
            DemandListing,
            *apps.get_app_config("marketplace").get_models(),
        )
    }


@pytest.mark.parametrize(
    ("case", "role"),
    [pytest.param(case, role, id=f"{case.id}-{role}") for case in CASES for role in ROLES],
)
def test_status_by_role(case, role, world, request):
    client = APIClient()
    user = None
    if role != "anonymous":
        user = request.getfixturevalue(role)
        client.force_login(user)
    body = case.body(world, user) if case.body else None
    before = _snapshot()

    response = client.generic(
        case.method,
        _url(case, world),
        data=json.dumps(body) if body is not None else "",
        content_type="application/json",
    )

    expected = case.expected[ROLES.index(role)]
    if expected == D:
        assert response.status_code in (401, 403), response.content
    else:
        assert response.status_code == expected, response.content
    if response.status_code >= 400:
        assert _snapshot() == before, "a refused request changed the database"


def _routes(patterns=None, prefix="", namespace=""):
    """(full URL name, route, view callback) of every URL pattern, walking includes."""
    if patterns is None:
        patterns = get_resolver().url_patterns
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace or ""
            yield from _routes(pattern.url_patterns, route, inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace else pattern.name
            yield name, route, pattern.callback


def _methods(callback) -> set[str]:
    # HEAD and OPTIONS follow GET and the view's metadata; DRF adds "head" to a
    # viewset's actions on its first request, so they are left out either way.
    actions = getattr(callback, "actions", None)
    if actions:  # a router's viewset route: {"get": "list", "post": "create"}
        methods = set(actions)
    else:
        view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
        assert view_class is not None, f"{callback!r}: use a class-based view in the API"
        methods = {m for m in view_class.http_method_names if hasattr(view_class, m)}
    return {method.upper() for method in methods - {"head", "options"}}


def test_every_route_is_in_the_table():
    in_table = {(f"api:{case.name}", case.method) for case in CASES}
    served = set()
    for name, route, callback in _routes():
        if not route.startswith("api/v1/"):
            continue
        assert name, f"unnamed API route {route!r}: name it and add it to CASES"
        served |= {(name, method) for method in _methods(callback)}
    missing = served - in_table
    assert not missing, f"API routes without a row in CASES: {sorted(missing)}"
    # Methods not served answer 405 and are in the table on purpose; names must exist.
    served_names = {name for name, _ in served}
    stale = {name for name, _ in in_table} - served_names
    assert not stale, f"CASES names routes that do not exist: {sorted(stale)}"


# --- what company B sees of company A ------------------------------------------------------


def _without_a_public_listings(w):
    SupplyListing.objects.filter(organization=w["company_a"], visibility="public").delete()
    DemandListing.objects.filter(organization=w["company_a"], visibility="public").delete()


def _assert_no_identity_of_a(text: str, w):
    for secret in (
        SECRET_ORG_NAME,
        SECRET_SITE_NAME,
        SECRET_ADDRESS,
        w["company_a"].bin,
        str(SECRET_LATITUDE),
        str(SECRET_LONGITUDE),
        # A float rendering of the coordinates would be a leak too.
        str(float(SECRET_LATITUDE)),
        str(float(SECRET_LONGITUDE)),
    ):
        assert secret not in text


OWNER_KEYS = {
    "organization",
    "organization_name",
    "site",
    "site_name",
    "site_address",
    "latitude",
    "longitude",
}


@pytest.mark.parametrize("kind", ["supplies", "demands"])
def test_company_b_sees_a_anonymous_listings_without_identity(kind, world, member_b):
    _without_a_public_listings(world)
    client = APIClient()
    client.force_login(member_b)

    response = client.get(f"/api/v1/{kind}/")

    assert response.status_code == 200
    _assert_no_identity_of_a(response.content.decode(), world)
    rows = response.json()["results"]
    singular = "supply" if kind == "supplies" else "demand"
    anonymous = world[f"{singular}_anonymous_active"]
    by_id = {row["id"]: row for row in rows}
    assert anonymous.id in by_id
    assert not OWNER_KEYS & set(by_id[anonymous.id])
    assert by_id[anonymous.id]["district"] == "zhetysu"
    assert Decimal(by_id[anonymous.id]["tonnes"]) == anonymous.tonnes
    for row in rows:
        assert row.get("organization") != world["company_a"].id
    hidden = {
        world[f"{singular}_private_active"].id,
        world[f"{singular}_anonymous_closed"].id,
    }
    assert not hidden & set(by_id)

    detail = client.get(f"/api/v1/{kind}/{anonymous.id}/")
    assert detail.status_code == 200
    assert not OWNER_KEYS & set(detail.json())
    _assert_no_identity_of_a(detail.content.decode(), world)


@pytest.mark.parametrize("singular", ["supply", "demand"])
def test_filters_do_not_reveal_private_listings(singular, world, member_b):
    client = APIClient()
    client.force_login(member_b)
    hidden = {
        world[f"{singular}_private_active"].id,
        world[f"{singular}_public_draft"].id,
        world[f"{singular}_anonymous_closed"].id,
    }
    kind = "supplies" if singular == "supply" else "demands"
    for query in ("visibility=private", "status=draft", "status=closed", "district=zhetysu"):
        response = client.get(f"/api/v1/{kind}/?{query}")
        assert response.status_code == 200
        assert not hidden & {row["id"] for row in response.json()["results"]}


def test_company_b_sees_a_public_listing_with_its_owner(world, member_b):
    client = APIClient()
    client.force_login(member_b)
    listing = world["supply_public_active"]

    row = client.get(f"/api/v1/supplies/{listing.id}/").json()

    assert row["organization_name"] == SECRET_ORG_NAME
    assert row["site_name"] == SECRET_SITE_NAME


def test_facilitator_sees_who_is_behind_anonymous_listings(world, facilitator):
    client = APIClient()
    client.force_login(facilitator)
    listing = world["supply_anonymous_active"]

    row = client.get(f"/api/v1/supplies/{listing.id}/").json()

    assert row["organization"] == world["company_a"].id
    assert Decimal(row["latitude"]) == SECRET_LATITUDE


def test_company_b_lists_neither_a_sites_nor_a_organization(world, member_b):
    client = APIClient()
    client.force_login(member_b)

    sites = client.get("/api/v1/sites/").content.decode()
    organizations = client.get("/api/v1/organizations/").json()["results"]

    _assert_no_identity_of_a(sites, world)
    assert [row["id"] for row in organizations] == [world["company_b"].id]


def test_an_analyst_member_of_an_organization_reads_like_a_member(world, analyst):
    factories.MembershipFactory(user=analyst, organization=world["company_b"], role="member")
    client = APIClient()
    client.force_login(analyst)

    assert client.get("/api/v1/supplies/").status_code == 200
    assert client.get("/api/v1/aggregates/listings/").status_code == 200
    assert client.get(f"/api/v1/supplies/{world['supply_private_active'].id}/").status_code == 404


def test_a_user_without_organization_sees_only_published_listings(world):
    client = APIClient()
    client.force_login(factories.UserFactory(email="newcomer@example.kz"))

    rows = client.get("/api/v1/supplies/").json()["results"]

    assert {row["visibility"] for row in rows} == {"public", "anonymous"}
    assert {row["status"] for row in rows} == {"active"}


def test_window_dates_are_part_of_the_redacted_listing(world, member_b):
    client = APIClient()
    client.force_login(member_b)
    listing = world["supply_anonymous_active"]

    row = client.get(f"/api/v1/supplies/{listing.id}/").json()

    assert row["available_from"] == date(2027, 1, 1).isoformat()
