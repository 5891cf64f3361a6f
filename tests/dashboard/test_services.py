"""Writes keep the city's figures current: a confirmation and a confirmed correction
(a reversal and a replacement) show on the next read, and no read rebuilds the
roll-up. A confirmed delivery itself is never edited nor deleted."""

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
    """(deal, first of month) -> (tonnes, deliveries) of confirmed deliveries, in Python:
    a confirmed reversal takes its delivery's tonnes and count back; a deal-month
    left with no delivery has no row."""
    out = defaultdict(lambda: [Decimal(0), 0])
    for d in Delivery.objects.filter(status="confirmed"):
        key = (d.deal_id, d.date.replace(day=1))
        out[key][0] += d.tonnes
        out[key][1] += -1 if d.kind == "reversal" else 1
    return {k: (v[0], v[1]) for k, v in out.items() if v[1]}


def stored_roll_up() -> dict:
    return {(m.deal_id, m.month): (m.tonnes, m.deliveries) for m in ConfirmedMonth.objects.all()}


def assert_figures_match_raw(city):
    # The roll-up as stored by the writes, before any read had a chance to fix it.
    assert stored_roll_up() == raw_roll_up()
    rows = expected_rows(city)
    headline = selectors.headline(CityFilters())
    assert headline["tonnes"] == pytest.approx(sum(r["tonnes"] for r in rows))
    assert headline["kg_co2e"] == pytest.approx(sum(r["kg"] or 0 for r in rows), rel=1e-9)
    assert headline["deliveries"] == sum(r["deliveries"] for r in rows)
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


def _parties(city, deal_name):
    deal = city.deals[deal_name]
    supplier = factories.MembershipFactory(organization=deal.supplier).user
    receiver = factories.MembershipFactory(organization=deal.receiver).user
    return supplier, receiver


def test_a_confirmed_correction_changes_the_tonnes_and_keeps_the_count(city):
    supplier, receiver = _parties(city, "slag")
    delivery = Delivery.objects.get(deal=city.deals["slag"], tonnes=Decimal("60.125"))
    before = selectors.headline(CityFilters())

    reversal, replacement = market.delivery_correct(
        user=supplier,
        delivery=delivery,
        reason="weighbridge re-read",
        tonnes=Decimal("70.5"),
        loads=2,  # more than one truck carries at most
    )
    assert stored_roll_up() == raw_roll_up()  # proposed, not confirmed: nothing moves
    assert selectors.headline(CityFilters())["tonnes"] == pytest.approx(before["tonnes"])
    market.delivery_confirm(user=receiver, delivery=replacement)

    assert (reversal.pk, replacement.pk) == tuple(
        Delivery.objects.filter(corrects=delivery, status="confirmed")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    assert_figures_match_raw(city)
    after = selectors.headline(CityFilters())
    assert after["tonnes"] == pytest.approx(154.875 + 10.375)
    assert after["deliveries"] == before["deliveries"]  # one taken back, one added


def test_a_correction_to_another_month_moves_its_tonnes(city):
    supplier, receiver = _parties(city, "bread")
    delivery = Delivery.objects.get(deal=city.deals["bread"])

    reversal, _replacement = market.delivery_correct(
        user=receiver, delivery=delivery, reason="wrong date", date=date(2026, 5, 20)
    )
    market.delivery_confirm(user=supplier, delivery=reversal)

    assert_figures_match_raw(city)
    months = {r["month"]: r["tonnes"] for r in selectors.by_month(CityFilters())}
    assert months["2026-03"] == pytest.approx(60.125)
    assert months["2026-05"] == pytest.approx(5.0)


def test_a_load_that_never_happened_leaves_the_figures(city):
    supplier, receiver = _parties(city, "bread")
    delivery = Delivery.objects.get(deal=city.deals["bread"])
    before = selectors.headline(CityFilters())

    reversal, replacement = market.delivery_correct(
        user=supplier, delivery=delivery, reason="logged twice", void=True
    )
    market.delivery_confirm(user=receiver, delivery=reversal)

    assert replacement is None
    assert_figures_match_raw(city)
    after = selectors.headline(CityFilters())
    assert after["tonnes"] == pytest.approx(before["tonnes"] - 5)
    assert after["deliveries"] == before["deliveries"] - 1
    assert not ConfirmedMonth.objects.filter(deal=city.deals["bread"]).exists()


def test_a_confirmed_delivery_is_never_edited_nor_deleted(city):
    # Regression: the admin and any code could edit a confirmed delivery in place
    # (the old tests here did), so a correction left no trace.
    from django.core.exceptions import ValidationError

    delivery = Delivery.objects.get(deal=city.deals["slag"], tonnes=Decimal("60.125"))
    before = stored_roll_up()
    for field, value in (
        ("tonnes", Decimal("70.5")),
        ("date", date(2026, 5, 20)),
        ("deal", city.deals["grain"]),
        ("status", "disputed"),
    ):
        changed = Delivery.objects.get(pk=delivery.pk)
        setattr(changed, field, value)
        with pytest.raises(ValidationError, match="never changed or deleted"):
            changed.save()
    with pytest.raises(ValidationError):
        delivery.delete()
    with pytest.raises(ValidationError):
        Delivery.objects.filter(pk=delivery.pk).update(tonnes=Decimal("1"))
    with pytest.raises(ValidationError):
        Delivery.objects.filter(deal=city.deals["slag"]).delete()
    Delivery.objects.get(pk=delivery.pk).save()  # saving it unchanged is harmless

    stored = Delivery.objects.get(pk=delivery.pk)
    assert (stored.tonnes, stored.date, stored.status) == (
        Decimal("60.125"),
        date(2026, 3, 1),
        "confirmed",
    )
    assert stored_roll_up() == before


def test_the_admin_shows_deliveries_read_only(client, city):
    admin = factories.UserFactory(email="root@example.kz", is_staff=True, is_superuser=True)
    delivery = Delivery.objects.get(deal=city.deals["grain"], tonnes=Decimal("12.500"))
    client.force_login(admin)
    url = reverse("admin:marketplace_delivery_change", args=[delivery.pk])

    page = client.get(url)
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    response = client.post(url, {"tonnes": "21.250", "date": "2026-04-11"})

    assert response.status_code == 403
    assert client.get(reverse("admin:marketplace_delivery_add")).status_code == 403
    assert (
        client.post(reverse("admin:marketplace_delivery_delete", args=[delivery.pk])).status_code
        == 403
    )
    delivery.refresh_from_db()
    assert (delivery.date, delivery.tonnes) == (date(2026, 1, 10), Decimal("12.500"))


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
