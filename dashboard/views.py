"""The city dashboard, its methodology page and the optional public summary."""

from __future__ import annotations

from datetime import date
from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from dashboard import charts, potential, selectors
from dashboard import methodology as methodology_rows
from dashboard.access import reads_city_figures
from symbiosis import data_versions, impact
from symbiosis.models import MaterialCategory
from symbiosis.models.accounts import District
from symbiosis.models.listings import Fate
from symbiosis.numbers import separators
from symbiosis.taxonomy import active_factor_set


def city_reader_required(view):
    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not reads_city_figures(request.user):
            raise PermissionDenied("The city dashboard is for city analysts and facilitators.")
        return view(request, *args, **kwargs)

    return wrapped


# Lines drawn on the map: the largest by tonnes. Thousands of lines cost the
# server a JSON payload of hundreds of kB per view and hide each other on a
# city map; the exchanges export has every one.
MAP_LINES_MAX = 300

# The Sankey's JSON (city.html): aggregates and labels, no company, site or price.
SANKEY_KEYS = ("sector", "material", "use", "tonnes", "kg_co2e", "tonnes_co2e_not_counted")

# (table, column with the row's name, second name column) as _table.html shows them
PAGE_TABLE_KEYS = {
    "category": ("label", None),
    "material": ("material", "category"),
    "sector": ("label", None),
    "district": ("label", None),
    "month": ("month", None),
}


def _table_rows(name: str, rows: list[dict]) -> list[dict]:
    key, extra = PAGE_TABLE_KEYS[name]
    seps = separators()
    methodology_url = reverse("dashboard:methodology")
    return [
        {
            "key": row[key],
            "extra": row[extra] if extra else None,
            "tonnes": charts.tenths_text(row["tonnes"], seps),
            "t_co2e": charts.tenths_text(row["t_co2e"], seps),
            "deliveries": intcomma(row["deliveries"]),
            "exchanges": intcomma(row["exchanges"]),
            # A material's row links to the factors behind its figures.
            "href": f"{methodology_url}?{urlencode({'material': row['material_slug']})}"
            if row.get("material_slug")
            else "",
        }
        for row in rows
    ]


def _map_data(rows: list[dict]) -> dict:
    label = gettext("%(material)s: %(tonnes)s t (%(from)s → %(to)s)")
    return {
        "lines": [
            {
                "from": [r["from_lat"], r["from_lon"]],
                "to": [r["to_lat"], r["to_lon"]],
                "tonnes": r["tonnes"],
                "label": label
                % {
                    "material": r["material"],
                    "tonnes": f"{r['tonnes']:,.1f}",
                    "from": r["from_district"],
                    "to": r["to_district"],
                },
            }
            for r in rows
        ]
    }


@city_reader_required
def city_dashboard(request):
    filters = selectors.CityFilters.from_query(request.GET)
    figures = _city_figures(filters)
    data = figures["data"]
    query = urlencode(filters.as_query())
    exports = [(name, reverse("api:city-table", args=[name])) for name in selectors.TABLES]
    return render(
        request,
        "dashboard/city.html",
        {
            **data,
            **figures["page"],
            "filters": filters,
            "query": query,
            "exports": exports,
            "districts": District.choices,
            "categories": MaterialCategory.choices,
            "baselines": selectors.BASELINES,
            "categories_shown": _categories(data["headline"]),
            "published_query": urlencode({**filters.as_query(), "co2e": "published"}),
            "all_tiers_query": urlencode(
                {k: v for k, v in filters.as_query().items() if k != "co2e"}
            ),
        },
    )


