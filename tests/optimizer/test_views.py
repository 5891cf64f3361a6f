"""Review pages: who may open what, and what the pages do with input."""

import json
import re

import pytest
from django.db.models import F
from django.urls import reverse

from optimizer.models import AuditEntry, OptimizationRun
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def users(facilitator, analyst, member_a):
    return {"anonymous": None, "company": member_a, "analyst": analyst, "facilitator": facilitator}


def _client(client, user):
    if user is not None:
        client.force_login(user)
    return client


def _urls(run, proposal):
    return {
        "run_list": (reverse("optimizer:run_list"), "GET"),
        "run_new": (reverse("optimizer:run_new"), "GET"),
        "run_detail": (reverse("optimizer:run_detail", args=[run.pk]), "GET"),
        "run_status": (reverse("optimizer:run_status", args=[run.pk]), "GET"),
        "run_cancel": (reverse("optimizer:run_cancel", args=[run.pk]), "POST"),
        "run_compare": (reverse("optimizer:run_compare"), "GET"),
        "proposals_bulk": (reverse("optimizer:proposals_bulk", args=[run.pk]), "POST"),
        "proposal_detail": (reverse("optimizer:proposal_detail", args=[proposal.pk]), "GET"),
        "proposal_panel": (reverse("optimizer:proposal_panel", args=[proposal.pk]), "GET"),
        "proposal_decide": (reverse("optimizer:proposal_decide", args=[proposal.pk]), "POST"),
        "my_proposals": (reverse("optimizer:my_proposals"), "GET"),
        "proposal_answer": (reverse("optimizer:proposal_answer", args=[proposal.pk]), "POST"),
        "listing_audit": (reverse("optimizer:listing_audit", args=["supply", 1]), "GET"),
        "listing_reach": (
            reverse("optimizer:listing_reach", args=["supply", proposal.supply_id]),
            "GET",
        ),
        "reach_counts": (reverse("optimizer:reach_counts"), "GET"),
    }


# Expected status per page and role; 302 for anonymous is the login redirect.
EXPECTED = {
    "run_list": {"anonymous": 302, "company": 403, "analyst": 200, "facilitator": 200},
    "run_new": {"anonymous": 302, "company": 403, "analyst": 403, "facilitator": 200},
    "run_detail": {"anonymous": 302, "company": 403, "analyst": 200, "facilitator": 200},
    "run_status": {"anonymous": 302, "company": 403, "analyst": 200, "facilitator": 200},
    "run_cancel": {"anonymous": 302, "company": 403, "analyst": 403, "facilitator": 302},
    "run_compare": {"anonymous": 302, "company": 403, "analyst": 403, "facilitator": 200},
    "proposals_bulk": {"anonymous": 302, "company": 403, "analyst": 403, "facilitator": 302},
    "proposal_detail": {"anonymous": 302, "company": 403, "analyst": 403, "facilitator": 200},
    "proposal_panel": {"anonymous": 302, "company": 403, "analyst": 403, "facilitator": 200},
    "proposal_decide": {"anonymous": 302, "company": 403, "analyst": 403, "facilitator": 302},
    "my_proposals": {"anonymous": 302, "company": 200, "analyst": 200, "facilitator": 200},
    # Not introduced: the proposal is not among the company's, so 404.
    "proposal_answer": {"anonymous": 302, "company": 404, "analyst": 404, "facilitator": 404},
    "listing_audit": {"anonymous": 302, "company": 403, "analyst": 403, "facilitator": 200},
    # Another company's listing: its matches are its owner's (tests/optimizer/test_reach_views).
    "listing_reach": {"anonymous": 302, "company": 404, "analyst": 403, "facilitator": 200},
    # The workspace's counts: members of an organization, of their own listings.
    "reach_counts": {"anonymous": 302, "company": 200, "analyst": 403, "facilitator": 403},
}


def test_every_review_url_is_in_the_table():
    from optimizer import urls

    assert {p.name for p in urls.urlpatterns} == set(EXPECTED)


