"""The deals API: the same services and rules as the pages.

The status of every route for every role is in tests/api/test_permissions.py;
these tests follow whole flows and check what the answers contain.
"""

from datetime import date
from decimal import Decimal

import pytest

from marketplace import services
from marketplace.models import Deal, Delivery

pytestmark = pytest.mark.django_db


def post(client, url, data=None):
    return client.post(url, data or {}, format="json")


def test_a_whole_deal_through_the_api(client_as, market, member_a, member_b):
    receiver, supplier = client_as(member_b), client_as(member_a)

    created = post(
        receiver,
        "/api/v1/deals/",
        {
            "supply": market.supply.pk,
            "demand": market.demand.pk,
            # 20 t a month: the 12.5 t load below is plausible (it would be held at 10).
            "tonnes_per_period": "20",
            "transport_by": "supplier",
            "start_date": "2026-01-01",
            "end_date": "2026-12-31",
        },
    )
    assert created.status_code == 201, created.json()
    deal = created.json()
    assert (deal["state"], deal["initiator"], deal["period"]) == ("draft", "receiver", "month")
    assert Decimal(deal["tonnes_total"]) == 240
    url = f"/api/v1/deals/{deal['id']}"

    # Sending the offer accepts it for the receiver: the supplier's acceptance agrees it.
    offered = post(receiver, f"{url}/offer/").json()
    assert offered["state"] == "offered" and offered["receiver_accepted_at"] is not None
    assert "accept" not in offered["allowed_actions"]
    accepted = post(supplier, f"{url}/accept/", {"terms_version": 1}).json()
    assert accepted["state"] == "accepted"
    # Deliveries start on the agreed start (the default would be today, after February).
    active = post(supplier, f"{url}/activate/", {"start_date": "2026-01-01"}).json()
    assert (active["state"], active["deliveries_from"]) == ("active", "2026-01-01")

    logged = post(
        supplier,
        "/api/v1/deliveries/",
        {"deal": deal["id"], "date": "2026-02-03", "tonnes": "12.5", "ticket_number": "WB-1"},
    )
    assert logged.status_code == 201, logged.json()
    delivery_id = logged.json()["id"]
    confirmed = post(receiver, f"/api/v1/deliveries/{delivery_id}/confirm/")
    assert confirmed.json()["status"] == "confirmed"

    detail = supplier.get(f"{url}/").json()
    assert Decimal(detail["impact"]["tonnes_delivered"]) == Decimal("12.5")
    assert detail["impact"]["so_far"]["net_kg_co2e_saved"] == pytest.approx(7488.82, abs=0.01)
    assert [e["action"] for e in detail["events"]] == [
        "create",
        "offer",
        "accept",
        "activate",
        "delivery_logged",
        "delivery_confirmed",
    ]
    assert "complete" in detail["allowed_actions"]
    assert post(receiver, f"{url}/complete/").json()["state"] == "completed"


def test_refusals_say_why(client_as, make_deal, member_a, member_b, facilitator):
    deal = make_deal("offered")
    url = f"/api/v1/deals/{deal.pk}"

    stale = post(client_as(member_b), f"{url}/accept/", {"terms_version": 7})
    assert stale.status_code == 400 and "terms_version" in stale.json()

    not_now = post(client_as(member_b), f"{url}/activate/")
    assert not_now.status_code == 400
    assert "cannot be started" in not_now.json()["non_field_errors"][0]

    not_yours = post(client_as(facilitator), f"{url}/accept/", {"terms_version": 1})
    assert not_yours.status_code == 403

    no_reason = post(client_as(member_a), f"{url}/decline/", {"reason": ""})
    assert no_reason.status_code == 400 and "reason" in no_reason.json()
    assert Deal.objects.get(pk=deal.pk).state == "offered"


def test_over_commitment_is_a_400_with_the_reason(client_as, make_deal, member_a, member_b):
    make_deal("active", tonnes_per_period=Decimal("95"))
    deal = make_deal("offered", tonnes_per_period=Decimal("10"))
    services.deal_accept(user=member_b, deal=deal, terms_version=1)

    # The listing's owner accepts last: it may read what is left.
    response = post(client_as(member_a), f"/api/v1/deals/{deal.pk}/accept/", {"terms_version": 1})

    assert response.status_code == 400
    assert "only 5.000 t per month" in response.json()["tonnes_per_period"][0]


def test_over_commitment_tells_the_receiver_nothing_of_other_deals(
    client_as, make_deal, member_a, member_b
):
    # Regression (issue 13, 8b): the refusal named how much other deals had taken.
    make_deal("active", tonnes_per_period=Decimal("95"))
    deal = make_deal("offered", tonnes_per_period=Decimal("10"))
    services.deal_accept(user=member_a, deal=deal, terms_version=1)

    response = post(client_as(member_b), f"/api/v1/deals/{deal.pk}/accept/", {"terms_version": 1})

    assert response.status_code == 400
    message = response.json()["tonnes_per_period"][0]
    assert "cannot take this much now" in message
    assert not any(figure in message for figure in ("95", "5.000", "5 t", "100")), message


