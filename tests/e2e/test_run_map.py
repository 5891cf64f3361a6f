"""The run page's summary and map, the run list and the comparison, in a browser.

The demo's run: the map draws a line per proposal coloured by material, and the
list beside it follows the map's view; at 375 px nothing scrolls sideways. No
script or style breaks the Content-Security-Policy (tests/e2e/test_csp.py).
"""

import pytest
from playwright.sync_api import expect

from optimizer import services as optimizer_services
from symbiosis.demo import ANALYST_EMAIL, DEMO_PASSWORD, FACILITATOR_EMAIL
from symbiosis.models import User
from tests.demo_snapshot import load_demo
from tests.e2e.conftest import login, screenshot
from tests.e2e.test_csp import CspWatch

pytestmark = pytest.mark.e2e
PASSWORD = DEMO_PASSWORD


def _run(**parameters):
    facilitator = User.objects.get(email=FACILITATOR_EMAIL)
    run = optimizer_services.run_create(user=facilitator, parameters=parameters, enqueue=False)
    optimizer_services.run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    return run


def _no_sideways_scroll(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], width


def _listed(page) -> int:
    return page.locator("#run-map-list li").count()


@pytest.mark.django_db(transaction=True)
def test_the_run_map_follows_its_list_and_the_pages_read_plainly(page, phone_page):
    load_demo()
    first = _run()
    run = _run(categories=["biomass"])
    proposals = run.proposals.count()
    assert proposals >= 3
    watch = CspWatch(page)
    login(page, FACILITATOR_EMAIL, PASSWORD)
    page.set_viewport_size({"width": 1366, "height": 900})

    watch.visit(f"/review/runs/{run.pk}/")
    map_ = page.locator("#run-map")
    expect(map_).to_have_attribute("data-ready", "true")
    expect(page.locator("#run-map path.run-map-line")).to_have_count(proposals)
    # Lines take their material's colour (the legend's swatches use the same ones).
    colours = page.eval_on_selector_all(
        "#run-map path.run-map-line",
        "paths => Array.from(new Set(paths.map(p => p.getAttribute('stroke'))))",
    )
    materials = run.proposals.values("material").distinct().count()
    # Twelve colours, then grey for the smaller materials.
    assert len(colours) == min(materials, 12) + (materials > 12)
    expect(page.get_by_test_id("run-map-count")).to_contain_text(f"of {proposals} proposals")
    everything = _listed(page)
    assert everything == min(proposals, 100)
    # The summary reads in words: what is avoided, what is substituted, the plan.
    expect(page.get_by_test_id("term-fate")).to_contain_text("Current fates' emissions avoided")
    expect(page.get_by_test_id("term-virgin")).to_contain_text("Virgin material replaced")
    expect(page.get_by_test_id("run-quality")).to_have_text("solved exactly")
    expect(page.get_by_test_id("run-scope")).to_have_text("biomass only")
    screenshot(page, "run-summary-map-1366")

    # Zoomed in on one line's middle, the list holds fewer proposals, that one among them.
    line = page.locator("#run-map path.run-map-line").first
    line.click(force=True)
    active = page.locator("#run-map-list li.active")
    expect(active).to_have_count(1)
    for _ in range(4):
        page.locator("#run-map .leaflet-control-zoom-in").click()
        page.wait_for_timeout(350)
    expect(page.get_by_test_id("run-map-count")).not_to_contain_text(f"{proposals} of {proposals}")
    assert _listed(page) < everything
    # A click in the list highlights its line, and the side panel shows its breakdown.
    item = page.locator("#run-map-list li").first
    chosen = item.get_attribute("data-id")
    item.locator("button").click()
    expect(page.locator("#run-map-list li.active")).to_have_attribute("data-id", chosen)
    expect(page.locator(f"#proposal-detail #proposal-{chosen}-detail")).to_be_visible()

    watch.visit("/review/runs/")
    expect(page.locator("#run-list")).to_contain_text("biomass only")
    screenshot(page, "run-list-1366")
    watch.visit(f"/review/runs/compare/?a={first.pk}&b={run.pk}")
    expect(page.get_by_test_id("settings-differ")).to_contain_text("Material categories")
    expect(page.get_by_test_id("scope-warning")).to_be_visible()
    screenshot(page, "run-compare-1366")
    assert watch.refusals() == []

    # A phone: the same pages, one column, nothing sideways.
    login(phone_page, FACILITATOR_EMAIL, PASSWORD)
    phone_page.goto(f"/review/runs/{run.pk}/")
    expect(phone_page.locator("#run-map")).to_have_attribute("data-ready", "true")
    expect(phone_page.locator("#run-map-list li").first).to_be_visible()
    _no_sideways_scroll(phone_page)
    screenshot(phone_page, "run-summary-map-375")
    phone_page.goto("/review/runs/")
    _no_sideways_scroll(phone_page)
    screenshot(phone_page, "run-list-375")
    phone_page.goto("/review/runs/compare/")
    expect(phone_page.get_by_test_id("compare-counts")).to_be_visible()
    _no_sideways_scroll(phone_page)
    screenshot(phone_page, "run-compare-375")


@pytest.mark.django_db(transaction=True)
def test_the_analyst_map_shows_areas_without_names(page):
    load_demo()
    run = _run()
    login(page, ANALYST_EMAIL, PASSWORD)
    page.goto(f"/review/runs/{run.pk}/")
    expect(page.locator("#run-map")).to_have_attribute("data-ready", "true")
    first = page.locator("#run-map-list li").first
    expect(first).to_contain_text("an area of")
    proposal = run.proposals.select_related("supply__organization").first()
    expect(page.locator("#run-map-section")).not_to_contain_text(proposal.supply.organization.name)
