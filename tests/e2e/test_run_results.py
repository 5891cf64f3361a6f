"""The facilitator's run results table in a real browser, at 1366 px and 375 px:
one line per proposal whose details load when it opens, keyboard navigation,
sort and filter in the URL, pin with its message, approval that asks first, and
the same without JavaScript."""

import re

import pytest
from playwright.sync_api import expect

from optimizer.bench_pages import build_run
from optimizer.models import MatchProposal
from tests.e2e.conftest import login, screenshot
from tests.e2e.test_csp import CspWatch

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct-horse-9"  # tests.factories.UserFactory's


@pytest.fixture
def run(facilitator):
    return build_run(n_proposals=120, user=facilitator)


def _summary(page, proposal):
    return page.locator(f"#proposal-{proposal.pk} > summary")


def _focused_row(page):
    return page.evaluate(
        "() => { const d = document.activeElement.closest('details.proposal');"
        " return d ? Number(d.id.split('-')[1]) : null; }"
    )


def test_the_table_at_1366_px_keyboard_sort_filter_pin_and_approve(page, facilitator, run):
    page.set_viewport_size({"width": 1366, "height": 900})
    watch = CspWatch(page)
    login(page, facilitator.email, PASSWORD)
    watch.visit(f"/review/runs/{run.pk}/")
    rows = page.locator("#proposal-table details.proposal")
    expect(rows).to_have_count(50)
    # One line per proposal: a row is about one line of text high.
    heights = [rows.nth(i).locator("summary").bounding_box()["height"] for i in range(5)]
    assert max(heights) < 40, heights
    first = MatchProposal.objects.filter(run=run).order_by("-net_kg_co2e_saved", "pk")[:3]
    first = list(first)
    expect(_summary(page, first[0]).locator(".rt-id")).to_have_text(f"#{first[0].pk}")
    expect(page.locator("#results-keys")).to_be_visible()  # the script runs
    page.locator("#proposal-table").scroll_into_view_if_needed()
    screenshot(page, "run-results-1366")

    # Keyboard: j / k move between rows, Enter opens one, x selects it.
    page.locator("h1").click()
    page.keyboard.press("j")
    assert _focused_row(page) == first[0].pk
    page.keyboard.press("j")
    page.keyboard.press("ArrowDown")
    assert _focused_row(page) == first[2].pk
    page.keyboard.press("k")
    assert _focused_row(page) == first[1].pk
    page.keyboard.press("Enter")
    expect(page.locator(f"#proposal-{first[1].pk}")).to_have_attribute("open", "")
    expect(page.locator(f"#proposal-{first[1].pk} .rt-panel")).to_contain_text("Net saving")
    page.keyboard.press("x")
    expect(page.locator(f"#proposal-{first[1].pk} input[name=ids]")).to_be_checked()

    # Pin: the row shows it and says what the next run will do.
    opened = page.locator(f"#proposal-{first[1].pk}")
    if first[1].status == "proposed":
        with page.expect_response(lambda r: "/decide/" in r.url):
            opened.locator("button[value=pin]").click()
        expect(opened.locator("[data-testid=rule]")).to_have_text("pinned")
        expect(opened.locator("[data-testid=decision-note]")).to_contain_text(
            "the next run will always include this pair"
        )
        screenshot(page, "run-results-pinned-1366")

    # Approve asks first, naming the two companies.
    proposal = (
        MatchProposal.objects.filter(run=run, status="proposed")
        .select_related("supply__organization", "demand__organization")
        .exclude(pk=first[1].pk)
        .order_by("-net_kg_co2e_saved", "pk")
        .first()
    )
    row = page.locator(f"#proposal-{proposal.pk}")
    row.locator("summary").click()
    with page.expect_response(lambda r: "/decide/" in r.url):
        row.locator("button[value=approve]").click()
    confirm = row.locator("[data-testid=approve-confirm]")
    expect(confirm).to_contain_text(proposal.supply.organization.name)
    expect(confirm).to_contain_text(proposal.demand.organization.name)
    expect(confirm.locator("button[type=submit]")).to_be_focused()
    screenshot(page, "run-results-confirm-1366")
    with page.expect_response(lambda r: "/decide/" in r.url):
        confirm.locator("button[type=submit]").click()
    expect(row.locator("[data-testid=status]")).to_have_text("approved")
    proposal.refresh_from_db()
    assert proposal.status == "approved"

    # Bulk: two rows ticked, "Approve selected…" lists both pairs before it acts.
    pair = list(
        MatchProposal.objects.filter(run=run, status="proposed")
        .select_related("supply__organization", "demand__organization")
        .order_by("-net_kg_co2e_saved", "pk")[:2]
    )
    for p in pair:
        page.locator(f"#proposal-{p.pk} input[name=ids]").check()
    page.get_by_role("button", name="Approve selected…").click()
    confirm = page.locator("[data-testid=bulk-confirm]")
    for p in pair:
        expect(confirm).to_contain_text(f"#{p.pk}")
        expect(confirm).to_contain_text(p.demand.organization.name)
    screenshot(page, "run-results-bulk-confirm-1366")
    confirm.get_by_role("button", name="Approve and introduce").click()
    expect(page.locator("[data-testid=bulk-outcome]")).to_contain_text("2 proposals updated.")
    assert MatchProposal.objects.filter(pk__in=[p.pk for p in pair], status="approved").count() == 2

    # Sort by a column header, then filter: both stay in the URL.
    page.locator("#proposal-table .rt-head").get_by_role("link", name="Tonnes").click()
    page.wait_for_url(re.compile(r"sort=tonnes"))
    page.select_option("select[name=status]", "proposed")
    page.fill("input[name=min_tonnes]", "100")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"status=proposed"))
    assert "sort=tonnes" in page.url and "min_tonnes=100" in page.url
    shown = [
        float(t.split()[0].replace(",", "")) for t in rows.locator(".rt-tonnes").all_inner_texts()
    ]
    assert shown and shown == sorted(shown, reverse=True) and min(shown) >= 100
    # "Select every proposal on this page" (shown by the script) ticks each row.
    page.locator("#select-page").check()
    expect(rows.locator("input[name=ids]:checked")).to_have_count(rows.count())
    assert watch.refusals() == []


