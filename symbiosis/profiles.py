"""A listing's monthly profile (issue 19): how its tonnes spread over the calendar year.

``Listing.monthly_profile`` is null (flat: the tonnes spread evenly over the months its
window covers, today's behaviour) or 12 numbers >= 0, January to December, not all 0:
relative shares, so [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0] and [0, ..., 30, 30, 30, 0, 0]
mean the same (a third each in August, September and October). The presets of the
listing form are such lists; ``optimizer.seasons`` turns a profile into the
instance's ``tonnes_per_period``.
"""

from __future__ import annotations

import math

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

MONTHS = 12
ALL_YEAR = "all_year"
CUSTOM = "custom"


def _months(*numbers: int) -> tuple[float, ...]:
    """A profile with an equal share in each named month (1 = January)."""
    return tuple(1.0 if m in numbers else 0.0 for m in range(1, MONTHS + 1))


# Preset key -> its profile (None: flat, all year).
PRESETS: dict[str, tuple[float, ...] | None] = {
    ALL_YEAR: None,
    "harvest_aug_oct": _months(8, 9, 10),
    "heating_oct_apr": _months(10, 11, 12, 1, 2, 3, 4),
    "spring_mar_may": _months(3, 4, 5),
}
PRESET_CHOICES = [
    (ALL_YEAR, _("All year, evenly")),
    ("harvest_aug_oct", _("Harvest: August to October")),
    ("heating_oct_apr", _("Heating season: October to April")),
    ("spring_mar_may", _("Spring: March to May")),
    (CUSTOM, _("Custom: a share for each month")),
]


def profile_errors(value) -> list[str]:
    """What is wrong with a stored or typed profile, in words; [] when it is good."""
    if value is None:
        return []
    if not isinstance(value, (list, tuple)) or len(value) != MONTHS:
        return [str(_("Give 12 numbers, one per month from January to December."))]
    numbers = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            return [str(_("Each month's share is a number."))]
        numbers.append(float(v))
    if any(v < 0 for v in numbers):
        return [str(_("A month's share cannot be negative."))]
    if not any(v > 0 for v in numbers):
        return [str(_("Give at least one month a share above zero."))]
    return []


def validate_monthly_profile(value) -> None:
    """The model field's validator (forms through the services, and the API)."""
    errors = profile_errors(value)
    if errors:
        raise ValidationError(errors[0], code="monthly_profile")


def normalized(profile) -> tuple[float, ...] | None:
    """Shares summing to 1, or None for a flat profile."""
    if profile is None:
        return None
    total = float(sum(profile))
    return tuple(float(v) / total for v in profile)


def preset_of(profile) -> str:
    """The preset key a stored profile equals, else ``custom``."""
    shares = normalized(profile)
    for key, preset in PRESETS.items():
        if shares is None and preset is None:
            return key
        if (
            shares is not None
            and preset is not None
            and all(abs(a - b) < 1e-9 for a, b in zip(shares, normalized(preset), strict=True))
        ):
            return key
    return CUSTOM


def spread(total_tonnes: float, profile, months: list[int], active: list[bool]) -> list[float]:
    """``total_tonnes`` over periods: ``months[t]`` is period t's calendar month (1-12),
    ``active[t]`` whether the listing's window covers it. Each active period gets the
    share of its month in the profile among the active periods' shares (flat: equal
    shares); no share left (the profile's months all outside the window): all zeros."""
    weights = [
        (1.0 if profile is None else float(profile[m - 1])) if on else 0.0
        for m, on in zip(months, active, strict=True)
    ]
    total_weight = sum(weights)
    if total_weight <= 0:
        return [0.0] * len(months)
    return [total_tonnes * w / total_weight for w in weights]


def percent_row(profile) -> list[float]:
    """The 12 shares in percent (flat: 100/12 each), for the pages."""
    shares = normalized(profile) or (1.0 / MONTHS,) * MONTHS
    return [100.0 * s for s in shares]
