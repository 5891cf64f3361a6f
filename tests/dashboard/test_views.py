"""Who opens the city pages and exports, what they show and never show, and at what cost."""

import csv
import html
import io
import json
import re
from datetime import date

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dashboard.api import neutralise
from dashboard.selectors import TABLES
from marketplace.models import Delivery
from marketplace.selectors import deal_impact
from symbiosis.models import Organization
from tests.dashboard.conftest import deliver

pytestmark = pytest.mark.django_db

PAGES = [reverse("dashboard:city"), reverse("dashboard:methodology")]
EXPORTS = [
    reverse("api:city-table", args=[name]) + f"?format={fmt}"
    for name in [*TABLES, "headline"]
    for fmt in ("csv", "json")
]
# Identities of the private listing's company and every price.
SECRETS = ["Secret Brewery", "Brewery yard", "Hidden Bakery", "Private Farm", "98765", "98 765"]


@pytest.mark.parametrize("url", PAGES + EXPORTS)
def test_a_company_member_is_refused(client, city, member_a, url):
    client.force_login(member_a)
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_goes_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("url", EXPORTS[:2])
def test_anonymous_export_is_refused(client, url):
    assert client.get(url).status_code in (401, 403)


@pytest.mark.parametrize("role", ["analyst", "facilitator"])
@pytest.mark.parametrize("url", PAGES + EXPORTS)
def test_analyst_and_facilitator_read_without_prices_or_private_names(
    client, city, role, url, request
):
    client.force_login(request.getfixturevalue(role))
    response = client.get(url)
    assert response.status_code == 200
    # The CSRF token is random letters: "kzt" turned up inside one (CI, 2026-12-08).
    text = re.sub(
        r'("x-csrftoken": "|name="csrfmiddlewaretoken" value=")[^"]*',
        r"\1",
        response.content.decode(),
        flags=re.IGNORECASE,
    )
    for secret in SECRETS:
        assert secret not in text
    assert "price" not in text.lower()
    assert "kzt" not in text.lower()


def figure(text: str, testid: str) -> str:
    """The text of the element with this data-testid, its tags (links) taken out."""
    found = re.search(rf'data-testid="{testid}">(.*?)</(?:strong|li|span)>', text, re.S)
    assert found, f"no {testid} in the page"
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def test_dashboard_shows_the_headline(client, city, analyst):
    client.force_login(analyst)
    text = client.get(reverse("dashboard:city")).content.decode()
    # Every tonne moved, once; only those from landfill are "kept out of landfill".
    assert figure(text, "tonnes-moved") == "154.9 t"
    assert figure(text, "tonnes-diverted") == "149.9 t"
    assert 'data-testid="co2e-published"' in text and 'data-testid="co2e-proxy"' in text
    assert 'id="sankey-data"' in text
    assert 'id="month-chart"' in text
    assert 'id="city-map-data"' in text


def _json_script(text: str, element_id: str):
    found = re.search(
        rf'<script id="{element_id}" type="application/json">(.*?)</script>', text, re.S
    )
    assert found, f"no json_script #{element_id} in the page"
    return json.loads(found.group(1))


def test_sankey_data_holds_only_aggregates_of_confirmed_deliveries(client, city, analyst):
    client.force_login(analyst)
    text = client.get(reverse("dashboard:city")).content.decode()
    flows = _json_script(text, "sankey-data")
    assert flows, "the fixture city has confirmed deliveries"
    for flow in flows:
        assert set(flow) == {
            "sector",
            "material",
            "use",
            "tonnes",
            "kg_co2e",
            "tonnes_co2e_not_counted",
        }
    raw = json.dumps(flows, ensure_ascii=False)
    for secret in SECRETS:
        assert secret not in raw
    assert "price" not in raw.lower()
    # Against the raw weighbridge rows, not the dashboard's own roll-up.
    confirmed = Delivery.objects.filter(status=Delivery.Status.CONFIRMED)
    assert sum(f["tonnes"] for f in flows) == pytest.approx(float(sum(d.tonnes for d in confirmed)))
    sectors = dict(Organization.Sector.choices)
    assert {(f["sector"], f["material"]) for f in flows} == {
        (str(sectors[d.deal.supplier.sector]), d.deal.material.name_en) for d in confirmed
    }
    # Only the JS draws it: no server-side SVG of the flows besides the <noscript> table.
    assert 'id="sankey-chart"' in text
    assert '<noscript><table class="city-table" id="table-flows">' in text
    assert "city_sankey.js" in text
    assert 'class="sankey-link"' not in text


