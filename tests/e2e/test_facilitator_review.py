"""The demo facilitator runs the optimizer from the web and decides on proposals."""

import pytest
from playwright.sync_api import expect

from optimizer.models import MatchProposal, OptimizationRun, PairRule
from symbiosis.models import Membership
from tests.demo_snapshot import load_demo
from tests.e2e.conftest import login, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
PASSWORD = "almaty-demo-2027"


@pytest.fixture
def worker_queue(celery_worker_process):
    """Runs started by the live server go to the test's own worker."""
    from symbiosis.celery import app

    before = app.conf.task_default_queue
    app.conf.task_default_queue = celery_worker_process.queue
    yield celery_worker_process.queue
    app.conf.task_default_queue = before


def _start_run_and_wait(page) -> OptimizationRun:
    page.goto("/review/runs/new/")
    page.click("text=Start the run")
    page.wait_for_url("**/review/runs/*/")
    # Progress first, then the page reloads itself with the results.
    page.wait_for_selector("#proposal-table", timeout=120_000)
    return OptimizationRun.objects.latest("created_at")


def _row(page, proposal):
    return page.locator(f"#proposal-{proposal.pk}")


def _open_row(page, proposal):
    """A row of the results table opens onto its details and decisions."""
    row = _row(page, proposal)
    if row.get_attribute("open") is None:
        row.locator("summary").click()
    # The details load when the row opens (htmx): wait until they replaced the link.
    expect(row.locator("[data-testid=panel-link]")).to_have_count(0)
    return row


def _decide(page, proposal, action):
    """Click a decision and wait for its answer (htmx swaps the row in place);
    an approval asks first, naming the two companies, and is confirmed."""
    row = _open_row(page, proposal)
    with page.expect_response(lambda r: f"/proposals/{proposal.pk}/decide/" in r.url) as info:
        row.locator(f"button[value={action}]").click()
    assert info.value.status == 200
    if action == "approve":
        confirm = row.locator("[data-testid=approve-confirm]")
        assert proposal.supply.organization.name in confirm.inner_text()
        with page.expect_response(lambda r: f"/proposals/{proposal.pk}/decide/" in r.url) as info:
            confirm.locator("button[type=submit]").click()
        assert info.value.status == 200


def test_facilitator_reviews_a_run_and_introduces_companies(
    page, browser, live_server, worker_queue
):
    load_demo()
    login(page, "facilitator@demo.kz", PASSWORD)
    run = _start_run_and_wait(page)
    assert run.status == "succeeded"
    screenshot(page, "run-results")
    by_saving = list(
        run.proposals.select_related("supply__organization").order_by("-net_kg_co2e_saved")
    )
    assert len(by_saving) >= 3
    pinned, approved, forbidden = by_saving[0], by_saving[1], by_saving[2]

    # The row opens onto the breakdown, and shows the number the audit log uses.
    assert _row(page, pinned).locator(".rt-id").inner_text() == f"#{pinned.pk}"
    assert "Net saving" in _open_row(page, pinned).locator(".rt-panel").inner_text()

    _decide(page, pinned, "pin")
    # Pinning shows on the row, with what the next run will do.
    assert _row(page, pinned).locator("[data-testid=rule]").inner_text() == "pinned"
    assert "next run will always include this pair" in _row(page, pinned).inner_text()
    _decide(page, pinned, "approve")
    page.wait_for_selector(f"#proposal-{pinned.pk}.status-approved")
    _decide(page, approved, "approve")
    page.wait_for_selector(f"#proposal-{approved.pk}.status-approved")
    _open_row(page, forbidden).locator("input[name=reason]").fill("no waste permit for this route")
    _decide(page, forbidden, "forbid")
    page.wait_for_selector(f"#proposal-{forbidden.pk}.status-rejected")
    assert "next run will never propose this pair" in _row(page, forbidden).inner_text()
    screenshot(page, "run-decisions")

    assert MatchProposal.objects.get(pk=pinned.pk).status == "approved"
    assert PairRule.objects.filter(kind="pin", supply=pinned.supply, demand=pinned.demand).exists()
    assert PairRule.objects.filter(kind="forbid", supply=forbidden.supply).exists()

    # Both companies of an approved proposal see the introduction.
    for organization in (pinned.supply.organization, pinned.demand.organization):
        email = Membership.objects.filter(organization=organization).first().user.email
        context = browser.new_context(base_url=live_server.url)
        company = context.new_page()
        login(company, email, PASSWORD)
        company.goto("/review/proposals/mine/")
        assert company.locator(f"#intro-{pinned.pk}").is_visible()
        context.close()

    # A second run keeps the pin and never proposes the forbidden pair.
    second = _start_run_and_wait(page)
    pairs = {(p.supply_id, p.demand_id): p.tonnes for p in second.proposals.all()}
    assert pairs[(pinned.supply_id, pinned.demand_id)] == pytest.approx(pinned.tonnes)
    assert (forbidden.supply_id, forbidden.demand_id) not in pairs
