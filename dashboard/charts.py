"""Small inline SVG charts rendered on the server: no chart library, no CDN.

Each function takes the aggregated rows of a table and returns safe markup;
every label passes through ``escape``.
"""

from __future__ import annotations

import html

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, gettext_noop

from symbiosis.numbers import number_text, separators

GREEN = "#2f7d4f"
BROWN = "#a0522d"
GREY = "#6b6b6b"


def _num(value: float) -> str:
    return f"{value:,.0f}".replace(",", " ")


def _empty(width: int, height: int, title: str) -> SafeString:
    text = gettext("No confirmed deliveries for these filters.")
    return mark_safe(
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'aria-label="{escape(title)}"><text x="10" y="24" fill="{GREY}">'
        f"{escape(text)}</text></svg>"
    )


def month_series(rows: list[dict], *, width: int = 640, height: int = 220) -> SafeString:
    """Bars of confirmed tonnes per month, a line of net t CO2e avoided."""
    title = gettext("Confirmed tonnes and net t CO2e avoided per month")
    if not rows:
        return _empty(width, 40, title)
    left, right, top, bottom = 56, 90, 16, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    max_t = max(r["tonnes"] for r in rows) or 1.0
    max_c = max(max(r["kg_co2e"] for r in rows) / 1000, 1e-9)
    step = plot_w / len(rows)
    bar_w = max(step * 0.6, 2)
    max_t_text = gettext("%(t)s t") % {"t": _num(max_t)}
    max_c_text = gettext("%(t)s t CO2e") % {"t": _num(max_c)}
    parts = [
        f'<svg class="chart" id="month-chart" role="img" viewBox="0 0 {width} {height}" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        f'stroke="{GREY}"/>',
        f'<text x="4" y="{top + 10}" font-size="11" fill="{GREEN}">{escape(max_t_text)}</text>',
        f'<text x="{width - right + 4}" y="{top + 10}" font-size="11" fill="{BROWN}">'
        f"{escape(max_c_text)}</text>",
    ]
    points = []
    bar_title = gettext("%(month)s: %(t)s t, %(co2e)s t CO2e")
    for i, row in enumerate(rows):
        x = left + i * step + (step - bar_w) / 2
        h = plot_h * row["tonnes"] / max_t
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" '
            f'height="{h:.1f}" fill="{GREEN}"><title>'
            + escape(
                bar_title
                % {
                    "month": row["month"],
                    "t": _num(row["tonnes"]),
                    "co2e": _num(row["kg_co2e"] / 1000),
                }
            )
            + "</title></rect>"
        )
        cy = top + plot_h - plot_h * max(row["kg_co2e"] / 1000, 0) / max_c
        points.append(f"{x + bar_w / 2:.1f},{cy:.1f}")
        if len(rows) <= 12 or i % max(len(rows) // 12, 1) == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{height - bottom + 16}" font-size="10" '
                f'text-anchor="middle">{escape(row["month"])}</text>'
            )
    parts.append(
        f'<polyline points="{" ".join(points)}" fill="none" stroke="{BROWN}" stroke-width="2"/>'
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))


def bars(rows: list[dict], *, label_key: str = "label", width: int = 640) -> SafeString:
    """Horizontal bars of confirmed tonnes, one per row (e.g. per category)."""
    title = gettext("Confirmed tonnes by category")
    if not rows:
        return _empty(width, 40, title)
    row_h, left = 26, 150
    height = row_h * len(rows) + 10
    max_t = max(r["tonnes"] for r in rows) or 1.0
    tonnes_text = gettext("%(t)s t")
    parts = [
        f'<svg class="chart" id="category-chart" role="img" viewBox="0 0 {width} {height}" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for i, row in enumerate(rows):
        y = 5 + i * row_h
        w = (width - left - 110) * row["tonnes"] / max_t
        parts.append(
            f'<text x="{left - 6}" y="{y + 16}" font-size="12" text-anchor="end">'
            f"{escape(row[label_key])}</text>"
            f'<rect class="bar" x="{left}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" '
            f'fill="{GREEN}"/>'
            f'<text x="{left + w + 6:.1f}" y="{y + 16}" font-size="12">'
            f"{escape(tonnes_text % {'t': _num(row['tonnes'])})}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))


def tenths_text(value, seps: tuple[str, str] | None = None) -> str:
    """``{{ value|floatformat:1|intcomma }}``."""
    return number_text(value, 1, seps=seps)


# Tonnes are weighed to the kilogram: sums of floats never land exactly on the
# not-counted tonnes, so less than half a kilogram is none.
# static/dashboard/city_sankey.js uses the same bound.
COUNTED_T_MIN = 0.0005

# The Sankey's tooltips (city.html passes the translation to the script) and its
# <noscript> table say this; "{t}" stands for the tonnes whose current fate has no
# factor (that term is not counted; the rest of their CO2e is).
NOT_COUNTED_TEXT = gettext_noop("current fate's CO2e not counted for {t} t")


def flow_co2e_text(flow: dict, seps: tuple[str, str], not_counted_text: str) -> str:
    """The <noscript> table's CO2e cell: whole t CO2e of the counted terms, then the
    tonnes whose current fate is not counted ("current fate's CO2e not counted for
    12.0 t"), so a figure that leaves a term out never stands alone."""
    not_counted = float(flow.get("tonnes_co2e_not_counted") or 0)
    # {% widthratio kg_co2e 1000 1 %}: whole t CO2e
    parts = [str(round(float(flow["kg_co2e"]) / 1000))]
    if not_counted >= COUNTED_T_MIN:
        parts.append(not_counted_text.replace("{t}", tenths_text(not_counted, seps)))
    return "; ".join(parts)


def flows_table_rows(flows: list[dict]) -> SafeString:
    """The <noscript> table's rows of the Sankey flows (hundreds at city scale),
    joined here with every label escaped: the template's loop cost more than the
    rest of the page."""
    seps = separators()
    not_counted_text = gettext(NOT_COUNTED_TEXT)
    return mark_safe(
        "".join(
            # html.escape is what django.utils.html.escape applies, minus its lazy wrapper.
            f"<tr><td>{html.escape(str(f['sector']))}</td>"
            f"<td>{html.escape(str(f['material']))}</td>"
            f"<td>{html.escape(str(f['use']))}</td>"
            f'<td class="num">{tenths_text(f["tonnes"], seps)}</td>'
            f'<td class="num">{html.escape(flow_co2e_text(f, seps, not_counted_text))}</td></tr>'
            for f in flows
        )
    )
