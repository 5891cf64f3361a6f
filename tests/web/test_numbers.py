"""One rule for numbers on pages and one for exports (issue 17, "Russian and numbers").

Pages: grouped thousands in the reader's language, a unit never wrapped away from
its number, the unit's precision (``symbiosis.numbers.UNITS``): the deal page said
"6770711 kg" and "2000.00 KZT/t" where the city page says "12,300". Exports: fixed
decimals per column, never grouped (tests/api/test_city_exports.py for the API).
"""

import html as html_text
import re
from datetime import date
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation

from marketplace import services
from symbiosis.numbers import export_value, measure, measure_number
from tests.marketplace.conftest import company_c, make_deal, market, member_c  # noqa: F401

NBSP = "\u00a0"

# (value, unit, English, Russian): written out by hand, not by the code under test.
CASES = [  # "_": a non-breaking space
    (Decimal("6770711.4"), "kg", "6,770,711_kg", "6_770_711_кг"),
    (Decimal("2000.00"), "kzt_per_t", "2,000_KZT/t", "2_000_тенге/т"),
    (Decimal("1999.5"), "kzt_per_t", "1,999.50_KZT/t", "1_999,50_тенге/т"),
    (Decimal("-500"), "kzt_per_t", "-500_KZT/t", "-500_тенге/т"),
    (Decimal("20.1250"), "t_ticket", "20.125_t", "20,125_т"),
    (Decimal("10.0000"), "t_ticket", "10_t", "10_т"),
    (12300.46, "t", "12,300.5_t", "12_300,5_т"),
    (0.25, "t", "0.3_t", "0,3_т"),  # half up, as floatformat
    (-0.0, "t", "0.0_t", "0,0_т"),  # never "-0.0"
    (0.04, "t", "0.04_t", "0,04_т"),  # not shown as nothing
    (12345.678, "km", "12,345.7_km", "12_345,7_км"),
    (131558.44, "t_co2e", "131,558.4_t CO2e", "131_558,4_т CO2-экв."),
    (1234567, "kzt", "1,234,567_KZT", None),
    (330017.85965086555, "kg_co2e", "330,018_kg CO2e", "330_018_кг CO2-экв."),
]


@pytest.mark.parametrize(("value", "unit", "english", "russian"), CASES)
def test_a_measure_in_each_language(value, unit, english, russian):
    with translation.override("en"):
        assert measure(value, unit) == english.replace("_", NBSP)
    if russian is not None:
        with translation.override("ru"):
            assert measure(value, unit) == russian.replace("_", NBSP)


def test_text_and_nothing_are_left_alone():
    assert measure(None, "t") == ""
    assert measure("", "t") == ""
    assert measure("n/a", "t") == "n/a"
    assert measure_number(Decimal("Infinity"), "t") == "Infinity"


def test_the_filters_show_the_same():
    template = Template('{% load numbers %}{{ p|measure:"kzt_per_t" }}|{{ kg|number:"kg" }}')
    with translation.override("ru"):
        text = template.render(Context({"p": Decimal("2000.00"), "kg": 6770711.4}))
    assert text == f"2{NBSP}000{NBSP}тенге/т|6{NBSP}770{NBSP}711"


@pytest.mark.parametrize(
    ("column", "value", "cell"),
    [
        ("tonnes", 330017.85965086555, "330017.860"),
        ("tonnes_kept_verified", 2, "2.000"),
        ("kg_co2e", -20358.04, "-20358.0"),
        ("kg_co2e_low", -1e-05, "0.0"),  # no "-0.0"
        ("t_co2e", 330.01785965, "330.018"),
        ("share_of_recycled_percent", 0.00123456, "0.001"),
        ("share_of_recycled_fraction", 0.00123456, "0.001235"),
        ("from_lat", 43.275000000001, "43.275"),
    ],
)
def test_an_export_figure_has_its_columns_decimals(column, value, cell):
    assert str(export_value(column, value)) == cell


@pytest.mark.parametrize("value", [3, "Steel slag", "2026-03", None, True])
def test_counts_and_text_are_exported_as_they_are(value):
    assert export_value("deliveries" if value == 3 else "material", value) == value


# --- on the pages ------------------------------------------------------------------


@pytest.fixture
def deal_with_delivery(make_deal, member_a, member_b):  # noqa: F811
    deal = make_deal(
        "active",
        transport_by="supplier",
        tonnes_per_period=Decimal("20"),
        price_kzt_per_t=Decimal("2000.00"),
    )
    delivery = services.delivery_log(
        user=member_a,
        deal=deal,
        date=date(2026, 3, 2),
        tonnes=Decimal("12.5"),
        ticket_number="WB-1",
    )
    services.delivery_confirm(user=member_b, delivery=delivery)
    return deal


def _page(client, user, url, language):
    client.force_login(user)
    client.post("/i18n/setlang/", {"language": language, "next": "/"})
    response = client.get(url)
    assert response.status_code == 200
    return html_text.unescape(response.content.decode())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "price", "kg"),
    [("en", "2,000 KZT/t", "7,489 kg"), ("ru", "2 000 тенге/т", "7 489 кг")],
)
def test_the_deal_page_groups_and_names_its_units(
    client, deal_with_delivery, member_a, language, price, kg
):
    url = reverse("marketplace:deal-detail", args=[deal_with_delivery.pk])
    page = _page(client, member_a, url, language)

    start = page.index('id="terms"')
    terms = page[start : page.index("</dl>", start)]
    assert price.replace(" ", NBSP) in terms
    assert "2000" not in terms
    # 12.5 t x (500 + 100) - 12.5 t x 8.94 km x 0.1 (tests/marketplace/test_impact.py)
    assert kg.replace(" ", NBSP) in page
    impact = page[page.index('id="impact"') : page.index('id="deliveries"')]
    cells = re.findall(r"<td>\s*([-\d.,\u00a0]+)\s*</td>", impact)
    assert cells, "the impact table has figures"
    assert not [c for c in cells if re.search(r"\d{4}", c)], cells  # all grouped


@pytest.mark.django_db
def test_the_market_listing_groups_its_tonnes(client, market, member_b):  # noqa: F811
    market.supply.quantity = Decimal("1250.5")
    market.supply.save()
    url = reverse("market-listing", args=["supply", market.supply.pk])

    english = _page(client, member_b, url, "en")
    russian = _page(client, member_b, url, "ru")

    assert f"1,250.5{NBSP}t" in english
    assert f"1{NBSP}250,5{NBSP}т" in russian
