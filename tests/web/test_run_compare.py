"""Comparing two runs: it opens on the last change and says how the runs' settings differ.

The market of tests/optimizer/conftest.py (grain, a biomass material: 100 t, two
demands) gives a run of two proposals.
"""

import re

import pytest
from django.urls import reverse

from optimizer import services
from optimizer.models import OptimizationRun
from tests.optimizer import conftest as optimizer_fixtures

pytestmark = pytest.mark.django_db

# The optimizer tests' market and its run (tests/optimizer/conftest.py).
market = optimizer_fixtures.market
succeeded_run = optimizer_fixtures.succeeded_run

URL = reverse("optimizer:run_compare")


def _run(user, **parameters) -> OptimizationRun:
    run = services.run_create(user=user, parameters=parameters, enqueue=False)
    services.run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    return run


def _get(client, user, params=None) -> str:
    client.force_login(user)
    response = client.get(URL, params or {})
    assert response.status_code == 200
    return response.content.decode()


def _selected(html: str, name: str) -> int | None:
    select = re.search(rf'<select name="{name}">(.*?)</select>', html, re.S).group(1)
    found = re.search(r'<option value="(\d+)" selected>', select)
    return int(found.group(1)) if found else None


def _text(html: str) -> str:
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    return re.sub(r" ([:;,.])", r"\1", text)


def test_it_opens_on_the_latest_run_against_the_one_before(client, facilitator, succeeded_run):
    second = _run(facilitator)
    third = _run(facilitator)
    html = _get(client, facilitator)
    assert (_selected(html, "a"), _selected(html, "b")) == (second.pk, third.pk)
    assert 'data-testid="compare-counts"' in html
    # Given only the later run, the one before it; never the same run twice.
    html = _get(client, facilitator, {"b": second.pk})
    assert (_selected(html, "a"), _selected(html, "b")) == (succeeded_run.pk, second.pk)


def test_the_same_run_twice_is_refused_in_words(client, facilitator, succeeded_run):
    html = _get(client, facilitator, {"a": succeeded_run.pk, "b": succeeded_run.pk})
    assert "the same run twice" in html
    assert 'data-testid="compare-counts"' not in html


def test_a_single_run_asks_for_another(client, facilitator, succeeded_run):
    html = _get(client, facilitator)
    assert "Only one run has finished" in html
    assert 'data-testid="compare-counts"' not in html


def test_an_unknown_run_is_named(client, facilitator, succeeded_run):
    html = _get(client, facilitator, {"a": 987654, "b": succeeded_run.pk})
    assert "Run 987654 has not finished successfully" in html


def test_it_says_how_the_settings_differ_and_what_was_out_of_reach(
    client, facilitator, succeeded_run
):
    minerals = _run(facilitator, categories=["minerals"], max_km_cap=20.0)
    html = _get(client, facilitator, {"a": succeeded_run.pk, "b": minerals.pk})
    differences = _text(re.search(r'data-testid="settings-differ">(.*?)</ul>', html, re.S)[1])
    assert (
        f"Material categories: run {succeeded_run.pk}: all; run {minerals.pk}: Minerals"
        in differences
    )
    assert f"Longest distance: run {succeeded_run.pk}: no cap; run {minerals.pk}: 20 km" in (
        differences
    )
    assert "Objective" not in differences
    warning = _text(re.search(r'data-testid="scope-warning">(.*?)</p>', html, re.S)[1])
    assert f"Run {minerals.pk}: minerals only, at most 20 km" in warning
    # Both grain proposals are gone: not turned down, out of the second run's reach.
    counts = _text(re.search(r'data-testid="compare-counts">(.*?)</p>', html, re.S)[1])
    assert "0 added, 2 removed" in counts
    assert f"Of the removed, 2 were out of run {minerals.pk}'s reach" in counts
    assert html.count("out of the other run") == 2


def test_same_settings_say_so(client, facilitator, succeeded_run):
    second = _run(facilitator)
    html = _get(client, facilitator, {"a": succeeded_run.pk, "b": second.pk})
    assert 'data-testid="settings-same"' in html and "scope-warning" not in html
    # Change words, not codes.
    assert "Material categories" in html and ">removed<" not in html


def test_changes_are_named_in_words(client, facilitator, succeeded_run, market):
    from optimizer import decisions

    _supply, (near, _far) = market
    proposal = succeeded_run.proposals.get(demand=near)
    decisions.proposal_forbid(user=facilitator, proposal=proposal, reason="no permit")
    second = _run(facilitator)
    html = _get(client, facilitator, {"a": succeeded_run.pk, "b": second.pk})
    rows = _text(re.search(r'<table id="compare-rows">(.*?)</table>', html, re.S)[1])
    assert "removed" in rows and "tonnes changed" in rows and "out of the other" not in rows


@pytest.mark.parametrize("role, status", [("anonymous", 302), ("company", 403), ("analyst", 403)])
def test_only_facilitators_compare(client, member_a, analyst, succeeded_run, role, status):
    user = {"anonymous": None, "company": member_a, "analyst": analyst}[role]
    if user:
        client.force_login(user)
    assert client.get(URL).status_code == status


def test_the_run_list_speaks_plain_words(client, facilitator, succeeded_run):
    _run(facilitator, categories=["biomass"], objective="tonnes_then_co2e")
    client.force_login(facilitator)
    html = client.get(reverse("optimizer:run_list")).content.decode()
    text = _text(html)
    assert "most CO2e saved" in text
    assert "most tonnes moved first, then most CO2e saved biomass only" in text
    assert "solved exactly" in text
    assert "(optimal)" not in text and "tonnes_then_co2e" not in text
