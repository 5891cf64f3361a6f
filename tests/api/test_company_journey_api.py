"""The whole loop from an optimizer proposal to a delivery the city counts, through the
REST API with API tokens only (no session): a facilitator approves a proposal of a
real optimization run; supplier and receiver accept the introduction; the receiver
offers, the supplier accepts; the supplier starts deliveries from today and logs a
load with its weighbridge ticket; the receiver confirms it and downloads the
transfer note; the city's figures, as an analyst reads them, grow by exactly that
load. Every step it takes is documented in the OpenAPI schema."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.test import APIClient

from optimizer import services as optimizer_services
from symbiosis.models import EmissionFactor, FactorSet
from symbiosis.models.accounts import CITY_ANALYST_GROUP, FACILITATOR_GROUP
from tests import factories

pytestmark = pytest.mark.django_db

TICKET = "WB-API-0042"


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {factories.api_token(user)}")
    return client


@pytest.fixture
def world():
    """A brewery's spent grain (600 t a year, available since a month ago) and a farm
    that takes 600 t a year of it for feed, 7 km apart; their members, a
    facilitator and a city analyst; and a real optimization run over them."""
    today = timezone.localdate()
    grain = factories.MaterialFactory(slug="spent-grain", name_en="Brewery spent grain")
    feed = factories.UseFactory(slug="animal-feed", name_en="Animal feed")
    factories.CompatibilityRuleFactory(material=grain, use=feed, credit_kg_co2e_per_t=100)
    factor_set = FactorSet.objects.create(
        version="journey-1",
        name="Journey",
        transport_kg_co2e_per_tkm=Decimal("0.1"),
        is_active=True,
    )
    EmissionFactor.objects.create(
        factor_set=factor_set, material=grain, kind="landfill", kg_co2e_per_t=500, source="t"
    )
    brewery = factories.OrganizationFactory(name="Alatau Brewery")
    farm = factories.OrganizationFactory(name="Kaskelen Farm")
    supply = factories.SupplyListingFactory(
        organization=brewery,
        site=factories.SiteFactory(
            organization=brewery, latitude="43.250000", longitude="76.900000"
        ),
        material=grain,
        quantity=Decimal("600"),
        tonnes=Decimal("600"),
        recurrence="year",
        available_from=today - timedelta(days=30),
        available_until=today + timedelta(days=300),
        price_kzt_per_t=Decimal("0"),
    )
    demand = factories.DemandListingFactory(
        organization=farm,
        site=factories.SiteFactory(organization=farm, latitude="43.300000", longitude="76.950000"),
        materials=[grain],
        quantity=Decimal("600"),
        tonnes=Decimal("600"),
    )
    demand.uses.set([feed])
    facilitator = factories.UserFactory(email="facilitator@journey.kz")
    facilitator.groups.add(Group.objects.get_or_create(name=FACILITATOR_GROUP)[0])
    analyst = factories.UserFactory(email="analyst@journey.kz")
    analyst.groups.add(Group.objects.get_or_create(name=CITY_ANALYST_GROUP)[0])
    run = optimizer_services.run_create(user=facilitator, enqueue=False)
    optimizer_services.run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    return {
        "today": today,
        "run": run,
        "supply": supply,
        "demand": demand,
        "facilitator": _client(facilitator),
        "supplier": _client(factories.MembershipFactory(organization=brewery).user),
        "receiver": _client(factories.MembershipFactory(organization=farm).user),
        "analyst": _client(analyst),
    }


def ok(response, status=200) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:500])
    return response.json() if response["Content-Type"].startswith("application/json") else {}


def city(analyst) -> dict:
    return ok(analyst.get("/api/v1/city/headline/"))["rows"][0]


def test_from_a_proposal_to_a_delivery_the_city_counts(world):
    facilitator, supplier, receiver, analyst = (
        world[k] for k in ("facilitator", "supplier", "receiver", "analyst")
    )
    city_before = city(analyst)

    # The facilitator approves the run's proposal: the companies are introduced.
    proposals = ok(facilitator.get(f"/api/v1/proposals/?run={world['run'].pk}"))["results"]
    proposal = next(p for p in proposals if p["supply"] == world["supply"].pk)
    assert proposal["demand"] == world["demand"].pk and proposal["deal"] is None
    ok(supplier.get(f"/api/v1/proposals/{proposal['id']}/"), 403)
    approved = ok(
        facilitator.post(
            f"/api/v1/proposals/{proposal['id']}/decide/", {"action": "approve"}, format="json"
        )
    )
    assert approved["status"] == "approved"
    deal_url = f"/api/v1/deals/{approved['deal']}"

    # Both companies see the draft at once, and may write; the offer waits for them.
    for client in (supplier, receiver):
        (intro,) = ok(client.get("/api/v1/introductions/"))["results"]
        assert (intro["id"], intro["deal"]) == (proposal["id"], approved["deal"])
        draft = ok(client.get(f"{deal_url}/"))
        assert draft["state"] == "draft"
        assert draft["waiting_for_introduction"] == ["supplier", "receiver"]
        assert draft["allowed_actions"] == ["message"]
        assert draft["start_date"] == world["today"].isoformat()
        ok(client.post(f"{deal_url}/offer/", {}, format="json"), 403)
    ok(receiver.post(f"{deal_url}/messages/", {"body": "When can you start?"}, format="json"), 201)
    for client in (supplier, receiver):
        answered = client.post(
            f"/api/v1/introductions/{proposal['id']}/answer/", {"answer": "accept"}, format="json"
        )
        ok(answered)
    assert ok(supplier.get(f"{deal_url}/"))["waiting_for_introduction"] == []

    # The receiver changes who transports and sends the offer (accepting it by sending).
    ok(receiver.post(f"{deal_url}/update-terms/", {"transport_by": "supplier"}, format="json"))
    offered = ok(receiver.post(f"{deal_url}/offer/", {"note": "Your trucks"}, format="json"))
    assert offered["state"] == "offered" and offered["receiver_accepted_at"]
    assert "accept" not in offered["allowed_actions"]
    version = offered["terms_version"]
    accepted = ok(supplier.post(f"{deal_url}/accept/", {"terms_version": version}, format="json"))
    assert accepted["state"] == "accepted"

    # Deliveries start today; the supplier logs a load with its weighbridge ticket.
    today = world["today"].isoformat()
    active = ok(supplier.post(f"{deal_url}/activate/", {"start_date": today}, format="json"))
    assert (active["state"], active["deliveries_from"]) == ("active", today)
    logged = ok(
        supplier.post(
            "/api/v1/deliveries/",
            {
                "deal": approved["deal"],
                "date": today,
                "gross_tonnes": "20.5",
                "tare_tonnes": "8.0",
                "ticket_number": TICKET,
                "vehicle": "A 777 KZ",
            },
            format="json",
        ),
        201,
    )
    assert (logged["status"], logged["tonnes"]) == ("logged", "12.500")
    assert city(analyst)["tonnes"] == city_before["tonnes"]  # not counted until confirmed
    ok(supplier.post(f"/api/v1/deliveries/{logged['id']}/confirm/", {}, format="json"), 403)

    confirmed = ok(receiver.post(f"/api/v1/deliveries/{logged['id']}/confirm/", {}, format="json"))
    assert confirmed["status"] == "confirmed"
    note = receiver.get(f"/api/v1/deliveries/{logged['id']}/transfer-note/")
    assert note.status_code == 200 and note["Content-Type"] == "application/pdf"
    assert b"".join(note.streaming_content).startswith(b"%PDF")
    assert TICKET in note["Content-Disposition"]

    city_after = city(analyst)
    assert city_after["tonnes"] == pytest.approx(city_before["tonnes"] + 12.5)
    assert city_after["deliveries"] == (city_before["deliveries"] or 0) + 1
    history = ok(supplier.get(f"{deal_url}/"))["events"]
    assert [e["label"] for e in history] == [
        "Draft started",
        "Introduction accepted",
        "Introduction accepted",
        "Terms changed",
        "Offer sent",
        "Terms accepted",
        "Deliveries started",
        "Delivery logged",
        "Delivery confirmed",
    ]


def test_every_step_of_the_journey_is_in_the_schema(world):
    schema = ok(world["supplier"].get("/api/schema/", HTTP_ACCEPT="application/json"))
    paths = schema["paths"]

    for path, method in [
        ("/api/v1/proposals/", "get"),
        ("/api/v1/proposals/{id}/decide/", "post"),
        ("/api/v1/introductions/", "get"),
        ("/api/v1/introductions/{id}/answer/", "post"),
        ("/api/v1/deals/{id}/update-terms/", "post"),
        ("/api/v1/deals/{id}/offer/", "post"),
        ("/api/v1/deals/{id}/accept/", "post"),
        ("/api/v1/deals/{id}/activate/", "post"),
        ("/api/v1/deliveries/", "post"),
        ("/api/v1/deliveries/{id}/confirm/", "post"),
        ("/api/v1/deliveries/{id}/transfer-note/", "get"),
        ("/api/v1/city/{table}/", "get"),
    ]:
        assert method in paths.get(path, {}), path
    activate = paths["/api/v1/deals/{id}/activate/"]["post"]
    ref = activate["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert "start_date" in schema["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]
    note = paths["/api/v1/deliveries/{id}/transfer-note/"]["get"]["responses"]["200"]
    assert "application/pdf" in note["content"]
