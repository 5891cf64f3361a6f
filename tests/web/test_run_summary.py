"""The run pages in plain words, the run summary taken apart, and the run's map.

The market of tests/optimizer/conftest.py: 100 t of grain whose current fate is
landfill (400 kg CO2e/t), 60 t wanted 11 km north and 60 t 33 km north, a
credit of 50 kg CO2e/t for the use, trucking at 0.1 kg CO2e/t-km.
"""

import json
import re
from html import unescape
from unittest import mock

import pytest
from django.urls import reverse

from optimizer import labels, pricing
from optimizer.models import OptimizationRun
from tests.optimizer import conftest as optimizer_fixtures

pytestmark = pytest.mark.django_db

# The optimizer tests' market and its run (tests/optimizer/conftest.py).
market = optimizer_fixtures.market
succeeded_run = optimizer_fixtures.succeeded_run


def _page(client, user, run, **headers) -> str:
    client.force_login(user)
    response = client.get(reverse("optimizer:run_detail", args=[run.pk]), **headers)
    assert response.status_code == 200
    return response.content.decode()


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def _term(html: str, key: str) -> str:
    return _text(re.search(rf'data-term="{key}".*?</tr>', html, re.S).group(0))


# --- code -> label table ------------------------------------------------------------------


def test_solver_codes_read_as_phrases():
    assert labels.solver_label("ortools-mcf") == "network flow solver"
    assert labels.solver_label("ortools-mcf+pulp-highs") == (
        "network flow solver and linear programming (HiGHS)"
    )
    assert labels.solver_label("") == ""


def test_the_plan_quality_says_exact_or_how_close():
    assert labels.quality_label("optimal", 0.0) == "solved exactly"
    assert labels.quality_label("optimal", None) == "solved exactly"
    assert labels.quality_label("feasible", 0.004) == "within 0.4 % of the best possible"
    assert labels.quality_label("time_limit", 0.0002) == (
        "within 0.02 % of the best possible (the time limit was reached)"
    )
    assert "unknown" in labels.quality_label("time_limit", None)


def test_stages_and_durations_in_words():
    assert labels.stage_label("done") == "finished"
    assert labels.stage_label("solving (2/5 components)") == "solving: part 2 of 5 done"
    assert labels.stage_label("solving 3 components in parallel") == (
        "solving 3 parts side by side"
    )
    assert labels.stage_label("solving (1/4 groups)") == "solving: 1 of 4 material groups done"
    assert labels.stage_label("solving 5 groups") == "solving 5 material groups side by side"
    assert labels.duration_text(12.34) == "12.3 s"
    assert labels.duration_text(95) == "1 min 35 s"


def test_a_runs_limits_read_as_phrases():
    phrases = labels.scope_phrases({"categories": ["biomass"], "max_km_cap": 50.0})
    assert phrases == ["biomass only", "at most 50 km"]
    assert labels.scope_phrases({}) == []


# --- the run page's summary ---------------------------------------------------------------


def test_the_summary_shows_what_is_avoided_and_what_is_substituted_apart(
    client, facilitator, succeeded_run
):
    html = _page(client, facilitator, succeeded_run)
    # 100 t leave landfill: 100 x 400 kg = 40 t avoided; 100 x 50 kg = 5 t of credits.
    assert re.search(r"Current fates' emissions avoided \+ 40 ", _term(html, "fate"))
    assert re.search(r"Virgin material replaced \(credits\) \+ 5 ", _term(html, "virgin"))
    # Trucking: 0.1 kg/t-km x (60 t x ~14.5 km + 40 t x ~43.4 km) = ~0.26 t.
    assert re.search(r"Trucking − 0 ", _term(html, "transport"))
    net = _text(re.search(r'data-testid="term-net">.*?</tr>', html, re.S).group(0))
    assert "Net saved = 45 " in net and "45 t from published factors" in net
    # Each term says what it rests on and links to the method.
    assert html.count('href="/city/methodology/#') >= 3
    # The baseline is the current fates' emissions: the proposals avoid all of it,
    # and the credits come on top (no "45 t saved against the baseline of 40 t").
    baseline = _text(re.search(r'data-testid="run-baseline">(.*?)</p>', html, re.S).group(1))
    assert "would emit 40 t CO2e a year; the proposals avoid 100.0 % of that" in baseline
    assert "saved against the baseline" not in html


