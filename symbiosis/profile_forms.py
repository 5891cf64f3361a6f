"""The listing form's season fields (issue 19): a preset and, for "custom", a share
per month; together they become ``Listing.monthly_profile`` (``symbiosis.profiles``).

``add_season_fields`` is called by ``ListingForm.__init__``, ``clean_season`` by its
``clean`` and ``season_values`` by ``service_values``: the services receive
``monthly_profile`` only, never the form's own fields.
"""

from __future__ import annotations

from django import forms
from django.utils.dates import MONTHS_3
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from symbiosis import profiles

PRESET = "profile_preset"
MONTH_FIELDS = tuple(f"profile_{m}" for m in range(1, profiles.MONTHS + 1))


def add_season_fields(form) -> None:
    form.fields[PRESET] = forms.ChoiceField(
        label=_("When in the year"),
        choices=profiles.PRESET_CHOICES,
        required=False,
        initial=profiles.ALL_YEAR,
        help_text=_(
            "How the quantity spreads over the months, for runs by month. Custom: give "
            "each month a share (any numbers; 0 for a month without any)."
        ),
    )
    for m, name in enumerate(MONTH_FIELDS, start=1):
        form.fields[name] = forms.FloatField(
            label=capfirst(MONTHS_3[m]),
            required=False,
            widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "any", "min": "0"}),
        )
    if form.is_bound:
        return
    stored = form.initial.get("monthly_profile", getattr(form.instance, "monthly_profile", None))
    form.initial[PRESET] = profiles.preset_of(stored)
    if stored is not None:
        for name, value in zip(MONTH_FIELDS, stored, strict=True):
            form.initial[name] = value


def month_fields(form) -> list:
    """The 12 bound month fields, for the template's grid."""
    return [form[name] for name in MONTH_FIELDS]


def clean_season(form, cleaned: dict) -> None:
    """``cleaned["monthly_profile"]`` from the preset and the months; errors inline."""
    preset = cleaned.get(PRESET) or profiles.ALL_YEAR
    if preset != profiles.CUSTOM:
        profile = profiles.PRESETS.get(preset)
        cleaned["monthly_profile"] = None if profile is None else list(profile)
        return
    values = [cleaned.get(name) for name in MONTH_FIELDS]
    if any(name in form.errors for name in MONTH_FIELDS):
        return
    negative = False
    for name, value in zip(MONTH_FIELDS, values, strict=True):
        if value is not None and value < 0:
            form.add_error(name, _("A month's share cannot be negative."))
            negative = True
    if negative:
        return
    numbers = [value or 0.0 for value in values]
    if not any(v > 0 for v in numbers):
        form.add_error(PRESET, _("Give at least one month a share above zero."))
        return
    cleaned["monthly_profile"] = numbers


def season_values(values: dict) -> dict:
    for name in (PRESET, *MONTH_FIELDS):
        values.pop(name, None)
    return values
