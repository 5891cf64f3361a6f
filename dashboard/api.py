"""Exports of every city table as JSON or CSV: ``/api/v1/city/<table>/``.

- Format by content negotiation: ``?format=csv`` / ``?format=json`` or the
  ``Accept`` header (``text/csv``, ``application/json``); JSON by default.
- The same filters as the page (``from``, ``to``, ``district``, ``category``,
  ``co2e=published``);
  values that do not parse are ignored, as on the page, and the filters in force
  come back in ``filters``.
- Rows are paginated with ``limit`` / ``offset``, at most ``MAX_ROWS`` per
  answer (a grouped table rarely has more than a few hundred rows); ``count``,
  ``next`` and ``previous`` say where the rest is; a CSV answer carries them in
  ``X-Total-Count`` and a ``Link`` header.
- CSV text cells starting with ``= + - @`` (or a tab / carriage return) get a
  leading apostrophe so a spreadsheet never runs them as formulas; numbers,
  negative ones too, stay numbers.
- No price and no company of a private listing: the rows are the selectors'
  aggregates (``dashboard.selectors``). The exchanges table places each end at
  the centre of its 0.05-degree cell (``symbiosis.geo.coarse``, as the market
  shows anonymous listings), exchanges in the same cells and districts merged.
- Material names (``material`` in the material, flows and exchanges tables) are
  English (``name_en``) whatever the request's language, so consumers see stable
  keys; the page shows them in its language.
- Figures have fixed decimals per column, by the unit the column's name carries
  (``symbiosis.numbers.export_value``): 3 for tonnes and t CO2e, 1 for kg CO2e,
  3 for percent and degrees, 6 for a fraction; in CSV every decimal is written
  ("330017.860"), never grouped nor localized. Counts (``deliveries``,
  ``exchanges``, ``companies``, ``active_deals``) are whole numbers. Columns whose
  unit the selectors' names leave implicit are renamed here (``EXPORT_NAMES``:
  ``kept_verified`` -> ``tonnes_kept_verified``, ``share_of_recycled`` ->
  ``share_of_recycled_fraction``).

The old ``/city/api/<table>/`` redirects here (``dashboard.urls``).
"""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from dashboard import selectors
from dashboard.access import ReadsCityFigures
from symbiosis import geo
from symbiosis.models.listings import FateEvidence
from symbiosis.numbers import export_value

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TABLE_NAMES = [*selectors.TABLES, "headline"]
MAX_ROWS = 5000


# Export names of the selectors' columns whose unit their name leaves implicit.
EXPORT_NAMES = {
    **{f"kept_{evidence}": f"tonnes_kept_{evidence}" for evidence in FateEvidence.values},
    "kept_with_evidence": "tonnes_kept_with_evidence",
    "share_of_organic_landfilled": "share_of_organic_landfilled_fraction",
    "share_of_recycled": "share_of_recycled_fraction",
}


def export_row(row: dict) -> dict:
    """A selector's row as exported: every figure with its unit in its name and the
    fixed decimals of that unit."""
    out = {}
    for key, value in row.items():
        name = EXPORT_NAMES.get(key, key)
        out[name] = export_value(name, value)
    return out


# A plain number in text, e.g. "-46.3": a spreadsheet reads it as the number it is.
PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")


