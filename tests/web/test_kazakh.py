"""Kazakh (kk) beside Russian and English: the ҚАЗ / РУС / ENG switcher, a user's
language, material names with their fallbacks (kk → ru → en), notifications, and
number and date formats.

The page texts themselves come from locale/kk (merged apart); these tests hold
what works whatever the catalogue says.
"""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db.models import F
from django.utils import timezone, translation
from django.utils.formats import date_format, number_format
from rest_framework.test import APIClient

from symbiosis import notifications, selectors
from symbiosis.models import Material, Notification, Use, User
from symbiosis.models.materials import localized_name
from symbiosis.numbers import measure
from symbiosis.taxonomy import load_taxonomy, read_csv
from symbiosis.templatetags.languages import ago
from tests import factories

pytestmark = pytest.mark.django_db

BUTTON = re.compile(r'<button name="language" value="(\w+)"[^>]*>([^<]+)</button>')


# --- the switcher ------------------------------------------------------------------------


def test_the_switcher_offers_kazakh_russian_and_english_in_that_order(client):
    buttons = BUTTON.findall(client.get("/accounts/login/").content.decode())
    assert buttons == [("kk", "ҚАЗ"), ("ru", "РУС"), ("en", "ENG")]
    # Read from settings.LANGUAGES, not written out in the template.
    assert [code for code, _label in buttons] == [code for code, _name in settings.LANGUAGES]


def test_the_kazakh_button_switches_the_page_to_kazakh(client):
    response = client.post("/i18n/setlang/", {"language": "kk", "next": "/accounts/login/"})
    assert response.status_code == 302
    assert response.cookies["django_language"].value == "kk"
    page = client.get("/accounts/login/").content.decode()
    assert '<html lang="kk">' in page
    assert re.search(r'value="kk"[^>]*aria-pressed="true"', page)
    assert re.search(r'value="en"[^>]*aria-pressed="false"', page)


def test_a_logged_in_user_s_choice_of_kazakh_is_remembered_for_e_mails(client, member_a):
    client.force_login(member_a)
    client.post("/i18n/setlang/", {"language": "kk", "next": "/"})
    member_a.refresh_from_db()
    assert member_a.language == "kk"
    # An unknown language changes nothing.
    client.post("/i18n/setlang/", {"language": "xx", "next": "/"})
    member_a.refresh_from_db()
    assert member_a.language == "kk"


# --- material names ----------------------------------------------------------------------


def _material(**names) -> Material:
    return factories.MaterialFactory(
        slug="spent-grain",
        **{"name_en": "Brewery spent grain", "name_ru": "Пивная дробина", **names},
    )


def test_a_name_falls_back_from_kazakh_to_russian_to_english():
    both = _material(name_kk="Сыра сығындысы")
    assert [both.name_in(code) for code in ("kk", "ru", "en")] == [
        "Сыра сығындысы",
        "Пивная дробина",
        "Brewery spent grain",
    ]
    without_kk = Material(name_en="Glass cullet", name_ru="Стеклобой")
    assert without_kk.name_in("kk") == "Стеклобой"  # Kazakh readers read Russian
    english_only = Material(name_en="Glass cullet", name_ru="")
    assert english_only.name_in("kk") == english_only.name_in("ru") == "Glass cullet"
    with translation.override("kk"):
        assert both.name == str(both) == "Сыра сығындысы"
        assert without_kk.name == "Стеклобой"
    assert both.names() == {"kk": "Сыра сығындысы", "ru": "Пивная дробина", "en": both.name_en}


def test_the_database_expression_agrees_with_the_name_property():
    _material(name_kk="Сыра сығындысы")
    factories.MaterialFactory(slug="glass", name_en="Glass cullet", name_ru="Стеклобой")
    factories.MaterialFactory(slug="odd", name_en="Odd", name_ru="")
    for language in ("kk", "ru", "en"):
        with translation.override(language):
            rows = Material.objects.annotate(label=localized_name()).order_by("slug")
            assert [row.label for row in rows] == [row.name for row in rows], language
    assert localized_name(language="en") == F("name_en")


