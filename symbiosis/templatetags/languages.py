"""Language helpers for templates: the switcher's button labels
(settings.LANGUAGE_BUTTONS: ҚАЗ / РУС / ENG) and ``ago``, a "5 minutes ago" that never
falls back to English."""

from django import template
from django.conf import settings
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.utils import timezone, translation
from django.utils.formats import date_format

register = template.Library()


@register.filter
def language_button(code: str) -> str:
    """What the switcher's button for ``code`` says; a language without a label
    shows its code in capitals, so a language added to LANGUAGES alone still works."""
    return getattr(settings, "LANGUAGE_BUTTONS", {}).get(code) or code.upper()


@register.filter
def ago(value):
    """``naturaltime`` ("5 minutes ago") in the active language, or, where Django has
    no such words for it (its kk humanize catalogue is empty), the local date and
    time ("07.12.2026 14:05") rather than English words in a Kazakh page."""
    if value in (None, ""):
        return ""
    text = naturaltime(value)
    if (translation.get_language() or "en")[:2] != "en":
        with translation.override("en"):
            english = naturaltime(value)
        if text == english:
            local = timezone.localtime(value) if timezone.is_aware(value) else value
            return date_format(local, "SHORT_DATETIME_FORMAT")
    return text
