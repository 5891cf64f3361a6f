"""The company journey of issue 15, through the pages only, in three browsers: a
facilitator runs the optimizer and approves one proposal; the two companies find the
introduction in their menu and accept it; the receiver (on a 375 px phone) opens the
deal and sends the proposed terms; the supplier (switched to Russian with the РУС button)
accepts them, starts deliveries from today and logs a load from its weighbridge ticket;
the receiver confirms it from the notification and opens the transfer note; the city's
confirmed tonnes grow by exactly that load.

After the demo is loaded nothing is written to the database except through the pages;
the ORM is only read, to name the proposal to approve and to check what the pages did.
"""

import re
from decimal import Decimal

import pytest
from django.utils import timezone
from django.utils.formats import date_format
from playwright.sync_api import expect

from marketplace.models import Deal, Delivery
from optimizer.models import MatchProposal, OptimizationRun
from symbiosis.demo import DEMO_PASSWORD, organization_email
from tests.demo_snapshot import load_demo
from tests.e2e.conftest import _page_in_new_context, login, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Old bread back to the brewery as a malt substitute (a named exchange of the Almaty
# analysis): year round, between two named companies, and additional (the bread goes to
# the landfill today; the breweries' spent grain is fodder already, so no run moves it).
SUPPLIER, RECEIVER = "almaty-bread-combine", "alatau-brewery"
PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True}
TICKET = "WB-7731"
GROSS, TARE = Decimal("31.4"), Decimal("12.9")  # 18.5 t net, one load
# What a user must never read: event and action codes, state arrows, unit codes.
RAW_CODES = re.compile(
    r"\b[a-z]+_[a-z_]+\b"  # delivery_logged, introduction_accepted, update_terms ...
    r"|\bco2e\b"  # lower-case: the unit is written CO2e
    r"|(draft|offered|accepted|active|completed|declined|cancelled)\s*(→|->)"
    r"|(→|->)\s*(draft|offered|accepted|active|completed|declined|cancelled)\b"
)
# English words that mean the Russian page left something untranslated.
ENGLISH_IN_RUSSIAN = re.compile(
    r"\b(Deals?|Introductions?|Next step|Offer|Accept(ed)?|Decline|Deliver(y|ies)|Terms"
    r"|Confirm(ed)?|Awaiting|Logged|Draft|Active|Supplier|Receiver|Tonnes)\b"
)


def _words(page) -> str:
    return page.inner_text("body")


def _around(text: str, match) -> str:
    return text[max(0, match.start() - 60) : match.end() + 60]


def _check_page(page, *, russian: bool = False, phone: bool = False) -> None:
    """No raw codes in any language; Russian where the user chose it; nothing wider
    than the phone's screen."""
    text = _words(page)
    raw = RAW_CODES.search(text)
    assert raw is None, f"{page.url} shows {_around(text, raw)!r}"
    if russian:
        english = ENGLISH_IN_RUSSIAN.search(text)
        assert english is None, f"{page.url} shows {_around(text, english)!r} in Russian"
    if phone:
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{page.url} is {width} px wide on a 375 px phone"


def _menu(page, item: str):
    return page.locator(f'header.topbar nav [data-nav="{item}"]')


def _home(page) -> None:
    """Back to the workspace, as a user coming back later would."""
    page.locator("header.topbar a.brand").click()
    page.wait_for_url(re.compile(r"/$"))


def _city_tonnes(page) -> Decimal:
    """The city page's confirmed tonnes, as printed ("1,234.5 t")."""
    text = page.locator('[data-testid="tonnes-diverted"]').inner_text()
    number = re.match(r"[\d,.\s\u00a0]+", text).group(0)
    return Decimal(re.sub(r"[,\s\u00a0]", "", number))


def _open_city(page) -> Decimal:
    page.locator("header.topbar nav").get_by_role("link", name="City", exact=True).click()
    page.wait_for_url("**/city/")
    _check_page(page)
    return _city_tonnes(page)


def _post(page, button) -> None:
    """Click a button whose form posts (htmx or not) and wait for the answer."""
    with page.expect_response(lambda r: r.request.method == "POST"):
        button.click()
    page.wait_for_load_state()


def _the_proposal(run: OptimizationRun) -> MatchProposal:
    """The run's bread proposal from the bread combine to the brewery: a year-round
    flow whose window opens on the day the demo is loaded."""
    return run.proposals.get(
        supply__organization__members__email=organization_email(SUPPLIER),
        demand__organization__members__email=organization_email(RECEIVER),
        material__slug="bread-bakery-waste",
    )


