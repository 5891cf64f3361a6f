"""The deal page in Russian (issue 17, "Russian and numbers"): the timeline in words,
older English lines read in Russian, numbers grouped with their units; at 1366 px
and on a 375 px phone without sideways scrolling.

Screenshots: deal-timeline-ru-1366, deal-timeline-ru-375 (under $VAR_DIR/screenshots/).
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from marketplace import services
from marketplace.models import DealEvent
from tests.e2e.conftest import login, screenshot
from tests.marketplace.conftest import company_c, make_deal, market, member_c  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct-horse-9"  # tests/factories.py

# Codes and English the Russian timeline never shows.
NEVER = [
    "create",
    "update_terms",
    "delivery_logged",
    "delivery_disputed",
    "draft → offered",
    "offered → accepted",
    "The supplier accepted",
    " t on ",
    "ticket",
]


@pytest.fixture
def walked_deal(make_deal, member_a, member_b):  # noqa: F811
    deal = make_deal("draft", transport_by="supplier", tonnes_per_period=Decimal("20"))
    started = timezone.now() - timedelta(days=3)
    DealEvent.objects.create(
        deal=deal, action="create", from_state="", to_state="draft", at=started
    )
    deal = services.deal_update_terms(user=member_a, deal=deal, price_kzt_per_t=2000)
    deal = services.deal_offer(user=member_a, deal=deal)
    # A line stored before details existed: the whole line an English note.
    DealEvent.objects.create(
        deal=deal,
        action="accept",
        from_state="offered",
        to_state="offered",
        terms_version=2,
        note="The supplier accepted terms version 2.",
    )
    deal = services.deal_accept(user=member_b, deal=deal, terms_version=2)
    deal = services.deal_activate(user=member_b, deal=deal, start_date=date(2026, 1, 1))
    delivery = services.delivery_log(
        user=member_a,
        deal=deal,
        date=date(2026, 3, 2),
        tonnes=Decimal("12.5"),
        ticket_number="WB-1",
    )
    services.delivery_confirm(user=member_b, delivery=delivery)
    DealEvent.objects.create(
        deal=deal,
        action="delivery_disputed",
        from_state="active",
        to_state="active",
        terms_version=2,
        note="#99: 1250.125 t on 2026-02-02, ticket WB-0: the scale was off",
    )
    return deal


def _visible(locator) -> str:
    return locator.inner_text().replace("\u00a0", " ")


@pytest.mark.parametrize(("fixture", "width"), [("page", 1366), ("phone_page", 375)])
def test_the_russian_deal_page_reads_in_russian(
    request, live_server, walked_deal, member_a, fixture, width
):
    page = request.getfixturevalue(fixture)
    if width != 375:
        page.set_viewport_size({"width": width, "height": 900})
    page.context.add_cookies([{"name": "django_language", "value": "ru", "url": live_server.url}])
    login(page, member_a.email, PASSWORD)
    page.goto(f"/deals/{walked_deal.pk}/")

    timeline = _visible(page.locator("#timeline"))
    for label in (
        "Черновик создан",
        "Условия изменены",
        "Предложение отправлено",
        "Условия приняты",
        "Поставки начаты",
        "Поставка оспорена",
    ):
        assert label in timeline, label
    # The old English line, in Russian from its codes; the old dispute's figures too.
    assert "сторона: поставщик; версия условий 2" in timeline
    assert "№99: 1 250,125 т, 2026-02-02, талон WB-0" in timeline
    assert "the scale was off" in timeline  # the actor's own words, as written
    assert "цена (тенге за тонну): -500 → 2 000" in timeline
    for text in NEVER:
        assert text not in timeline, text

    terms = _visible(page.locator("#terms"))
    assert "2 000 тенге/т" in terms and "20 т" in terms
    assert "12,5 т" in _visible(page.locator("#deliveries"))
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.locator("#timeline").scroll_into_view_if_needed()
    screenshot(page, f"deal-timeline-ru-{width}")
