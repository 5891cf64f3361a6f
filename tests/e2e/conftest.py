"""A real browser (Debian's chromium, driven by Playwright) against a live server.

Playwright never downloads a browser here: it launches /usr/bin/chromium.
"""

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings

from tests.worker import celery_worker_process  # noqa: F401  (fixture)

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# The machine has no network: keep chromium from trying to reach Google.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Every browser test saves its screenshots here (1366 px and 375 px for the pages
# that have both); SCREENSHOTS_DIR asks for another folder.
SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR") or Path(settings.VAR_DIR) / "screenshots")

# Playwright's sync API runs an event loop in this thread; the ORM calls the
# tests make between browser steps are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} is missing: apt-get install chromium (make test does it as root)"
        if os.environ.get("REQUIRE_SERVICES"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def _page_in_new_context(browser, live_server, **options):
    context = browser.new_context(base_url=live_server.url, locale="en-US", **options)
    context.set_default_timeout(15_000)
    return context, context.new_page()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context on the live server."""
    context, page = _page_in_new_context(browser, live_server)
    yield page
    context.close()


@pytest.fixture
def phone_page(browser, live_server):
    """The same on a 375 x 812 touch phone."""
    context, page = _page_in_new_context(
        browser, live_server, viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True
    )
    yield page
    context.close()


def login(page, email: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def follow_link(page, name: str) -> None:
    """Click a link and wait for the new page's load event, so that htmx has bound
    its handlers before the test types into a filter (a change fired earlier
    sends nothing)."""
    with page.expect_navigation():
        page.get_by_role("link", name=name).click()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
