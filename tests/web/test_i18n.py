"""English and Russian: the switcher, no English leftovers, numbers per language."""

import ast
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import translation

from optimizer import services
from tests import factories
from tests.dashboard import conftest as dashboard_fixtures

pytestmark = pytest.mark.django_db


PO = Path(__file__).resolve().parents[2] / "locale" / "ru" / "LC_MESSAGES" / "django.po"
OUR_SOURCES = ("symbiosis/", "templates/symbiosis/", "templates/registration/", "templates/base")

# English words of the workspace pages that must not survive in the Russian UI.
ENGLISH_LEFTOVERS = [
    "My workspace",
    "Proposals and deals",
    "My organizations",
    "Sites",
    "My supply listings",
    "New supply listing",
    "Edit",
    "Duplicate",
    "Pause",
    "Close",
    "Active",
    "Public",
    "per year",
    "Material",
    "Quantity",
    "Unit",
    "Recurrence",
    "tonnes",
    "Visibility",
    "Save listing",
    "Cancel",
    "What and where",
    "How much",
    "Type a quantity",
    "Brewery spent grain",
    "Log out",
    "Market",
    "Choose a site",
    "Site",
]


def _po_entries():
    """(occurrences, msgctxt, msgid, msgstr or plural forms) of each entry of the .po file."""
    entries = []
    for block in PO.read_text(encoding="utf-8").split("\n\n"):
        fields, current = {}, None
        occurrences = " ".join(line for line in block.splitlines() if line.startswith("#:"))
        for line in block.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            match = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d\])?) (".*")$', line)
            if match:
                current = match.group(1)
                fields[current] = ast.literal_eval(match.group(2))
            elif line.startswith('"') and current:
                fields[current] += ast.literal_eval(line)
        if fields.get("msgid"):
            entries.append((occurrences, fields))
    return entries


def _ours(occurrences: str) -> bool:
    return any(f"#: {path}" in occurrences or f" {path}" in occurrences for path in OUR_SOURCES)


def test_every_string_of_the_workspace_has_a_russian_translation():
    untranslated = [
        fields["msgid"]
        for occurrences, fields in _po_entries()
        if _ours(occurrences) and not any(v for k, v in fields.items() if k.startswith("msgstr"))
    ]
    assert untranslated == []


def test_the_compiled_catalogue_matches_the_po_file():
    """Catches a .po edited without running compilemessages (the .mo is committed)."""
    checked = 0
    with translation.override("ru"):
        for occurrences, fields in _po_entries():
            if not _ours(occurrences) or "msgid_plural" in fields:
                continue
            if "msgctxt" in fields:
                found = translation.pgettext(fields["msgctxt"], fields["msgid"])
            else:
                found = translation.gettext(fields["msgid"])
            assert found == fields["msgstr"], fields["msgid"]
            checked += 1
    assert checked > 300


def test_the_language_switch_is_remembered(client):
    response = client.post("/i18n/setlang/", {"language": "ru", "next": "/"})
    assert response.status_code == 302
    assert response.cookies["django_language"].value == "ru"
    page = client.get("/").content.decode()
    assert '<html lang="ru">' in page
    assert "Войти" in page
    back = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert back.cookies["django_language"].value == "en"
    assert "Log in" in client.get("/").content.decode()


@pytest.fixture
def russian(client_as, member_a):
    client = client_as(member_a)
    client.post("/i18n/setlang/", {"language": "ru", "next": "/"})
    return client


def _visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"<[^>]+>", " ", html)  # tags and their attributes (CSS classes, ids)
    return re.sub(r"\s+", " ", html)


def _leftovers(text: str) -> list[str]:
    return [word for word in ENGLISH_LEFTOVERS if re.search(rf"\b{re.escape(word)}\b", text)]


