"""Movement records under /api/v1/movements/: a period's records as JSON or CSV
(``?from=YYYY-MM-DD&until=YYYY-MM-DD&format=json|csv``) and one delivery's record
(``/api/v1/movements/<delivery id>/``). The records are ``marketplace.movement``'s,
as on the pages: a company reads its own deals' confirmed deliveries, a facilitator
everyone's, a city analyst none (403). Bad dates answer 400 with field errors."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response

from marketplace import movement
from symbiosis.api import permissions
from symbiosis.api.views import FIELD_ERRORS, ApiViewSet

MAX_RECORDS = 5000


class MovementCSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, dict) and "records" in data:
            return movement.records_csv(data["records"]).encode("utf-8")
        # An error body (400, 403, 404) as "field,message" lines.
        rows = data.items() if isinstance(data, dict) else [("detail", data)]
        lines = [f"{key},{'; '.join(map(str, v)) if isinstance(v, list) else v}" for key, v in rows]
        return ("\r\n".join(lines) or "\r\n").encode("utf-8")


class PeriodSerializer(serializers.Serializer):
    def get_fields(self):
        # "from" is a Python keyword: named here, as the query names it.
        return {"from": serializers.DateField(), "until": serializers.DateField()}

    def validate(self, attrs):
        if attrs["until"] < attrs["from"]:
            raise serializers.ValidationError(
                {"until": [_("The end of the period is before its start.")]}
            )
        return attrs


class MovementPagination(LimitOffsetPagination):
    default_limit = MAX_RECORDS
    max_limit = MAX_RECORDS


class MovementViewSet(ApiViewSet):
    permission_classes = [IsAuthenticated, permissions.ReadsCompanyData]
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer, MovementCSVRenderer]
    filter_backends = []
    lookup_value_regex = "[0-9]+"
    pagination_class = None

    @extend_schema(
        operation_id="movements_list",
        summary="Movement records of a period (your deals; facilitators: all), JSON or CSV",
        description=(
            "One record per confirmed delivery dated in the period (both days included), "
            "schema marketplace/schema/movement_record.schema.json, fields in "
            "docs/movement_record.md. A correction is a reversal record (negative tonnes) "
            "and a replacement record linked to the original: summing tonnes_net counts "
            f"each load once. At most {MAX_RECORDS} records per answer (limit, offset); a "
            "CSV answer carries the total in X-Total-Count."
        ),
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, required=True),
            OpenApiParameter("until", OpenApiTypes.DATE, required=True),
            OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "csv"]),
            OpenApiParameter("limit", OpenApiTypes.INT),
            OpenApiParameter("offset", OpenApiTypes.INT),
        ],
        responses={200: OpenApiTypes.OBJECT, 400: FIELD_ERRORS},
    )
    def list(self, request):
        period = PeriodSerializer(data=request.query_params)
        period.is_valid(raise_exception=True)
        start, end = period.validated_data["from"], period.validated_data["until"]
        deliveries = movement.movement_deliveries(user=self.viewer, date_from=start, date_until=end)
        paginator = MovementPagination()
        page = paginator.paginate_queryset(deliveries, request, view=self)
        body = movement.export_document(
            movement.movement_records(page), date_from=start, date_until=end
        )
        body["count"] = paginator.count
        body["next"], body["previous"] = paginator.get_next_link(), paginator.get_previous_link()
        response = Response(body)
        if getattr(request.accepted_renderer, "format", "") == "csv":
            name = movement.export_file_name(start, end, "csv")
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            response["X-Total-Count"] = str(paginator.count)
        return response

    @extend_schema(
        summary="The movement record of one confirmed delivery",
        parameters=[OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "csv"])],
        responses={
            200: OpenApiTypes.OBJECT,
            404: OpenApiResponse(description="No such confirmed delivery of yours."),
        },
    )
    def retrieve(self, request, pk=None):
        delivery = movement.movement_delivery_get(user=self.viewer, delivery_id=pk)
        record = movement.movement_record(delivery)
        if getattr(request.accepted_renderer, "format", "") == "csv":
            return Response({"records": [record]})
        return Response(record)
