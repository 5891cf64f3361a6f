"""Every kind of notification says what happened and what to do, in English and in
Russian, with an absolute link; unknown kinds fall back to a generic wording."""

import ast
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation
from django.utils.translation.template import templatize

from symbiosis import notifications
from symbiosis.models import Notification
from tests import factories

pytestmark = pytest.mark.django_db

TEMPLATES = Path(settings.BASE_DIR) / "templates" / "notifications"
KINDS = sorted(p.stem for p in TEMPLATES.glob("*.txt") if not p.name.startswith("_"))
CYRILLIC = re.compile("[а-яА-ЯёЁ]")
# Everything any kind's template reads, as the services fill it.
PARAMS = {
    "deal": 7,
    "who": "Alatau Brewery",
    "material": {"en": "Brewery spent grain", "ru": "Пивная дробина"},
    "supplier": "Alatau Brewery",
    "receiver": "Talgar Farm",
    "tonnes": "12.5",
    "period": "month",
    "start": "2027-01-01",
    "end": "2027-12-31",
    "price": "500",
    "payer": "supplier",
    "version": 2,
    "note": "Fresh every Monday",
    "delivery": 3,
    "date": "2027-02-01",
    "ticket": "WB-1",
    "reason": "The scale was off",
    "why": {"en": "42 t in one load.", "ru": "42 т за один рейс."},
    "body": "Wet or dry?",
    "proposal": 5,
    "once": False,
    "km": 9.5,
    "co2e_tonnes": 71.9,
    "organization": "Medeu Bakery",
    "organization_name": "Medeu Bakery",
    "inviter": "admin@medeu.kz",
    "days": 7,
    "hours": 48,
    "login_link": "https://symbiosis.example.kz/accounts/login/",
    "reset_link": "https://symbiosis.example.kz/accounts/password_reset/",
    "listing": 11,
    "listing_kind": "supply",
    "what": {"en": "Brewery spent grain", "ru": "Пивная дробина"},
    "asker": 2,
    "fate": {"en": "Landfill", "ru": "Полигон"},
    "evidence": {"en": "Verified by a facilitator", "ru": "Проверено фасилитатором"},
    # A saved searches' digest (symbiosis.saved_searches).
    "count": 3,
    "searches": [
        {
            "name": "Grain near me",
            "count": 3,
            "more": 2,
            "listings": [
                {
                    "url": "/market/supply/11/",
                    "what": {"en": "Brewery spent grain", "ru": "Пивная дробина"},
                    "tonnes": "12.5",
                    "recurrence": {"en": "per month", "ru": "в месяц"},
                    "district": {"en": "Bostandyk", "ru": "Бостандыкский"},
                    "owner": None,
                    "km": 4,
                }
            ],
            "market_url": "/market/?material=3&sort=newest",
            "unsubscribe_url": "/market/saved/unsubscribe/TOKEN/",
        }
    ],
}
ACCOUNT_KINDS = {"invitation", "signup_confirm", "signup_exists"}


def _row(kind, *, recipient=None, url="/deals/7/", **params) -> Notification:
    return Notification(
        recipient=recipient,
        email="" if recipient else "someone@example.kz",
        kind=kind,
        params={**PARAMS, **params},
        private_params={"link": "https://symbiosis.example.kz/accounts/x/TOKEN/"}
        if kind in ACCOUNT_KINDS
        else {},
        url=url,
    )


def _msgids(path: Path) -> list[str]:
    """The strings a template gives to gettext (as makemessages finds them)."""
    source = templatize(path.read_text(), origin=str(path))
    found = re.findall(r"gettext\(u('(?:[^'\\]|\\.)*')", source)
    return [ast.literal_eval(text) for text in found]


def test_every_kind_is_listed():
    assert {"introduction", "deal_offer", "deal_changed", "delivery_logged", "message"} <= set(
        KINDS
    )
    assert len(KINDS) >= 30


@pytest.mark.parametrize("path", sorted(TEMPLATES.glob("*.txt")), ids=lambda p: p.name)
def test_every_sentence_has_its_russian(path):
    msgids = _msgids(path)
    assert msgids or path.name == "_deal.txt"
    with translation.override("ru"):
        missing = [m for m in msgids if translation.gettext(m) == m]
    assert missing == []