def test_the_summary_speaks_plain_words_not_codes(client, facilitator, succeeded_run):
    html = _page(client, facilitator, succeeded_run)
    text = _text(html)
    assert "aims for: most CO2e saved" in text
    assert "Plan: solved exactly · solver: network flow solver" in text
    for code in ("ortools", "gap 0.0", "objective co2e", "· done", "From symbiosis/impact.py"):
        assert code not in text, code
    # The status card: how long the run took, in words and units.
    status = _text(re.search(r'<div id="run-status".*?</div>', html, re.S).group(0))
    assert re.search(r"Succeeded · solved exactly Took: \d+\.\d s", status), status


def test_the_russian_page_shows_no_codes_either(client, facilitator, succeeded_run):
    html = _page(client, facilitator, succeeded_run, HTTP_ACCEPT_LANGUAGE="ru")
    text = _text(html)
    for code in ("ortools-mcf", "co2e ·", "tonnes_then_co2e", "0.000000", " done"):
        assert code not in text, code


def test_the_status_partial_of_a_running_run_names_its_stage_in_words(client, facilitator):
    run = OptimizationRun.objects.create(
        created_by=facilitator, status="running", stage="solving (1/3 components)"
    )
    client.force_login(facilitator)
    html = client.get(reverse("optimizer:run_status", args=[run.pk])).content.decode()
    assert "solving: part 1 of 3 done" in html and "(1/3 components)" not in html


@pytest.mark.parametrize("time_limit_s", [None, 0.0])
def test_a_priced_run_says_how_it_proved_its_plan(client, facilitator, succeeded_run, time_limit_s):
    from optimizer.instance import Instance
    from optimizer.orchestrate import solve

    # The run's own snapshot priced for real (the first set cut to nothing but one
    # partner, so that rounds happen), its figures stored as run_finish stores them.
    instance = Instance.from_dict(succeeded_run.input_snapshot)
    with mock.patch.object(pricing, "K_NEAREST", 1), mock.patch.object(pricing, "ADD_PER_NODE", 1):
        solution = solve(instance, pricing="on", time_limit_s=time_limit_s)
    facts = solution.stats["pricing"]
    assert facts["used"] is True
    succeeded_run.stats = {**succeeded_run.stats, "pricing": facts}
    succeeded_run.save(update_fields=["stats"])
    html = _page(client, facilitator, succeeded_run)
    said = _text(re.search(r'data-testid="run-pricing">(.*?)</span>', html, re.S).group(1))
    rounds = facts["rounds"]
    assert f"{rounds} round{'s' if rounds > 1 else ''}" in said
    assert f"({facts['pairs_priced']} pairs tested)" in said
    if facts["proven"]:
        assert "it is the best over all of them" in said
    else:
        assert "before proving" in said and "the time limit" not in said.lower()
    html_ru = _page(client, facilitator, succeeded_run, HTTP_ACCEPT_LANGUAGE="ru")
    assert 'data-testid="run-pricing"' in html_ru and "pricing" not in _text(html_ru).lower()


def test_a_run_priced_in_parts_says_which_groups_were_listed(client, facilitator, succeeded_run):
    import numpy as np

    from optimizer.groups import material_groups
    from optimizer.instance import Instance
    from optimizer.orchestrate import solve, takes_a_time_share
    from tests.optimizer.test_groups import several_groups_doc

    doc = several_groups_doc(np.random.default_rng(4), 30, 30, 6)
    for d in doc["demands"]:  # lots in two of the three material groups
        if int(d["accepts"][0]["material"][1:]) // 2 < 2:
            d["min_lot_tonnes"] = 5.0
    instance = Instance.from_dict(doc)
    with_lots = sum(takes_a_time_share(g) for g in material_groups(instance))
    assert with_lots == 2
    facts = solve(instance, pricing="on").stats["pricing"]
    succeeded_run.stats = {**succeeded_run.stats, "pricing": facts}
    succeeded_run.save(update_fields=["stats"])
    said = _text(
        re.search(
            r'data-testid="run-pricing">(.*?)</span>',
            _page(client, facilitator, succeeded_run),
            re.S,
        ).group(1)
    )
    assert (
        "2 material groups with minimum lots or processing plants cannot be priced: "
        "all their pairs were listed." in said
    )


