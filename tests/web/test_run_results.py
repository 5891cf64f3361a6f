"""The facilitator's run results table (issue 17): one line per proposal with its
number, sort / filter / pages kept in the URL and checked, bulk decisions, pin
and forbid that say what the next run does, and an approval that asks first."""

import json
import re

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from optimizer.bench_pages import build_run
from optimizer.models import AuditEntry, MatchProposal, PairRule
from tests import factories

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
ROW_ID = re.compile(r'<details id="proposal-(\d+)"')


@pytest.fixture
def run(facilitator):
    """120 proposals (three pages of 50) between 11 suppliers and 11 receivers."""
    return build_run(n_proposals=120, user=facilitator)


@pytest.fixture
def fclient(client, facilitator):
    client.force_login(facilitator)
    return client


def _url(run, **params):
    url = reverse("optimizer:run_detail", args=[run.pk])
    if params:
        url += "?" + "&".join(f"{k}={v}" for k, v in params.items())
    return url


def _ids(html):
    return [int(i) for i in ROW_ID.findall(html)]


def _row(html, pk):
    return html.split(f'<details id="proposal-{pk}"')[1].split("</details>")[0]


def _summary(html, pk):
    return _row(html, pk).split("</summary>")[0]


def _panel(client, html, pk):
    """A row's panel as htmx fetches it when the row opens (its hx-get URL)."""
    url = re.search(r'hx-get="([^"]*)"', _row(html, pk)).group(1).replace("&amp;", "&")
    response = client.get(url, **HTMX)
    assert response.status_code == 200
    return response.content.decode()


def _problems(html):
    found = re.search(r'data-testid="results-problems">(.*?)</div>', html, re.S)
    return found.group(1) if found else ""


def _open(run, **filters):
    return MatchProposal.objects.filter(run=run, status="proposed", **filters).order_by("pk")


# --- who may see and do what ---------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "page", "decide", "confirm"),
    [
        ("anonymous", 302, 302, 302),
        ("company", 403, 403, 403),
        ("analyst", 200, 403, 403),
        ("facilitator", 200, 200, 200),
    ],
)
def test_who_sees_the_table_and_who_is_asked_to_confirm(
    client, run, facilitator, analyst, member_a, role, page, decide, confirm
):
    user = {"anonymous": None, "company": member_a, "analyst": analyst}.get(role, facilitator)
    if user:
        client.force_login(user)
    proposal = _open(run).first()
    response = client.get(_url(run, sort="tonnes"))
    assert response.status_code == page
    shown = response.status_code == 200 and 'id="proposal-table"' in response.content.decode()
    assert shown is (role == "facilitator")
    decide_url = reverse("optimizer:proposal_decide", args=[proposal.pk])
    asked = client.post(decide_url, {"action": "approve"}, **HTMX)
    assert asked.status_code == decide
    bulk = reverse("optimizer:proposals_bulk", args=[run.pk])
    answer = client.post(bulk, {"action": "approve", "ids": [proposal.pk]})
    assert answer.status_code == confirm
    assert MatchProposal.objects.get(pk=proposal.pk).status == "proposed"


# --- the compact table -------------------------------------------------------------------


