"""Every main page under the Content-Security-Policy, in a real browser.

The policy allows only our own files (plus map tile images), no inline script,
style or handler and no eval. A page that needs any of them breaks silently in
a browser: the browser refuses and says so only on the console. These tests
visit each page as the role that uses it, press the widgets that run our
JavaScript, and fail on any refusal: a ``securitypolicyviolation`` event, a
console message naming the Content Security Policy ("Refused to ..." in older
Chromium) or an uncaught EvalError.
"""

import re

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from optimizer import services as optimizer_services
from optimizer.models import MatchProposal
from symbiosis.demo import ANALYST_EMAIL, DEMO_PASSWORD, FACILITATOR_EMAIL
from symbiosis.models import Material, SupplyListing, User
from tests.demo_snapshot import load_demo
from tests.e2e.conftest import login, screenshot
from tests.e2e.test_dashboard import _confirmed_deal, _pairs

pytestmark = pytest.mark.e2e

BREWERY = "alatau-brewery@demo.kz"
# Playwright's init scripts run outside the page's policy: this one reports
# every refusal to the test, with the directive and the source line.
REPORT_VIOLATIONS = """
window.__cspCount = 0;
document.addEventListener("securitypolicyviolation", function (e) {
  window.__reportCsp(e.violatedDirective + " blocked " + (e.blockedURI || "inline") +
                     " at " + e.sourceFile + ":" + e.lineNumber);
  window.__cspCount += 1;
});
"""


class CspWatch:
    """Refusals on one page across navigations: violation events, console
    messages about the policy, and uncaught errors it caused (a refused eval
    throws in the page)."""

    def __init__(self, page):
        self.page = page
        self.refused: list[str] = []
        page.expose_function("__reportCsp", lambda text: self._add(f"event: {text}"))
        page.add_init_script(REPORT_VIOLATIONS)
        page.on("console", lambda message: self._check(f"console: {message.text}"))
        page.on("pageerror", lambda error: self._check(f"error: {error}"))

    def _add(self, text: str):
        self.refused.append(f"{self.page.url}: {text}")

    def _check(self, text: str):
        if "Content Security Policy" in text or "Refused to" in text or "EvalError" in text:
            self._add(text)

    def visit(self, path: str):
        response = self.page.goto(path)
        assert response.status == 200, (path, response.status)
        # Without the header the whole test would prove nothing.
        policy = response.headers.get("content-security-policy", "")
        assert "script-src 'self'" in policy, (path, policy)
        return response

    def refusals(self) -> list[str]:
        # Events still on their way from the browser arrive while Playwright waits.
        self.page.wait_for_load_state()
        return self.refused


def _open(browser, live_server, email, password=DEMO_PASSWORD):
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    context.set_default_timeout(15_000)
    page = context.new_page()
    watch = CspWatch(page)
    login(page, email, password)
    assert "/accounts/login/" not in page.url, f"{email} could not log in"
    return page, watch


def _leaflet_drawn(page, selector: str):
    expect(page.locator(f"{selector} .leaflet-map-pane")).to_have_count(1)
    expect(page.locator(f"{selector} .leaflet-control-zoom-in")).to_be_visible()


@pytest.mark.django_db
def test_pages_for_visitors_not_logged_in(page, settings):
    settings.CITY_PUBLIC_PAGE = True
    watch = CspWatch(page)
    for path in ("/", "/accounts/login/", "/accounts/signup/", "/accounts/password_reset/"):
        watch.visit(path)
    watch.visit("/city/public/")
    expect(page.get_by_test_id("tonnes-diverted")).to_be_visible()
    assert watch.refusals() == []


def test_the_watch_sees_a_refused_inline_style(page, live_server):
    # The check below must be able to fail: an inline style is refused and reported.
    watch = CspWatch(page)
    watch.visit("/accounts/login/")
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<p style=\"color: red\">x</p>')")
    # The report reaches the test before the page's count does.
    page.wait_for_function("window.__cspCount > 0")
    assert any("style-src" in r for r in watch.refusals())