def test_update_terms_returns_a_new_version(client_as, make_deal, member_b):
    deal = make_deal("accepted")

    response = post(
        client_as(member_b),
        f"/api/v1/deals/{deal.pk}/update-terms/",
        {"tonnes_per_period": "8", "note": "less"},
    )

    body = response.json()
    assert response.status_code == 200, body
    assert (body["state"], body["terms_version"]) == ("offered", 2)
    assert body["supplier_accepted_at"] is None


def test_lists_show_only_own_deals_and_filter_by_state(
    client_as, make_deal, market, member_a, member_c
):
    make_deal("offered")
    make_deal("active")
    third = make_deal(
        "offered", receiver=market.company_c, receiver_site=market.site_c, demand=None
    )

    rows = client_as(member_c).get("/api/v1/deals/").json()["results"]
    assert [row["id"] for row in rows] == [third.pk]

    client = client_as(member_a)
    states = {row["state"] for row in client.get("/api/v1/deals/?state=active").json()["results"]}
    assert states == {"active"}


def test_prices_are_not_for_analysts(client_as, make_deal, analyst):
    deal = make_deal("offered")

    assert client_as(analyst).get("/api/v1/deals/").status_code == 403
    assert client_as(analyst).get(f"/api/v1/deals/{deal.pk}/").status_code == 403
    assert client_as(analyst).get("/api/v1/deliveries/").status_code == 403


def test_another_company_gets_404_everywhere(client_as, make_deal, member_c, actors):
    deal = make_deal("active", transport_by="supplier")
    delivery = services.delivery_log(
        user=actors["supplier"], deal=deal, date=date(2026, 3, 1), tonnes=1, ticket_number="A"
    )
    client = client_as(member_c)

    assert client.get(f"/api/v1/deals/{deal.pk}/").status_code == 404
    assert post(client, f"/api/v1/deals/{deal.pk}/cancel/", {"reason": "x"}).status_code == 404
    assert client.get(f"/api/v1/deals/{deal.pk}/messages/").status_code == 404
    assert client.get(f"/api/v1/deliveries/{delivery.pk}/").status_code == 404
    assert post(client, f"/api/v1/deliveries/{delivery.pk}/confirm/").status_code == 404
    logged = post(
        client,
        "/api/v1/deliveries/",
        {"deal": deal.pk, "date": "2026-03-02", "tonnes": "1", "ticket_number": "B"},
    )
    assert logged.status_code == 400 and "deal" in logged.json()  # "does not exist"
    assert Delivery.objects.count() == 1


def test_a_company_cannot_start_a_deal_on_a_private_listing(client_as, market, member_c):
    market.supply.visibility = "private"
    market.supply.save()

    response = post(
        client_as(member_c),
        "/api/v1/deals/",
        {
            "supply": market.supply.pk,
            "tonnes_per_period": "1",
            "start_date": "2027-01-01",
            "end_date": "2027-02-01",
        },
    )

    assert response.status_code == 400 and "supply" in response.json()
    assert not Deal.objects.exists()


def test_proposals_are_for_facilitators(client_as, market, member_b):
    from optimizer.models import MatchProposal, OptimizationRun

    run = OptimizationRun.objects.create(status="succeeded")
    proposal = MatchProposal.objects.create(
        run=run,
        supply=market.supply,
        demand=market.demand,
        material=market.grain,
        tonnes=1,
        road_km=1,
        tonnes_diverted_from_landfill=1,
        fate_kg_co2e_avoided=1,
        transport_kg_co2e_added=1,
        virgin_kg_co2e_avoided=1,
        net_kg_co2e_saved=1,
    )

    response = post(
        client_as(member_b),
        "/api/v1/deals/",
        {
            "supply": market.supply.pk,
            "demand": market.demand.pk,
            "proposal": proposal.pk,
            "tonnes_per_period": "1",
            "start_date": "2027-01-01",
            "end_date": "2027-02-01",
        },
    )

    assert response.status_code == 400 and "proposal" in response.json()


def test_messages_through_the_api(client_as, make_deal, member_a, member_b):
    deal = make_deal("offered")

    written = post(client_as(member_a), f"/api/v1/deals/{deal.pk}/messages/", {"body": "Hi"})
    assert written.status_code == 201
    rows = client_as(member_b).get(f"/api/v1/deals/{deal.pk}/messages/").json()
    assert [(row["author"], row["body"]) for row in rows] == [(member_a.email, "Hi")]


def test_dispute_through_the_api(client_as, make_deal, actors):
    deal = make_deal("active", transport_by="supplier")
    delivery = services.delivery_log(
        user=actors["supplier"], deal=deal, date=date(2026, 3, 1), tonnes=1, ticket_number="A"
    )
    client = client_as(actors["receiver"])

    assert post(client, f"/api/v1/deliveries/{delivery.pk}/dispute/", {}).status_code == 400
    response = post(client, f"/api/v1/deliveries/{delivery.pk}/dispute/", {"reason": "wet"})

    assert response.json()["status"] == "disputed"
    assert response.json()["dispute_reason"] == "wet"


