"""The dashboard's charts and tables against the template filters they stand for."""

from __future__ import annotations

import pytest
from django.contrib.humanize.templatetags.humanize import intcomma
from django.template.defaultfilters import floatformat
from django.utils import translation
from hypothesis import given

from dashboard import charts
from tests.symbiosis.test_numbers import EDGES, TONNES


@pytest.mark.parametrize("language", ["en", "ru"])
@pytest.mark.parametrize("value", EDGES)
def test_tenths_text_is_what_the_filters_show(language, value):
    with translation.override(language):
        assert charts.tenths_text(value) == intcomma(floatformat(value, 1))


@given(TONNES)
def test_tenths_text_matches_the_filters_for_any_tonnage(value):
    with translation.override("ru"):
        assert charts.tenths_text(value) == intcomma(floatformat(value, 1))
    with translation.override("en"):
        assert charts.tenths_text(value) == intcomma(floatformat(value, 1))


def test_flows_table_rows_escape_labels_and_show_whole_tonnes_co2e():
    html = charts.flows_table_rows(
        [
            {
                "sector": "<b>C</b>",
                "material": "Slag & ash",
                "use": "Road base",
                "tonnes": 1234.56,
                "kg_co2e": 2500.0,
            }
        ]
    )
    assert "<b>" not in html
    assert "&lt;b&gt;C&lt;/b&gt;" in html
    assert "Slag &amp; ash" in html
    assert '<td class="num">1,234.6</td>' in html
    assert '<td class="num">2</td>' in html  # 2.5 t rounds half to even, as widthratio


@pytest.mark.parametrize(
    ("tonnes", "kg_co2e", "not_counted", "cell"),
    [
        (12.0, 3456.0, 0.0, "3"),  # all counted: whole t CO2e
        # the fate of all of them not counted: the rest never stands alone as "0"
        (12.0, -120.0, 12.0, "0; current fate&#x27;s CO2e not counted for 12.0 t"),
        # float sums
        (12.0, 0.0, 12.000000000001, "0; current fate&#x27;s CO2e not counted for 12.0 t"),
        (12.0, 2600.0, 5.0, "3; current fate&#x27;s CO2e not counted for 5.0 t"),
        (10.0, 0.0, 0.0, "0"),  # counted and truly zero
    ],
)
def test_flows_table_rows_say_which_tonnes_have_no_counted_co2e(tonnes, kg_co2e, not_counted, cell):
    flow = {"sector": "I", "material": "Old bread", "use": "Use not recorded"}
    flow |= {"tonnes": tonnes, "kg_co2e": kg_co2e, "tonnes_co2e_not_counted": not_counted}
    with translation.override("en"):
        html = charts.flows_table_rows([flow])
    assert html.endswith(f'<td class="num">{cell}</td></tr>')
    assert "0.0 t CO2e" not in html


MONTHS = [{"month": "2026-01", "tonnes": 1234.0, "kg_co2e": 5000.0}]


def test_charts_keep_their_english_wording_and_numbers():
    with translation.override("en"):
        month = charts.month_series(MONTHS)
        empty = charts.bars([])
    assert "<title>Confirmed tonnes and net t CO2e avoided per month</title>" in month
    assert "<title>2026-01: 1 234 t, 5 t CO2e</title>" in month
    assert ">1 234 t</text>" in month and ">5 t CO2e</text>" in month
    assert 'aria-label="Confirmed tonnes by category"' in empty
    assert ">No confirmed deliveries for these filters.</text>" in empty


def test_charts_speak_russian_on_the_russian_page():
    with translation.override("ru"):
        month = charts.month_series(MONTHS)
        category = charts.bars([{"label": "Органика", "tonnes": 12.0}])
        empty = charts.month_series([])
    assert "<title>Подтверждённые тонны и чистое предотвращение, т CO2-экв., по месяцам" in month
    assert "<title>2026-01: 1 234 т, 5 т CO2-экв.</title>" in month
    assert ">1 234 т</text>" in month and ">5 т CO2-экв.</text>" in month
    assert "<title>Подтверждённые тонны по категориям</title>" in category
    assert ">12 т</text>" in category
    assert ">По этим фильтрам нет подтверждённых поставок.</text>" in empty
    for html in (month, category, empty):
        assert "Confirmed" not in html and "No confirmed" not in html
        assert " t<" not in html and " t," not in html and "t CO2e" not in html
