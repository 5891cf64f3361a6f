"""Waste permits in the API (issue 21), as on the Permits pages.

- ``GET permits/``: your organizations' permits (a facilitator: every one;
  ``?status=pending`` narrows); ``POST`` adds one (multipart: ``organization`` where
  you belong to several, ``number``, ``issuer``, ``activity``, ``codes`` such as
  "13 02 05*, 13 02 08*", ``valid_from``, ``valid_until``, ``document``).
- ``GET permits/{id}/``: one permit (its organization's members and facilitators;
  404 for others).
- ``POST permits/{id}/review/`` with ``{"verified": true}`` or ``{"verified": false,
  "reason": "..."}``: facilitators only.

Everything is done by ``symbiosis.permits``; the document downloads from the page's
guarded address (``document_url``).
"""

from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from symbiosis import permits
from symbiosis.api import permissions
from symbiosis.api.views import FIELD_ERRORS, ApiMixin
from symbiosis.models import Organization
from symbiosis.models.permits import PermitActivity, PermitStatus


class PermitSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk", read_only=True)
    organization = serializers.IntegerField(source="organization_id", read_only=True)
    organization_name = serializers.CharField(source="organization.name", read_only=True)
    number = serializers.CharField(read_only=True)
    issuer = serializers.CharField(read_only=True)
    activity = serializers.ChoiceField(choices=PermitActivity.choices, read_only=True)
    codes = serializers.ListField(child=serializers.CharField(), read_only=True)
    valid_from = serializers.DateField(read_only=True)
    valid_until = serializers.DateField(read_only=True, allow_null=True)
    status = serializers.ChoiceField(choices=PermitStatus.choices, read_only=True)
    verified_at = serializers.DateTimeField(read_only=True, allow_null=True)
    reason = serializers.CharField(read_only=True)
    document_url = serializers.SerializerMethodField()

    def get_document_url(self, permit) -> str:
        url = reverse("permit-document", args=[permit.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url


class PermitInputSerializer(serializers.Serializer):
    organization = serializers.IntegerField(
        required=False, help_text="Needed only when you are a member of several organizations."
    )
    number = serializers.CharField(max_length=100)
    issuer = serializers.CharField(max_length=200)
    activity = serializers.ChoiceField(choices=PermitActivity.choices)
    codes = serializers.CharField(
        max_length=4000, help_text='National waste codes, comma-separated: "13 02 05*, 13 02 08*"'
    )
    valid_from = serializers.DateField()
    valid_until = serializers.DateField(required=False, allow_null=True)
    document = serializers.FileField(help_text="A PDF, or a JPEG, PNG or WebP picture of it.")


class PermitReviewSerializer(serializers.Serializer):
    verified = serializers.BooleanField()
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class MembersAdd(BasePermission):
    message = "Only members of an organization add its permits."

    def has_permission(self, request, view):
        return request.method in SAFE_METHODS or bool(view.viewer.organization_ids)


class _PermitView(ApiMixin, APIView):
    permission_classes = [IsAuthenticated, permissions.ReadsCompanyData]

    def context(self) -> dict:
        return {"request": self.request}

    def visible(self):
        return get_object_or_404(permits.permits_visible(user=self.viewer), pk=self.kwargs["pk"])


class PermitListView(_PermitView):
    permission_classes = [*_PermitView.permission_classes, MembersAdd]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        summary="Waste permits: your organizations' (a facilitator: all)",
        parameters=[OpenApiParameter("status", enum=PermitStatus.values, required=False)],
        responses={200: PermitSerializer(many=True)},
    )
    def get(self, request):
        found = permits.permits_visible(user=self.viewer)
        wanted = request.query_params.get("status")
        if wanted in PermitStatus.values:
            found = found.filter(status=wanted)
        return Response(PermitSerializer(found, many=True, context=self.context()).data)

    @extend_schema(
        summary="Add a permit of your organization; it waits for a facilitator",
        request={"multipart/form-data": PermitInputSerializer},
        responses={201: PermitSerializer, 400: FIELD_ERRORS, 403: OpenApiResponse()},
    )
    def post(self, request):
        serializer = PermitInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        organization = self._organization(data.get("organization"))
        # A refused document or code is a Django ValidationError: 400 with its field.
        permit = permits.permit_add(
            user=request.user,
            organization=organization,
            number=data["number"],
            issuer=data["issuer"],
            activity=data["activity"],
            codes=data["codes"],
            valid_from=data["valid_from"],
            valid_until=data.get("valid_until"),
            upload=data["document"],
        )
        return Response(
            PermitSerializer(permit, context=self.context()).data, status=status.HTTP_201_CREATED
        )

    def _organization(self, organization_id) -> Organization:
        own = sorted(self.viewer.organization_ids)
        if organization_id is None:
            if len(own) != 1:
                raise exceptions.ValidationError(
                    {"organization": ["Say which of your organizations holds the permit."]}
                )
            organization_id = own[0]
        if organization_id not in own:
            raise exceptions.ValidationError({"organization": ["Not one of your organizations."]})
        return Organization.objects.get(pk=organization_id)


class PermitDetailView(_PermitView):
    @extend_schema(
        summary="One waste permit (its organization's members and facilitators)",
        responses={200: PermitSerializer, 404: OpenApiResponse()},
    )
    def get(self, request, pk):
        return Response(PermitSerializer(self.visible(), context=self.context()).data)


class PermitReviewView(_PermitView):
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(
        summary="Verify a permit, or reject it with a reason (facilitators)",
        request=PermitReviewSerializer,
        responses={200: PermitSerializer, 400: FIELD_ERRORS, 403: OpenApiResponse()},
    )
    def post(self, request, pk):
        if not self.viewer.is_facilitator:
            raise exceptions.PermissionDenied("Facilitators verify permits.")
        permit = self.visible()
        serializer = PermitReviewSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        permit = permits.permit_review(
            user=request.user,
            permit=permit,
            verified=serializer.validated_data["verified"],
            reason=serializer.validated_data.get("reason", ""),
        )
        return Response(PermitSerializer(permit, context=self.context()).data)
