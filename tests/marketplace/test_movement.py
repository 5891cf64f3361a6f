"""The movement record of a confirmed delivery (issue 21): it validates against its
schema, agrees with the delivery and with the transfer note, comes as JSON and CSV
that agree, counts a corrected load once, and is read only by the deal's parties and
facilitators (analysts: 403)."""

import csv
import io
import json
from datetime import date
from decimal import Decimal

import jsonschema
import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape
from pypdf import PdfReader

from marketplace import movement, services
from marketplace.pdf import delivery_note_pdf
from marketplace.transfer_note import note_rows

pytestmark = pytest.mark.django_db

SCHEMA = json.loads(movement.SCHEMA_PATH.read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(
    SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)
PERIOD = {"from": "2026-01-01", "until": "2026-12-31"}


def valid(record: dict) -> dict:
    errors = [f"{list(e.path)}: {e.message}" for e in VALIDATOR.iter_errors(record)]
    assert not errors, errors
    return record


@pytest.fixture
def deal(make_deal):
    return make_deal("active", transport_by="supplier", tonnes_per_period=Decimal("30"))


@pytest.fixture
def confirmed(deal, actors):
    delivery = services.delivery_log(
        user=actors["supplier"],
        deal=deal,
        date=date(2026, 3, 2),
        gross_tonnes=Decimal("20.5"),
        tare_tonnes=Decimal("8"),
        loads=2,
        ticket_number="WB-1",
        vehicle="A123BC",
    )
    return services.delivery_confirm(user=actors["receiver"], delivery=delivery)


def test_the_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_a_confirmed_delivery_s_record_validates_and_agrees_with_it(confirmed, deal, market):
    record = valid(movement.movement_record(confirmed))

    assert record["record_id"] == f"MR-{confirmed.pk}"
    assert (record["kind"], record["status"], record["corrects"]) == ("delivery", "confirmed", None)
    assert record["giver"]["bin"] == market.company_a.bin
    assert record["giver"]["site"] == {
        "name": "Brewery yard",
        "address": "1 Malt Street",
        "district": market.site_a.district,
        "latitude": 43.25,
        "longitude": 76.9,
    }
    assert record["receiver"]["name"] == market.company_b.name
    assert record["receiver"]["site"]["name"] == "Farm"
    material = record["material"]
    assert (material["ewc_code"], material["names"]["en"]) == ("02 07 04", "Brewery spent grain")
    assert (material["hazard_class"], material["hazard_class_source"]) == ("non_hazardous", "ewc")
    assert record["estimated"] == {
        "terms_version": 1,
        "tonnes_per_period": 30.0,
        "period": "month",
        "tonnes_total": float(deal.tonnes_total),
        "start_date": "2026-01-01",
        "end_date": "2026-12-31",
    }
    assert record["actual"] == {
        "tonnes_net": 12.5,
        "tonnes_gross": 20.5,
        "tonnes_tare": 8.0,
        "loads": 2,
        "ticket_number": "WB-1",
    }
    assert record["dates"]["delivery"] == "2026-03-02"
    confirmed_at = timezone.localtime(confirmed.confirmed_at).isoformat(timespec="seconds")
    assert record["dates"]["confirmed"] == confirmed_at
    assert confirmed_at.endswith("+05:00") or confirmed_at.endswith("+06:00")  # Almaty
    assert record["vehicle_plate"] == "A123BC"
    assert record["carrier"] == {
        "transport_by": "supplier",
        "name": market.company_a.name,
        "bin": market.company_a.bin,
    }
    assert record["receiver_permit"] is None  # wired to the permits at merge
    confirmations = record["confirmations"]
    assert (confirmations["logged"]["party"], confirmations["confirmed"]["party"]) == (
        "supplier",
        "receiver",
    )
    assert confirmations["confirmed"]["email"] == confirmed.confirmed_by.email


def test_a_national_code_is_read_when_the_material_has_one(confirmed, market):
    # The national-codes branch adds these fields; the record reads them when present.
    market.grain.kz_code = "02 07 04"
    market.grain.kz_hazardous = True
    record = movement._material(market.grain)

    assert (record["kz_code"], record["kz_hazardous"]) == ("02 07 04", True)
    assert (record["hazard_class"], record["hazard_class_source"]) == ("hazardous", "kz_classifier")


def test_a_correction_is_its_own_records_and_nothing_counts_twice(confirmed, actors):
    reversal, replacement = services.delivery_correct(
        user=actors["receiver"], delivery=confirmed, reason="re-read", tonnes=Decimal("11.25")
    )
    services.delivery_confirm(user=actors["supplier"], delivery=reversal)

    records = movement.movement_records(
        movement.movement_deliveries(
            user=actors["supplier"], date_from=date(2026, 1, 1), date_until=date(2026, 12, 31)
        )
    )

    for record in records:
        valid(record)
    by_kind = {r["kind"]: r for r in records}
    assert set(by_kind) == {"delivery", "reversal", "replacement"}
    original, back, new = by_kind["delivery"], by_kind["reversal"], by_kind["replacement"]
    assert original["corrected_by"] == [back["record_id"]]
    assert (back["corrects"], back["actual"]["tonnes_net"]) == (original["record_id"], -12.5)
    assert (new["corrects"], new["reversal"]) == (original["record_id"], back["record_id"])
    assert back["correction_reason"] == "re-read"
    # Summed over the period, the load counts once, at its corrected figure.
    assert sum(r["actual"]["tonnes_net"] for r in records) == pytest.approx(11.25)


def test_a_void_correction_leaves_nothing(confirmed, actors):
    reversal, replacement = services.delivery_correct(
        user=actors["supplier"], delivery=confirmed, reason="never came", void=True
    )
    services.delivery_confirm(user=actors["receiver"], delivery=reversal)

    records = movement.movement_records(
        movement.movement_deliveries(
            user=actors["facilitator"], date_from=date(2026, 3, 1), date_until=date(2026, 3, 31)
        )
    )

    assert replacement is None
    assert [valid(r)["kind"] for r in records] == ["delivery", "reversal"]
    assert sum(r["actual"]["tonnes_net"] for r in records) == 0


def test_unconfirmed_and_pending_corrections_are_not_exported(confirmed, deal, actors):
    services.delivery_log(
        user=actors["supplier"],
        deal=deal,
        date=date(2026, 3, 5),
        tonnes=Decimal("3"),
        ticket_number="WB-2",
    )
    services.delivery_correct(
        user=actors["receiver"], delivery=confirmed, reason="re-read", tonnes=Decimal("11")
    )

    found = movement.movement_deliveries(
        user=actors["supplier"], date_from=date(2026, 1, 1), date_until=date(2026, 12, 31)
    )

    assert list(found) == [confirmed]


def test_the_record_keeps_the_terms_it_was_logged_under(confirmed, deal, actors):
    services.deal_update_terms(user=actors["supplier"], deal=deal, tonnes_per_period=25)
    services.deal_accept(user=actors["receiver"], deal=deal, terms_version=2)
    later = services.delivery_log(
        user=actors["supplier"],
        deal=deal,
        date=date(2026, 4, 2),
        tonnes=Decimal("5"),
        ticket_number="WB-3",
    )

    before, after = movement.movement_records([confirmed, later])

    assert (before["estimated"]["terms_version"], before["estimated"]["tonnes_per_period"]) == (
        1,
        30.0,
    )
    assert before["estimated"]["tonnes_total"] is None  # not kept for superseded terms
    assert (after["estimated"]["terms_version"], after["estimated"]["tonnes_per_period"]) == (
        2,
        25.0,
    )
    valid(before)
    valid(after)


def _pdf_text(delivery, deal, language) -> str:
    with translation.override(language):
        data = delivery_note_pdf(delivery=delivery, deal=deal)
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _squash(text: str) -> str:
    return "".join(text.split())


@pytest.mark.parametrize("language", ["en", "ru", "kk"])
def test_the_transfer_note_prints_the_record_s_fields(confirmed, deal, language):
    record = movement.movement_record(confirmed)
    text = _squash(_pdf_text(confirmed, deal, language))

    with translation.override(language):
        rows = note_rows(record)
    # Every line of the record's note, label and value, is on the PDF (text extraction
    # loses spaces and line breaks, so both sides are compared without them).
    for label, value in rows:
        assert _squash(label) in text, label
        assert _squash(value) in text, (label, value)
    for value in (
        record["record_id"],
        record["giver"]["bin"],
        record["receiver"]["bin"],
        record["material"]["ewc_code"],
        record["actual"]["ticket_number"],
        record["vehicle_plate"],
    ):
        assert _squash(value) in text, value
    # The material under each of its names, the reader's language first.
    names = record["material"]["names"]
    first = names.get(language) or next(iter(names.values()))  # kk -> ru -> en
    assert _squash(rows[1][1]).startswith(_squash(first))
    assert all(_squash(name) in text for name in names.values())


def test_the_printable_note_shows_the_same_lines(client, confirmed, actors):
    client.force_login(actors["receiver"])
    html = client.get(reverse("marketplace:delivery-note", args=[confirmed.pk])).content.decode()

    for label, value in note_rows(movement.movement_record(confirmed)):
        assert escape(label) in html and escape(value) in html, label


# --- exports: pages and API --------------------------------------------------------------


def _csv_rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_and_json_exports_agree(client_as, confirmed, actors):
    reversal, _replacement = services.delivery_correct(
        user=actors["receiver"],
        delivery=confirmed,
        reason="=cmd|' /C calc'!A0",
        tonnes=Decimal("9"),
    )
    services.delivery_confirm(user=actors["supplier"], delivery=reversal)
    api = client_as(actors["supplier"])

    as_json = api.get("/api/v1/movements/", {**PERIOD, "format": "json"}).json()
    as_csv = api.get("/api/v1/movements/", {**PERIOD, "format": "csv"})

    assert as_csv["Content-Type"].startswith("text/csv")
    assert as_csv["X-Total-Count"] == "3"
    rows = _csv_rows(as_csv.content.decode())
    assert list(rows[0]) == list(movement.csv_columns())
    assert as_json["count"] == len(as_json["records"]) == len(rows) == 3
    for record, row in zip(as_json["records"], rows, strict=True):
        valid(record)
        flat = movement.flat_record(record)
        for column in movement.csv_columns():
            value = flat.get(column)
            cell = row[column]
            if value is None:
                assert cell == "", column
            elif isinstance(value, bool):
                assert cell == str(value).lower(), column
            elif isinstance(value, int | float):
                assert float(cell) == value, column
            elif str(value).startswith("="):
                assert cell == "'" + value, column  # never run as a formula
            else:
                assert cell == str(value), column


def test_the_page_export_matches_the_api(client, client_as, confirmed, actors):
    client.force_login(actors["receiver"])
    page_json = client.get(reverse("marketplace:movement-export"), {**PERIOD, "format": "json"})
    page_csv = client.get(reverse("marketplace:movement-export"), {**PERIOD, "format": "csv"})
    api = client_as(actors["receiver"]).get("/api/v1/movements/", {**PERIOD, "format": "csv"})

    assert page_json["Content-Disposition"] == (
        'attachment; filename="movements-2026-01-01-2026-12-31.json"'
    )
    document = json.loads(page_json.content)
    assert [valid(r)["record_id"] for r in document["records"]] == [f"MR-{confirmed.pk}"]
    assert page_csv.content == api.content


def test_one_record_per_delivery(client, client_as, confirmed, actors):
    api = client_as(actors["facilitator"]).get(f"/api/v1/movements/{confirmed.pk}/")
    client.force_login(actors["supplier"])
    page = client.get(reverse("marketplace:delivery-movement", args=[confirmed.pk]))

    assert api.status_code == page.status_code == 200
    assert valid(api.json()) == json.loads(page.content) == movement.movement_record(confirmed)


def test_an_unconfirmed_delivery_has_no_record_yet(client_as, deal, actors):
    logged = services.delivery_log(
        user=actors["supplier"], deal=deal, date=date(2026, 3, 2), tonnes=1, ticket_number="X"
    )

    assert client_as(actors["supplier"]).get(f"/api/v1/movements/{logged.pk}/").status_code == 404


def test_bad_periods_answer_400_with_field_errors(client_as, client, actors):
    api = client_as(actors["supplier"])

    missing = api.get("/api/v1/movements/")
    backwards = api.get("/api/v1/movements/", {"from": "2026-05-01", "until": "2026-04-01"})
    nonsense = api.get("/api/v1/movements/", {"from": "May", "until": "2026-04-01"})

    assert missing.status_code == backwards.status_code == nonsense.status_code == 400
    assert set(missing.json()) == {"from", "until"}
    assert set(backwards.json()) == {"until"}
    assert set(nonsense.json()) == {"from"}
    client.force_login(actors["supplier"])
    page = client.get(reverse("marketplace:movement-export"), {"from": "x", "until": "y"})
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert 'name="from"' in page.content.decode() and "errorlist" in page.content.decode()


def test_a_company_exports_its_own_deliveries_a_facilitator_all(client_as, confirmed, actors):
    def ids(role):
        response = client_as(actors[role]).get("/api/v1/movements/", PERIOD)
        return response.status_code, [r["delivery_id"] for r in response.json().get("records", [])]

    assert ids("supplier") == (200, [confirmed.pk])
    assert ids("receiver") == (200, [confirmed.pk])
    assert ids("facilitator") == (200, [confirmed.pk])
    assert ids("other") == (200, [])
    assert ids("analyst")[0] == 403
    assert client_as(actors["other"]).get(f"/api/v1/movements/{confirmed.pk}/").status_code == 404
    assert client_as(actors["analyst"]).get(f"/api/v1/movements/{confirmed.pk}/").status_code == 403
    assert client_as().get("/api/v1/movements/", PERIOD).status_code in (401, 403)


def test_pages_refuse_analysts_and_hide_others_deliveries(client, confirmed, actors):
    url = reverse("marketplace:movement-export")
    client.force_login(actors["analyst"])
    assert client.get(url, {**PERIOD, "format": "csv"}).status_code == 403
    assert client.get(url).status_code == 403

    client.force_login(actors["other"])
    rows = _csv_rows(client.get(url, {**PERIOD, "format": "csv"}).content.decode())
    assert rows == []
    one = reverse("marketplace:delivery-movement", args=[confirmed.pk])
    assert client.get(one).status_code == 404


def test_the_deals_page_offers_the_export(client, actors):
    client.force_login(actors["supplier"])
    html = client.get(reverse("marketplace:deal-list")).content.decode()

    assert 'data-testid="movement-export"' in html
    assert f'action="{reverse("marketplace:movement-export")}"' in html
    assert 'name="from"' in html and 'name="until"' in html
