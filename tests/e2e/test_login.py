"""The demo facilitator logs in through a real browser and reaches the API docs."""

import pytest

from tests.demo_snapshot import load_demo
from tests.e2e.conftest import login, screenshot

pytestmark = pytest.mark.e2e


@pytest.mark.django_db(transaction=True)
def test_demo_facilitator_logs_in_and_opens_the_api_docs(page):
    load_demo()
    login(page, "facilitator@demo.kz", "almaty-demo-2027")
    assert page.get_by_text("facilitator@demo.kz").first.is_visible()
    page.goto("/api/docs/")
    # Swagger UI is served from local static files (sidecar) and renders offline.
    page.wait_for_selector(".swagger-ui .info", timeout=20_000)
    assert "Industrial symbiosis platform API" in page.inner_text(".swagger-ui .info")
    screenshot(page, "api-docs")


@pytest.mark.django_db(transaction=True)
def test_wrong_password_shows_an_error_and_stays_logged_out(page):
    load_demo()
    login(page, "facilitator@demo.kz", "not-the-password")
    assert page.locator(".errorlist, .errornote").count() >= 1
    assert page.url.endswith("/accounts/login/")


@pytest.mark.django_db(transaction=True)
def test_an_email_typed_in_capitals_logs_in(page):
    # Regression: "Facilitator@Demo.kz" was refused like a wrong password.
    load_demo()
    login(page, "Facilitator@DEMO.kz", "almaty-demo-2027")
    assert page.get_by_text("facilitator@demo.kz").first.is_visible()
    assert not page.url.endswith("/accounts/login/")