def test_each_row_is_one_line_with_the_proposals_number_and_figures(fclient, run):
    html = fclient.get(_url(run)).content.decode()
    ids = _ids(html)
    assert len(ids) == 50
    p = MatchProposal.objects.select_related(
        "material", "supply__organization", "demand__organization"
    ).get(pk=ids[0])
    line = _summary(html, p.pk)
    # The number the audit log uses, both parties, material, tonnes, km, CO2e, status.
    assert f'<span class="rt-id">#{p.pk}</span>' in line
    assert p.supply.organization.name in line and p.demand.organization.name in line
    assert p.material.name_en in line
    assert f"{p.tonnes:,.1f} <small>t</small>" in line
    assert f"{p.road_km:.1f} <small>km</small>" in line
    assert f"{p.net_kg_co2e_saved:,.0f} <small>kg CO2e</small>" in line
    assert 'data-testid="status"' in line
    # Details and decisions are in the row's panel, closed by default: fetched
    # when the row opens (htmx), or without script through the link that opens
    # the row on the page.
    assert "<details" in html and f'<details id="proposal-{p.pk}" class="proposal' in html
    assert f'id="proposal-{p.pk}" class="proposal status-{p.status}">' in html
    assert "Net saving" not in _row(html, p.pk)
    panel = _panel(fclient, html, p.pk)
    assert "Net saving" in panel and "kg CO2e saved per t" in panel
    link = re.search(r'<a href="([^"]*)" data-testid="panel-link">', _row(html, p.pk)).group(1)
    opened = fclient.get(link.replace("&amp;", "&")).content.decode()
    assert f'<details id="proposal-{p.pk}" class="proposal status-{p.status}" open>' in opened
    assert "Net saving" in _row(opened, p.pk)


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        ("id", lambda p: p.pk),
        ("tonnes", lambda p: p.tonnes),
        ("km", lambda p: p.road_km),
        ("co2e", lambda p: p.net_kg_co2e_saved),
        ("supplier", lambda p: p.supply.organization.name),
        ("receiver", lambda p: p.demand.organization.name),
        ("material", lambda p: p.material.name_en),
        ("status", lambda p: p.status),
    ],
)
def test_every_column_sorts_both_ways_on_the_server(fclient, run, sort, key):
    proposals = list(
        MatchProposal.objects.filter(run=run).select_related(
            "material", "supply__organization", "demand__organization"
        )
    )
    for direction in ("asc", "desc"):
        html = fclient.get(_url(run, sort=sort, dir=direction)).content.decode()
        # Ties are broken by the number, smallest first.
        ordered = sorted(proposals, key=lambda p: p.pk)
        ordered = sorted(ordered, key=key, reverse=direction == "desc")
        assert _ids(html) == [p.pk for p in ordered[:50]], (sort, direction)
        header = re.search(rf'<span class="rt-{sort}" aria-sort="(\w+)">', html)
        assert header and header.group(1) == f"{direction}ending"
        assert _problems(html) == ""


def test_the_default_order_is_most_co2e_saved_first(fclient, run):
    html = fclient.get(_url(run)).content.decode()
    best = MatchProposal.objects.filter(run=run).order_by("-net_kg_co2e_saved", "pk")
    assert _ids(html) == list(best.values_list("pk", flat=True)[:50])


def test_filters_by_material_status_district_and_minimum_tonnes(fclient, run):
    material = MatchProposal.objects.filter(run=run).first().material
    html = fclient.get(_url(run, material=material.slug)).content.decode()
    expected = MatchProposal.objects.filter(run=run, material=material)
    assert sorted(_ids(html)) == sorted(expected.values_list("pk", flat=True))
    assert f'<option value="{material.slug}" selected>' in html

    html = fclient.get(_url(run, status="rejected")).content.decode()
    rejected = MatchProposal.objects.filter(run=run, status="rejected")
    assert rejected.exists()
    assert sorted(_ids(html)) == sorted(rejected.values_list("pk", flat=True))

    # A district matches either end of the exchange.
    html = fclient.get(_url(run, district="medeu")).content.decode()
    either = [
        p.pk
        for p in MatchProposal.objects.filter(run=run).select_related(
            "supply__site", "demand__site"
        )
        if "medeu" in (p.supply.site.district, p.demand.site.district)
    ]
    assert either and sorted(_ids(html)) == sorted(either)

    html = fclient.get(_url(run, min_tonnes="400", status="proposed")).content.decode()
    big = MatchProposal.objects.filter(run=run, tonnes__gte=400, status="proposed")
    assert big.exists() and sorted(_ids(html)) == sorted(big.values_list("pk", flat=True))
    assert 'name="min_tonnes" type="number" min="0" step="any"' in html
    assert 'value="400"' in html
    count = re.search(r'data-testid="results-count">([^<]*)<', html).group(1)
    assert count.strip() == f"{big.count()} proposal" + ("s" if big.count() != 1 else "")


