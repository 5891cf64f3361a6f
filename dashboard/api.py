"""Exports of every dashboard table as CSV or JSON: ``/city/api/<table>/?format=csv``.

The same filters as the page (``from``, ``to``, ``district``, ``category``).
CSV cells starting with ``= + - @`` (or a tab / carriage return) get a leading
apostrophe so a spreadsheet never runs them as formulas.
"""

from __future__ import annotations

import csv
import io

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from dashboard import selectors
from dashboard.access import ReadsCityFigures
from dashboard.services import figures_refresh

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


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
            writer.writerow(columns)
            for row in rows:
                writer.writerow([neutralise(row.get(c)) for c in columns])
        return out.getvalue().encode("utf-8")


class CityTableExport(APIView):
    """A city table (or the headline) as JSON or CSV, with the dashboard's filters."""

    permission_classes = [ReadsCityFigures]
    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(
        parameters=[
            OpenApiParameter("from", str, description="first month, YYYY-MM"),
            OpenApiParameter("to", str, description="last month, YYYY-MM"),
            OpenApiParameter("district", str),
            OpenApiParameter("category", str),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, table: str):
        selector = selectors.TABLES.get(table)
        if selector is None and table != "headline":
            raise Http404
        filters = selectors.CityFilters.from_query(request.query_params)
        figures_refresh()
        rows = [selectors.headline(filters)] if table == "headline" else selector(filters)
        response = Response({"table": table, "filters": filters.as_query(), "rows": rows})
        if getattr(request.accepted_renderer, "format", "") == "csv":
            response["Content-Disposition"] = f'attachment; filename="city-{table}.csv"'
        return response