@pytest.mark.parametrize("language", ["en", "ru"])
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_with_an_absolute_link(kind, language, site_url):
    text = notifications.render(_row(kind), language=language)

    assert text.subject and "\n" not in text.subject and "{" not in text.subject
    assert "{%" not in text.body and "{{" not in text.body
    assert "https://" in text.body
    if kind not in ACCOUNT_KINDS:
        assert f"{site_url}/deals/7/" in text.body
        assert f"{site_url}/notifications/" in text.body
    if language == "ru":
        assert CYRILLIC.search(text.subject) and CYRILLIC.search(text.body)
        assert "Brewery spent grain" not in text.body  # the material in Russian too


def test_a_deal_step_names_the_deal_the_actor_and_what_to_do(site_url):
    text = notifications.render(_row("deal_offer"), language="en")

    assert text.subject == "Deal #7: Alatau Brewery sends you an offer"
    assert "Brewery spent grain from Alatau Brewery to Talgar Farm: 12.5 t per month" in text.body
    assert "The supplier pays the receiver 500 KZT per tonne (terms version 2)." in text.body
    assert "Fresh every Monday" in text.body
    assert "What to do: accept these terms, decline them or propose other terms" in text.body


def test_the_same_in_russian():
    text = notifications.render(_row("deal_offer"), language="ru")

    assert text.subject == "Сделка №7: Alatau Brewery отправляет вам предложение"
    assert "Пивная дробина от Alatau Brewery для Talgar Farm: 12,5 т в месяц" in text.body
    assert "Что сделать: примите эти условия" in text.body


def test_a_delivery_to_confirm_says_so(site_url):
    text = notifications.render(_row("delivery_logged", url="/deals/7/#delivery-3"))

    assert text.subject == "Deal #7: a delivery to confirm"
    assert "Delivery: 12.5 t on 2027-02-01, weighbridge ticket WB-1." in text.body
    assert "confirm the delivery, or dispute it with a reason" in text.body
    assert f"{site_url}/deals/7/#delivery-3" in text.body


def test_a_held_delivery_tells_the_facilitators_why_and_where_to_review(site_url):
    text = notifications.render(_row("delivery_review", url="/deals/deliveries/review/"))

    assert text.subject == "Deal #7: a held delivery to review"
    assert "Why it is held: 42 t in one load." in text.body
    assert "release it for the other party to confirm, or reject it" in text.body
    assert f"{site_url}/deals/deliveries/review/" in text.body


@pytest.mark.parametrize(
    ("language", "subject"),
    [("en", "Deal #7 has changed"), ("ru", "Сделка №7 изменилась")],
)
def test_an_unknown_deal_step_gets_the_generic_wording(language, subject):
    text = notifications.render(_row("deal_renegotiate"), language=language)

    assert text.subject == subject
    assert "renegotiate" not in text.body


def test_an_unknown_kind_gets_the_most_generic_wording():
    text = notifications.render(_row("something_new"), language="ru")

    assert text.subject == "Новости для вас на платформе «Симбиоз Алматы»"


def test_the_recipient_s_language_is_the_default(site_url):
    russian = factories.UserFactory(language="ru")
    english = factories.UserFactory(language="en")
    unset = factories.UserFactory(language="")

    assert notifications.render(_row("message", recipient=russian)).subject.startswith("Сделка")
    assert notifications.render(_row("message", recipient=english)).subject.startswith("Deal")
    assert notifications.language_of(_row("message", recipient=unset)) == settings.LANGUAGE_CODE


def test_an_introduction_says_whether_it_is_a_one_off_batch():
    yearly = notifications.render(_row("introduction", tonnes=120.4), language="en")
    once = notifications.render(_row("introduction", tonnes=60, once=True), language="en")

    assert yearly.subject == "Introduction: Brewery spent grain, 120 t a year"
    assert "about 120 t a year of Brewery spent grain over 10 km" in yearly.body
    assert once.subject == "Introduction: Brewery spent grain, a one-off batch of 60 t"
    assert "accept or decline the introduction" in once.body


def test_a_fate_review_tells_the_company_the_fate_and_the_reason(site_url):
    text = notifications.render(_row("fate_reviewed", url="/#supply-11"), language="en")

    assert text.subject == (
        "Your listing of Brewery spent grain: a facilitator reviewed its current fate"
    )
    assert "Current fate: Landfill; evidence: Verified by a facilitator." in text.body
    assert "The facilitator's reason: The scale was off" in text.body
    assert f"{site_url}/#supply-11" in text.body
    russian = notifications.render(_row("fate_reviewed"), language="ru")
    assert "Текущее обращение: Полигон; подтверждение: Проверено фасилитатором." in russian.body