def _city_figures(filters: selectors.CityFilters) -> dict:
    """The page's figures, and its charts, tables and map made of them, cached per
    filters, language and data version: its 16 grouping queries and the
    formatting of their rows were the costliest read of the site, for figures
    that change with a confirmed delivery, a deal, a rate, a decision or a run
    (``FIGURES``) or an edited organization, site or material (``PARTIES``), each
    of which records a new version as it commits (``symbiosis.data_versions``)."""

    def compute():
        data = selectors.city_dashboard(filters)
        lines, total = selectors.largest_exchanges(filters, MAP_LINES_MAX, localized=True)
        page = {
            "month_chart": charts.month_series(data["month"]),
            # Beside confirmed: the latest run by month's proposals (issue 19).
            "month_potential": potential.month_potential(filters, data["month"]),
            "category_chart": charts.bars(data["category"]),
            # Drawn in the browser (static/dashboard/city_sankey.js) from these
            # aggregates only: the keys are listed so no other field reaches the page.
            "sankey_flows": [{key: row[key] for key in SANKEY_KEYS} for row in data["flows"]],
            "flows_table_rows": charts.flows_table_rows(data["flows"]),
            "table_rows": {name: _table_rows(name, data[name]) for name in PAGE_TABLE_KEYS},
            "map_data": _map_data(lines),
            "map_lines_shown": len(lines),
            "map_lines_total": total,
        }
        return {"data": data, "page": page}

    versions = data_versions.data_versions(data_versions.FIGURES, data_versions.PARTIES)
    query = urlencode(sorted(filters.as_query().items()))
    key = f"city:{get_language()}:{versions[0]}:{versions[1]}:{MAP_LINES_MAX}:{query}"
    return data_versions.cached(key, compute)


# What the tonnes are, in the words the pages use (symbiosis.impact.CATEGORIES).
CATEGORY_WORDS = {
    impact.KEPT_OUT_OF_LANDFILL: _("kept out of landfill"),
    impact.BROUGHT_INTO_COMPLIANCE: _("brought into compliance (a banned disposal)"),
    impact.PUT_TO_USE: _("put to use (not from landfill)"),
    impact.REUSE_CONTINUED: _("reuse continued (already used before)"),
    impact.USED_AT_LANDFILL: _("used at a landfill (cover, roads)"),
    impact.PLANT_OUTPUT: _("a plant's output (credits only, tonnes counted going in)"),
}


def _categories(headline: dict) -> list[dict]:
    return [
        {"key": key, "label": CATEGORY_WORDS[key], "tonnes": headline[f"tonnes_{key}"]}
        for key in impact.CATEGORIES
    ]


@city_reader_required
def methodology(request):
    """The method, the baselines with their sources, and exactly the factors the
    figures and proposals rest on (``?material=<slug>``, ``?tier=published|proxy``
    narrow them: the city page's figures link here)."""
    factor_set = active_factor_set()
    material = request.GET.get("material", "")[:80]
    tier = request.GET.get("tier", "")
    tier = tier if tier in ("published", "proxy") else ""
    return render(
        request,
        "dashboard/methodology.html",
        {
            "factor_set": factor_set,
            "factors": methodology_rows.factors_in_use(material=material, tier=tier),
            "material": material,
            "tier": tier,
            "baselines": selectors.BASELINES,
            "category_words": CATEGORY_WORDS.items(),
            "landfill_fates": [
                str(label).lower()
                for value, label in Fate.choices
                if value in impact.LANDFILL_FATES
            ],
            "default_road_factor": impact.DEFAULT_ROAD_FACTOR,
        },
    )


def _month_start(month: str) -> date:
    """``"2026-03"`` (a row of ``selectors.by_month``) as the 1st of that month."""
    year, number = month.split("-")
    return date(int(year), int(number), 1)


def public_summary(request):
    """The city's results for everyone (``CITY_PUBLIC_PAGE``): the chart says what it
    shows, in which units, over which months, and the page how it is counted."""
    if not getattr(settings, "CITY_PUBLIC_PAGE", False):
        raise Http404("The public city page is not published.")
    filters = selectors.CityFilters()
    headline = selectors.headline(filters)
    months = selectors.by_month(filters)
    return render(
        request,
        "dashboard/public.html",
        {
            "headline": headline,
            "categories_shown": _categories(headline),
            "category": selectors.by_category(filters),
            "month_chart": charts.month_series(months),
            "period_first": _month_start(months[0]["month"]) if months else None,
            "period_last": _month_start(months[-1]["month"]) if months else None,
            "factor_set": active_factor_set(),
            "named": selectors.named_organizations(filters),
        },
    )
