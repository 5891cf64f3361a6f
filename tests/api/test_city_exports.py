"""The city dashboard's tables under the versioned API: /api/v1/city/<table>/.

Figures equal an independent computation from the raw deliveries
(``tests.dashboard.test_selectors.expected_rows``); JSON and CSV by ``?format=``
or the Accept header; the page's filters; pagination; no price, no formula.
"""

import csv
import io
import json
import re
from datetime import date

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from dashboard.api import MAX_ROWS, PLAIN_NUMBER, TABLE_NAMES
from tests.dashboard.conftest import PRICE_MARKER, city  # noqa: F401 (a fixture)
from tests.dashboard.test_selectors import expected_rows, totals_by

pytestmark = pytest.mark.django_db

KEYED_TABLES = [
    ("category", "category"),
    ("material", "material"),
    ("sector", "sector"),
    ("district", "district"),
    ("month", "month"),
]


def url(table, **query):
    base = reverse("api:city-table", args=[table])
    if not query:
        return base
    return base + "?" + "&".join(f"{k}={v}" for k, v in query.items())


@pytest.fixture
def api(analyst):
    client = APIClient()
    client.force_login(analyst)
    return client


def csv_rows(response) -> list[dict]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_the_route_is_under_the_versioned_api():
    assert url("month") == "/api/v1/city/month/"


@pytest.mark.parametrize(("table", "key"), KEYED_TABLES)
def test_json_and_csv_figures_equal_an_independent_computation(api, city, table, key):  # noqa: F811
    expected = totals_by(expected_rows(city), key)
    as_json = api.get(url(table, format="json")).json()
    as_csv = csv_rows(api.get(url(table, format="csv")))

    assert as_json["table"] == table
    assert as_json["count"] == len(expected)
    for rows in (as_json["rows"], as_csv):
        got = {row[key]: (float(row["tonnes"]), float(row["kg_co2e"])) for row in rows}
        assert set(got) == set(expected)
        for k, (tonnes, kg) in expected.items():
            # Exports round: 3 decimals for tonnes, 1 for kg CO2e.
            assert got[k][0] == pytest.approx(tonnes, abs=0.0005)
            assert got[k][1] == pytest.approx(kg, abs=0.05)


def test_headline_export_equals_an_independent_computation(api, city):  # noqa: F811
    rows = expected_rows(city)
    (head,) = api.get(url("headline")).json()["rows"]
    (head_csv,) = csv_rows(api.get(url("headline", format="csv")))
    for figures in (head, head_csv):
        assert float(figures["tonnes"]) == pytest.approx(sum(r["tonnes"] for r in rows), abs=5e-4)
        assert float(figures["kg_co2e"]) == pytest.approx(sum(r["kg"] for r in rows), abs=0.05)
        assert int(figures["deliveries"]) == len(rows)
        assert int(figures["exchanges"]) == len({r["deal"] for r in rows})


@pytest.mark.parametrize(
    ("query", "keep"),
    [
        ({"district": "almaly"}, lambda d: d.deal.supply.site.district == "almaly"),
        ({"category": "minerals"}, lambda d: d.deal.material.category == "minerals"),
        ({"from": "2026-02", "to": "2026-02"}, lambda d: d.date.month == 2),
        (
            {"from": "2026-02", "district": "almaly", "category": "biomass"},
            lambda d: (
                d.date >= date(2026, 2, 1)
                and d.deal.supply.site.district == "almaly"
                and d.deal.material.category == "biomass"
            ),
        ),
    ],
)
def test_filters_as_on_the_page(api, city, query, keep):  # noqa: F811
    expected = totals_by(expected_rows(city, keep), "month")
    data = api.get(url("month", **query)).json()
    assert data["filters"] == query
    got = {row["month"]: row["tonnes"] for row in data["rows"]}
    assert got == pytest.approx({k: v[0] for k, v in expected.items()})


def test_format_by_accept_header(api, city):  # noqa: F811
    as_csv = api.get(url("category"), HTTP_ACCEPT="text/csv")
    assert {row["category"] for row in csv_rows(as_csv)} == {"biomass", "minerals"}
    assert as_csv["Content-Disposition"] == 'attachment; filename="city-category.csv"'
    as_json = api.get(url("category"), HTTP_ACCEPT="application/json")
    assert as_json["Content-Type"] == "application/json"
    assert as_json.json()["table"] == "category"


