"""Small inline SVG charts rendered on the server: no chart library, no CDN.

Each function takes the aggregated rows of a table and returns safe markup;
every label passes through ``escape``.
"""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

GREEN = "#2f7d4f"
BROWN = "#a0522d"
GREY = "#6b6b6b"


def _num(value: float) -> str:
    return f"{value:,.0f}".replace(",", " ")


def _empty(width: int, height: int, title: str) -> SafeString:
    return mark_safe(
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'aria-label="{escape(title)}"><text x="10" y="24" fill="{GREY}">'
        "No confirmed deliveries for these filters.</text></svg>"
    )


def month_series(rows: list[dict], *, width: int = 640, height: int = 220) -> SafeString:
    """Bars of confirmed tonnes per month, a line of net t CO2e avoided."""
    title = "Confirmed tonnes and net t CO2e avoided per month"
    if not rows:
        return _empty(width, 40, title)
    left, right, top, bottom = 56, 90, 16, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    max_t = max(r["tonnes"] for r in rows) or 1.0
    max_c = max(max(r["kg_co2e"] for r in rows) / 1000, 1e-9)
    step = plot_w / len(rows)
    bar_w = max(step * 0.6, 2)
    parts = [
        f'<svg class="chart" id="month-chart" role="img" viewBox="0 0 {width} {height}" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        f'stroke="{GREY}"/>',
        f'<text x="4" y="{top + 10}" font-size="11" fill="{GREEN}">{_num(max_t)} t</text>',
        f'<text x="{width - right + 4}" y="{top + 10}" font-size="11" fill="{BROWN}">'
        f"{_num(max_c)} t CO2e</text>",
    ]
    points = []
    for i, row in enumerate(rows):
        x = left + i * step + (step - bar_w) / 2
        h = plot_h * row["tonnes"] / max_t
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" '
            f'height="{h:.1f}" fill="{GREEN}"><title>{escape(row["month"])}: '
            f"{_num(row['tonnes'])} t, {_num(row['kg_co2e'] / 1000)} t CO2e</title></rect>"
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
    title = "Confirmed tonnes by category"
    if not rows:
        return _empty(width, 40, title)
    row_h, left = 26, 150
    height = row_h * len(rows) + 10
    max_t = max(r["tonnes"] for r in rows) or 1.0
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
            f'<text x="{left + w + 6:.1f}" y="{y + 16}" font-size="12">{_num(row["tonnes"])} t'
            "</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))


def sankey(rows: list[dict], *, width: int = 760, height: int = 360) -> SafeString:
    """Sector -> material -> use, three columns; node heights and link widths in tonnes.

    ``rows`` are (sector, material, use, tonnes) flows; each flow is drawn as a
    link sector->material and a link material->use, stacked in node order.
    """
    title = "Confirmed flows: supplier sector to material to use"
    if not rows:
        return _empty(width, 40, title)
    columns = ("sector", "material", "use")
    totals: list[dict[str, float]] = [{}, {}, {}]
    for row in rows:
        for c, key in enumerate(columns):
            totals[c][row[key]] = totals[c].get(row[key], 0.0) + row["tonnes"]
    total = sum(row["tonnes"] for row in rows) or 1.0
    gap, node_w, pad_top = 10, 14, 10
    max_nodes = max(len(t) for t in totals)
    scale = (height - 2 * pad_top - gap * (max_nodes - 1)) / total
    xs = [150, width / 2 - node_w / 2, width - 170]
    nodes: list[dict[str, list[float]]] = []  # name -> [y, out offset, in offset]
    parts = [
        f'<svg class="chart" id="sankey" role="img" viewBox="0 0 {width} {height}" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for c, column in enumerate(totals):
        y = pad_top
        placed = {}
        for name, tonnes in sorted(column.items(), key=lambda item: -item[1]):
            h = max(tonnes * scale, 1.0)
            placed[name] = [y, y, y]
            parts.append(
                f'<rect class="sankey-node" x="{xs[c]:.1f}" y="{y:.1f}" width="{node_w}" '
                f'height="{h:.1f}" fill="{GREY}"><title>{escape(name)}: {_num(tonnes)} t'
                "</title></rect>"
            )
            anchor, tx = ("end", xs[c] - 4) if c == 0 else ("start", xs[c] + node_w + 4)
            parts.append(
                f'<text x="{tx:.1f}" y="{y + h / 2 + 4:.1f}" font-size="11" '
                f'text-anchor="{anchor}">{escape(name)}</text>'
            )
            y += h + gap
        nodes.append(placed)
    for row in rows:
        w = max(row["tonnes"] * scale, 1.0)
        for c in (0, 1):
            src = nodes[c][row[columns[c]]]
            dst = nodes[c + 1][row[columns[c + 1]]]
            x0, x1 = xs[c] + node_w, xs[c + 1]
            y0, y1 = src[1] + w / 2, dst[2] + w / 2
            src[1] += w
            dst[2] += w
            mx = (x0 + x1) / 2
            parts.append(
                f'<path class="sankey-link" d="M{x0:.1f},{y0:.1f} C{mx:.1f},{y0:.1f} '
                f'{mx:.1f},{y1:.1f} {x1:.1f},{y1:.1f}" stroke="{GREEN}" stroke-opacity="0.35" '
                f'stroke-width="{w:.1f}" fill="none"><title>{escape(row[columns[c]])} → '
                f"{escape(row[columns[c + 1]])}: {_num(row['tonnes'])} t</title></path>"
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))