def _not_counted_by_flow() -> dict[tuple[str, str], float]:
    """(sector label, material) -> confirmed tonnes whose CO2e is not counted, from
    the raw rows and the deal page's own figure (marketplace.selectors)."""
    sectors = dict(Organization.Sector.choices)
    out: dict[tuple[str, str], float] = {}
    for d in Delivery.objects.filter(status=Delivery.Status.CONFIRMED):
        key = (str(sectors[d.deal.supplier.sector]), d.deal.material.name_en)
        counted = "fate" not in deal_impact(deal=d.deal).so_far.not_counted
        out[key] = out.get(key, 0.0) + (0.0 if counted else float(d.tonnes))
    return out


def test_a_flow_without_counted_co2e_says_not_counted(client, city, analyst):
    """Bread's fate has no factor: its flow carries its tonnes as not counted, and
    the <noscript> table says so beside the CO2e that is counted (its trucking)."""
    client.force_login(analyst)
    text = client.get(reverse("dashboard:city")).content.decode()
    expected = _not_counted_by_flow()
    assert sorted(expected.values()) == [0.0, 0.0, 5.0], "the fixture has one such flow"
    flows = _json_script(text, "sankey-data")
    assert {(f["sector"], f["material"]): f["tonnes_co2e_not_counted"] for f in flows} == (
        pytest.approx(expected)
    )
    # The script's wording comes from the page (translated), not from inline code.
    assert 'data-not-counted="current fate\'s CO2e not counted for {t} t"' in text
    table = re.search(r'<table class="city-table" id="table-flows">.*?</table>', text, re.S)
    rows = re.findall(
        r"<tr><td>(.*?)</td><td>(.*?)</td><td>.*?</td>"
        r'<td class="num">(.*?)</td><td class="num">(.*?)</td></tr>',
        table.group(0),
    )
    assert len(rows) == len(expected)
    for sector, material, tonnes, co2e in rows:
        not_counted = expected[(html.unescape(sector), html.unescape(material))]
        if not_counted:
            counted, said = html.unescape(co2e).split("; ")
            assert re.fullmatch(r"-?\d+", counted), co2e
            assert said == f"current fate's CO2e not counted for {not_counted:.1f} t"
            assert tonnes == f"{not_counted:.1f}"
        else:
            assert re.fullmatch(r"-?\d+", co2e), co2e