def test_the_russian_workspace_has_no_english_leftovers(russian, company_a, site_a, spent_grain):
    factories.SupplyListingFactory(
        organization=company_a,
        site=site_a,
        material=spent_grain,
        quantity=Decimal("24000"),
        tonnes=Decimal("24000"),
    )
    text = _visible_text(russian.get("/").content.decode())
    assert "Мой кабинет" in text
    assert "Пивная дробина" in text
    assert "24 000 т в год" in text  # a no-break space in the page
    assert _leftovers(text) == []


def test_the_russian_listing_form_has_no_english_leftovers(russian, site_a, spent_grain):
    text = _visible_text(russian.get("/listings/supply/new/").content.decode())
    assert "Новое предложение" in text
    assert "Пивная дробина" in text
    assert _leftovers(text) == []


def test_russian_errors_and_previews(russian, site_a, food_waste):
    preview = russian.get(
        "/listings/tonnes/", {"quantity": "100", "unit": "m3", "material": food_waste.pk}
    )
    assert "= 41,9 т" in preview.content.decode()
    response = russian.post(
        "/listings/supply/new/",
        {"material": food_waste.pk, "site": site_a.pk, "quantity": "-1", "unit": "t"},
        HTTP_HX_REQUEST="true",
    )
    text = response.content.decode()
    assert "Укажите количество больше нуля." in text
    assert "Обязательное поле." in text  # Django's own catalogue


def test_the_russian_market_names_materials_and_districts_in_russian(
    russian, company_b, site_b, spent_grain
):
    factories.SupplyListingFactory(
        organization=company_b, site=site_b, material=spent_grain, visibility="anonymous"
    )
    text = _visible_text(russian.get("/market/").content.decode())
    assert "Пивная дробина" in text
    assert "Бостандыкский" in text
    assert "Анонимно" in text
    assert _leftovers(text) == []


# The dashboard tests' city: deals with confirmed deliveries, prices and a factor set.
city = dashboard_fixtures.city

# A number followed by an English unit symbol: "154.9 t", "12 t CO2e", "40 kg", "3.4 km".
ENGLISH_UNIT = re.compile(r"\d (t|kg|km)\b|\bt CO2e\b|\bKZT/t\b")
RUSSIAN_TONNES = re.compile(r"\d т(?!\w)")


def test_russian_pages_print_units_in_russian(client, city, facilitator, settings):
    """Units after a number (t, t CO2e, kg CO2e, km, KZT/t) follow the language."""
    settings.CITY_PUBLIC_PAGE = True
    run = services.run_create(user=facilitator, enqueue=False)
    services.run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    assert run.proposals.exists()
    proposal = run.proposals.first()
    grain = city.materials["grain"]
    delivery = city.deals["grain"].deliveries.filter(status="confirmed").first()
    client.force_login(facilitator)
    client.post("/i18n/setlang/", {"language": "ru", "next": "/"})
    pages = {
        "city": "/city/",
        "public": "/city/public/",
        "methodology": "/city/methodology/",
        "run": f"/review/runs/{run.pk}/",
        "proposal": f"/review/proposals/{proposal.pk}/",
        "deal": f"/deals/{city.deals['grain'].pk}/",
        "deals": "/deals/",
        "delivery note": f"/deals/deliveries/{delivery.pk}/note/",
        "tonnes preview": f"/listings/tonnes/?quantity=100&unit=m3&material={grain.pk}",
    }
    for name, url in pages.items():
        response = client.get(url)
        assert response.status_code == 200, name
        html = response.content.decode()
        assert '<html lang="ru">' in html or name in ("proposal", "tonnes preview"), name
        text = _visible_text(html)
        assert ENGLISH_UNIT.findall(text) == [], (name, ENGLISH_UNIT.search(text))
        if name != "methodology":
            assert RUSSIAN_TONNES.search(text), name
    city_text = _visible_text(client.get("/city/").content.decode())
    assert re.search(r"\d т CO2-экв\.", city_text)
    deal_text = _visible_text(client.get(pages["deal"]).content.decode())
    assert "тенге/т" in deal_text
    assert re.search(r"\d кг(?!\w)", deal_text)