@pytest.mark.parametrize("role", ["anonymous", "company", "analyst", "facilitator"])
def test_permission_matrix(client, users, succeeded_run, role):
    proposal = succeeded_run.proposals.first()
    client = _client(client, users[role])
    for name, (url, method) in _urls(succeeded_run, proposal).items():
        response = client.post(url) if method == "POST" else client.get(url)
        expected = EXPECTED[name][role]
        assert response.status_code == expected, (name, role, response.status_code)
        if expected == 302 and role == "anonymous":
            assert response["Location"].startswith("/accounts/login/")


def test_analyst_sees_run_totals_but_no_proposal(client, analyst, succeeded_run):
    body = _client(client, analyst).get(reverse("optimizer:run_detail", args=[succeeded_run.pk]))
    html = body.content.decode()
    assert 'data-testid="co2e-saved"' in html
    proposal = succeeded_run.proposals.first()
    assert proposal.supply.organization.name not in html
    assert 'id="proposal-table"' not in html


def test_results_page_lists_proposals_with_their_parties(client, facilitator, succeeded_run):
    html = (
        _client(client, facilitator)
        .get(reverse("optimizer:run_detail", args=[succeeded_run.pk]) + "?sort=tonnes")
        .content.decode()
    )
    for p in succeeded_run.proposals.all():
        assert f'id="proposal-{p.pk}"' in html
        assert p.demand.organization.name in html
    # One map (the run's map above the table), Leaflet loaded once, and the panel
    # its lines fill with a proposal's breakdown.
    assert 'id="run-map-data"' in html and 'id="run-map"' in html
    assert html.count("leaflet.js") == 1 and html.count("leaflet.css") == 1
    assert 'id="map"' not in html and 'id="map-data"' not in html
    assert "js/run_map.js" not in html
    panel = re.search(r'<aside id="proposal-detail".*?</aside>', html, re.S).group(0)
    assert "Click a line on the map to see its proposal's CO2e breakdown here." in panel
    assert "or a row" not in panel


