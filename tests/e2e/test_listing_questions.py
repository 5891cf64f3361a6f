"""Ask without revealing, in a real browser: company B asks about A's anonymous
listing, A answers without learning who asks, B reads the answer without learning
who A is; a deal between them follows and the thread shows on the deal's page
with both named."""

from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from marketplace import services as deal_services
from tests import factories
from tests.e2e.conftest import _page_in_new_context, login, screenshot

pytestmark = pytest.mark.e2e

PASSWORD = "correct-horse-9"
A_NAME = "Zhetysu Secret Brewery LLP"
A_EMAIL = "aigerim@zhetysu-secret.kz"
A_SITE = "Hidden malt yard"
B_NAME = "Bostandyk Quiet Bakery LLP"
B_EMAIL = "baker@bostandyk-quiet.kz"
B_SITE = "Quiet oven yard"


def _absent(locator, *names):
    for name in names:
        expect(locator).not_to_contain_text(name)


@pytest.mark.django_db(transaction=True)
def test_an_anonymous_question_is_answered_and_joins_the_deal(browser, live_server):
    grain = factories.MaterialFactory(slug="spent-grain-e2e", name_en="Spent grain")
    company_a = factories.OrganizationFactory(name=A_NAME)
    factories.MembershipFactory(organization=company_a, user=factories.UserFactory(email=A_EMAIL))
    site_a = factories.SiteFactory(organization=company_a, name=A_SITE, address="77 Unlisted St")
    supply = factories.SupplyListingFactory(
        organization=company_a, site=site_a, material=grain, visibility="anonymous"
    )
    company_b = factories.OrganizationFactory(name=B_NAME)
    factories.MembershipFactory(organization=company_b, user=factories.UserFactory(email=B_EMAIL))
    site_b = factories.SiteFactory(organization=company_b, name=B_SITE, district="bostandyk")
    facilitator = factories.UserFactory(email="facilitator@example.kz")
    from django.contrib.auth.models import Group

    facilitator.groups.add(Group.objects.get_or_create(name="facilitator")[0])

    context_b, page_b = _page_in_new_context(browser, live_server)
    context_a, page_a = _page_in_new_context(browser, live_server)
    try:
        # B asks on the listing's page (htmx; the form warns against names).
        login(page_b, B_EMAIL, PASSWORD)
        page_b.goto(f"/market/supply/{supply.pk}/")
        questions_b = page_b.locator("#questions")
        expect(questions_b).to_contain_text("Do not give your name")
        page_b.get_by_label("Your question").fill("Is it packaged, and how dry is it?")
        page_b.get_by_role("button", name="Ask the lister").click()
        expect(page_b.locator("[data-testid=question-messages]")).to_contain_text(
            "Is it packaged, and how dry is it?"
        )
        _absent(page_b.locator("body"), A_NAME, A_SITE, A_EMAIL)

        # A sees a new question from "Asker 1", not from B, and answers it.
        login(page_a, A_EMAIL, PASSWORD)
        page_a.goto(f"/market/supply/{supply.pk}/")
        expect(page_a.locator("[data-testid=questions-unread]")).to_contain_text("1 new")
        page_a.get_by_role("link", name="Asker 1").click()
        thread_a = page_a.locator("#question-thread")
        expect(thread_a).to_contain_text("Is it packaged, and how dry is it?")
        _absent(page_a.locator("body"), B_NAME, B_SITE, B_EMAIL)
        page_a.get_by_label("Message").fill("Yes: 40 kg bags, about 20 % moisture.")
        page_a.get_by_role("button", name="Answer").click()
        expect(thread_a).to_contain_text("Yes: 40 kg bags, about 20 % moisture.")
        _absent(page_a.locator("body"), B_NAME, B_SITE, B_EMAIL)
        screenshot(page_a, "question-thread-lister")
        page_a.goto("/notifications/")
        expect(page_a.locator("body")).to_contain_text("A question on your listing")
        _absent(page_a.locator("body"), B_NAME, B_EMAIL)

        # B is told of the answer and reads it, A still unnamed.
        page_b.goto("/notifications/")
        expect(page_b.locator("body")).to_contain_text("An answer to your question")
        page_b.get_by_role("link", name="An answer to your question").first.click()
        expect(page_b.locator("#question-thread")).to_contain_text("40 kg bags")
        expect(page_b.locator("#question-thread")).to_contain_text("The lister")
        _absent(page_b.locator("body"), A_NAME, A_SITE, A_EMAIL)
        screenshot(page_b, "question-thread-asker")

        # A facilitator introduces them: the draft deal carries the earlier questions.
        demand = factories.DemandListingFactory(
            organization=company_b, site=site_b, visibility="private"
        )
        demand.materials.add(grain)
        deal = deal_services.deal_create(
            user=facilitator,
            supply=supply,
            demand=demand,
            tonnes_per_period=Decimal("10"),
            start_date=date(2027, 2, 1),
            end_date=date(2027, 6, 30),
        )
        page_b.goto(f"/deals/{deal.pk}/")
        earlier = page_b.locator("[data-testid=deal-questions]")
        expect(earlier).to_contain_text("Is it packaged, and how dry is it?")
        expect(earlier).to_contain_text(f"{A_NAME}")
        expect(earlier).to_contain_text(f"{B_NAME}")
        screenshot(page_b, "question-thread-on-deal")
        page_a.goto(f"/market/supply/{supply.pk}/")
        expect(page_a.locator("#questions")).to_contain_text(B_NAME)
    finally:
        context_a.close()
        context_b.close()
