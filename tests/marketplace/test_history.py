"""A deal's history in the reader's language, numbers as pages write them (issue 17).

Lines stored before details existed carry the whole line as an English note ("The
supplier accepted terms version 1.", "#12: 9 t on 2026-03-02, ticket WB-7: ..."):
they are read in the reader's language too, without changing the stored row; a
note no pattern knows is shown as written.
"""

import html as html_text
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from marketplace import history, services
from marketplace.models import DealEvent, Delivery

pytestmark = pytest.mark.django_db

NBSP = "\u00a0"


def _lines(deal, language):
    with translation.override(language):
        return [
            (line.label, line.states, line.text, line.note)
            for line in history.deal_history(deal.events.all())
        ]


def _old_line(deal, action, note, from_state="active", to_state="active"):
    return DealEvent.objects.create(
        deal=deal, action=action, from_state=from_state, to_state=to_state, note=note
    )


def _only(deal, language):
    (line,) = _lines(deal, language)
    return line


@pytest.mark.parametrize(
    "note",
    [
        "The supplier accepted terms version 1.",
        # Written by a Russian reader then: the party stayed a code.
        "Сторона «supplier» приняла условия версии 1.",
    ],
)
def test_an_old_accept_line_reads_in_russian(make_deal, note):
    deal = make_deal("accepted")
    _old_line(deal, "accept", note, from_state="offered", to_state="accepted")

    label, _states, text, shown_note = _only(deal, "ru")

    assert label == "Условия приняты"
    assert text == "сторона: поставщик; версия условий 1"
    assert shown_note == ""
    assert "accepted" not in text and "supplier" not in text
    # English readers read it in English, from the same codes.
    assert _only(deal, "en")[2] == "by the supplier; terms version 1"
    # Nothing stored changed.
    assert DealEvent.objects.get(deal=deal).note == note


def test_an_old_terms_line_names_the_terms_and_groups_the_numbers(make_deal):
    deal = make_deal("offered")
    _old_line(
        deal,
        "update_terms",
        "price kzt per t: -500 -> 2000; tonnes per period: 10 -> 1250.5\nPlease answer soon",
        from_state="draft",
        to_state="offered",
    )

    _label, _states, text, note = _only(deal, "ru")

    assert f"цена (тенге за тонну): -500 → 2{NBSP}000" in text
    assert f"тонн за период: 10 → 1{NBSP}250,5" in text
    assert note == "Please answer soon"
    assert _only(deal, "en")[2] == (
        "price (KZT per tonne): -500 → 2,000; tonnes per period: 10 → 1,250.5"
    )


def test_an_old_dispute_line_keeps_the_reason_as_the_actors_words(make_deal):
    deal = make_deal("active")
    _old_line(deal, "delivery_disputed", "#12: 1250.125 t on 2026-03-02, ticket WB-7: scale off")

    label, _states, text, note = _only(deal, "ru")

    assert label == "Поставка оспорена"
    assert text == f"№12: 1{NBSP}250,125 т, 2026-03-02, талон WB-7"
    assert note == "scale off"


def test_an_old_held_line_gives_the_reason_in_the_readers_language(make_deal, member_a):
    deal = make_deal("active")
    checks = [{"code": "per_load", "tonnes": "45", "loads": 1, "max_per_load": "40", "limit": "40"}]
    delivery = Delivery.objects.create(
        deal=deal,
        date=date(2026, 3, 2),
        tonnes=Decimal("45"),
        ticket_number="WB-9",
        status=Delivery.Status.HELD,
        held_reason=checks,
        logged_by=member_a,
    )
    english = "45 t in one load is more than the 40 t one vehicle carries at most."
    _old_line(
        deal,
        "delivery_held",
        f"#{delivery.pk}: 45 t on 2026-03-02, ticket WB-9; "
        f"held for a facilitator's review: {english}",
    )

    label, _states, text, note = _only(deal, "ru")

    assert label == "Поставка задержана для проверки"
    assert "45 т" in text and "WB-9" in text
    with translation.override("ru"):
        assert str(delivery.held_reason_text) in text
    assert english not in text + note
    assert note == ""


def test_an_old_correction_line_reads_as_a_correction(make_deal):
    deal = make_deal("active")
    _old_line(
        deal,
        "correction_proposed",
        "#12: 9 t on 2026-03-02, ticket WB-7: reversal #13, replacement #14: 8.5 t on "
        "2026-03-02, ticket WB-7. Reason: re-read the ticket",
    )

    _label, _states, text, note = _only(deal, "ru")

    assert text.startswith("исправление №13 к поставке №12: 9 т")
    assert "заменена поставкой №14: 8,5 т" in text
    assert note == "re-read the ticket"


def test_a_note_no_pattern_knows_is_shown_as_written(make_deal):
    deal = make_deal("active")
    _old_line(deal, "complete", "All loads delivered, thanks!")
    assert _only(deal, "ru")[3] == "All loads delivered, thanks!"
    _old_line(deal, "update_terms", "colour: red -> blue")
    assert _lines(deal, "ru")[1][2:] == ("", "colour: red -> blue")


def test_new_lines_group_their_numbers_in_the_readers_language(make_deal, actors):
    deal = make_deal("draft")
    services.deal_update_terms(
        user=actors["supplier"], deal=deal, price_kzt_per_t=Decimal("1999.5"), tonnes_per_period=12
    )

    (line,) = _lines(deal, "ru")
    assert line[2] == f"цена (тенге за тонну): -500 → 1{NBSP}999,50; тонн за период: 10 → 12"
    (line,) = _lines(deal, "en")
    assert line[2] == "price (KZT per tonne): -500 → 1,999.50; tonnes per period: 10 → 12"


def test_the_russian_timeline_has_no_code_and_no_english_line(client, make_deal, actors):
    deal = make_deal("draft")
    services.deal_update_terms(user=actors["supplier"], deal=deal, price_kzt_per_t=2000)
    deal = services.deal_offer(user=actors["supplier"], deal=deal)
    _old_line(deal, "accept", "The supplier accepted terms version 2.", "offered", "offered")
    deal = services.deal_accept(user=actors["receiver"], deal=deal, terms_version=2)
    deal = services.deal_activate(user=actors["receiver"], deal=deal, start_date=date(2026, 1, 1))
    delivery = services.delivery_log(
        user=actors["supplier"],
        deal=deal,
        date=date(2026, 3, 2),
        tonnes=Decimal("9.125"),
        ticket_number="WB-7",
    )
    services.delivery_confirm(user=actors["receiver"], delivery=delivery)

    client.force_login(actors["supplier"])
    client.post("/i18n/setlang/", {"language": "ru", "next": "/"})
    response = client.get(reverse("marketplace:deal-detail", args=[deal.pk]))
    page = html_text.unescape(response.content.decode())
    timeline = page[page.index('id="timeline"') :]

    for code in ("create", "update_terms", "delivery_logged", "draft → offered", "accept"):
        assert code not in timeline, code
    assert "The supplier accepted" not in timeline
    assert "Условия приняты" in timeline and "сторона: поставщик; версия условий 2" in timeline
    assert f"цена (тенге за тонну): -500 → 2{NBSP}000" in timeline
    assert "9,125 т, 2026-03-02, талон WB-7" in timeline
    # The terms and the delivery figures above the timeline: grouped, with units.
    assert f"2{NBSP}000{NBSP}тенге/т" in page
    assert f"9,125{NBSP}т" in page
