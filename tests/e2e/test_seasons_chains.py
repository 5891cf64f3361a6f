"""A chain in a real browser (issue 19): a run by month proposes a shredder's chips
into a board plant; the run page says "plant to plant" on the row and in its
details, and at 375 px nothing scrolls sideways."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from optimizer import services
from tests.e2e.conftest import login, screenshot
from tests.optimizer.test_seasons_chains import chain_world  # noqa: F401  (fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct-horse-9"  # tests.factories.UserFactory's


def test_a_chain_proposal_on_a_phone(phone_page, chain_world, facilitator):  # noqa: F811
    run = services.run_create(
        user=facilitator, parameters={"periods_start": "2027-01"}, enqueue=False
    )
    services.run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    chain = run.proposals.get(kind="chain")
    page = phone_page
    login(page, facilitator.email, PASSWORD)
    page.goto(reverse("optimizer:run_detail", args=[run.pk]))
    row = page.locator(f"#proposal-{chain.pk}")
    expect(row.get_by_test_id("kind")).to_have_text("plant to plant")
    row.locator("summary").click()
    expect(row.get_by_test_id("proposal-kind")).to_have_text("plant to plant")
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{overflow} px of sideways scroll"
    screenshot(page, "chain-run-375")
