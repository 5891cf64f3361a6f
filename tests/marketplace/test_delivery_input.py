"""Bad input on deliveries and deals gets a clear field error, never a 500 (issue 13, item 7):
tickets and plates are one line of text, dates lie in a sane window, and the transfer
note downloads with a safe header whatever was stored before."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.http import parse_header_parameters

from marketplace import services
from marketplace.forms import DeliveryForm, TermsForm
from marketplace.models import Deal, Delivery

pytestmark = pytest.mark.django_db

HOSTILE_TICKETS = ["WB-1\r\nX-Evil: 1", 'WB"; filename="evil.exe', "WB\x1b\x07", "WB\u2028X"]


@pytest.fixture
def deal(make_deal):
    return make_deal("active", transport_by="supplier", tonnes_per_period=Decimal("30"))


def delivery_body(deal, **fields):
    body = {"deal": deal.pk, "date": "2026-03-02", "tonnes": "5", "ticket_number": "WB-1"}
    body.update(fields)
    return body


@pytest.mark.parametrize("ticket", [t for t in HOSTILE_TICKETS if '"' not in t])
def test_a_ticket_with_control_characters_is_refused(client_as, deal, actors, ticket):
    response = client_as(actors["supplier"]).post(
        "/api/v1/deliveries/", delivery_body(deal, ticket_number=ticket), format="json"
    )

    assert response.status_code == 400
    assert "one line of plain text" in response.json()["ticket_number"][0]
    assert not Delivery.objects.exists()


def test_a_vehicle_with_a_line_break_is_refused_by_form_api_and_service(client_as, deal, actors):
    response = client_as(actors["supplier"]).post(
        "/api/v1/deliveries/", delivery_body(deal, vehicle="A 777\nKZ"), format="json"
    )
    assert response.status_code == 400 and "vehicle" in response.json()

    form = DeliveryForm(
        {"date": "2026-03-02", "tonnes": "5", "ticket_number": "W\rB", "vehicle": "A\tB"}
    )
    assert not form.is_valid()
    assert set(form.errors) == {"ticket_number", "vehicle"}

    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        services.delivery_log(
            user=actors["supplier"],
            deal=deal,
            date=date(2026, 3, 2),
            tonnes=Decimal("5"),
            ticket_number="W\r\nB",
        )
    assert "ticket_number" in refused.value.message_dict


def test_the_page_shows_the_control_character_error_inline(client, deal, actors):
    client.force_login(actors["supplier"])

    response = client.post(
        reverse("marketplace:delivery-log", args=[deal.pk]),
        {
            "delivery-date": "2026-03-02",
            "delivery-tonnes": "5",
            "delivery-ticket_number": "WB\r\n1",
        },
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert "one line of plain text" in response.content.decode()
    assert not Delivery.objects.exists()


@pytest.mark.parametrize("ticket", HOSTILE_TICKETS)
def test_a_ticket_stored_before_the_fix_still_gives_a_safe_pdf(client, deal, actors, ticket):
    # Regression: a CR/LF made the PDF fail for everyone (BadHeaderError), and a quote
    # added parameters to Content-Disposition. Such rows exist: stored directly.
    delivery = Delivery.objects.create(
        deal=deal, date=date(2026, 3, 2), tonnes=Decimal("5"), ticket_number=ticket
    )
    client.force_login(actors["supplier"])

    response = client.get(reverse("marketplace:delivery-note-pdf", args=[delivery.pk]))

    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    header = response["Content-Disposition"]
    assert "\r" not in header and "\n" not in header
    # One parameter only: the quoted or encoded file name, read back whole.
    disposition, parameters = parse_header_parameters(header)
    assert disposition == "inline"
    assert list(parameters) == ["filename"]
    assert parameters["filename"] == f"transfer-note-{ticket}.pdf"
    html = client.get(reverse("marketplace:delivery-note", args=[delivery.pk]))
    assert html.status_code == 200


@pytest.mark.parametrize("day", ["0001-06-01", "9999-12-31"])
def test_a_delivery_date_out_of_the_window_is_a_field_error(client_as, deal, actors, day):
    response = client_as(actors["supplier"]).post(
        "/api/v1/deliveries/", delivery_body(deal, date=day), format="json"
    )

    assert response.status_code == 400
    assert "Give a date between 2000-01-01" in response.json()["date"][0]
    form = DeliveryForm({"date": day, "tonnes": "5", "ticket_number": "WB-1"})
    assert not form.is_valid() and "Give a date between" in form.errors["date"][0]


@pytest.mark.parametrize(
    ("field", "day"), [("end_date", "9999-12-31"), ("start_date", "0001-01-01")]
)
def test_deal_dates_out_of_the_window_are_field_errors(client_as, market, actors, field, day):
    terms = {"start_date": "2027-01-01", "end_date": "2027-12-31", field: day}
    response = client_as(actors["receiver"]).post(
        "/api/v1/deals/",
        {
            "supply": market.supply.pk,
            "demand": market.demand.pk,
            "tonnes_per_period": "10",
            **terms,
        },
        format="json",
    )

    assert response.status_code == 400
    assert "Give a date between" in response.json()[field][0]
    form = TermsForm(
        {"tonnes_per_period": "10", "period": "month", "price_kzt_per_t": "0", **terms}
    )
    assert not form.is_valid() and field in form.errors
    assert not Deal.objects.exists()


def test_a_deal_stored_with_year_9999_is_refused_on_accept_not_a_500(client_as, make_deal, actors):
    # Regression: accepting it overflowed the month arithmetic (OverflowError, a 500).
    deal = make_deal(
        "offered",
        start_date=date(9999, 12, 1),
        end_date=date(9999, 12, 31),
        supplier_accepted_at=timezone.now(),
    )

    response = client_as(actors["receiver"]).post(
        f"/api/v1/deals/{deal.pk}/accept/", {"terms_version": 1}, format="json"
    )

    assert response.status_code == 400
    assert "end_date" in response.json()
    assert Deal.objects.get(pk=deal.pk).state == "offered"


def test_gross_tare_and_loads_reach_the_deal_page_and_the_transfer_note(client, deal, actors):
    client.force_login(actors["supplier"])
    logged = client.post(
        reverse("marketplace:delivery-log", args=[deal.pk]),
        {
            "delivery-date": "2026-03-02",
            "delivery-gross_tonnes": "41.5",
            "delivery-tare_tonnes": "16",
            "delivery-loads": "2",
            "delivery-ticket_number": "WB-2L",
        },
    )
    assert logged.status_code == 302
    delivery = Delivery.objects.get(ticket_number="WB-2L")
    assert (delivery.tonnes, delivery.loads, delivery.status) == (Decimal("25.5"), 2, "logged")

    page = client.get(reverse("marketplace:deal-detail", args=[deal.pk])).content.decode()
    note = client.get(reverse("marketplace:delivery-note", args=[delivery.pk])).content.decode()
    pdf = client.get(reverse("marketplace:delivery-note-pdf", args=[delivery.pk]))

    for html in (page, note):
        assert "gross 41.5 t − tare 16 t" in html
    assert "2 loads" in page and "Number of loads" in note
    assert pdf.status_code == 200


def test_gross_and_tare_must_give_the_net(client, deal, actors):
    client.force_login(actors["supplier"])

    response = client.post(
        reverse("marketplace:delivery-log", args=[deal.pk]),
        {
            "delivery-date": "2026-03-02",
            "delivery-gross_tonnes": "20",
            "delivery-tare_tonnes": "8",
            "delivery-tonnes": "13",
            "delivery-ticket_number": "WB-X",
        },
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert "Gross 20 t minus tare 8 t is 12 t, not 13 t." in response.content.decode()
    assert not Delivery.objects.exists()
