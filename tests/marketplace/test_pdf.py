"""The waste-transfer note's PDF in Kazakh: the shipped font has the Kazakh letters,
and they come out of the PDF as text (not as empty boxes)."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.utils import translation
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from marketplace import pdf, services

pytestmark = pytest.mark.django_db

# The letters of the Kazakh alphabet that Russian has not.
KAZAKH_LETTERS = "әғқңөұүһіӘҒҚҢӨҰҮҺІ"


def test_the_shipped_font_has_every_kazakh_letter():
    cmap = TTFont(pdf.FONT).getBestCmap()
    assert [letter for letter in KAZAKH_LETTERS if ord(letter) not in cmap] == []


@pytest.fixture
def delivery(make_deal, actors):
    deal = make_deal("active", transport_by="supplier", tonnes_per_period=Decimal("20"))
    material = deal.material
    material.name_kk = "Сыра сығындысы"
    material.save(update_fields=["name_kk"])
    # An organization name carrying every letter, so each one must print.
    deal.supplier.name = f"«{KAZAKH_LETTERS}» ЖШС"
    deal.supplier.save(update_fields=["name"])
    return services.delivery_log(
        user=actors["supplier"],
        deal=deal,
        date=date(2026, 3, 2),
        tonnes=Decimal("12.5"),
        ticket_number="WB-1",
        vehicle="A123BC",
    )


def _text(body: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


def test_a_kazakh_transfer_note_prints_the_kazakh_letters_and_names(delivery):
    deal = delivery.deal
    with translation.override("kk"):
        text = _text(pdf.delivery_note_pdf(delivery=delivery, deal=deal))
    assert [letter for letter in KAZAKH_LETTERS if letter not in text] == []
    # The material in Kazakh first, then in Russian and English for the other side.
    names = f"Сыра сығындысы / {deal.material.name_ru} / {deal.material.name_en}"
    assert names in " ".join(text.split())
    # Numbers and dates as Kazakh writes them (symbiosis/formats/kk).
    assert "12,5" in text and "12.5" not in text
    assert "02.03.2026" in text and "2026-03-02" not in text


def test_without_a_kazakh_name_the_note_starts_with_the_russian_one(delivery):
    material = delivery.deal.material
    material.name_kk = ""
    material.save(update_fields=["name_kk"])
    with translation.override("kk"):
        text = _text(pdf.delivery_note_pdf(delivery=delivery, deal=delivery.deal))
    assert f"{material.name_ru} / {material.name_en}" in " ".join(text.split())