def test_a_receiver_that_transports_cannot_log_and_confirm_its_own_delivery(
    client_as, make_deal, actors
):
    # Regression (issue 13, item 2): this took the city headline from 20.5 t to
    # 1,000,000,020.5 t.
    from dashboard import selectors as city
    from dashboard.selectors import CityFilters

    deal = make_deal("active", transport_by="receiver", tonnes_per_period=Decimal("30"))
    receiver, supplier = client_as(actors["receiver"]), client_as(actors["supplier"])
    first = post(
        supplier,
        "/api/v1/deliveries/",
        {"deal": deal.pk, "date": "2026-03-01", "tonnes": "20.5", "ticket_number": "WB-5"},
    )
    assert post(receiver, f"/api/v1/deliveries/{first.json()['id']}/confirm/").status_code == 200
    assert city.headline(CityFilters())["tonnes"] == pytest.approx(20.5)

    logged = post(
        receiver,
        "/api/v1/deliveries/",
        {"deal": deal.pk, "date": "2026-03-02", "tonnes": "999999999.999", "ticket_number": "6"},
    )
    assert logged.status_code == 201, logged.json()
    body = logged.json()
    assert body["status"] == "held"
    assert [check["code"] for check in body["held_reason"]] == ["per_load", "period"]
    assert "999999999.999 t in one load" in body["held_reason_text"]
    confirm = f"/api/v1/deliveries/{body['id']}/confirm/"

    # Held: nobody confirms it before a facilitator's review, not even the supplier.
    for client in (receiver, supplier):
        refused = post(client, confirm)
        assert refused.status_code == 400 and "held" in refused.json()["non_field_errors"][0]
    assert city.headline(CityFilters())["tonnes"] == pytest.approx(20.5)
    assert Delivery.objects.get(pk=body["id"]).status == "held"
    # Released (say the facilitator misread it), its logger still may not confirm it.
    services.delivery_release(
        user=actors["facilitator"], delivery=Delivery.objects.get(pk=body["id"])
    )
    assert post(receiver, confirm).status_code == 403
    assert city.headline(CityFilters())["tonnes"] == pytest.approx(20.5)


def test_facilitators_release_and_reject_through_the_api(client_as, make_deal, actors):
    deal = make_deal("active", transport_by="supplier")
    held = [
        services.delivery_log(
            user=actors["supplier"],
            deal=deal,
            date=date(2026, 3, 1),
            tonnes=Decimal("45"),
            ticket_number=ticket,
        )
        for ticket in ("H1", "H2")
    ]
    facilitator = client_as(actors["facilitator"])

    listed = facilitator.get("/api/v1/deliveries/?status=held").json()["results"]
    assert {row["id"] for row in listed} == {d.pk for d in held}
    for role in ("supplier", "receiver", "analyst"):
        refused = post(client_as(actors[role]), f"/api/v1/deliveries/{held[0].pk}/release/")
        assert refused.status_code == 403, role
    released = post(facilitator, f"/api/v1/deliveries/{held[0].pk}/release/", {"note": "ok"})
    assert (released.status_code, released.json()["status"]) == (200, "logged")
    no_reason = post(facilitator, f"/api/v1/deliveries/{held[1].pk}/reject/", {})
    assert no_reason.status_code == 400 and "reason" in no_reason.json()
    rejected = post(facilitator, f"/api/v1/deliveries/{held[1].pk}/reject/", {"reason": "typo"})
    assert (rejected.status_code, rejected.json()["status"]) == (200, "rejected")


def test_the_transfer_note_pdf_is_for_whoever_sees_the_delivery(client_as, make_deal, actors):
    deal = make_deal("active", transport_by="supplier", tonnes_per_period=Decimal("20"))
    delivery = services.delivery_log(
        user=actors["supplier"],
        deal=deal,
        date=date(2026, 3, 2),
        tonnes=Decimal("12.5"),
        ticket_number="WB-PDF-1",
    )
    url = f"/api/v1/deliveries/{delivery.pk}/transfer-note/"

    for role in ("supplier", "receiver", "facilitator"):
        response = client_as(actors[role]).get(url, HTTP_ACCEPT="application/pdf")
        assert response.status_code == 200, role
        assert response["Content-Type"] == "application/pdf"
        assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert client_as(actors["other"]).get(url).status_code == 404
    assert client_as(actors["analyst"]).get(url).status_code == 403
    assert client_as().get(url).status_code in (401, 403)
    # A refusal asked for as a PDF still says why, as JSON.
    refused = client_as(actors["other"]).get(url, HTTP_ACCEPT="application/pdf")
    assert refused.status_code == 404 and b"detail" in refused.content
