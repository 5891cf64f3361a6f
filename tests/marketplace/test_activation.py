"""Starting deliveries names the day they start; nothing is logged before it, and the
deal page says from when instead of offering a form that would be refused."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from marketplace import services
from marketplace.models import Deal, Delivery

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _accepted(make_deal, start, end):
    return make_deal("accepted", start_date=start, end_date=end, tonnes_per_period=Decimal("20"))


def test_deliveries_start_today_or_at_the_agreed_start_whichever_is_later(make_deal, actors):
    today = timezone.localdate()
    started = _accepted(make_deal, today - timedelta(days=60), today + timedelta(days=300))
    later = _accepted(make_deal, today + timedelta(days=25), today + timedelta(days=300))

    assert services.deal_activate(user=actors["receiver"], deal=started).deliveries_from == today
    deal = services.deal_activate(user=actors["receiver"], deal=later)
    assert deal.deliveries_from == today + timedelta(days=25)
    event = deal.events.get(action="activate")
    assert event.details == {"deliveries_from": deal.deliveries_from.isoformat()}


def test_the_start_is_named_within_the_agreed_dates(make_deal, actors):
    deal = _accepted(make_deal, date(2026, 1, 1), date(2026, 12, 31))

    for day, word in (
        (date(2025, 12, 31), "agreed start is 2026-01-01"),
        (date(2027, 1, 1), "ends"),
    ):
        with pytest.raises(ValidationError, match=word) as refused:
            services.deal_activate(user=actors["supplier"], deal=deal, start_date=day)
        assert "start_date" in refused.value.message_dict
    assert Deal.objects.get(pk=deal.pk).state == "accepted"

    deal = services.deal_activate(user=actors["supplier"], deal=deal, start_date=date(2026, 2, 1))
    assert (deal.state, deal.deliveries_from) == ("active", date(2026, 2, 1))


def test_a_delivery_before_the_start_is_refused_with_the_day(make_deal, actors):
    deal = _accepted(make_deal, date(2026, 1, 1), date(2026, 12, 31))
    deal = services.deal_activate(user=actors["supplier"], deal=deal, start_date=date(2026, 3, 1))

    with pytest.raises(ValidationError) as refused:
        services.delivery_log(
            user=actors["supplier"],
            deal=deal,
            date=date(2026, 2, 27),
            tonnes=Decimal("5"),
            ticket_number="WB-1",
        )
    assert refused.value.message_dict["date"] == [
        "Deliveries on this deal are logged from 2026-03-01, the day they start; this one is "
        "dated earlier."
    ]
    services.delivery_log(
        user=actors["supplier"],
        deal=deal,
        date=date(2026, 3, 1),
        tonnes=Decimal("5"),
        ticket_number="WB-1",
    )
    assert Delivery.objects.count() == 1


def test_the_page_says_from_when_instead_of_offering_a_refused_form(client, make_deal, actors):
    today = timezone.localdate()
    deal = _accepted(make_deal, today + timedelta(days=25), today + timedelta(days=300))
    client.force_login(actors["receiver"])
    url = reverse("marketplace:deal-detail", args=[deal.pk])

    html = client.get(url).content.decode()
    # The start field proposes the later of today and the agreed start.
    start = (today + timedelta(days=25)).isoformat()
    assert 'name="activate-start_date"' in html and f'value="{start}"' in html

    response = client.post(
        reverse("marketplace:deal-transition", args=[deal.pk, "activate"]),
        {"activate-start_date": ""},
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert f"Deliveries can be logged from {start}" in html
    assert f"Deliveries are logged from {start}, the day they start" in html
    log_url = reverse("marketplace:delivery-log", args=[deal.pk])
    assert f'action="{log_url}"' not in html  # no form that would be refused
    active = Deal.objects.get(pk=deal.pk)
    assert active.state == "active"
    assert "log_delivery" not in services.allowed_actions(user=actors["receiver"], deal=active)
    assert "log_delivery" in services.date_refusals(active, today=today)
    # From the start day on, the form is there.
    assert "log_delivery" in services.allowed_actions(
        user=actors["receiver"], deal=active, today=today + timedelta(days=25)
    )


def test_the_api_refuses_a_delivery_before_the_start(client_as, make_deal, member_a):
    deal = make_deal("active", deliveries_from=date(2026, 6, 1))
    response = client_as(member_a).post(
        "/api/v1/deliveries/",
        {"deal": deal.pk, "date": "2026-05-31", "tonnes": "4", "ticket_number": "WB-9"},
        format="json",
    )

    assert response.status_code == 400
    assert "logged from 2026-06-01" in response.json()["date"][0]
    detail = client_as(member_a).get(f"/api/v1/deals/{deal.pk}/").json()
    assert detail["deliveries_from"] == "2026-06-01"
