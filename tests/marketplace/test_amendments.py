"""Amending an active deal: new terms wait for the other party, the deal runs on its
old ones until they are accepted (then checked against the listing again, under
the same locks) or declined."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from marketplace import services
from marketplace.models import Deal, DealAmendment

pytestmark = pytest.mark.django_db


@pytest.fixture
def active(make_deal):
    # 10 t a month of A's 100 t a month, all of 2026.
    return make_deal("active", deliveries_from=date(2026, 1, 1))


def _propose(user, deal, **terms):
    return services.deal_update_terms(user=user, deal=deal, **terms)


def test_new_terms_wait_and_the_deal_runs_on_the_old_ones(active, actors):
    deal = _propose(actors["supplier"], active, tonnes_per_period=12, note="a second line")

    stored = Deal.objects.get(pk=active.pk)
    assert (stored.state, stored.terms_version, stored.tonnes_per_period) == ("active", 1, 10)
    amendment = DealAmendment.objects.get(deal=active)
    assert (amendment.status, amendment.terms_version, amendment.proposed_as) == (
        "pending",
        2,
        "supplier",
    )
    assert amendment.tonnes_total == Decimal("144")
    event = deal.events.latest("id")
    assert (event.action, event.from_state, event.to_state, event.note) == (
        "amendment_proposed",
        "active",
        "active",
        "a second line",
    )
    assert event.details["changes"] == [{"field": "tonnes_per_period", "old": "10", "new": "12"}]
    # The proposer has accepted them by proposing; the other party answers.
    assert {"accept", "decline"} & services.allowed_actions(
        user=actors["supplier"], deal=stored
    ) == (set())
    assert {"accept", "decline", "log_delivery"} <= services.allowed_actions(
        user=actors["receiver"], deal=stored
    )
    with pytest.raises(PermissionDenied, match="Your side has accepted these terms"):
        services.deal_accept(user=actors["supplier"], deal=stored, terms_version=2)


def test_accepted_new_terms_apply(active, actors):
    _propose(actors["supplier"], active, tonnes_per_period=12, price_kzt_per_t=-300)
    with pytest.raises(ValidationError) as stale:
        services.deal_accept(user=actors["receiver"], deal=active, terms_version=1)
    assert "terms_version" in stale.value.message_dict

    deal = services.deal_accept(user=actors["receiver"], deal=active, terms_version=2)

    assert (deal.state, deal.terms_version, deal.tonnes_per_period) == ("active", 2, 12)
    assert (deal.price_kzt_per_t, deal.tonnes_total) == (Decimal("-300"), Decimal("144"))
    assert deal.supplier_accepted_at is not None and deal.receiver_accepted_at is not None
    assert DealAmendment.objects.get(deal=deal).status == "accepted"
    assert services.pending_amendment(Deal.objects.get(pk=deal.pk)) is None
    event = deal.events.latest("id")
    assert (event.action, event.terms_version, event.details["party"]) == (
        "amendment_accepted",
        2,
        "receiver",
    )
    # Nothing waits now: an answer has nothing to answer.
    with pytest.raises(ValidationError, match="No new terms wait"):
        services.deal_decline(user=actors["receiver"], deal=deal, reason="changed my mind")


def test_declined_new_terms_leave_the_old_ones(active, actors):
    _propose(actors["receiver"], active, end_date=date(2026, 6, 30))

    deal = services.deal_decline(user=actors["supplier"], deal=active, reason="we need the year")

    stored = Deal.objects.get(pk=active.pk)
    assert (stored.state, stored.end_date, stored.terms_version) == (
        "active",
        date(2026, 12, 31),
        1,
    )
    amendment = DealAmendment.objects.get(deal=active)
    assert (amendment.status, amendment.reason, amendment.answered_by) == (
        "declined",
        "we need the year",
        actors["supplier"],
    )
    assert deal.events.latest("id").action == "amendment_declined"


def test_a_counter_proposal_replaces_the_one_waiting(active, actors):
    _propose(actors["supplier"], active, tonnes_per_period=15)
    _propose(actors["receiver"], active, tonnes_per_period=12)

    statuses = dict(DealAmendment.objects.values_list("terms_version", "status"))
    assert statuses == {2: "superseded", 3: "pending"}
    deal = services.deal_accept(user=actors["supplier"], deal=active, terms_version=3)
    assert (deal.terms_version, deal.tonnes_per_period) == (3, 12)


def test_acceptance_checks_the_listing_again(active, actors, make_deal, market):
    _propose(actors["receiver"], active, tonnes_per_period=20)
    # Meanwhile another deal takes 85 of the listing's 100 t a month.
    make_deal("active", tonnes_per_period=Decimal("85"), receiver=market.company_c)

    with pytest.raises(ValidationError) as refused:
        services.deal_accept(user=actors["supplier"], deal=active, terms_version=2)

    assert "tonnes_per_period" in refused.value.message_dict
    stored = Deal.objects.get(pk=active.pk)
    assert (stored.tonnes_per_period, stored.terms_version) == (10, 1)
    assert DealAmendment.objects.get(deal=active).status == "pending"


def test_new_dates_must_keep_the_deliveries_logged(active, actors):
    services.delivery_log(
        user=actors["supplier"],
        deal=active,
        date=date(2026, 3, 2),
        tonnes=Decimal("5"),
        ticket_number="WB-1",
    )

    with pytest.raises(ValidationError, match="from 2026-03-02 to 2026-03-02"):
        _propose(actors["supplier"], active, start_date=date(2026, 4, 1))
    assert not DealAmendment.objects.exists()


def test_a_new_start_moves_the_first_delivery_day(active, actors):
    _propose(actors["receiver"], active, start_date=date(2026, 2, 1))

    deal = services.deal_accept(user=actors["supplier"], deal=active, terms_version=2)

    assert (deal.start_date, deal.deliveries_from) == (date(2026, 2, 1), date(2026, 2, 1))


def test_ending_the_deal_lapses_what_waited(active, actors):
    _propose(actors["receiver"], active, tonnes_per_period=12)

    services.deal_complete(user=actors["supplier"], deal=active, note="season over")

    assert DealAmendment.objects.get(deal=active).status == "lapsed"


def test_the_page_shows_the_new_terms_and_who_answers(client, active, actors):
    _propose(actors["supplier"], active, tonnes_per_period=12)
    url = reverse("marketplace:deal-detail", args=[active.pk])

    client.force_login(actors["receiver"])
    html = client.get(url).content.decode()
    assert 'id="amendment"' in html and "New terms proposed (version 2)" in html
    assert "Accept the new terms (version 2)" in html and "Decline the new terms" in html
    assert 'name="accept-terms_version" value="2"' in html

    client.force_login(actors["supplier"])
    html = client.get(url).content.decode()
    assert "Your new terms (version 2) wait for the other party" in html
    assert "Accept the new terms" not in html and "Decline the new terms" not in html

    client.force_login(actors["receiver"])
    response = client.post(
        reverse("marketplace:deal-transition", args=[active.pk, "accept"]),
        {"accept-terms_version": "2"},
    )
    assert response.status_code == 302
    assert Deal.objects.get(pk=active.pk).tonnes_per_period == 12


def test_amendments_through_the_api(client_as, active, member_a, member_b):
    url = f"/api/v1/deals/{active.pk}"
    proposed = client_as(member_b).post(
        f"{url}/update-terms/", {"tonnes_per_period": "12"}, format="json"
    )
    assert proposed.status_code == 200, proposed.json()
    body = proposed.json()
    assert (body["state"], body["terms_version"], body["tonnes_per_period"]) == (
        "active",
        1,
        "10.0000",
    )
    assert body["pending_amendment"]["terms_version"] == 2
    assert body["pending_amendment"]["proposed_as"] == "receiver"

    supplier = client_as(member_a)
    assert "accept" in supplier.get(f"{url}/").json()["allowed_actions"]
    accepted = supplier.post(f"{url}/accept/", {"terms_version": 2}, format="json").json()
    assert (accepted["terms_version"], accepted["tonnes_per_period"]) == (2, "12.0000")
    assert accepted["pending_amendment"] is None
    labels = [e["label"] for e in accepted["events"]]
    assert labels[-2:] == ["New terms proposed", "New terms accepted"]