def neutralise(value):
    """A CSV cell: numbers stay numbers (a negative one is no formula, and an
    apostrophe would turn it into text); text a spreadsheet would run as a
    formula gets a leading apostrophe."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return value
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


class CSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        rows = data.get("rows") if isinstance(data, dict) else None
        if rows is None:  # an error body
            rows = [data] if isinstance(data, dict) else []
        out = io.StringIO()
        if rows:
            writer = csv.writer(out)
            columns = list(rows[0].keys())
            writer.writerow([neutralise(c) for c in columns])
            for row in rows:
                writer.writerow([neutralise(row.get(c)) for c in columns])
        # Never an empty body: DRF drops the Content-Type of one (an empty page).
        return out.getvalue().encode("utf-8") or b"\r\n"


class CityTablePagination(LimitOffsetPagination):
    default_limit = MAX_ROWS
    max_limit = MAX_ROWS


class CityTableSerializer(serializers.Serializer):
    """The shape of an export (for the schema; the rows are the selectors' dicts)."""

    table = serializers.ChoiceField(choices=TABLE_NAMES)
    filters = serializers.DictField(
        child=serializers.CharField(), help_text="the filters in force, as in the page's URL"
    )
    count = serializers.IntegerField(help_text="rows in the whole table")
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    rows = serializers.ListField(
        child=serializers.DictField(),
        help_text="one object per row, figures with their unit in their name and fixed "
        "decimals (3 for tonnes and t_co2e, 1 for kg_co2e): the group's key and label, "
        "tonnes (counted once; a "
        "plant's output adds none), tonnes_kept_out_of_landfill, kg_co2e and t_co2e (the "
        "net of the counted terms) with kg_co2e_published, kg_co2e_proxy (proxies and "
        "estimates), kg_co2e_low and kg_co2e_high, tonnes_co2e_not_counted (current fate "
        "without a factor), tonnes_credit_not_counted, deliveries, exchanges (headline: one "
        "row of the city's totals, with tonnes by category and the shares against the "
        "baselines of the same kind)",
    )


TABLE_DESCRIPTION = (
    "For city analysts and facilitators. Confirmed deliveries only; no price and no "
    "company name. Tables: " + ", ".join(TABLE_NAMES) + ". JSON or CSV by `?format=` "
    f"or the Accept header; at most {MAX_ROWS} rows per answer (`limit`, `offset`). "
    "Material names (`material`) are English whatever the request's language. "
    "Exchanges: `from_lat`, `from_lon`, `to_lat`, `to_lon` are the centres of "
    f"{geo.COARSE_STEP_DEG}-degree grid cells (about 5 km), never a site's position; "
    "exchanges between the same cells, districts and material are one row."
)


class CityTableView(APIView):
    """A city table (or the headline) as JSON or CSV, with the dashboard's filters."""

    permission_classes = [ReadsCityFigures]
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer, CSVRenderer]

    @extend_schema(
        operation_id="city_table_retrieve",
        summary="A table of the city dashboard: confirmed tonnes and CO2e avoided",
        description=TABLE_DESCRIPTION,
        parameters=[
            OpenApiParameter("table", OpenApiTypes.STR, OpenApiParameter.PATH, enum=TABLE_NAMES),
            OpenApiParameter("from", OpenApiTypes.STR, description="first month, YYYY-MM"),
            OpenApiParameter("to", OpenApiTypes.STR, description="last month, YYYY-MM"),
            OpenApiParameter("district", OpenApiTypes.STR, enum=list(selectors.DISTRICT_LABELS)),
            OpenApiParameter("category", OpenApiTypes.STR, enum=list(selectors.CATEGORY_LABELS)),
            OpenApiParameter(
                "co2e",
                OpenApiTypes.STR,
                enum=[selectors.PUBLISHED_ONLY],
                description="published: kg_co2e from published factors only",
            ),
            OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "csv"]),
            OpenApiParameter(
                "limit", OpenApiTypes.INT, description=f"rows per answer, at most {MAX_ROWS}"
            ),
            OpenApiParameter("offset", OpenApiTypes.INT, description="rows to skip"),
        ],
        responses=CityTableSerializer,
    )
    def get(self, request, table: str):
        if table not in TABLE_NAMES:
            raise Http404
        filters = selectors.CityFilters.from_query(request.query_params)
        if table == "headline":
            rows = [selectors.headline(filters)]
        else:
            rows = selectors.TABLES[table](filters)
        paginator = CityTablePagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        next_url, previous_url = paginator.get_next_link(), paginator.get_previous_link()
        response = Response(
            {
                "table": table,
                "filters": filters.as_query(),
                "count": paginator.count,
                "next": next_url,
                "previous": previous_url,
                "rows": [export_row(row) for row in page],
            }
        )
        if getattr(request.accepted_renderer, "format", "") == "csv":
            response["Content-Disposition"] = f'attachment; filename="city-{table}.csv"'
            response["X-Total-Count"] = str(paginator.count)
            links = [
                f'<{url}>; rel="{rel}"'
                for rel, url in (("next", next_url), ("prev", previous_url))
                if url
            ]
            if links:
                response["Link"] = ", ".join(links)
        return response
