"""The city filters' months stay inside the dates the platform takes (2000 to 20 years ahead).

Regression (issue 13, item 7): ``?from=0001-06`` was taken as a period and came
back in the export's ``filters`` as "1-06"; a month outside the window is now
ignored like any value that does not parse, so a shared URL never errors.
"""

from datetime import date

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from dashboard.selectors import CityFilters
from symbiosis.validators import business_date_window


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"from": "0001-06", "to": "9999-12"}, (None, None)),
        ({"from": "1999-12", "to": "2100-01"}, (None, None)),
        ({"from": "2000-01", "to": "2026-03-31"}, (date(2000, 1, 1), date(2026, 3, 1))),
        ({"from": "-001-01"}, (None, None)),
    ],
)
def test_months_outside_the_window_are_ignored(query, expected):
    filters = CityFilters.from_query(query)
    assert (filters.date_from, filters.date_to) == expected


def test_the_last_month_of_the_window_is_kept():
    _earliest, latest = business_date_window()
    last = latest.strftime("%Y-%m")
    assert CityFilters.from_query({"to": last}).as_query() == {"to": last}


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_the_export_answers_year_one_with_no_period(analyst, fmt):
    client = APIClient()
    client.force_login(analyst)
    url = reverse("api:city-table", args=["month"])
    response = client.get(url, {"from": "0001-06", "to": "9999-12", "format": fmt})
    assert response.status_code == 200
    if fmt == "json":
        assert response.json()["filters"] == {}
    assert b"1-06" not in response.content