def test_not_counted_wording_is_russian_on_the_russian_page(client, city, analyst):
    client.force_login(analyst)
    text = client.get(reverse("dashboard:city"), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert 'data-not-counted="CO2-экв. текущего обращения не учитывается для {t} т"' in text
    # the <noscript> table
    assert "CO2-экв. текущего обращения не учитывается для 5,0 т" in text
    assert "Использование не указано" in text
    assert "CO2e not counted" not in text and "not counted" not in text


def test_sankey_is_not_loaded_without_flows(client, analyst):
    client.force_login(analyst)
    text = client.get(reverse("dashboard:city")).content.decode()
    assert 'id="sankey-empty"' in text
    assert 'id="sankey-data"' not in text
    assert "city_sankey.js" not in text


def test_filters_reach_the_page_and_the_export_links(client, city, analyst):
    client.force_login(analyst)
    text = client.get(reverse("dashboard:city"), {"district": "auezov"}).content.decode()
    assert figure(text, "tonnes-diverted") == "100.1 t"
    assert "district=auezov&amp;format=csv" in text


def test_json_export_matches_the_filters(client, city, analyst):
    client.force_login(analyst)
    url = reverse("api:city-table", args=["month"])
    data = json.loads(client.get(url, {"format": "json", "category": "minerals"}).content)
    assert data["filters"] == {"category": "minerals"}
    assert [(r["month"], r["tonnes"]) for r in data["rows"]] == [
        ("2026-02", 40.0),
        ("2026-03", 60.125),
    ]


def test_csv_export_neutralises_formulas(client, city, analyst):
    material = city.materials["slag"]
    material.name_en = '=HYPERLINK("http://evil","x")'
    material.save()
    client.force_login(analyst)
    response = client.get(reverse("api:city-table", args=["material"]), {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    names = {row["material"] for row in rows}
    assert '\'=HYPERLINK("http://evil","x")' in names
    assert not any(name.startswith(("=", "+", "-", "@")) for name in names)


# "-1" alone is a number and stays one (tests/dashboard/test_exports_csv.py).
@pytest.mark.parametrize("value", ["=1+1", "+1", "-1+1", "@SUM(A1)", "\tx"])
def test_neutralise(value):
    assert neutralise(value) == "'" + value
    assert neutralise("spent grain") == "spent grain"


def test_unknown_export_table_is_404(client, analyst):
    client.force_login(analyst)
    assert client.get(reverse("api:city-table", args=["prices"])).status_code == 404


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_query_count_does_not_grow_with_deliveries(
    client, city, analyst, django_assert_max_num_queries
):
    client.force_login(analyst)
    url = reverse("dashboard:city")
    client.get(url)  # rates and the monthly roll-up computed once
    cache.clear()  # the figures computed, not read from the cache
    small = _queries(client, url)
    for i in range(60):
        deliver(city.deals["grain"], date(2026, 4, 1 + i % 28), "1.5")
        deliver(city.deals["slag"], date(2026, 5, 1 + i % 28), "2.5")
    # The confirmations rebuilt their deals' roll-up rows: a read never rebuilds
    # (the deliveries gave the figures a new version: this view computes them).
    assert _queries(client, url) == small
    cache.clear()
    with django_assert_max_num_queries(25):
        client.get(url)


def test_cached_figures_show_a_new_confirmed_delivery_and_a_renamed_material_at_once(
    client, city, analyst
):
    """The page's figures are cached per data version: a second view runs none of
    the grouping queries, and a confirmed delivery, a confirmation of a logged
    one or a renamed material is on the very next view."""
    client.force_login(analyst)
    url = reverse("dashboard:city")
    first = _queries(client, url)
    text = client.get(url).content.decode()
    assert figure(text, "tonnes-moved") == "154.9 t"
    assert _queries(client, url) < first - 8, "the second view computed the figures again"

    deliver(city.deals["grain"], date(2026, 4, 2), "10")
    assert figure(client.get(url).content.decode(), "tonnes-moved") == "164.9 t"
    logged = deliver(city.deals["slag"], date(2026, 4, 3), "5", status="logged")
    assert figure(client.get(url).content.decode(), "tonnes-moved") == "164.9 t"
    logged.status = Delivery.Status.CONFIRMED
    logged.confirmed_at = timezone.now()
    logged.save()
    assert figure(client.get(url).content.decode(), "tonnes-moved") == "169.9 t"

    grain = city.deals["grain"].material
    grain.name_en = "Brewers' spent grain"
    grain.save()
    assert "Brewers&#x27; spent grain" in client.get(url).content.decode()


def test_methodology_lists_every_factor_with_source(client, city, analyst):
    client.force_login(analyst)
    text = client.get(reverse("dashboard:methodology")).content.decode()
    assert "city-test-1" in text
    assert "grain landfill source" in text
    assert "slag landfill source" in text
    assert "<td>Proxy</td>" in text  # the slag's, flagged as an estimate before tiers
    assert "test transport source" in text


def test_public_page_is_off_by_default(client, city):
    assert client.get(reverse("dashboard:public")).status_code == 404


def test_public_page_names_only_those_who_agreed(client, city, settings):
    settings.CITY_PUBLIC_PAGE = True
    response = client.get(reverse("dashboard:public"))
    assert response.status_code == 200
    text = response.content.decode()
    assert "Named Builder" in text
    for secret in SECRETS:
        assert secret not in text
    assert "Idle Co" not in text  # agreed, but has no confirmed delivery


def test_public_page_names_receivers_that_agreed_with_their_tonnes(client, city, settings):
    settings.CITY_PUBLIC_PAGE = True
    farm = Organization.objects.get(name="Private Farm")
    farm.agrees_to_be_named = True
    farm.save(update_fields=["agrees_to_be_named"])
    received_tonnes = sum(
        float(d.tonnes)
        for d in Delivery.objects.filter(deal__receiver=farm, status=Delivery.Status.CONFIRMED)
    )
    assert received_tonnes > 0
    text = client.get(reverse("dashboard:public")).content.decode()
    item = re.search(r'<li data-org="Private Farm">(.*?)</li>', text, re.S)
    assert item, text
    assert f"{received_tonnes:,.0f} t received" in item.group(1)
    assert "supplied" not in item.group(1)


def test_the_map_shows_the_largest_lines_and_says_how_many(client, city, analyst, monkeypatch):
    from dashboard import views

    client.force_login(analyst)
    text = client.get(reverse("dashboard:city")).content.decode()
    every = _json_script(text, "city-map-data")["lines"]
    assert len(every) == 3
    assert 'id="map-cap"' not in text

    monkeypatch.setattr(views, "MAP_LINES_MAX", 2)
    text = client.get(reverse("dashboard:city")).content.decode()
    shown = _json_script(text, "city-map-data")["lines"]
    assert [line["tonnes"] for line in shown] == sorted(
        (line["tonnes"] for line in every), reverse=True
    )[:2]
    assert "Showing the 2 largest of 3 exchanges" in text


def test_map_lines_are_labelled_in_russian_on_the_russian_page(client, city, analyst):
    client.force_login(analyst)
    text = client.get(reverse("dashboard:city"), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    lines = _json_script(text, "city-map-data")["lines"]
    assert lines
    for line in lines:
        # "Material: 1,234.5 т (Алмалинский → Турксибский)": the tonnes as before
        assert f": {line['tonnes']:,.1f} т (" in line["label"], line["label"]
        assert " → " in line["label"] and " t (" not in line["label"]


def test_tables_show_the_exported_rows(client, city, analyst):
    client.force_login(analyst)
    text = client.get(reverse("dashboard:city")).content.decode()
    url = reverse("api:city-table", args=["material"])
    rows = json.loads(client.get(url, {"format": "json"}).content)["rows"]
    table = re.search(r'<table class="city-table" id="table-material">(.*?)</table>', text, re.S)
    for row in rows:
        link = f"/city/methodology/?material={row['material_slug']}"
        cell = (
            f'<th scope="row"><a href="{link}">{row["material"]}</a></th><td>{row["category"]}</td>'
        )
        assert cell in table.group(1)


def _material_names_shown(text: str) -> dict[str, set[str]]:
    """The material names the city page shows: its material table, the Sankey's
    JSON and <noscript> table, and the map's line labels ("name: 12.0 t (...)")."""
    table = re.search(r'<table class="city-table" id="table-material">(.*?)</table>', text, re.S)
    flows = re.search(r'<table class="city-table" id="table-flows">(.*?)</table>', text, re.S)
    lines = _json_script(text, "city-map-data")["lines"]
    return {
        "table": {
            html.unescape(re.sub(r"<[^>]+>", "", n))
            for n in re.findall(r'<th scope="row">(.*?)</th>', table[1])
        },
        "sankey": {f["material"] for f in _json_script(text, "sankey-data")},
        "noscript": {
            html.unescape(n) for n in re.findall(r"<tr><td>.*?</td><td>(.*?)</td>", flows[1])
        },
        "map": {line["label"].split(": ")[0] for line in lines},
    }


def _exported_materials(client, language: str) -> dict[str, list]:
    """The material column and the columns of the material, flows and exchanges
    exports, JSON and CSV, asked for in ``language``."""
    out = {}
    for name in ("material", "flows", "exchanges"):
        url = reverse("api:city-table", args=[name])
        rows = json.loads(
            client.get(url, {"format": "json"}, HTTP_ACCEPT_LANGUAGE=language).content
        )["rows"]
        out[f"{name}.json"] = [(list(row), row["material"]) for row in rows]
        body = client.get(url, {"format": "csv"}, HTTP_ACCEPT_LANGUAGE=language).content
        rows = list(csv.DictReader(io.StringIO(body.decode())))
        out[f"{name}.csv"] = [(list(row), row["material"]) for row in rows]
    return out


def test_material_names_are_russian_on_the_russian_page_and_english_in_exports(
    client, city, analyst
):
    """The Russian page names a material in Russian where it has a Russian name,
    else in English (Material.name); the English page and every export keep name_en."""
    grain, bread = city.materials["grain"], city.materials["bread"]
    grain.name_ru = "Пивная дробина"
    grain.save(update_fields=["name_ru"])
    bread.name_ru = ""
    bread.save(update_fields=["name_ru"])
    delivered = {d.deal.material for d in Delivery.objects.filter(status=Delivery.Status.CONFIRMED)}
    english = {m.name_en for m in delivered}
    russian = {m.name_ru or m.name_en for m in delivered}
    assert {"Пивная дробина", "Old bread"} <= russian and "Spent grain" not in russian
    client.force_login(analyst)
    url = reverse("dashboard:city")

    exported_in_english = _exported_materials(client, "en")
    with CaptureQueriesContext(connection) as en_queries:
        text = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert _material_names_shown(text) == dict.fromkeys(
        ("table", "sankey", "noscript", "map"), english
    )
    assert "Пивная дробина" not in text

    with CaptureQueriesContext(connection) as ru_queries:
        text = client.get(url, HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert 'lang="ru"' in text
    assert _material_names_shown(text) == dict.fromkeys(
        ("table", "sankey", "noscript", "map"), russian
    )
    assert "Spent grain" not in text
    # The same queries in either language: the Russian name rides in the grouping query.
    assert len(ru_queries.captured_queries) == len(en_queries.captured_queries)

    exported_in_russian = _exported_materials(client, "ru")
    assert exported_in_russian == exported_in_english
    for rows in exported_in_russian.values():
        assert {material for _, material in rows} == english