def test_every_material_and_use_of_the_fixtures_has_a_kazakh_name_and_it_is_loaded():
    for fixture in ("materials.csv", "uses.csv"):
        rows = read_csv(fixture)
        assert [row["slug"] for row in rows if not row["name_kk"].strip()] == [], fixture
        # Kazakh, not a copy of the Russian name (but for a word both languages share).
        copied = [row["slug"] for row in rows if row["name_kk"] == row["name_ru"]]
        assert copied == (["compost"] if fixture == "materials.csv" else []), fixture
    load_taxonomy()
    grain = Material.objects.get(slug="brewery-spent-grain")
    assert grain.name_kk.startswith("Сыра сығындысы")
    assert not Use.objects.filter(name_kk="").exists()


def test_the_material_picker_finds_a_material_by_its_kazakh_name():
    grain = _material(name_kk="Сыра сығындысы")
    factories.MaterialFactory(slug="glass", name_en="Glass cullet", name_ru="Стеклобой")
    assert selectors.material_search("СЫҒЫНДЫ") == [grain]
    assert selectors.material_search("сыра сығындысы") == [grain]


def test_the_api_shows_and_searches_the_kazakh_name(member_a):
    _material(name_kk="Сыра сығындысы")
    factories.UseFactory(slug="animal-feed", name_en="Animal feed", name_kk="Мал азығы")
    client = APIClient()
    client.force_login(member_a)
    found = client.get("/api/v1/materials/", {"search": "сығындысы"}).json()
    rows = found["results"] if isinstance(found, dict) else found
    assert [(row["slug"], row["name_kk"]) for row in rows] == [("spent-grain", "Сыра сығындысы")]
    uses = client.get("/api/v1/uses/", {"search": "азығы"}).json()
    rows = uses["results"] if isinstance(uses, dict) else uses
    assert [row["name_kk"] for row in rows] == ["Мал азығы"]


# --- notifications -----------------------------------------------------------------------


def test_a_kazakh_user_s_notification_names_the_material_in_kazakh():
    grain = _material(name_kk="Сыра сығындысы")
    kazakh = factories.UserFactory(language="kk")
    row = Notification(
        recipient=kazakh, kind="fate_reviewed", params={"material": grain.names()}, url="/"
    )
    assert "Сыра сығындысы" in notifications.render(row).subject
    # A row stored before Kazakh was added names it in Russian, not in English.
    old = Notification(
        recipient=kazakh,
        kind="fate_reviewed",
        params={"material": {"en": grain.name_en, "ru": grain.name_ru}},
        url="/",
    )
    assert "Пивная дробина" in notifications.render(old).subject


def test_kazakh_is_a_language_a_user_may_have():
    user = factories.UserFactory(language="kk")
    user.full_clean()
    assert User.objects.get(pk=user.pk).language == "kk"
    assert notifications.language_of(Notification(recipient=user)) == "kk"


# --- numbers and dates -------------------------------------------------------------------


def test_kazakh_numbers_group_with_a_space_and_use_a_decimal_comma():
    with translation.override("kk"):
        assert number_format(Decimal("12300.5"), decimal_pos=1, force_grouping=True) == (
            "12\xa0300,5"
        )
        assert measure(Decimal("12300.54"), "t").startswith("12\xa0300,5\xa0")
        assert date_format(date(2026, 12, 7), "SHORT_DATE_FORMAT") == "07.12.2026"
        assert date_format(date(2026, 12, 7)) == "07.12.2026"


def test_ago_never_shows_english_words_in_a_kazakh_page():
    """Django's kk humanize catalogue is empty: "5 minutes ago" would stay English."""
    moment = timezone.now() - timedelta(minutes=5)
    with translation.override("ru"):
        assert ago(moment) == "5\xa0минут назад"
    with translation.override("en"):
        assert ago(moment) == "5\xa0minutes ago"
    with translation.override("kk"):
        assert ago(moment) == date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")
        assert re.fullmatch(r"\d\d\.\d\d\.\d{4} \d\d:\d\d", ago(moment))
