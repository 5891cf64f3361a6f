"""Writes keep the city's figures current: a confirmation, an edited date, tonnes or
deal of a confirmed delivery and a deletion show on the next read, and no read
rebuilds the roll-up."""

from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dashboard import selectors
from dashboard.models import ConfirmedMonth
from dashboard.selectors import CityFilters
from marketplace import services as market
from marketplace.models import Delivery
from tests import factories
from tests.dashboard.test_selectors import expected_rows, totals_by

pytestmark = pytest.mark.django_db


def raw_roll_up() -> dict:
    """(deal, first of month) -> (tonnes, deliveries) of confirmed deliveries, in Python."""
    out = defaultdict(lambda: [Decimal(0), 0])
    for d in Delivery.objects.filter(status="confirmed"):
        key = (d.deal_id, d.date.replace(day=1))
        out[key][0] += d.tonnes
        out[key][1] += 1
    return {k: (v[0], v[1]) for k, v in out.items()}


def stored_roll_up() -> dict:
    return {(m.deal_id, m.month): (m.tonnes, m.deliveries) for m in ConfirmedMonth.objects.all()}


def assert_figures_match_raw(city):
    # The roll-up as stored by the writes, before any read had a chance to fix it.
    assert stored_roll_up() == raw_roll_up()
    rows = expected_rows(city)
    headline = selectors.headline(CityFilters())
    assert headline["tonnes"] == pytest.approx(sum(r["tonnes"] for r in rows))
    assert headline["kg_co2e"] == pytest.approx(sum(r["kg"] or 0 for r in rows), rel=1e-9)
    assert headline["deliveries"] == len(rows)
    expected = totals_by(rows, "month")
    got = {r["month"]: (r["tonnes"], r["kg_co2e"]) for r in selectors.by_month(CityFilters())}
    assert set(got) == set(expected)
    for month, (tonnes, kg) in expected.items():
        assert got[month][0] == pytest.approx(tonnes)
        assert got[month][1] == pytest.approx(kg, rel=1e-9)


def test_the_fixture_roll_up_was_built_by_the_writes(city):
    assert stored_roll_up() == raw_roll_up()
    assert len(stored_roll_up()) == 5  # grain Jan + Feb, slag Feb + Mar, bread Mar


def test_a_confirmation_through_the_service_counts_at_once(city):
    receiver = factories.MembershipFactory(organization=city.organizations["farm"]).user
    logged = Delivery.objects.get(status="logged")
    before = selectors.headline(CityFilters())["tonnes"]

    market.delivery_confirm(user=receiver, delivery=logged)

    assert_figures_match_raw(city)
    assert selectors.headline(CityFilters())["tonnes"] == pytest.approx(before + 999)


def test_editing_the_tonnes_of_a_confirmed_delivery_changes_the_figures(city):
    delivery = Delivery.objects.get(deal=city.deals["slag"], tonnes=Decimal("60.125"))
    delivery.tonnes = Decimal("70.5")
    delivery.save()

    assert_figures_match_raw(city)
    assert selectors.headline(CityFilters())["tonnes"] == pytest.approx(154.875 + 10.375)


def test_editing_the_date_of_a_confirmed_delivery_moves_it_to_its_month(city):
    delivery = Delivery.objects.get(deal=city.deals["bread"])
    delivery.date = date(2026, 5, 20)
    delivery.save()

    assert_figures_match_raw(city)
    months = {r["month"]: r["tonnes"] for r in selectors.by_month(CityFilters())}
    assert months["2026-03"] == pytest.approx(60.125)
    assert months["2026-05"] == pytest.approx(5.0)


def test_moving_a_confirmed_delivery_to_another_deal_rebuilds_both(city):
    delivery = Delivery.objects.get(deal=city.deals["bread"])
    delivery.deal = city.deals["grain"]
    delivery.save()

    assert_figures_match_raw(city)
    assert not ConfirmedMonth.objects.filter(deal=city.deals["bread"]).exists()


def test_deleting_a_confirmed_delivery_removes_it(city):
    Delivery.objects.get(deal=city.deals["grain"], tonnes=Decimal("30.000")).delete()

    assert_figures_match_raw(city)
    assert selectors.headline(CityFilters())["tonnes"] == pytest.approx(154.875 - 30)


def test_an_admin_correction_shows_on_the_dashboard_at_once(client, city, analyst):
    admin = factories.UserFactory(email="root@example.kz", is_staff=True, is_superuser=True)
    delivery = Delivery.objects.get(deal=city.deals["grain"], tonnes=Decimal("12.500"))
    client.force_login(admin)
    url = reverse("admin:marketplace_delivery_change", args=[delivery.pk])
    form = {
        "deal": delivery.deal_id,
        "date": "2026-04-11",
        "tonnes": "21.250",
        "ticket_number": delivery.ticket_number,
        "vehicle": "",
        "note": "weighbridge re-read",
        "status": "confirmed",
        "confirmed_at_0": delivery.confirmed_at.date().isoformat(),
        "confirmed_at_1": delivery.confirmed_at.strftime("%H:%M:%S"),
        "dispute_reason": "",
    }
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    delivery.refresh_from_db()
    assert (delivery.date, delivery.tonnes) == (date(2026, 4, 11), Decimal("21.250"))

    assert_figures_match_raw(city)
    client.force_login(analyst)
    text = client.get(reverse("dashboard:city")).content.decode()
    assert f'data-testid="tonnes-diverted">{154.875 + 8.75:,.1f} t' in text


def test_logged_and_disputed_loads_leave_the_roll_up_alone(city):
    before = stored_roll_up()
    with CaptureQueriesContext(connection) as ctx:
        load = Delivery.objects.create(
            deal=city.deals["slag"], date=date(2026, 6, 1), tonnes=Decimal("3"), ticket_number="X"
        )
        load.note = "wet"
        load.save()
    assert stored_roll_up() == before
    assert not [q for q in ctx.captured_queries if "dashboard_confirmedmonth" in q["sql"]]


def test_a_read_never_writes(client, city, analyst):
    client.force_login(analyst)
    client.get(reverse("dashboard:city"))  # any stale rate computed
    Delivery.objects.filter(status="logged").update(note="touched")  # no signal, no change
    for url in (reverse("dashboard:city"), reverse("api:city-table", args=["month"])):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        writes = [
            q["sql"]
            for q in ctx.captured_queries
            if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
            and "dashboard_" in q["sql"]
        ]
        assert writes == [], writes