def test_an_enumerated_run_says_nothing_of_pricing(client, facilitator, succeeded_run):
    assert "pricing" not in (succeeded_run.stats or {})
    assert 'data-testid="run-pricing"' not in _page(client, facilitator, succeeded_run)


def test_the_analyst_sees_the_summary_too(client, analyst, succeeded_run):
    html = _page(client, analyst, succeeded_run)
    assert 'data-term="fate"' in html and 'data-term="virgin"' in html


# --- the run's map ------------------------------------------------------------------------


def _map_data(html: str) -> dict:
    found = re.search(r'<script id="run-map-data" type="application/json">(.*?)</script>', html)
    return json.loads(found.group(1))


def test_the_map_has_a_line_per_proposal_coloured_by_material(client, facilitator, succeeded_run):
    decided = succeeded_run.proposals.order_by("pk").first()
    succeeded_run.proposals.filter(pk=decided.pk).update(status="rejected")
    html = _page(client, facilitator, succeeded_run)
    data = _map_data(html)
    proposals = {p.pk: p for p in succeeded_run.proposals.all()}
    # A line is [id, material, tonnes, km, start, end, status]; the ends index the sites.
    assert {line[0] for line in data["lines"]} == set(proposals)
    # Its status, so a facilitator sees on the map what is still to decide.
    assert {line[0]: line[6] for line in data["lines"]} == {
        p.pk: p.status for p in proposals.values()
    }
    assert set(data["statuses"]) >= {p.status for p in proposals.values()}
    assert proposals[decided.pk].status == "rejected" and "· rejected<br>" in html
    # One material: one colour, in the legend with its swatch.
    assert [m["c"] for m in data["materials"]] == [0]
    assert 'class="run-swatch run-c0"' in html
    # The facilitator sees the sites themselves, named by their companies.
    supply = proposals[data["lines"][0][0]].supply
    end = data["sites"][data["lines"][0][4]]
    assert (end["lat"], end["lon"]) == (43.2, 76.9)
    assert end["label"].startswith(supply.organization.name)
    # Without JavaScript: the largest proposals listed beside the map, largest first.
    listed = re.findall(r'<li data-id="(\d+)">', html)
    by_tonnes = sorted(proposals.values(), key=lambda p: -p.tonnes)
    assert [int(i) for i in listed] == [p.pk for p in by_tonnes]
    assert "run_map.js" in html and "<noscript>" in html


def test_an_analyst_sees_areas_not_sites_nor_company_names(client, analyst, succeeded_run):
    html = _page(client, analyst, succeeded_run)
    data = _map_data(html)
    assert data["lines"]
    for end in data["sites"]:
        # Centres of the 0.05-degree grid cells (symbiosis.geo.coarse).
        assert round(end["lat"] * 1000) % 50 == 25 and round(end["lon"] * 1000) % 50 == 25
        assert end["label"].startswith("an area of")
    for p in succeeded_run.proposals.select_related("supply__organization", "supply__site"):
        assert p.supply.organization.name not in html
        assert p.supply.site.name not in html


@pytest.mark.parametrize("role, status", [("anonymous", 302), ("company", 403)])
def test_others_never_see_the_runs_map(client, member_a, succeeded_run, role, status):
    if role == "company":
        client.force_login(member_a)
    response = client.get(reverse("optimizer:run_detail", args=[succeeded_run.pk]))
    assert response.status_code == status
    assert b"run-map-data" not in response.content


def test_a_run_without_result_has_no_map(client, facilitator):
    run = OptimizationRun.objects.create(created_by=facilitator, status="failed", stage="failed")
    html = _page(client, facilitator, run)
    assert "run-map-data" not in html and 'data-term="fate"' not in html
    status = _text(re.search(r'<div id="run-status".*?</div>', html, re.S).group(0))
    assert status.strip() == "Failed", status