def test_pages_of_fifty_keep_sort_and_filters_in_their_links(fclient, run):
    html = fclient.get(_url(run, sort="tonnes", dir="asc", status="proposed")).content.decode()
    ordered = list(
        MatchProposal.objects.filter(run=run, status="proposed")
        .order_by("tonnes", "pk")
        .values_list("pk", flat=True)
    )
    assert len(ordered) > 50
    assert _ids(html) == ordered[:50]
    link = re.search(r'<a href="\?([^"]*)" rel="next">', html).group(1).replace("&amp;", "&")
    assert set(link.split("#")[0].split("&")) == {
        "sort=tonnes",
        "dir=asc",
        "status=proposed",
        "page=2",
    }
    second = fclient.get(_url(run) + "?" + link.split("#")[0]).content.decode()
    assert _ids(second) == ordered[50:100]
    # The column headers keep the filters too, and flip the current column.
    assert re.search(r'href="\?sort=tonnes&amp;dir=desc&amp;status=proposed#proposals"', html)


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"sort": "price"}, "Unknown sort column"),
        ({"dir": "sideways"}, "sort order"),
        ({"material": "unobtainium"}, "no proposal of the material"),
        ({"status": "maybe"}, "Unknown status"),
        ({"district": "mars"}, "Unknown district"),
        ({"min_tonnes": "-5"}, "minimum tonnes"),
        ({"min_tonnes": "many"}, "minimum tonnes"),
        ({"min_tonnes": "1e999"}, "minimum tonnes"),
        ({"min_tonnes": "nan"}, "minimum tonnes"),
        ({"page": "0"}, "whole number"),
        ({"page": "two"}, "whole number"),
        ({"page": "99"}, "only 3 pages"),
    ],
)
def test_a_bad_parameter_is_named_on_the_page_not_a_server_error(fclient, run, params, words):
    response = fclient.get(_url(run, **params))
    assert response.status_code == 200
    html = response.content.decode()
    assert words in _problems(html)
    assert len(_ids(html)) > 0  # the default for that parameter applies


def test_the_query_count_does_not_grow_with_the_rows_shown(fclient, run):
    fclient.get(_url(run))  # stores the listed tonnes, compiles the templates
    counts = {}
    for label, params in {"50 rows": {}, "a few": {"min_tonnes": "470"}}.items():
        with CaptureQueriesContext(connection) as queries:
            html = fclient.get(_url(run, **params)).content.decode()
        counts[label] = (len(queries), len(_ids(html)))
    assert counts["50 rows"][1] == 50 and 0 < counts["a few"][1] < 10
    assert counts["50 rows"][0] == counts["a few"][0], counts


def test_the_rows_panel_comes_on_demand_with_the_tables_parameters(fclient, run):
    """The page sends each row's summary line only; the panel (figures, terms,
    the decision form) is fetched when the row opens, and its form sends the
    table's parameters back so a decision returns to the same view."""
    html = fclient.get(_url(run, sort="km", status="proposed", page="2")).content.decode()
    p = _open(run).order_by("road_km", "pk")[50]
    assert _ids(html)[0] == p.pk
    row = _row(html, p.pk)
    assert 'name="reason"' not in row and 'hx-trigger="toggle once from:closest details"' in row
    panel = _panel(fclient, html, p.pk)
    assert f'action="{reverse("optimizer:proposal_decide", args=[p.pk])}"' in panel
    assert 'data-testid="terms"' in panel  # the draft deal an approval would open
    next_qs = re.search(r'name="next" value="([^"]*)"', panel).group(1).replace("&amp;", "&")
    assert set(next_qs.split("&")) == {"sort=km", "status=proposed", "page=2"}
    # Without script the row's link opens it on the page, parameters kept.
    link = re.search(r'<a href="([^"]*)" data-testid="panel-link">', row).group(1)
    assert set(link.split("?")[1].split("#")[0].split("&amp;")) == {
        "sort=km",
        "status=proposed",
        "page=2",
        f"open={p.pk}",
    }


@pytest.mark.parametrize(
    ("role", "status"),
    [("anonymous", 302), ("company", 403), ("analyst", 403), ("facilitator", 200)],
)
def test_only_facilitators_read_a_rows_panel(
    client, run, facilitator, analyst, member_a, role, status
):
    user = {"anonymous": None, "company": member_a, "analyst": analyst}.get(role, facilitator)
    if user:
        client.force_login(user)
    proposal = _open(run).select_related("supply__organization").first()
    response = client.get(reverse("optimizer:proposal_panel", args=[proposal.pk]), **HTMX)
    assert response.status_code == status
    assert (proposal.supply.organization.name in response.content.decode()) is (status == 200)


def test_a_panel_of_no_proposal_is_not_found(fclient, run):
    missing = MatchProposal.objects.order_by("-pk").first().pk + 1
    assert fclient.get(reverse("optimizer:proposal_panel", args=[missing])).status_code == 404