def test_two_companies_go_from_an_introduction_to_a_confirmed_delivery(browser, live_server):
    today = timezone.localdate()
    load_demo()  # its listing windows placed around today

    facilitator_context, facilitator = _page_in_new_context(browser, live_server)
    supplier_context, supplier = _page_in_new_context(browser, live_server)
    receiver_context, receiver = _page_in_new_context(browser, live_server, **PHONE)
    try:
        # 0. The facilitator reads the city's confirmed tonnes, then runs the optimizer.
        login(facilitator, "facilitator@demo.kz", DEMO_PASSWORD)
        tonnes_before = _open_city(facilitator)
        screenshot(facilitator, "journey-0-city-before")
        facilitator.locator("header.topbar nav").get_by_role("link", name="Runs").click()
        _check_page(facilitator)
        facilitator.get_by_role("link", name="New run").click()
        facilitator.get_by_role("button", name="Start the run").click()
        facilitator.wait_for_url(re.compile(r"/review/runs/\d+/$"))
        facilitator.wait_for_selector("#proposal-table", timeout=60_000)
        run = OptimizationRun.objects.latest("created_at")
        assert run.status == OptimizationRun.Status.SUCCEEDED
        _check_page(facilitator)

        # 1. It approves the bread combine's bread to the brewery.
        proposal = _the_proposal(run)
        row = facilitator.locator(f"#proposal-{proposal.pk}")
        row.locator("summary").click()  # the row opens onto its decisions
        with facilitator.expect_response(lambda r: f"/proposals/{proposal.pk}/decide/" in r.url):
            row.get_by_role("button", name="Approve…").click()
        # Approving asks first, naming the two companies it introduces.
        with facilitator.expect_response(lambda r: f"/proposals/{proposal.pk}/decide/" in r.url):
            row.get_by_role("button", name="Approve and introduce").click()
        expect(facilitator.locator(f"#proposal-{proposal.pk}.status-approved")).to_be_visible()
        _check_page(facilitator)
        screenshot(facilitator, "journey-1-approved")

        # The supplier logs in and switches to Russian, as a user would.
        login(supplier, organization_email(SUPPLIER), DEMO_PASSWORD)
        supplier.locator(".lang-switch button[value=ru]").click()
        expect(supplier.locator("html")).to_have_attribute("lang", "ru")
        expect(supplier.locator("header.topbar nav")).to_contain_text("Сделки")
        login(receiver, organization_email(RECEIVER), DEMO_PASSWORD)

        # 2. Each finds the introduction under its menu's count and accepts it.
        for page, russian, phone in ((supplier, True, False), (receiver, False, True)):
            introductions = _menu(page, "introductions")
            expect(introductions).to_contain_text("1")
            introductions.click()
            page.wait_for_url("**/review/proposals/mine/")
            _check_page(page, russian=russian, phone=phone)
            card = page.locator(f"#intro-{proposal.pk}")
            _post(page, card.locator("button[value=accept]"))
            expect(_menu(page, "introductions").locator(".count")).to_have_count(0)
            _check_page(page, russian=russian, phone=phone)
        screenshot(supplier, "journey-2-introduction-ru")
        screenshot(receiver, "journey-2-introduction-phone")

        # 3. The receiver opens the deal from the menu, checks the proposed terms
        # and sends them as its offer.
        deal = Deal.objects.get(proposal=proposal)
        assert deal.state == Deal.State.DRAFT
        _menu(receiver, "deals").click()
        receiver.wait_for_url("**/deals/")
        _check_page(receiver, phone=True)
        receiver.locator(f'a[href$="/deals/{deal.pk}/"]').first.click()
        receiver.wait_for_url(f"**/deals/{deal.pk}/")
        _check_page(receiver, phone=True)
        terms = receiver.locator("#terms")
        # Proposed from the proposal: its tonnes a year and road distance, from today.
        expect(terms).to_contain_text(f"{proposal.tonnes:.0f} t per year")
        expect(terms).to_contain_text(f"{proposal.road_km:.1f} km")
        expect(terms).to_contain_text(f"{date_format(today)} – ")
        screenshot(receiver, "journey-3-draft-phone")
        _post(receiver, receiver.get_by_role("button", name="Send the offer"))
        expect(receiver.locator("#deal .state")).to_have_text("Offered")
        _check_page(receiver, phone=True)

        # The supplier, back on its workspace, answers it from the menu's count.
        _home(supplier)
        _check_page(supplier, russian=True)
        expect(supplier.locator(f'.attention a[href$="/deals/{deal.pk}/"]')).to_be_visible()
        deals = _menu(supplier, "deals")
        expect(deals).to_contain_text("1")
        deals.click()
        supplier.wait_for_url("**/deals/")
        _check_page(supplier, russian=True)
        supplier.locator(f'a[href$="/deals/{deal.pk}/"]').first.click()
        supplier.wait_for_url(f"**/deals/{deal.pk}/")
        expect(supplier.locator("#next-step")).to_contain_text("Следующий шаг")
        _check_page(supplier, russian=True)
        _post(supplier, supplier.get_by_role("button", name="Принять условия версии 1"))
        expect(supplier.get_by_role("button", name="Начать поставки")).to_be_visible()
        _check_page(supplier, russian=True)

        # 4. The supplier starts deliveries; the day defaults to today.
        start = supplier.locator("input[name=activate-start_date]")
        expect(start).to_have_value(today.isoformat())
        _post(supplier, supplier.get_by_role("button", name="Начать поставки"))
        expect(supplier.locator("#deliveries details summary")).to_be_visible()
        _check_page(supplier, russian=True)
        screenshot(supplier, "journey-4-active-ru")

        # 5. It logs a load from the weighbridge ticket: gross and tare, one load.
        supplier.locator("#deliveries details summary").click()
        supplier.fill("input[name=delivery-date]", today.isoformat())
        supplier.fill("input[name=delivery-ticket_number]", TICKET)
        supplier.fill("input[name=delivery-vehicle]", "A 123 BCD 02")
        supplier.fill("input[name=delivery-loads]", "1")
        supplier.fill("input[name=delivery-gross_tonnes]", str(GROSS))
        supplier.fill("input[name=delivery-tare_tonnes]", str(TARE))
        _post(supplier, supplier.locator("#deliveries form button[type=submit]"))
        expect(supplier.locator("#deliveries")).to_contain_text(TICKET)
        _check_page(supplier, russian=True)
        screenshot(supplier, "journey-5-logged-ru")
        delivery = Delivery.objects.get(deal=deal)
        assert (delivery.status, delivery.tonnes) == (Delivery.Status.LOGGED, GROSS - TARE)

        # 6. The receiver finds it from the bell and confirms it.
        _home(receiver)
        _check_page(receiver, phone=True)
        expect(receiver.locator(".attention")).to_contain_text("confirm or dispute it")
        bell = _menu(receiver, "notifications")
        expect(bell.locator(".count")).to_be_visible()
        expect(_menu(receiver, "deals")).to_contain_text("1")
        bell.click()
        receiver.wait_for_url("**/notifications/")
        _check_page(receiver, phone=True)
        to_confirm = re.compile(rf"Deal #{deal.pk}: a delivery to confirm")
        receiver.get_by_role("link", name=to_confirm).click()
        receiver.wait_for_url(re.compile(rf"/deals/deliveries/{delivery.pk}/"))
        figures = receiver.locator("#figures")
        expect(figures).to_contain_text(TICKET)
        expect(figures).to_contain_text(f"{GROSS - TARE} t")
        _check_page(receiver, phone=True)
        screenshot(receiver, "journey-6-to-confirm-phone")
        confirm = receiver.get_by_role("button", name="Confirm", exact=True)
        _post(receiver, confirm)
        expect(confirm).to_have_count(0)
        expect(receiver.locator("#figures")).to_contain_text("Confirmed")
        _check_page(receiver, phone=True)
        screenshot(receiver, "journey-6-confirmed-phone")

        # 7. The transfer note opens as a PDF (chromium shows it in its viewer, whose
        # page replaces the body the response hands over: the bytes are read again
        # with the same session).
        link = receiver.locator("#figures").get_by_role("link", name="PDF")
        with receiver.expect_response(lambda r: r.url.endswith("/note.pdf")) as note:
            link.click()
        assert note.value.status == 200
        assert note.value.headers["content-type"] == "application/pdf"
        pdf = receiver.request.get(note.value.url)
        assert (pdf.status, pdf.body()[:5]) == (200, b"%PDF-")

        # The supplier sees it counted, in Russian.
        supplier.reload()
        expect(supplier.locator("#deliveries")).to_contain_text("Подтвержден")
        _check_page(supplier, russian=True)

        # 8. The city's confirmed tonnes grew by exactly that load.
        tonnes_after = _open_city(facilitator)
        screenshot(facilitator, "journey-8-city-after")
        assert tonnes_after - tonnes_before == GROSS - TARE
    finally:
        for context in (facilitator_context, supplier_context, receiver_context):
            context.close()
