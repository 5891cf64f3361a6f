"""The public city page (issue 17): switched on from the environment, documented,
linked from the home page for visitors, and its chart says what it shows.

``CITY_PUBLIC_PAGE`` was read by the view but set nowhere: ``/city/public/``
answered 404 whatever the deployment did.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.dashboard.conftest import city  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'symbiosis.settings'; "
    "from django.conf import settings; print('PUBLIC', settings.CITY_PUBLIC_PAGE)"
)


def _setting_with(tmp_path, value: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "CITY_PUBLIC_PAGE"}
    env["VAR_DIR"] = str(tmp_path)
    if value is not None:
        env["CITY_PUBLIC_PAGE"] = value
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return next(x for x in result.stdout.splitlines() if x.startswith("PUBLIC ")).split()[1]


def test_the_public_page_is_switched_on_from_the_environment(tmp_path):
    assert _setting_with(tmp_path, "true") == "True"
    assert _setting_with(tmp_path, "False") == "False"
    assert _setting_with(tmp_path, None) == "False"  # off unless asked for


def test_the_readme_documents_the_setting():
    readme = (ROOT / "README.md").read_text()
    row = re.search(r"^\| `CITY_PUBLIC_PAGE` \| `False` \|(.+)\|$", readme, re.M)
    assert row, "no row for CITY_PUBLIC_PAGE in the README's settings table"
    assert "/city/public/" in row.group(1)


# --- the home page links it for visitors ---------------------------------------------------


@pytest.mark.django_db
def test_the_home_page_links_the_public_page_for_visitors_when_it_is_on(client, settings):
    settings.CITY_PUBLIC_PAGE = True
    page = client.get("/").content.decode()
    link = re.search(r'<p id="public-results"><a href="([^"]+)">([^<]+)</a>', page)
    assert link, "no link to the public page"
    assert link.group(1) == "/city/public/"
    assert client.get(link.group(1)).status_code == 200


@pytest.mark.django_db
def test_no_link_while_the_page_is_off(client, settings):
    settings.CITY_PUBLIC_PAGE = False
    assert "/city/public/" not in client.get("/").content.decode()
    assert client.get("/city/public/").status_code == 404


# --- the chart says what it shows ---------------------------------------------------------------


def _public(client, settings) -> str:
    settings.CITY_PUBLIC_PAGE = True
    response = client.get("/city/public/")
    assert response.status_code == 200
    return response.content.decode()


def _words(fragment: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())


def test_the_chart_has_a_legend_with_units(client, settings, city):  # noqa: F811
    page = _public(client, settings)
    legend = re.search(r'<ul class="legend" id="month-legend">(.*?)</ul>', page, re.S)
    assert legend, "the chart has no legend"
    items = [_words(x) for x in re.findall(r"<li>(.*?)</li>", legend.group(1), re.S)]
    assert items == [
        "Bars: confirmed tonnes per month (t, scale on the left)",
        "Line: net CO2e avoided per month (t CO2e, scale on the right)",
    ]
    # The legend comes before the chart it explains, in the same section.
    section = page.split('id="month-section"', 1)[1].split("</section>", 1)[0]
    assert section.index('id="month-legend"') < section.index('id="month-chart"')


def test_the_chart_says_the_period_it_covers(client, settings, city):  # noqa: F811
    page = _public(client, settings)
    period = re.search(r'<p class="period" data-testid="period">(.*?)</p>', page, re.S)
    # The fixture's confirmed deliveries: January to March 2026 (a logged and a
    # disputed one in February do not count, nor move the period).
    assert _words(period.group(1)) == (
        "Period covered: January 2026 to March 2026, by the month of each confirmed delivery."
    )


@pytest.mark.django_db
def test_with_no_confirmed_delivery_the_period_says_so(client, settings):
    page = _public(client, settings)
    period = re.search(r'<p class="period" data-testid="period">(.*?)</p>', page, re.S)
    assert "No delivery is confirmed yet" in period.group(1)


def test_the_chart_links_to_the_methodology(client, settings, city):  # noqa: F811
    page = _public(client, settings)
    section = page.split('id="month-section"', 1)[1].split("</section>", 1)[0]
    assert '<a href="#methodology">How these figures are counted</a>' in section
    method = page.split('<section class="card" id="methodology"', 1)[1].split("</section>", 1)[0]
    assert "Only deliveries the receiver confirmed count" in method
    assert 'id="method"' in method  # the method in short, as on the city page
    assert "City test factors" in method and "city-test-1" in method  # the factor set in force
    assert re.search(r'<a href="/city/methodology/" id="methodology-link">', method)


def test_the_public_page_is_open_to_visitors_only_when_on(client, settings, city):  # noqa: F811
    settings.CITY_PUBLIC_PAGE = False
    assert client.get("/city/public/").status_code == 404
    settings.CITY_PUBLIC_PAGE = True
    assert client.get("/city/public/").status_code == 200  # no log-in asked
