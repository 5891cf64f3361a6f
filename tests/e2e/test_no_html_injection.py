"""Names that users type never become markup in the pages our scripts draw.

Issue 13, item 3: a company or site name with markup went into the run map's
tooltips as HTML (Leaflet takes a string tooltip as HTML); only the
Content-Security-Policy stopped its script. Here every name a map, chart,
tooltip or chooser shows (organizations, sites, materials, uses) carries an
``<img onerror>`` and a ``<b>``. The policy refuses the handler whatever the
page does, so the tests look at the DOM instead: an observer installed before
any script of the page records every IMG or B element built from a name, and
each tooltip must hold the markup as its text, with no element in it.
"""

from datetime import date

import pytest
from django.db.models import Value
from django.db.models.functions import Concat
from playwright.sync_api import expect

from optimizer import services as optimizer_services
from symbiosis.demo import ANALYST_EMAIL, DEMO_PASSWORD, FACILITATOR_EMAIL
from symbiosis.models import FactorSet, Material, Organization, Site, Use, User
from tests.dashboard.conftest import deliver, make_deal
from tests.demo_snapshot import load_demo
from tests.e2e.conftest import login, screenshot
from tests.e2e.test_dashboard import _pairs

pytestmark = pytest.mark.e2e

MARKUP = "<img src=x onerror=window.__xss=1> <b>bold</b>"
BREWERY = "alatau-brewery@demo.kz"

# Playwright's init scripts run before the page's own: every element added to
# the document from then on is checked for the IMG or B of a name.
WATCH_DOM = """
window.__injected = [];
new MutationObserver(function (records) {
  records.forEach(function (record) {
    record.addedNodes.forEach(function (node) {
      if (node.nodeType !== 1) return;
      var found = [node].concat(Array.prototype.slice.call(node.querySelectorAll("img, b")));
      found.forEach(function (el) {
        var tag = el.tagName.toLowerCase();
        if ((tag === "img" && el.getAttribute("src") === "x") ||
            (tag === "b" && el.textContent === "bold")) {
          window.__injected.push(el.outerHTML);
        }
      });
    });
  });
}).observe(document, { childList: true, subtree: true });
"""

# Each interactive shape of a map in turn: the pointer enters it (Leaflet opens
# its tooltip), the tooltip's text and element count are read, the pointer leaves.
HOVER_EACH = """
(selector) => Array.from(document.querySelectorAll(selector)).map((shape) => {
  const box = shape.getBoundingClientRect();
  const at = { bubbles: true, clientX: box.x + box.width / 2, clientY: box.y + box.height / 2 };
  shape.dispatchEvent(new MouseEvent("mouseover", at));
  const tips = document.querySelectorAll(".leaflet-tooltip-pane .leaflet-tooltip");
  const tip = tips[tips.length - 1];
  const seen = tip ? { text: tip.textContent, elements: tip.querySelectorAll("*").length } : null;
  shape.dispatchEvent(new MouseEvent("mouseout", at));
  return seen;
})
"""


def _names_with_markup() -> None:
    """Every name a map, chart, tooltip or chooser shows starts with MARKUP."""
    marked = Concat(Value(MARKUP + " "), "name")
    Organization.objects.update(name=marked, agrees_to_be_named=True)
    Site.objects.update(name=marked)
    for model in (Material, Use):
        model.objects.update(
            name_en=Concat(Value(MARKUP + " "), "name_en"),
            name_ru=Concat(Value(MARKUP + " "), "name_ru"),
        )


def _open(browser, live_server, email):
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.add_init_script(WATCH_DOM)
    login(page, email, DEMO_PASSWORD)
    assert "/accounts/login/" not in page.url, f"{email} could not log in"
    return page


def _tooltips_show_text(page, selector: str) -> list[str]:
    """Hovers every shape of ``selector``: each opens a tooltip that holds text
    only. Returns the tooltips' texts."""
    expect(page.locator(selector).first).to_be_attached()
    seen = page.evaluate(HOVER_EACH, selector)
    assert seen and None not in seen, f"a shape of {selector} opened no tooltip: {seen}"
    assert [s for s in seen if s["elements"]] == [], "a tooltip holds elements"
    return [s["text"] for s in seen]


def _nothing_injected(page) -> None:
    assert page.evaluate("window.__injected") == [], page.url
    assert page.evaluate("window.__xss") is None, page.url