def test_the_map_shows_a_decision_and_a_renamed_company_at_once(fclient, run):
    """The run's map is cached per data version: a decision or an edited
    organization name is on the next page view, not after the cache expires."""

    def map_data(html):
        found = re.search(r'<script id="run-map-data" type="application/json">(.*?)</script>', html)
        return json.loads(found.group(1))

    proposal = _open(run).select_related("supply__organization").first()
    before = map_data(fclient.get(_url(run)).content.decode())
    line = next(line for line in before["lines"] if line[0] == proposal.pk)
    assert line[6] == "proposed"
    url = reverse("optimizer:proposal_decide", args=[proposal.pk])
    fclient.post(url, {"action": "reject", "reason": "too far"}, **HTMX)
    after = map_data(fclient.get(_url(run)).content.decode())
    assert next(line for line in after["lines"] if line[0] == proposal.pk)[6] == "rejected"
    organization = proposal.supply.organization
    organization.name = "Renamed Brewery LLP"
    organization.save()
    html = fclient.get(_url(run)).content.decode()
    assert any(
        site["label"].startswith("Renamed Brewery LLP: ") for site in map_data(html)["sites"]
    )


# --- decisions ---------------------------------------------------------------------------


def test_pin_marks_the_row_and_says_the_next_run_keeps_the_pair(fclient, run):
    proposal = _open(run).first()
    url = reverse("optimizer:proposal_decide", args=[proposal.pk])
    row = fclient.post(url, {"action": "pin", "next": "sort=km"}, **HTMX).content.decode()
    assert (
        f'<details id="proposal-{proposal.pk}" class="proposal status-proposed rule-pin" open>'
        in row
    )
    assert 'data-testid="rule"' in row and ">pinned<" in row
    note = re.search(r'data-testid="decision-note">([^<]*)<', row).group(1)
    assert "the next run will always include this pair" in note
    assert PairRule.objects.filter(kind="pin", supply=proposal.supply).exists()
    # The page shows the pin on the row from then on.
    html = fclient.get(_url(run, sort="id")).content.decode()
    assert ">pinned<" in _summary(html, proposal.pk)


def test_forbid_rejects_the_row_and_says_the_next_run_never_proposes_it(fclient, run):
    proposal = _open(run).first()
    url = reverse("optimizer:proposal_decide", args=[proposal.pk])
    row = fclient.post(url, {"action": "forbid", "reason": "no permit"}, **HTMX).content.decode()
    assert 'class="proposal status-rejected rule-forbid" open>' in row
    assert ">forbidden<" in row
    assert "the next run will never propose this pair" in row
    html = fclient.get(_url(run, sort="id")).content.decode()
    assert ">forbidden<" in _summary(html, proposal.pk)


def test_without_javascript_a_decision_comes_back_to_the_same_view_with_its_message(fclient, run):
    proposal = _open(run).first()
    url = reverse("optimizer:proposal_decide", args=[proposal.pk])
    answer = fclient.post(
        url, {"action": "pin", "next": "sort=km&dir=desc&status=proposed&evil=1&page=2"}
    )
    assert answer.status_code == 302
    location = answer["Location"]
    path, _, rest = location.partition("?")
    assert path == _url(run) and rest.endswith(f"#proposal-{proposal.pk}")
    assert set(rest.split("#")[0].split("&")) == {
        "sort=km",
        "dir=desc",
        "status=proposed",
        "page=2",
        f"open={proposal.pk}",
    }
    html = fclient.get(location).content.decode()
    assert f"#{proposal.pk}: Pinned: the next run will always include this pair" in html
    # Open by itself, when it is on the page shown.
    html = fclient.get(_url(run, sort="id", open=proposal.pk)).content.decode()
    assert (
        f'<details id="proposal-{proposal.pk}" class="proposal status-proposed rule-pin" open>'
        in html
    )