@pytest.mark.django_db(transaction=True)
def test_company_pages_material_chooser_site_map_htmx_posts_and_api_docs(browser, live_server):
    load_demo()
    page, watch = _open(browser, live_server, BREWERY)
    expect(page.get_by_role("heading", name="My workspace")).to_be_visible()

    watch.visit("/market/")
    expect(page.locator("form.filters")).to_be_visible()

    # Material chooser: typed text narrows the list (an htmx GET), and Enter in
    # the search box is held back by static/js/chooser.js, not an inline handler.
    watch.visit("/listings/supply/new/")
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    spent_grain = Material.objects.get(slug="brewery-spent-grain")
    page.fill("#id_material_q", "дробина")
    page.press("#id_material_q", "Enter")
    expect(page.locator("#id_material")).to_have_value(str(spent_grain.pk))
    expect(page.locator("#listing-form .errorlist")).to_have_count(0)
    assert posts == [], "Enter in the search box submitted the listing form"

    # An htmx POST carries the CSRF token from <body hx-headers>: saved, not 403.
    before = SupplyListing.objects.count()
    page.fill("#id_quantity", "12")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Save listing").click()
    assert answer.value.status == 200, answer.value.status
    page.wait_for_url("**/#supply-*")
    assert SupplyListing.objects.count() == before + 1

    # Site form: Leaflet draws its panes and a click on the map fills the coordinates.
    watch.visit("/sites/new/")
    _leaflet_drawn(page, "#site-map")
    page.locator("#site-map").click(position={"x": 120, "y": 90})
    expect(page.locator("input[name=latitude]")).to_have_value(re.compile(r"^\d+\.\d{6}$"))

    watch.visit("/deals/")
    expect(page.locator("main h1")).to_be_visible()

    # Swagger UI (split view: its start-up script is a file) lists the operations.
    watch.visit("/api/docs/")
    # Generous: the schema is generated on request, on a busy 2-core machine.
    expect(page.locator(".opblock").first).to_be_visible(timeout=60_000)
    assert page.locator(".opblock").count() > 10
    screenshot(page, "csp-api-docs")

    assert watch.refusals() == []
    page.context.close()


@pytest.mark.django_db(transaction=True)
def test_review_city_dashboard_and_admin_pages(browser, live_server):
    load_demo()
    pairs = _pairs(2)
    deals = [
        _confirmed_deal(supply, demand, loads)
        for (supply, demand), loads in zip(pairs, [["12.5"], ["7.5", "3"]], strict=True)
    ]
    facilitator = User.objects.get(email=FACILITATOR_EMAIL)
    run = optimizer_services.run_create(user=facilitator, enqueue=False)
    optimizer_services.run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    proposal = MatchProposal.objects.filter(run=run, status="proposed").order_by("pk").first()
    assert proposal is not None

    # Facilitator: the run's map, and a proposal approved from its row (an htmx
    # POST with the CSRF header).
    page, watch = _open(browser, live_server, FACILITATOR_EMAIL)
    watch.visit(f"/review/runs/{run.pk}/")
    _leaflet_drawn(page, "#run-map")
    expect(page.locator("#run-map path.run-map-line")).to_have_count(run.proposals.count())
    # The one map left: a proposal chosen in its list fills the panel (an htmx GET).
    page.locator("#run-map-list li button").first.click()
    expect(page.locator("#proposal-detail [id$='-detail']")).to_have_count(1)
    assert page.locator(".leaflet-container").count() == 1
    row = page.locator(f"#proposal-{proposal.pk}")
    row.locator("summary").click()  # the row opens onto its decisions
    with page.expect_response(lambda r: f"/proposals/{proposal.pk}/decide/" in r.url) as answer:
        row.locator("button[value=approve]").click()
    assert answer.value.status == 200
    # Approving asks first (a confirmation naming the two companies), then decides.
    with page.expect_response(lambda r: f"/proposals/{proposal.pk}/decide/" in r.url) as answer:
        row.locator("form.confirm button[type=submit]").click()
    assert answer.value.status == 200
    proposal.refresh_from_db()
    assert proposal.status == "approved"
    watch.visit("/review/runs/")
    watch.visit(f"/deals/{deals[0].pk}/")
    expect(page.locator("main h1")).to_be_visible()
    assert watch.refusals() == []
    page.context.close()

    # City analyst: charts, the Sankey (server SVG or drawn by script) and the map.
    page, watch = _open(browser, live_server, ANALYST_EMAIL)
    watch.visit("/city/")
    # The Sankey: server SVG (svg#sankey) or drawn by script into #sankey-chart.
    page.wait_for_function("document.querySelector('svg#sankey path, #sankey-chart svg path')")
    expect(page.locator("#month-chart rect.bar")).not_to_have_count(0)
    _leaflet_drawn(page, "#city-map")
    expect(page.locator("#city-map path.exchange-line")).to_have_count(2)
    screenshot(page, "csp-city")
    watch.visit("/city/methodology/")
    assert watch.refusals() == []
    page.context.close()

    # Staff: Django's admin, its list, a change form with its widgets, and a search.
    admin = User.objects.create_superuser(email="root@example.kz", password="Admin-steppe-2027")
    admin.groups.add(Group.objects.get_or_create(name="facilitator")[0])
    page, watch = _open(browser, live_server, admin.email, "Admin-steppe-2027")
    watch.visit("/admin/")
    expect(page.locator("#site-name")).to_be_visible()
    watch.visit("/admin/symbiosis/supplylisting/")
    expect(page.locator("#result_list")).to_be_visible()
    listing = SupplyListing.objects.order_by("pk").first()
    watch.visit(f"/admin/symbiosis/supplylisting/{listing.pk}/change/")
    expect(page.locator("input[name=_save]")).to_be_visible()
    watch.visit("/admin/symbiosis/user/add/")
    assert watch.refusals() == []
    page.context.close()