def test_pagination_and_cap(api, city):  # noqa: F811
    first = api.get(url("month", limit=2)).json()
    assert first["count"] == 3
    assert [r["month"] for r in first["rows"]] == ["2026-01", "2026-02"]
    assert "offset=2" in first["next"] and first["previous"] is None
    rest = api.get(first["next"]).json()
    assert [r["month"] for r in rest["rows"]] == ["2026-03"]
    assert rest["next"] is None
    capped = api.get(url("month", limit=MAX_ROWS * 10)).json()
    assert capped["count"] == 3 and len(capped["rows"]) == 3
    response = api.get(url("month", limit=1, format="csv"))
    assert response["X-Total-Count"] == "3"
    assert 'rel="next"' in response["Link"]
    assert len(csv_rows(response)) == 1


FORMULAS = ['=HYPERLINK("http://evil","x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1"]


@pytest.mark.parametrize("formula", FORMULAS)
def test_csv_neutralises_formulas(api, city, formula):  # noqa: F811
    material = city.materials["slag"]
    material.name_en = formula
    material.save()
    for table in ("material", "flows", "exchanges"):
        rows = csv_rows(api.get(url(table, format="csv")))
        names = {row["material"] for row in rows}
        assert "'" + formula in names
        for row in rows:
            for value in row.values():
                # A negative number is a number (bread's trucking), never a formula.
                if PLAIN_NUMBER.fullmatch(value):
                    continue
                assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), (table, row)
    # JSON carries the name as it is: it is data, not a spreadsheet.
    rows = api.get(url("material")).json()["rows"]
    assert formula in {row["material"] for row in rows}


@pytest.mark.parametrize("role", ["member_a", "admin_a"])
@pytest.mark.parametrize("table", TABLE_NAMES)
def test_a_company_user_is_refused(city, role, table, request):  # noqa: F811
    client = APIClient()
    client.force_login(request.getfixturevalue(role))
    for fmt in ("json", "csv"):
        response = client.get(url(table, format=fmt))
        assert response.status_code == 403
        assert b"tonnes" not in response.content


def test_anonymous_is_refused(city):  # noqa: F811
    assert APIClient().get(url("headline")).status_code in (401, 403)


@pytest.mark.parametrize("role", ["analyst", "facilitator"])
@pytest.mark.parametrize("table", TABLE_NAMES)
def test_no_price_in_any_export(city, role, table, request):  # noqa: F811
    client = APIClient()
    client.force_login(request.getfixturevalue(role))
    marker = str(abs(PRICE_MARKER))  # 98765.43
    for fmt in ("json", "csv"):
        response = client.get(url(table, format=fmt))
        assert response.status_code == 200
        text = response.content.decode()
        assert "price" not in text.lower() and "kzt" not in text.lower()
        assert marker not in text and marker.replace(".", ",") not in text
        assert "98765" not in text
    rows = client.get(url(table)).json()["rows"]
    assert rows, "the fixture has confirmed deliveries in every table"
    assert not [key for row in rows for key in row if "price" in key.lower()]


def test_unknown_table_is_404(api):
    assert api.get(url("prices")).status_code == 404


def test_old_export_links_redirect_with_their_query(client, city, analyst):  # noqa: F811
    client.force_login(analyst)
    old = reverse("dashboard:export", args=["month"]) + "?district=almaly&format=csv"
    response = client.get(old)
    assert response.status_code == 301
    assert response["Location"] == url("month", district="almaly", format="csv")
    followed = client.get(old, follow=True)
    assert {row["month"] for row in csv_rows(followed)} == {"2026-01", "2026-02", "2026-03"}


def test_the_page_links_to_the_api_exports(client, city, analyst):  # noqa: F811
    client.force_login(analyst)
    text = client.get(reverse("dashboard:city"), {"district": "auezov"}).content.decode()
    assert f'href="{url("category")}?district=auezov&amp;format=csv"' in text
    assert f'href="{url("headline")}?district=auezov&amp;format=csv"' in text
    assert "/city/api/" not in text