def test_new_run_form_shows_errors_inline_and_stores_nothing(client, facilitator):
    client = _client(client, facilitator)
    response = client.post(
        reverse("optimizer:run_new"),
        {"objective": "co2e", "road_factor": "0.2"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="run-form"' in html and "errorlist" in html
    assert not OptimizationRun.objects.exists()


def test_new_run_form_starts_a_run(client, facilitator, market):
    client = _client(client, facilitator)
    response = client.post(
        reverse("optimizer:run_new"),
        {
            "objective": "tonnes_then_co2e",
            "landfill_weight_kg_co2e_per_t": "10",
            "road_factor": "1.3",
            "time_limit_s": "30",
            "categories": ["biomass"],
        },
    )
    run = OptimizationRun.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/runs/{run.pk}/")
    assert run.parameters["objective"] == "tonnes_then_co2e"
    assert run.parameters["categories"] == ["biomass"]
    assert AuditEntry.objects.filter(run=run, action="run_started", actor=facilitator).exists()


def test_status_partial_stops_polling_when_the_run_has_finished(client, facilitator, succeeded_run):
    client = _client(client, facilitator)
    url = reverse("optimizer:run_status", args=[succeeded_run.pk])
    assert client.get(url, HTTP_HX_REQUEST="true").status_code == 286
    queued = OptimizationRun.objects.create(created_by=facilitator)
    response = client.get(reverse("optimizer:run_status", args=[queued.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'hx-trigger="every 2s"' in response.content.decode()


def test_cancel_button_cancels_a_queued_run(client, facilitator):
    run = OptimizationRun.objects.create(created_by=facilitator)
    _client(client, facilitator).post(reverse("optimizer:run_cancel", args=[run.pk]))
    run.refresh_from_db()
    assert run.status == "cancelled"


def test_decide_by_htmx_returns_the_row_with_an_inline_error(client, facilitator, succeeded_run):
    proposal = succeeded_run.proposals.first()
    response = _client(client, facilitator).post(
        reverse("optimizer:proposal_decide", args=[proposal.pk]),
        {"action": "reject", "reason": ""},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="proposal-{proposal.pk}"' in html and 'role="alert"' in html
    proposal.refresh_from_db()
    assert proposal.status == "proposed"


def test_company_sees_and_answers_its_introduction(client, facilitator, succeeded_run, market):
    from optimizer import decisions

    supply, _ = market
    supplier = factories.MembershipFactory(organization=supply.organization).user
    proposal = succeeded_run.proposals.first()
    client = _client(client, supplier)
    assert (
        f'id="intro-{proposal.pk}"'
        not in client.get(reverse("optimizer:my_proposals")).content.decode()
    )
    decisions.proposal_approve(user=facilitator, proposal=proposal)
    assert (
        f'id="intro-{proposal.pk}"'
        in client.get(reverse("optimizer:my_proposals")).content.decode()
    )
    client.post(reverse("optimizer:proposal_answer", args=[proposal.pk]), {"answer": "accept"})
    proposal.refresh_from_db()
    assert proposal.supplier_answer == "accepted"


def test_other_company_never_sees_the_introduction(client, facilitator, succeeded_run, member_b):
    from optimizer import decisions

    proposal = succeeded_run.proposals.first()
    decisions.proposal_approve(user=facilitator, proposal=proposal)
    html = _client(client, member_b).get(reverse("optimizer:my_proposals")).content.decode()
    assert f'id="intro-{proposal.pk}"' not in html
    assert proposal.supply.organization.name not in html


def test_compare_shows_what_a_forbid_changed(client, facilitator, succeeded_run, market):
    from optimizer import decisions, services

    supply, (near, far) = market
    near_proposal = succeeded_run.proposals.get(demand=near)
    decisions.proposal_forbid(user=facilitator, proposal=near_proposal, reason="no permit")
    second = services.run_create(user=facilitator, enqueue=False)
    services.run_execute(run_id=second.pk)
    html = (
        _client(client, facilitator)
        .get(reverse("optimizer:run_compare"), {"a": succeeded_run.pk, "b": second.pk})
        .content.decode()
    )
    # Near pair removed; the far one grows from 40 t to 60 t.
    assert "1 added" not in html and "1 removed, 1 changed" in html
    assert 'class="change-removed"' in html and 'class="change-changed"' in html


def test_introduction_appears_on_both_companies_home_pages(
    client, facilitator, succeeded_run, market
):
    from optimizer import decisions

    supply, (near, _) = market
    proposal = succeeded_run.proposals.get(demand=near)
    supplier = factories.MembershipFactory(organization=supply.organization).user
    receiver = factories.MembershipFactory(organization=near.organization).user
    decisions.proposal_approve(user=facilitator, proposal=proposal)
    for user, other in ((supplier, near.organization), (receiver, supply.organization)):
        client.force_login(user)
        html = client.get("/").content.decode()
        assert f"#intro-{proposal.pk}" in html and other.name in html
        assert "is Draft" in html  # the draft deal waits for them too


def test_results_page_reads_the_listed_tonnes_once_from_the_snapshot(
    client, facilitator, succeeded_run
):
    listed_t = sum(s["tonnes"] for s in succeeded_run.input_snapshot["supplies"])
    assert listed_t > 0
    OptimizationRun.objects.filter(pk=succeeded_run.pk).update(input_supply_tonnes=None)
    url = reverse("optimizer:run_detail", args=[succeeded_run.pk])
    html = _client(client, facilitator).get(url).content.decode()
    assert f"of {listed_t:,.0f} t" in html
    succeeded_run.refresh_from_db()
    assert succeeded_run.input_supply_tonnes == pytest.approx(listed_t)
    # Later views read the stored figure, not the snapshot.
    OptimizationRun.objects.filter(pk=succeeded_run.pk).update(input_supply_tonnes=1234.0)
    assert "of 1,234 t" in client.get(url).content.decode()


def test_migration_backfills_the_listed_tonnes(succeeded_run):
    import importlib

    from django.apps import apps

    migration = importlib.import_module(
        "optimizer.migrations.0004_optimizationrun_input_supply_tonnes"
    )
    OptimizationRun.objects.filter(pk=succeeded_run.pk).update(input_supply_tonnes=None)
    migration.backfill(apps, None)
    succeeded_run.refresh_from_db()
    listed_t = sum(s["tonnes"] for s in succeeded_run.input_snapshot["supplies"])
    assert succeeded_run.input_supply_tonnes == pytest.approx(listed_t)


def test_results_rows_show_formatted_figures_without_a_query_per_row(
    client, facilitator, succeeded_run
):
    from django.contrib.humanize.templatetags.humanize import intcomma
    from django.db import connection
    from django.template.defaultfilters import floatformat
    from django.test.utils import CaptureQueriesContext

    proposals = list(succeeded_run.proposals.select_related("supply__organization"))
    assert len(proposals) >= 2
    answered = proposals[0]
    type(answered).objects.filter(pk=answered.pk).update(
        status="approved", supplier_answer="accepted"
    )
    url = reverse("optimizer:run_detail", args=[succeeded_run.pk])
    client = _client(client, facilitator)
    client.get(url)  # stores the listed tonnes
    counts = {}
    for status in ("approved", ""):
        with CaptureQueriesContext(connection) as queries:
            html = client.get(url, {"status": status} if status else {}).content.decode()
        counts[status] = len(queries)
    assert counts["approved"] == counts[""], "a row field read one query per row"
    panels = {}
    for p in proposals:
        p.refresh_from_db()
        row = _row(html, p)
        tonnes = intcomma(floatformat(p.tonnes, 1))
        assert f'<span class="num rt-tonnes">{tonnes} <small>' in row
        assert f'<span class="num rt-km">{floatformat(p.road_km, 1)} <small>' in row
        saved = intcomma(floatformat(p.net_kg_co2e_saved, 0))
        assert f'<span class="num rt-co2e">{saved} <small>' in row
        assert p.supply.organization.name in row
        # The rest is in the row's panel, fetched when the row opens.
        panel_url = reverse("optimizer:proposal_panel", args=[p.pk])
        panels[p.pk] = client.get(panel_url, HTTP_HX_REQUEST="true").content.decode()
        per_t = floatformat(p.net_kg_co2e_saved / p.tonnes, 0)
        assert f'<dd class="num-inline">{per_t}</dd>' in panels[p.pk]
    assert "Accepted" in panels[answered.pk] and "decide" not in panels[answered.pk]
    assert 'name="reason"' in panels[proposals[1].pk]


def test_map_lines_are_labelled_in_russian_on_the_russian_page(client, facilitator, succeeded_run):
    html = (
        _client(client, facilitator)
        .get(reverse("optimizer:run_detail", args=[succeeded_run.pk]), HTTP_ACCEPT_LANGUAGE="ru")
        .content.decode()
    )
    found = re.search(
        r'<script id="run-map-data" type="application/json">(.*?)</script>', html, re.S
    )
    data = json.loads(found.group(1))
    proposals = {p.pk: p for p in succeeded_run.proposals.select_related("material")}
    assert data["lines"] and len(data["lines"]) == len(proposals)
    names = {m["id"]: m["name"] for m in data["materials"]}
    # A line is [id, material, tonnes, road km, start, end]; its tooltip is written
    # by the script from the material's name and the page's unit words.
    for pk, material_id, tonnes, road_km, *_ends in data["lines"]:
        p = proposals[pk]
        assert material_id == p.material_id and names[material_id] == p.material.name_ru
        assert (tonnes, road_km) == (round(p.tonnes, 3), round(p.road_km, 1))
    assert 'data-text-t="т"' in html and 'data-text-km="км"' in html
    # The list beside the map (what shows without JavaScript), in Russian figures.
    for p in proposals.values():
        t, km = (f"{v:.1f}".replace(".", ",") for v in (p.tonnes, p.road_km))
        item = re.search(rf'<li data-id="{p.pk}">(.*?)</li>', html, re.S).group(1)
        assert f"{p.material.name_ru} · {t} т · {km} км" in item


# --- internal reuse ------------------------------------------------------------------


@pytest.fixture
def internal_run(facilitator, market):
    """A run asked for internal reuse, where the near demand is the supplier's own:
    60 t inside the supplier's organization, 40 t to the far demand's."""
    from optimizer import services

    supply, (near, far) = market
    near.organization, near.site.organization = supply.organization, supply.organization
    near.site.save()
    near.save()
    run = services.run_create(user=facilitator, parameters={"allow_internal": True}, enqueue=False)
    services.run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    return run


def _row(html, proposal):
    """One proposal of the results table: its <details> (summary line and panel)."""
    return html.split(f'id="proposal-{proposal.pk}"')[1].split("</details>")[0]


def test_the_run_form_offers_internal_reuse_off_by_default(client, facilitator, market):
    client = _client(client, facilitator)
    html = client.get(reverse("optimizer:run_new")).content.decode()
    box = re.search(r'<input type="checkbox" name="allow_internal"[^>]*>', html).group(0)
    assert "checked" not in box
    assert "Also propose internal reuse (exchanges within one organization)" in html
    ru = client.get(reverse("optimizer:run_new"), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Предлагать и внутреннее использование (обмены внутри одной организации)" in ru
    form = {"objective": "co2e", "landfill_weight_kg_co2e_per_t": "0", "road_factor": "1.3"}
    client.post(reverse("optimizer:run_new"), {**form, "time_limit_s": "30"})
    client.post(
        reverse("optimizer:run_new"), {**form, "time_limit_s": "30", "allow_internal": "on"}
    )
    first, second = OptimizationRun.objects.order_by("pk")
    assert first.parameters["allow_internal"] is False
    assert second.parameters["allow_internal"] is True


def test_the_run_page_marks_internal_reuse_and_counts_it_apart(client, facilitator, internal_run):
    internal = internal_run.proposals.get(supply__organization=F("demand__organization"))
    exchange = internal_run.proposals.exclude(pk=internal.pk).get()
    client = _client(client, facilitator)
    url = reverse("optimizer:run_detail", args=[internal_run.pk])
    html = client.get(url).content.decode()
    assert 'data-testid="internal"' in _row(html, internal)
    assert "internal reuse" in _row(html, internal)
    assert 'data-testid="internal"' not in _row(html, exchange)
    # The headline is the 40 t exchange; the 60 t of internal reuse are apart.
    moved = re.search(r'data-testid="tonnes-moved">([^<]*)<', html).group(1)
    assert moved.startswith("40 ")
    notice = re.search(r'data-testid="internal-totals">(.*?)</p>', html, re.S).group(1)
    assert "not counted above: 1 proposal, 60 t a year" in notice
    ru = client.get(url, HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "внутреннее использование" in _row(ru, internal)
    notice = re.search(r'data-testid="internal-totals">(.*?)</p>', ru, re.S).group(1)
    assert "не входит в итоги выше: 1 предложение, 60 т в год" in notice
    detail = client.get(reverse("optimizer:proposal_detail", args=[internal.pk]))
    assert 'data-testid="internal"' in detail.content.decode()
    detail = client.get(reverse("optimizer:proposal_detail", args=[exchange.pk]))
    assert 'data-testid="internal"' not in detail.content.decode()


def test_a_run_without_internal_reuse_shows_no_such_line(client, facilitator, succeeded_run):
    html = (
        _client(client, facilitator)
        .get(reverse("optimizer:run_detail", args=[succeeded_run.pk]))
        .content.decode()
    )
    assert "internal-totals" not in html and 'data-testid="internal"' not in html


def test_approving_internal_reuse_on_the_page_is_refused_inline(client, facilitator, internal_run):
    internal = internal_run.proposals.get(supply__organization=F("demand__organization"))
    client = _client(client, facilitator)
    response = client.post(
        reverse("optimizer:proposal_decide", args=[internal.pk]),
        {"action": "approve", "reason": ""},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    row = _row(response.content.decode(), internal)
    assert 'role="alert"' in row and "approving it would introduce nobody" in row
    internal.refresh_from_db()
    assert internal.status == "proposed"
    response = client.post(
        reverse("optimizer:proposal_decide", args=[internal.pk]),
        {"action": "approve", "reason": ""},
        HTTP_HX_REQUEST="true",
        HTTP_ACCEPT_LANGUAGE="ru",
    )
    assert "никого не знакомит" in _row(response.content.decode(), internal)
