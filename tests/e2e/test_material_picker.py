"""The demand form's material picker in a real browser, at 1366 px and on a 375 px phone.

Ticked by a tap or the keyboard, narrowed by the search box (htmx) without
losing what was ticked, and saved as the listing's accepted materials.
"""

import pytest
from playwright.sync_api import expect

from symbiosis.demo import DEMO_PASSWORD
from symbiosis.models import DemandListing, Material
from tests.demo_snapshot import load_demo
from tests.e2e.conftest import login, screenshot

pytestmark = pytest.mark.e2e

BAKERY = "baursak-bakery@demo.kz"


def _no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def _save_and_find_the_demand(page, before: set[int]) -> DemandListing:
    page.fill("#id_quantity", "12")
    page.get_by_role("button", name="Save listing").click()
    page.wait_for_url("**/#demand-*")
    (new,) = DemandListing.objects.exclude(pk__in=before)
    return new


@pytest.mark.django_db(transaction=True)
def test_a_phone_ticks_materials_by_touch_and_search_keeps_them(phone_page):
    page = phone_page
    load_demo()
    grain = Material.objects.get(slug="brewery-spent-grain")
    coffee = Material.objects.get(slug="coffee-grounds")
    before = set(DemandListing.objects.values_list("pk", flat=True))
    login(page, BAKERY, DEMO_PASSWORD)
    page.goto("/listings/demand/new/")
    picker = page.locator("#field-materials")
    expect(picker).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("Ctrl")

    # A tap on a material's name ticks its box.
    page.get_by_label("Brewery spent grain").tap()
    expect(page.locator(f"#id_materials_{grain.pk}")).to_be_checked()

    # The search narrows the list (htmx) and keeps the ticked material in it.
    with page.expect_response(lambda r: "/listings/materials/" in r.url):
        page.fill("#id_materials_q", "coffee")
    boxes = picker.locator("input[type=checkbox]")
    expect(boxes).to_have_count(2)
    expect(page.locator(f"#id_materials_{grain.pk}")).to_be_checked()
    expect(picker.locator(".picker-count")).to_contain_text("1 material matches")
    page.get_by_label("Coffee grounds").tap()
    expect(page.locator(f"#id_materials_{coffee.pk}")).to_be_checked()
    # Rows a finger can hit, and nothing wider than the phone.
    row = picker.locator(f"label[for=id_materials_{coffee.pk}]").bounding_box()
    assert row["height"] >= 44, row
    assert _no_sideways_scroll(page)
    screenshot(page, "material-picker-375")

    demand = _save_and_find_the_demand(page, before)
    assert set(demand.materials.all()) == {grain, coffee}


@pytest.mark.django_db(transaction=True)
def test_the_keyboard_ticks_materials_and_enter_in_the_search_does_not_submit(page):
    page.set_viewport_size({"width": 1366, "height": 900})
    load_demo()
    slag = Material.objects.get(slug="steel-slag")
    before = set(DemandListing.objects.values_list("pk", flat=True))
    login(page, BAKERY, DEMO_PASSWORD)
    page.goto("/listings/demand/new/")
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)

    with page.expect_response(lambda r: "/listings/materials/" in r.url):
        page.fill("#id_materials_q", "сталеплавильный")  # Russian names are searched too
    page.press("#id_materials_q", "Enter")
    assert posts == [], "Enter in the search box submitted the listing form"
    box = page.locator(f"#id_materials_{slag.pk}")
    expect(box).to_be_visible()
    expect(page.locator("#field-materials input[type=checkbox]")).to_have_count(1)
    page.press("#id_materials_q", "Tab")
    expect(box).to_be_focused()
    page.keyboard.press("Space")
    expect(box).to_be_checked()
    page.fill("#id_quantity", "12")
    expect(page.locator("#tonnes-preview")).to_contain_text("12")
    assert _no_sideways_scroll(page)
    screenshot(page, "material-picker-1366")

    demand = _save_and_find_the_demand(page, before)
    assert list(demand.materials.all()) == [slag]
