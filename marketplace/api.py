"""Deals, their transitions and deliveries under /api/v1/: the same services as the pages.

A deal the user may not see answers 404; a transition the user may see but
not take answers 403; a transition the deal's state does not allow, or one
that would over-commit the supply listing, answers 400 with the reason.
"""

import io
import json

import django_filters
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from marketplace import selectors, serializers, services
from marketplace.models import Delivery
from symbiosis.api import permissions
from symbiosis.api.views import FIELD_ERRORS, ApiViewSet

REFUSED = OpenApiResponse(description="You may see this deal but not take this step.")


class PDFRenderer(BaseRenderer):
    """Lets a client ask for ``Accept: application/pdf``; an error still comes as JSON."""

    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, bytes) else json.dumps(data).encode()


def _transition_schema(summary: str, request):
    return extend_schema(
        summary=summary,
        request=request,
        responses={200: serializers.DealDetailSerializer, 400: FIELD_ERRORS, 403: REFUSED},
    )


@extend_schema_view(
    list=extend_schema(
        summary="Deals you are a party to (facilitators: all)",
        description=(
            "Drafts are listed only for the side that started them, except a facilitator's "
            "introduction, which both companies see from the moment of the introduction "
            "(they change and send it once both accepted the introduction: "
            "/api/v1/introductions/{id}/answer/). Each deal says what it waits for "
            "(waiting_for_introduction, pending_amendment, next_steps)."
        ),
    ),
    retrieve=extend_schema(
        summary="One deal with its history and impact",
        responses=serializers.DealDetailSerializer,
    ),
    create=extend_schema(
        summary="Start a deal (a draft) on a supply listing",
        description=(
            "A receiver names its demand listing or the site it takes the residue to; a "
            "supplier names the public demand it answers; a facilitator introduces any two "
            "parties. Send it to the other party with /offer/: sending accepts the terms "
            "for the sender."
        ),
        request=serializers.DealCreateInputSerializer,
        responses={201: serializers.DealDetailSerializer, 400: FIELD_ERRORS, 403: REFUSED},
    ),
)
class DealViewSet(ApiViewSet):
    permission_classes = [IsAuthenticated, permissions.ReadsCompanyData]
    output_serializer_class = serializers.DealOutputSerializer
    input_serializer_class = serializers.DealCreateInputSerializer
    action_input_serializers = {
        "offer": serializers.OfferInputSerializer,
        "accept": serializers.AcceptInputSerializer,
        "update_terms": serializers.DealTermsInputSerializer,
        "decline": serializers.ReasonInputSerializer,
        "cancel": serializers.ReasonInputSerializer,
        "activate": serializers.ActivateInputSerializer,
        "complete": serializers.NoteInputSerializer,
        "messages": serializers.MessageInputSerializer,
    }
    filterset_fields = ["state", "period", "transport_by"]
    ordering_fields = ["updated_at", "start_date", "end_date"]
    ordering = ["-updated_at", "-id"]

    def get_queryset(self):
        return selectors.deal_list(user=self.viewer)

    def get_serializer_class(self):
        if self.request is not None and self.request.method == "POST":
            return self.action_input_serializers.get(self.action, self.input_serializer_class)
        if self.action == "retrieve":
            return serializers.DealDetailSerializer
        if self.action == "messages":
            return serializers.MessageOutputSerializer
        return self.output_serializer_class

    def _detail(self, deal, status_code=status.HTTP_200_OK):
        deal = selectors.deal_get(user=self.viewer, deal_id=deal.pk)
        data = serializers.DealDetailSerializer(deal, context=self.get_serializer_context()).data
        return Response(data, status=status_code)

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        data = self.output_serializer_class(
            page, many=True, context=self.get_serializer_context()
        ).data
        return self.get_paginated_response(data)

    def retrieve(self, request, pk=None):
        return self._detail(self.get_object())

    def create(self, request):
        data = dict(self.validated(serializers.DealCreateInputSerializer))
        deal = services.deal_create(user=request.user, **data)
        return self._detail(deal, status.HTTP_201_CREATED)

    def _transition(self, name: str):
        deal = self.get_object()
        data = self.validated(self.action_input_serializers[name])
        deal = services.TRANSITION_SERVICES[name](user=self.request.user, deal=deal, **data)
        return self._detail(deal)

    @_transition_schema(
        "Send a draft to the other party; sending accepts its terms for your side",
        serializers.OfferInputSerializer,
    )
    @action(detail=True, methods=["post"])
    def offer(self, request, pk=None):
        return self._transition("offer")

    @_transition_schema(
        "Accept the terms on the table: an offer (then the deal is accepted) or an active "
        "deal's pending amendment (its terms then apply)",
        serializers.AcceptInputSerializer,
    )
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        return self._transition("accept")

    @_transition_schema(
        "New terms: a draft changes; an offered or accepted deal gets a counter-offer "
        "(accepted by you, the other side's acceptance cleared, the deal offered); an active "
        "deal gets a pending amendment (the deal runs on its terms until the other party "
        "accepts it with /accept/ or declines it with /decline/)",
        serializers.DealTermsInputSerializer,
    )
    @action(detail=True, methods=["post"], url_path="update-terms", url_name="update-terms")
    def update_terms(self, request, pk=None):
        return self._transition("update_terms")

    @_transition_schema(
        "Decline the terms on the table: an offer (the deal is declined) or an active deal's "
        "pending amendment (the deal goes on, on its terms)",
        serializers.ReasonInputSerializer,
    )
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        return self._transition("decline")

    @_transition_schema(
        "Cancel a deal (parties; facilitators too)", serializers.ReasonInputSerializer
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._transition("cancel")

    @_transition_schema(
        "Start deliveries of an accepted deal, from a day you name (default: today or the "
        "agreed start, whichever is later); deliveries dated earlier are refused",
        serializers.ActivateInputSerializer,
    )
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        return self._transition("activate")

    @_transition_schema("Mark an active deal completed", serializers.NoteInputSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        return self._transition("complete")

    @extend_schema(
        methods=["GET"],
        summary="Messages on a deal",
        responses=serializers.MessageOutputSerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        summary="Write on a deal; the other party gets an e-mail",
        request=serializers.MessageInputSerializer,
        responses={201: serializers.MessageOutputSerializer, 400: FIELD_ERRORS},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def messages(self, request, pk=None):
        deal = self.get_object()
        if request.method == "GET":
            rows = deal.messages.select_related("author")
            return Response(serializers.MessageOutputSerializer(rows, many=True).data)
        data = self.validated(serializers.MessageInputSerializer)
        message = services.message_post(user=request.user, deal=deal, body=data["body"])
        return Response(
            serializers.MessageOutputSerializer(message).data, status=status.HTTP_201_CREATED
        )


class DeliveryFilter(django_filters.FilterSet):
    # A number, not a lookup of the deal: a lookup would list every deal (with its
    # parties' names) in the browsable API's filter form, and answer a deal the
    # caller may not see differently from one that does not exist.
    deal = django_filters.NumberFilter(field_name="deal__id")

    class Meta:
        model = Delivery
        fields = ["deal", "status"]


@extend_schema_view(
    list=extend_schema(summary="Deliveries of the deals you may see"),
    retrieve=extend_schema(summary="One delivery"),
    create=extend_schema(
        summary="Log a delivery (weighbridge tonnes) on an active deal",
        description=(
            "By either party; the other party (or a facilitator) confirms it, never the "
            "one who logged it. A delivery above the per-load maximum x loads, or one that "
            "takes the deal's period above the agreed tonnes by more than the tolerance, is "
            "stored with status held (see held_reason) and counts for nothing until a "
            "facilitator releases it."
        ),
        request=serializers.DeliveryInputSerializer,
        responses={201: serializers.DeliveryOutputSerializer, 400: FIELD_ERRORS, 403: REFUSED},
    ),
)
class DeliveryViewSet(ApiViewSet):
    permission_classes = [IsAuthenticated, permissions.ReadsCompanyData]
    output_serializer_class = serializers.DeliveryOutputSerializer
    input_serializer_class = serializers.DeliveryInputSerializer
    filterset_class = DeliveryFilter
    ordering_fields = ["date", "logged_at"]
    ordering = ["-date", "-id"]

    def get_queryset(self):
        return selectors.delivery_list(user=self.viewer)

    def get_serializer_class(self):
        return self.action_input_serializers.get(self.action) or super().get_serializer_class()

    action_input_serializers = {
        "dispute": serializers.ReasonInputSerializer,
        "reject": serializers.ReasonInputSerializer,
        "release": serializers.NoteInputSerializer,
        "correct": serializers.DeliveryCorrectInputSerializer,
    }

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.output_serializer_class(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(self.render(self.get_object()))

    def create(self, request):
        data = self.validated(serializers.DeliveryInputSerializer)
        delivery = services.delivery_log(user=request.user, **data)
        return Response(self.render(delivery), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Confirm a delivery (the other party or a facilitator, never its logger)",
        description=(
            "Its tonnes count as diverted. On a row of a correction, confirms the "
            "correction: its reversal and replacement together."
        ),
        request=None,
        responses={200: serializers.DeliveryOutputSerializer, 400: FIELD_ERRORS, 403: REFUSED},
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        delivery = services.delivery_confirm(user=request.user, delivery=self.get_object())
        return Response(self.render(delivery))

    @extend_schema(
        summary="Dispute a delivery (the other party or a facilitator), with a reason",
        request=serializers.ReasonInputSerializer,
        responses={200: serializers.DeliveryOutputSerializer, 400: FIELD_ERRORS, 403: REFUSED},
    )
    @action(detail=True, methods=["post"])
    def dispute(self, request, pk=None):
        delivery = self.get_object()
        data = self.validated(serializers.ReasonInputSerializer)
        delivery = services.delivery_dispute(
            user=request.user, delivery=delivery, reason=data["reason"]
        )
        return Response(self.render(delivery))

    @extend_schema(
        summary="Release a held delivery (facilitators): the other party then confirms it",
        request=serializers.NoteInputSerializer,
        responses={200: serializers.DeliveryOutputSerializer, 400: FIELD_ERRORS, 403: REFUSED},
    )
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        delivery = self.get_object()
        data = self.validated(serializers.NoteInputSerializer)
        delivery = services.delivery_release(
            user=request.user, delivery=delivery, note=data.get("note", "")
        )
        return Response(self.render(delivery))

    @extend_schema(
        summary="Reject a held or disputed delivery (facilitators), with a reason",
        request=serializers.ReasonInputSerializer,
        responses={200: serializers.DeliveryOutputSerializer, 400: FIELD_ERRORS, 403: REFUSED},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        delivery = self.get_object()
        data = self.validated(serializers.ReasonInputSerializer)
        delivery = services.delivery_reject(
            user=request.user, delivery=delivery, reason=data["reason"]
        )
        return Response(self.render(delivery))

    @extend_schema(
        summary="The delivery's waste-transfer note as a PDF (whoever may see the delivery)",
        request=None,
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            404: OpenApiResponse(description="No such delivery, or not yours to see."),
        },
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="transfer-note",
        url_name="transfer-note",
        renderer_classes=[JSONRenderer, PDFRenderer],
        pagination_class=None,
        filter_backends=[],
    )
    def transfer_note(self, request, pk=None):
        # Heavy (the PDF library): loaded when a note is asked for.
        from marketplace.pdf import delivery_note_pdf

        delivery = self.get_object()
        deal = selectors.deal_get(user=self.viewer, deal_id=delivery.deal_id)
        # As the page's download: FileResponse quotes the ticket in the file name.
        return FileResponse(
            io.BytesIO(delivery_note_pdf(delivery=delivery, deal=deal)),
            filename=f"transfer-note-{delivery.ticket_number}.pdf",
            content_type="application/pdf",
        )

    @extend_schema(
        summary="Propose a correction of a confirmed delivery (either party or a facilitator)",
        description=(
            "Adds a reversal of the delivery and, unless void, a replacement with the "
            "figures given (the others stay). Both count once someone other than the "
            "proposer confirms either row; until then the delivery counts as it was."
        ),
        request=serializers.DeliveryCorrectInputSerializer,
        responses={
            201: serializers.CorrectionOutputSerializer,
            400: FIELD_ERRORS,
            403: REFUSED,
        },
    )
    @action(detail=True, methods=["post"])
    def correct(self, request, pk=None):
        delivery = self.get_object()
        data = dict(self.validated(serializers.DeliveryCorrectInputSerializer))
        reversal, replacement = services.delivery_correct(
            user=request.user, delivery=delivery, **data
        )
        body = {
            "reversal": self.render(reversal),
            "replacement": self.render(replacement) if replacement is not None else None,
        }
        return Response(body, status=status.HTTP_201_CREATED)
