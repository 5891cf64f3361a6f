"""The API's answers in what the access audit's world does not hold, by role.

tests/security/test_access_audit.py is the permission table of every route
(pages and API) and holds the guards that fail when a route has no row there;
it also checks that a refused request writes nothing and that a member of A
who is not its administrator gets what the administrator gets except where
only administrators act. This table adds, for the same roles and for that
difference, what the audit's world cannot show: A's published listings, and
its drafts and closed ones (the audit's A publishes nothing, so that nothing
of A is seen), and deals with B as the party in every state (the audit's B
is the outsider).

Company A owns the rows under test; company B is another company. Rows of
A that B may not see at all answer 404 (as an id that does not exist), rows
B may see but not change answer 403.

The world is built once per module inside an outer transaction; each test
runs in a savepoint of it (pytest-django's ``db``), as the audit's does.
"""

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import transaction
from django.test import override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from symbiosis.models import DemandListing, EmissionFactor, FactorSet, SupplyListing
from tests import factories
from tests.dbstate import writes_during

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "member_a", "admin_a", "member_b", "facilitator", "analyst")
# Anonymous requests get 403 with session authentication first in the list,
# 401 with token authentication first; either refuses.
D = "denied"

SECRET_ORG_NAME = "Zhetysu Secret Brewery"
SECRET_SITE_NAME = "Hidden malt yard"
SECRET_ADDRESS = "77 Unlisted Street"
SECRET_LATITUDE = Decimal("43.187654")
SECRET_LONGITUDE = Decimal("76.876543")


# --- the world every case runs in ------------------------------------------------------


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once per module in an outer transaction, rolled back at the end."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            with override_settings(
                PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]
            ):
                built = _make_world()
            yield built
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


# The users of the world, under the names of tests/conftest.py's fixtures.
@pytest.fixture
def member_b(world):
    return world["member_b"]


@pytest.fixture
def facilitator(world):
    return world["facilitator"]


@pytest.fixture
def analyst(world):
    return world["analyst"]


def _role_users(company_a, company_b):
    """The users of ROLES (anonymous aside), as tests/conftest.py's fixtures make them."""

    def member(company, role):
        return factories.MembershipFactory(organization=company, role=role).user

    def in_group(email, group):
        user = factories.UserFactory(email=email)
        user.groups.add(Group.objects.get_or_create(name=group)[0])
        return user

    return {
        "member_a": member(company_a, "member"),
        "admin_a": member(company_a, "admin"),
        "member_b": member(company_b, "member"),
        "facilitator": in_group("facilitator@example.kz", "facilitator"),
        "analyst": in_group("analyst@example.kz", "city_analyst"),
    }


def _make_world():
    company_a = factories.OrganizationFactory(name=SECRET_ORG_NAME)
    company_b = factories.OrganizationFactory(name="Company B")
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
    world.update(_role_users(company_a, company_b))
    return world


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


def quantity_patch(w, user):
    return {"quantity": "12"}


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


def _listing(kind, put_body):
    """A's listings in each visibility and status the audit's world has not.

    The list, its POST, and A's private and anonymous active listings read and
    changed are audit rows (api:supply-list, api:supply-detail, ...).
    """
    own_read = (D, 200, 200, 404, 200, 403)
    published_read = (D, 200, 200, 200, 200, 403)
    published_write = (D, 200, 200, 403, 403, 403)
    own_delete = (D, 204, 204, 404, 403, 403)
    published_delete = (D, 204, 204, 403, 403, 403)
    d = f"{kind}-detail"
    cases = [
        Case(d, "GET", f"{kind}_public_active", None, published_read),
        Case(d, "GET", f"{kind}_public_draft", None, own_read),
        Case(d, "GET", f"{kind}_anonymous_closed", None, own_read),
        Case(d, "PATCH", f"{kind}_public_active", quantity_patch, published_write),
        Case(d, "PUT", f"{kind}_anonymous_active", put_body, published_write),
        # A listing with no deal or proposal is deleted (the audit's A listings have some).
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
    # The lists and DELETE (405 in every state) are audit rows.
    return [
        # A names B's yard, which A cannot use: a field error. B and a facilitator may.
        Case("deal-list", "POST", None, deal_body, (D, 400, 400, 201, 201, 403)),
        Case("deal-detail", "GET", "deal_offered", None, read),
        Case("deal-detail", "GET", "deal_draft", None, (D, 200, 200, 404, 200, 403)),
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
    *_listing("supply", _put(supply_body)),
    *_listing("demand", _put(demand_body)),
    *_deals(),
]


def _url(case, w):
    if case.target is None:
        return reverse(f"api:{case.name}")
    row = w[case.target]
    key = row.slug if hasattr(row, "slug") else row.pk
    return reverse(f"api:{case.name}", args=[key])


@pytest.mark.parametrize(
    ("case", "role"),
    [pytest.param(case, role, id=f"{case.id}-{role}") for case in CASES for role in ROLES],
)
def test_status_by_role(case, role, world):
    client = APIClient()
    user = None
    if role != "anonymous":
        user = world[role]
        client.force_login(user)
    body = case.body(world, user) if case.body else None

    with writes_during() as writes:
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
        assert not writes, f"a refused request wrote {writes}"


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