def test_the_schema_documents_the_exports(api):
    schema = json.loads(
        api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content
    )
    operation = schema["paths"]["/api/v1/city/{table}/"]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert set(params) >= {
        "table",
        "from",
        "to",
        "district",
        "category",
        "format",
        "limit",
        "offset",
    }
    assert set(params["table"]["schema"]["enum"]) == set(TABLE_NAMES)
    assert "text/csv" in operation["responses"]["200"]["content"]
    # The exchanges' precision (tests/dashboard/test_exchange_precision.py)
    assert "centres of 0.05-degree grid cells" in operation["description"]


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_exchange_ends_are_coarse_cells(api, city, fmt):  # noqa: F811
    """As documented: every end is the centre of a 0.05-degree cell, not a site."""
    response = api.get(url("exchanges", format=fmt))
    rows = csv_rows(response) if fmt == "csv" else response.json()["rows"]
    assert len(rows) == 3
    for row in rows:
        for key in ("from_lat", "from_lon", "to_lat", "to_lon"):
            cells = float(row[key]) / 0.05 - 0.5
            assert cells == pytest.approx(round(cells), abs=1e-9), (key, row[key])


def test_the_browsable_api_shows_a_table(api, city):  # noqa: F811
    response = api.get(url("category"), HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    text = response.content.decode()
    assert "tonnes_kept_out_of_landfill" in text
    assert "price" not in text.lower()


# Issue 17: every figure of an export carries its unit in its column's name and the
# fixed decimals of that unit; counts are whole numbers.
DECIMALS_BY_UNIT = [  # (how the name shows the unit, decimals)
    (lambda c: c.startswith("kg_co2e"), 1),
    (lambda c: c.startswith("t_co2e"), 3),
    (lambda c: c.endswith("_percent"), 3),
    (lambda c: c.endswith("_fraction"), 6),
    (lambda c: c.endswith(("_lat", "_lon")), 3),
    (lambda c: "tonnes" in c, 3),
]
COUNTS = {"deliveries", "exchanges", "companies", "active_deals"}


def decimals_of(column: str) -> int | None:
    return next((places for matches, places in DECIMALS_BY_UNIT if matches(column)), None)


@pytest.mark.parametrize("table", TABLE_NAMES)
def test_every_figure_has_its_unit_and_fixed_decimals(api, city, table):  # noqa: F811
    as_json = api.get(url(table)).json()["rows"]
    as_csv = csv_rows(api.get(url(table, format="csv")))
    assert as_json and len(as_json) == len(as_csv)
    for row, cells in zip(as_json, as_csv, strict=True):
        for column, value in row.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            places = decimals_of(column)
            if places is None:
                assert column in COUNTS, f"{table}.{column}: a figure without a unit"
                assert re.fullmatch(r"\d+", cells[column]), (table, column, cells[column])
                continue
            # CSV: exactly the unit's decimals, never grouped ("330017.860").
            pattern = rf"-?\d+\.\d{{{places}}}"
            assert re.fullmatch(pattern, cells[column]), (table, column, cells[column])
            # JSON: the same number.
            assert value == pytest.approx(float(cells[column]), abs=10**-places / 2)
            assert round(value, places) == value, (table, column, value)


def test_headline_columns_name_their_units(api, city):  # noqa: F811
    (head,) = api.get(url("headline")).json()["rows"]
    for name in ("declared", "documented", "verified", "with_evidence"):
        assert f"tonnes_kept_{name}" in head and f"kept_{name}" not in head
    for share in ("share_of_organic_landfilled", "share_of_recycled"):
        assert f"{share}_fraction" in head and share not in head
        assert head[f"{share}_percent"] == pytest.approx(100 * head[f"{share}_fraction"], abs=1e-3)
    (cells,) = csv_rows(api.get(url("headline", format="csv")))
    assert re.fullmatch(r"\d+\.\d{3}", cells["tonnes_kept_out_of_landfill"])
    assert re.fullmatch(r"-?\d+\.\d", cells["kg_co2e"])
