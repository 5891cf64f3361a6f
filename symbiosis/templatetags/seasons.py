"""Small month charts (issue 19): inline SVG bars drawn on the server, as the city
dashboard's charts are (``dashboard.charts``): no chart library, no CDN."""

from __future__ import annotations

from django import template
from django.utils.dates import MONTHS_3
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext, pgettext

from symbiosis import profiles
from symbiosis.numbers import number_text

register = template.Library()
GREEN = "#2f7d4f"
GREY = "#6b6b6b"


def bars_svg(values: list[float], labels: list[str], *, title: str, unit: str) -> str:
    """One bar per value, its label under it, the value in each bar's tooltip."""
    n = max(len(values), 1)
    width, height, top, bottom = 24 * n, 90, 6, 18
    plot_h = height - top - bottom
    peak = max(values, default=0.0) or 1.0
    parts = [
        f'<svg class="month-bars" role="img" viewBox="0 0 {width} {height}" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<line x1="0" y1="{top + plot_h}" x2="{width}" y2="{top + plot_h}" stroke="{GREY}"/>',
    ]
    for i, (value, label) in enumerate(zip(values, labels, strict=True)):
        bar_h = plot_h * max(value, 0.0) / peak
        x = i * 24 + 4
        tip = f"{label}: {number_text(value, 1)} {unit}"
        parts.append(
            f'<rect x="{x}" y="{top + plot_h - bar_h:.2f}" width="16" height="{bar_h:.2f}" '
            f'fill="{GREEN}"><title>{escape(tip)}</title></rect>'
        )
        parts.append(
            f'<text x="{x + 8}" y="{height - 5}" font-size="9" text-anchor="middle" '
            f'fill="{GREY}">{escape(label[:3])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


@register.simple_tag
def profile_bars(profile):
    """A listing's monthly profile as 12 bars of its shares in percent."""
    labels = [str(capfirst(MONTHS_3[m])) for m in range(1, profiles.MONTHS + 1)]
    return mark_safe(
        bars_svg(profiles.percent_row(profile), labels, title=gettext("Share by month"), unit="%")
    )


@register.simple_tag
def period_bars(by_period: dict, unit: str = "t"):
    """Tonnes (or another figure) by period label ("2027-01") as bars."""
    labels = sorted(by_period)
    values = [float(by_period[k]) for k in labels]
    short = [_month_label(k) for k in labels]
    return mark_safe(bars_svg(values, short, title=gettext("Tonnes by month"), unit=unit))


def _month_label(period: str) -> str:
    try:
        return str(capfirst(MONTHS_3[int(period[5:7])]))
    except (ValueError, KeyError):
        return period


@register.filter
def profile_label(profile) -> str:
    """The preset's name ("Harvest: August to October"), or "Custom"."""
    return str(dict(profiles.PRESET_CHOICES)[profiles.preset_of(profile)])


@register.filter
def months_text(by_period: dict) -> str:
    """The months with tonnes, in words: "Aug 2027: 10 t · Sep 2027: 10 t"."""
    unit = pgettext("unit symbol: tonnes", "t")
    return " · ".join(
        f"{_month_label(k)} {k[:4]}: {number_text(v, 1)} {unit}"
        for k, v in sorted(by_period.items())
        if v > 1e-9
    )


def _month_index(period: str) -> int | None:
    """A label such as 2027-08 as a running month number (Dec 2027, Jan 2028 adjacent)."""
    try:
        year, month = int(period[:4]), int(period[5:7])
    except ValueError:
        return None
    return year * 12 + month - 1 if 1 <= month <= 12 else None


@register.filter
def months_span(by_period: dict) -> str:
    """The months with tonnes as runs of months: "Aug–Oct", "Dec–Feb, Jun"; "all
    year" for twelve months in a row; "" for a one-period run (no months)."""
    months = sorted(
        index
        for period, tonnes in (by_period or {}).items()
        if float(tonnes) > 1e-9 and (index := _month_index(period)) is not None
    )
    if not months:
        return ""
    runs = [[months[0], months[0]]]
    for index in months[1:]:
        if index == runs[-1][1] + 1:
            runs[-1][1] = index
        else:
            runs.append([index, index])
    if len(runs) == 1 and runs[0][1] - runs[0][0] + 1 >= profiles.MONTHS:
        return gettext("all year")

    def name(index: int) -> str:
        return str(capfirst(MONTHS_3[index % 12 + 1]))

    return ", ".join(
        name(first) if first == last else f"{name(first)}\u2013{name(last)}" for first, last in runs
    )


@register.filter
def kg_as_t(kg) -> str:
    """kg CO2e shown in tonnes with one decimal."""
    return number_text(float(kg or 0) / 1000, 1)


@register.filter
def month_tonnes(rows: list[dict]) -> dict:
    """A run's month rows as {period: tonnes}, for ``period_bars``."""
    return {row["period"]: row["tonnes"] for row in rows}