@pytest.mark.django_db(transaction=True)
def test_run_map_city_map_sankey_and_public_page_show_names_as_text(browser, live_server, settings):
    load_demo()
    _names_with_markup()
    # Two confirmed exchanges (the deal and its loads as the dashboard's fixtures
    # make them: this test is about names, not the marketplace's rules).
    factor_set = FactorSet.objects.get(is_active=True)
    for supply, demand in _pairs(2):
        deal = make_deal(
            supply=supply, receiver_site=demand.site, demand=demand, factor_set=factor_set
        )
        deliver(deal, date(2026, 6, 1), "12.500")
    facilitator = User.objects.get(email=FACILITATOR_EMAIL)
    run = optimizer_services.run_create(user=facilitator, enqueue=False)
    optimizer_services.run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    assert run.proposals.exists()

    # Facilitator: the run map draws no site markers; each proposal line's tooltip
    # names its material and both ends ("#id material · t · km · status · org: site → org:
    # site"), and the list beside the map names the same, built by the script.
    page = _open(browser, live_server, FACILITATOR_EMAIL)
    page.goto(f"/review/runs/{run.pk}/")
    expect(page.locator("#run-map")).to_have_attribute("data-ready", "true")
    lines = _tooltips_show_text(page, "#run-map path.run-map-line")
    assert len(lines) == run.proposals.count()
    for text in lines:
        assert text.count(MARKUP) == 5, text
        material, _tonnes, _km, _status, ends = text.split(" · ")
        assert material.startswith("#") and material.split(" ", 1)[1].startswith(MARKUP), text
        for end in ends.split(" → "):  # "organization: site", as the old markers had it
            assert end.startswith(f"{MARKUP} ") and f": {MARKUP} " in end, text
    listed = page.locator("#run-map-list li")
    expect(listed.first).to_contain_text(f"{MARKUP} ")
    assert page.locator("#run-map-list img, #run-map-list b").count() == 0
    # A proposal chosen in the list (as a click on its line) puts its breakdown,
    # both companies named, in the panel below the map.
    first = listed.first.get_attribute("data-id")
    listed.first.locator("button").click()
    expect(page.locator(f"#proposal-detail #proposal-{first}-detail")).to_contain_text(MARKUP)
    screenshot(page, "no-html-injection-run-map")
    _nothing_injected(page)
    page.context.close()

    # City analyst: the map's exchange lines (material, districts) and the
    # Sankey's labels and tooltips (sector, material, use).
    page = _open(browser, live_server, ANALYST_EMAIL)
    page.goto("/city/")
    exchanges = _tooltips_show_text(page, "#city-map path.exchange-line")
    assert len(exchanges) == 2 and all(text.startswith(f"{MARKUP} ") for text in exchanges)
    page.wait_for_function("document.querySelector('#sankey-chart svg text.sankey-label')")
    titles = page.eval_on_selector_all("#sankey-chart title", "els => els.map(e => e.textContent)")
    assert sum(MARKUP in title for title in titles) >= 4, titles  # materials and uses
    labels = page.eval_on_selector_all(
        "#sankey-chart text.sankey-label", "els => els.map(e => e.textContent)"
    )
    assert any(label.startswith("<img src=x") for label in labels), labels
    assert page.locator("#sankey-chart svg *:not(svg, g, path, rect, text, title)").count() == 0
    screenshot(page, "no-html-injection-city")
    _nothing_injected(page)

    # The public page names the organizations that agreed (all of them here).
    settings.CITY_PUBLIC_PAGE = True
    page.goto("/city/public/")
    expect(page.locator("#named li").first).to_contain_text(MARKUP)
    _nothing_injected(page)
    page.context.close()


@pytest.mark.django_db(transaction=True)
def test_site_form_map_and_material_chooser_show_names_as_text(browser, live_server):
    load_demo()
    _names_with_markup()
    page = _open(browser, live_server, BREWERY)
    user = User.objects.get(email=BREWERY)
    site = Site.objects.filter(organization__memberships__user=user).order_by("pk").first()

    # The site form with its map, for a site whose name carries markup.
    page.goto(f"/sites/{site.pk}/edit/")
    expect(page.locator("#site-map.leaflet-container")).to_be_visible()
    expect(page.locator("#id_name")).to_have_value(site.name)
    _nothing_injected(page)

    # The material chooser: the options htmx swaps in name the materials as text.
    page.goto("/listings/supply/new/")
    with page.expect_response(lambda r: "/listings/materials/" in r.url):
        page.fill("#id_material_q", "bold")
    options = page.locator("#id_material option:not([value=''])")
    expect(options.first).to_contain_text(MARKUP)
    assert options.count() == Material.objects.count()
    assert page.locator("#id_material option b, #id_material option img").count() == 0
    _nothing_injected(page)
    page.context.close()