def test_the_table_on_a_375_px_phone_has_no_sideways_scroll(phone_page, facilitator, run):
    page = phone_page
    login(page, facilitator.email, PASSWORD)
    page.goto(f"/review/runs/{run.pk}/")
    expect(page.locator("#proposal-table details.proposal")).to_have_count(50)
    first = MatchProposal.objects.filter(run=run).order_by("-net_kg_co2e_saved", "pk").first()
    _summary(page, first).click()
    expect(page.locator(f"#proposal-{first.pk} .rt-panel")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, width
    page.locator(f"#proposal-{first.pk}").scroll_into_view_if_needed()
    screenshot(page, "run-results-375")


def test_without_javascript_rows_open_and_approval_asks_on_its_own_page(
    browser, live_server, facilitator, run
):
    context = browser.new_context(
        base_url=live_server.url, locale="en-US", java_script_enabled=False
    )
    page = context.new_page()
    login(page, facilitator.email, PASSWORD)
    page.goto(f"/review/runs/{run.pk}/?status=proposed")
    proposal = (
        MatchProposal.objects.filter(run=run, status="proposed")
        .select_related("supply__organization", "demand__organization")
        .order_by("-net_kg_co2e_saved", "pk")
        .first()
    )
    row = page.locator(f"#proposal-{proposal.pk}")
    row.locator("summary").click()  # a <details>: opens without script
    # Its details come with the page when the row is open: the link opens it there.
    row.locator("[data-testid=panel-link]").click()
    page.wait_for_url(re.compile(rf"status=proposed.*open={proposal.pk}"))
    expect(row).to_have_attribute("open", "")
    row.locator("button[value=approve]").click()
    page.wait_for_load_state()
    expect(page.locator("h1")).to_have_text(f"Approve proposal #{proposal.pk}")
    expect(page.locator("[data-testid=approve-confirm]")).to_contain_text(
        proposal.demand.organization.name
    )
    page.locator("[data-testid=approve-confirm] button[type=submit]").click()
    page.wait_for_url(re.compile(rf"status=proposed.*open={proposal.pk}"))
    expect(page.locator(".messages")).to_contain_text(f"#{proposal.pk}: Approved")
    proposal.refresh_from_db()
    assert proposal.status == "approved"
    context.close()
