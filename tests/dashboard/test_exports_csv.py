"""The city CSV export's formula guard: numbers stay numbers, formulas become text.

Regression (issue 13, item 8a): the guard put an apostrophe before every cell
starting with "-", so a negative figure (-46.3 kg CO2e) reached the spreadsheet
as the text "'-46.3".
"""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from dashboard.api import CSVRenderer, neutralise
from dashboard.services import rates_refresh
from symbiosis.models import EmissionFactor
from tests.dashboard.conftest import city  # noqa: F401 (a fixture)

NUMBERS = [
    -46.3,
    -1e-05,
    -7,
    0,
    Decimal("-1017.900"),
    Decimal("-0.000"),
    "-46.3",
    "-1017.9",
    "-5",
    "-1.5e-07",
]
FORMULAS = [
    "=1+1",
    "+1",
    "-1+1",
    "-2+3",
    "--1",
    "-46.3 ",
    "-46.3\n=1",
    "-1e5+cmd|' /C calc'!A0",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    '=HYPERLINK("http://evil","x")',
    "-٣",  # digits of another script are no plain number
]


def rendered(rows: list[dict]) -> list[list[str]]:
    body = CSVRenderer().render({"rows": rows}).decode()
    return list(csv.reader(io.StringIO(body)))


@pytest.mark.parametrize("value", NUMBERS, ids=repr)
def test_numbers_are_written_as_numbers(value):
    assert neutralise(value) == value
    (_header, (cell,)) = rendered([{"kg_co2e": value}])
    assert cell == str(value)
    assert float(cell) == float(value)


@pytest.mark.parametrize("text", FORMULAS, ids=repr)
def test_formulas_become_text(text):
    assert neutralise(text) == "'" + text
    (_header, (cell,)) = rendered([{"material": text}])
    assert cell == "'" + text


@pytest.mark.parametrize("value", [None, "", "Steel slag", "2026-03", True, "1-06"])
def test_other_cells_are_left_alone(value):
    assert neutralise(value) == ("" if value is None else str(value))


@pytest.mark.django_db
def test_a_negative_figure_reaches_the_spreadsheet_as_a_number(analyst, city):  # noqa: F811
    # Wood to landfill is negative in WARM v16 (carbon storage): so the slag exchange
    # here avoids less than nothing, and the export carries negative figures.
    EmissionFactor.objects.filter(material=city.materials["slag"]).update(
        kg_co2e_per_t=Decimal("-1017.9")
    )
    rates_refresh(everything=True)
    client = APIClient()
    client.force_login(analyst)
    url = reverse("api:city-table", args=["material"]) + "?format=csv"
    rows = list(csv.DictReader(io.StringIO(client.get(url).content.decode())))
    json_rows = client.get(reverse("api:city-table", args=["material"])).json()["rows"]
    slag = next(r for r in rows if r["material"] == "Steel slag")
    slag_json = next(r for r in json_rows if r["material"] == "Steel slag")
    assert slag_json["kg_co2e"] < 0
    assert slag["kg_co2e"] == str(slag_json["kg_co2e"])
    assert float(slag["kg_co2e"]) == slag_json["kg_co2e"]
    for row in rows:
        for value in row.values():
            assert not value.startswith("'-"), row
