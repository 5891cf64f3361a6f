"""The language switch in a real browser: Russian pages, remembered across pages."""

import pytest
from playwright.sync_api import expect

from symbiosis.demo import DEMO_PASSWORD
from symbiosis.models import Material
from tests.demo_snapshot import load_demo
from tests.e2e.conftest import login, screenshot
from tests.web.test_i18n import ENGLISH_LEFTOVERS

pytestmark = pytest.mark.e2e


@pytest.mark.django_db(transaction=True)
def test_the_russian_ui_renders_the_listing_pages_without_english_leftovers(page):
    load_demo()
    login(page, "alatau-brewery@demo.kz", DEMO_PASSWORD)
    page.get_by_role("button", name="РУС").click()
    expect(page.get_by_role("heading", name="Мой кабинет")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    screenshot(page, "home-ru")

    page.get_by_role("link", name="Новое предложение").click()
    expect(page.get_by_role("heading", name="Новое предложение")).to_be_visible()
    # The search finds spent grain by its Russian name, shown in Russian.
    page.fill("#id_material_q", "дробина")
    spent_grain = Material.objects.get(slug="brewery-spent-grain")
    expect(page.locator("#id_material")).to_have_value(str(spent_grain.pk))
    page.fill("#id_quantity", "2500")
    page.select_option("#id_unit", "kg")
    expect(page.locator("#tonnes-preview")).to_contain_text("= 2,5 т")
    text = page.inner_text("main") + page.inner_text("header")
    leftovers = [word for word in ENGLISH_LEFTOVERS if f" {word} " in f" {text} "]
    assert leftovers == []
    screenshot(page, "listing-form-ru")

    page.goto("/market/")
    expect(page.get_by_role("heading", name="Биржа")).to_be_visible()