def test_approve_asks_first_naming_the_two_companies(
    fclient, run, django_capture_on_commit_callbacks
):
    proposal = _open(run).select_related("supply__organization", "demand__organization").first()
    supplier, receiver = proposal.supply.organization.name, proposal.demand.organization.name
    members = [
        factories.MembershipFactory(organization=org).user.email
        for org in (proposal.supply.organization, proposal.demand.organization)
    ]
    url = reverse("optimizer:proposal_decide", args=[proposal.pk])
    # Without JavaScript: a confirmation page.
    page = fclient.post(url, {"action": "approve", "reason": "good fit", "next": "sort=km"})
    assert page.status_code == 200
    html = page.content.decode()
    assert f"This introduces {supplier} and {receiver} to each other: both are e-mailed" in html
    assert 'name="confirmed" value="1"' in html and 'value="good fit"' in html
    # With htmx: the row, open, with the same question in place of the buttons.
    row = fclient.post(url, {"action": "approve"}, **HTMX).content.decode()
    assert 'data-testid="approve-confirm"' in row and supplier in row and receiver in row
    assert 'value="reject"' not in row
    proposal.refresh_from_db()
    assert proposal.status == "proposed" and not mail.outbox
    assert not AuditEntry.objects.filter(action="approved").exists()

    with django_capture_on_commit_callbacks(execute=True):
        row = fclient.post(url, {"action": "approve", "confirmed": "1"}, **HTMX)
    proposal.refresh_from_db()
    assert proposal.status == "approved"
    assert (
        f"Approved: {supplier} and {receiver} are introduced and e-mailed" in row.content.decode()
    )
    assert sorted(m.to[0] for m in mail.outbox) == sorted(members)


def test_bulk_approve_lists_every_pair_before_introducing_them(fclient, run):
    chosen = list(_open(run).select_related("supply__organization", "demand__organization")[:3])
    ids = [p.pk for p in chosen]
    bulk = reverse("optimizer:proposals_bulk", args=[run.pk])
    page = fclient.post(bulk, {"action": "approve", "ids": ids, "next": "status=proposed"})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="bulk-confirm"' in html
    for p in chosen:
        assert f"#{p.pk} · " in html
        assert p.supply.organization.name in html and p.demand.organization.name in html
    assert not MatchProposal.objects.filter(pk__in=ids, status="approved").exists()
    answer = fclient.post(bulk, {"action": "approve", "ids": ids, "confirmed": "1"})
    assert answer.status_code == 302
    assert MatchProposal.objects.filter(pk__in=ids, status="approved").count() == 3
    html = fclient.get(answer["Location"]).content.decode()
    assert "3 proposals updated." in html


def test_bulk_pin_and_reject_say_what_happened(fclient, run):
    chosen = list(_open(run).values_list("pk", flat=True)[:2])
    bulk = reverse("optimizer:proposals_bulk", args=[run.pk])
    answer = fclient.post(bulk, {"action": "pin", "ids": chosen, "next": "sort=id"})
    assert answer["Location"].startswith(_url(run) + "?sort=id")
    html = fclient.get(answer["Location"]).content.decode()
    outcome = re.search(r'data-testid="bulk-outcome">(.*?)</p>', html, re.S).group(1)
    assert "2 proposals updated. The next run will always include these pairs." in outcome
    answer = fclient.post(bulk, {"action": "reject", "ids": chosen, "reason": "too far"})
    assert MatchProposal.objects.filter(pk__in=chosen, status="rejected").count() == 2
    answer = fclient.post(bulk, {"action": "reject", "reason": "too far"})
    html = fclient.get(answer["Location"]).content.decode()
    assert "Select at least one proposal first." in html


def test_the_page_loads_its_keyboard_script_as_a_file(fclient, run):
    html = fclient.get(_url(run)).content.decode()
    assert '<script src="/static/optimizer/results_table.js" defer></script>' in html
    assert 'id="results-keys" hidden' in html  # shown by the script only


def test_a_party_hidden_by_the_visibility_rule_is_named_by_its_district(run, facilitator):
    from optimizer import selectors
    from symbiosis.visibility import Viewer

    proposal = MatchProposal.objects.filter(run=run).select_related(
        "supply__organization", "supply__site", "demand__organization", "demand__site"
    )[0]
    proposal.supply.visibility = "anonymous"
    outsider = Viewer(True, False, False, frozenset(), frozenset())
    district = proposal.supply.site.get_district_display()
    assert selectors.party_label(proposal.supply, outsider) == f"a supplier in {district}"
    # Public listings, and every listing for a facilitator, are named.
    assert selectors.party_label(proposal.demand, outsider) == proposal.demand.organization.name
    named = selectors.party_label(proposal.supply, selectors.as_viewer(facilitator))
    assert named == proposal.supply.organization.name
