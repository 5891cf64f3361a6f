"""Thin API views: read through selectors, write through services.

A view validates the shape of a request with an input serializer, hands the
validated values to a service and renders the result with an output
serializer. Django ``ValidationError``s raised by services (``full_clean``)
become 400 responses with a list of messages per field; ``PermissionDenied``
becomes 403; rows the selectors leave out become 404.

Longer than most: thin views, one per endpoint of the core app, sharing the
error translation above; each is a few lines over a service or selector.
"""

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from knox.models import AuthToken
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework import serializers as drf_serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import SAFE_METHODS, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.serializer_helpers import ReturnDict
from rest_framework.views import APIView, exception_handler

from symbiosis import fates, selectors, services, visibility
from symbiosis.api import filters, permissions, serializers
from symbiosis.auth_backends import lockout_retry_after_seconds
from symbiosis.models import CompatibilityRule, FactorSet, Material, Use


def _field_errors(exc: DjangoValidationError) -> dict:
    if not hasattr(exc, "error_dict"):
        return {api_settings.NON_FIELD_ERRORS_KEY: exc.messages}
    return {
        api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field: messages
        for field, messages in exc.message_dict.items()
    }


FIELD_ERRORS = OpenApiResponse(
    description='Bad input, nothing stored: {"field": ["message", ...], ...}'
)


def api_exception_handler(exc, context):
    """DRF's handler, plus the Django ``ValidationError`` that services raise."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=_field_errors(exc))
    return exception_handler(exc, context)


class ApiMixin:
    def get_exception_handler(self):
        return api_exception_handler

    @cached_property
    def viewer(self) -> selectors.Viewer:
        return selectors.viewer_for(self.request.user)


class ApiViewSet(ApiMixin, viewsets.GenericViewSet):
    input_serializer_class = None
    output_serializer_class = None

    def get_serializer_class(self):
        # The browsable API and the schema ask for "the" serializer per method.
        if self.request is not None and self.request.method not in SAFE_METHODS:
            return self.input_serializer_class or self.output_serializer_class
        return self.output_serializer_class

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "viewer": self.viewer}

    def validated(self, serializer_class, *, instance=None, partial=False) -> dict:
        serializer = serializer_class(
            instance,
            data=self.request.data,
            partial=partial,
            context=self.get_serializer_context(),
        )
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def render(self, instance) -> dict:
        return self.output_serializer_class(instance, context=self.get_serializer_context()).data


# --- organizations and sites -------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Your organizations (facilitators: all)"),
    retrieve=extend_schema(summary="One of your organizations"),
    create=extend_schema(
        summary="Register an organization; you become its administrator",
        request=serializers.OrganizationInputSerializer,
        responses={201: serializers.OrganizationOutputSerializer, 400: FIELD_ERRORS},
    ),
    update=extend_schema(
        summary="Change an organization (its administrators only)",
        request=serializers.OrganizationInputSerializer,
        responses={200: serializers.OrganizationOutputSerializer, 400: FIELD_ERRORS},
    ),
    partial_update=extend_schema(
        summary="Change an organization (its administrators only)",
        request=serializers.OrganizationInputSerializer,
        responses={200: serializers.OrganizationOutputSerializer, 400: FIELD_ERRORS},
    ),
)
class OrganizationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    # No delete: it would cascade to sites and listings; the admin site does it.
    permission_classes = [
        IsAuthenticated,
        permissions.ReadsCompanyData,
        permissions.AdministersOrganization,
    ]
    input_serializer_class = serializers.OrganizationInputSerializer
    output_serializer_class = serializers.OrganizationOutputSerializer
    filter_backends = [SearchFilter, OrderingFilter]
    search_fields = ["name"]
    ordering_fields = ["name", "created_at"]

    def get_queryset(self):
        return selectors.organization_list(user=self.viewer)

    def create(self, request):
        data = self.validated(self.input_serializer_class)
        organization = services.organization_create(user=request.user, **data)
        return Response(self.render(organization), status=status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        organization = self.get_object()
        data = self.validated(self.input_serializer_class, instance=organization, partial=partial)
        organization = services.organization_update(
            user=request.user, organization=organization, **data
        )
        return Response(self.render(organization))

    def partial_update(self, request, pk=None):
        return self.update(request, pk=pk, partial=True)


@extend_schema_view(
    list=extend_schema(summary="Sites of your organizations (facilitators: all)"),
    retrieve=extend_schema(summary="One site of your organizations"),
    create=extend_schema(
        request=serializers.SiteInputSerializer,
        responses={201: serializers.SiteOutputSerializer, 400: FIELD_ERRORS},
    ),
    update=extend_schema(
        request=serializers.SiteInputSerializer,
        responses={200: serializers.SiteOutputSerializer, 400: FIELD_ERRORS},
    ),
    partial_update=extend_schema(
        request=serializers.SiteInputSerializer,
        responses={200: serializers.SiteOutputSerializer, 400: FIELD_ERRORS},
    ),
    destroy=extend_schema(
        responses={204: None, 400: OpenApiResponse(description="Listings still use the site.")}
    ),
)
class SiteViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    permission_classes = [
        IsAuthenticated,
        permissions.ReadsCompanyData,
        permissions.WritesOwnOrganization,
    ]
    input_serializer_class = serializers.SiteInputSerializer
    output_serializer_class = serializers.SiteOutputSerializer
    filterset_class = filters.SiteFilter
    ordering_fields = ["name", "district"]

    def get_queryset(self):
        return selectors.site_list(user=self.viewer)

    def create(self, request):
        data = self.validated(self.input_serializer_class)
        site = services.site_create(user=request.user, **data)
        return Response(self.render(site), status=status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        site = self.get_object()
        data = self.validated(self.input_serializer_class, instance=site, partial=partial)
        site = services.site_update(user=request.user, site=site, **data)
        return Response(self.render(site))

    def partial_update(self, request, pk=None):
        return self.update(request, pk=pk, partial=True)

    def destroy(self, request, pk=None):
        services.site_delete(user=request.user, site=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- listings ------------------------------------------------------------------------


class ListingViewSet(ApiViewSet):
    """Supplies and demands: the same rules, different fields.

    Another organization's anonymous listing is rendered with the redacted
    serializer, which has no organization, site or coordinate fields at all.
    """

    permission_classes = [
        IsAuthenticated,
        permissions.ReadsCompanyData,
        permissions.WritesOwnOrganization,
    ]
    redacted_serializer_class = None
    ordering_fields = ["tonnes", "updated_at"]
    ordering = ["-updated_at", "-id"]
    # Set by subclasses: selector and services, and the services' keyword for the row.
    list_selector = None
    create_service = None
    update_service = None
    delete_service = None
    service_object_kwarg = ""

    def get_queryset(self):
        # Photos and documents are listed on every row (their guarded addresses).
        return self.list_selector(user=self.viewer).prefetch_related("photos", "documents")

    @cached_property
    def introduced_ids(self) -> set[int]:
        model = self.get_queryset().model
        return visibility.introduced_listing_ids(viewer=self.viewer, model=model)

    def render(self, instance) -> dict:
        # The fields are read from the listing's card, as the pages read them: a
        # field the viewer may not see is not on it, whichever serializer renders.
        card = visibility.listing_card(
            user=self.viewer, listing=instance, introduced_ids=self.introduced_ids
        )
        hides = card.hides_owner
        serializer_class = self.redacted_serializer_class if hides else self.output_serializer_class
        # Bound to the row itself: the browsable API checks the row's object
        # permissions (``data.serializer.instance``) before offering a form.
        serializer = serializer_class(instance, context=self.get_serializer_context())
        return ReturnDict(serializer.to_representation(card), serializer=serializer)

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response([self.render(listing) for listing in page])

    def retrieve(self, request, pk=None):
        return Response(self.render(self.get_object()))

    def create(self, request):
        data = self.validated(self.input_serializer_class)
        listing = self.create_service(user=request.user, **data)
        return Response(self.render(listing), status=status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        listing = self.get_object()
        data = self.validated(self.input_serializer_class, instance=listing, partial=partial)
        listing = self.update_service(
            user=request.user, **{self.service_object_kwarg: listing}, **data
        )
        return Response(self.render(listing))

    def partial_update(self, request, pk=None):
        return self.update(request, pk=pk, partial=True)

    def destroy(self, request, pk=None):
        listing = self.get_object()
        self.delete_service(user=request.user, **{self.service_object_kwarg: listing})
        return Response(status=status.HTTP_204_NO_CONTENT)


def _listing_schema(noun: str, output, redacted, input_serializer):
    shown = PolymorphicProxySerializer(
        component_name=f"{noun}Listing",
        serializers=[output, redacted],
        resource_type_field_name=None,
    )
    write = {"request": input_serializer, "responses": {200: output, 400: FIELD_ERRORS}}
    return extend_schema_view(
        list=extend_schema(
            summary=f"{noun} listings you may see",
            description=(
                "Your organizations' listings in any status, plus other organizations' "
                "active public and anonymous ones; anonymous ones of others come without "
                "organization, site or coordinates. Facilitators see all."
            ),
            responses=shown,
        ),
        retrieve=extend_schema(summary=f"One {noun.lower()} listing", responses=shown),
        create=extend_schema(
            summary=f"Create a {noun.lower()} listing for one of your organizations",
            request=input_serializer,
            responses={201: output, 400: FIELD_ERRORS},
        ),
        update=extend_schema(**write),
        partial_update=extend_schema(**write),
        destroy=extend_schema(responses={204: None}),
    )


@_listing_schema(
    "Supply",
    serializers.SupplyOutputSerializer,
    serializers.SupplyRedactedSerializer,
    serializers.SupplyInputSerializer,
)
class SupplyViewSet(ListingViewSet):
    input_serializer_class = serializers.SupplyInputSerializer
    output_serializer_class = serializers.SupplyOutputSerializer
    redacted_serializer_class = serializers.SupplyRedactedSerializer
    filterset_class = filters.SupplyFilter
    list_selector = staticmethod(selectors.supply_list)
    create_service = staticmethod(services.supply_create)
    update_service = staticmethod(services.supply_update)
    delete_service = staticmethod(services.supply_delete)
    service_object_kwarg = "supply"

    @extend_schema(
        methods=["GET"],
        summary="The record of a supply's current fate (its organization and facilitators)",
        description=(
            "Every facilitator review of the fate and its evidence, with the reason, and every "
            "change the company made to a reviewed fate; newest first, never edited."
        ),
        responses=serializers.FateReviewOutputSerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        summary="Verify or downgrade a supply's current fate, with a reason (facilitators)",
        description=(
            "The fate is the baseline the listing's tonnes are counted against. The listing "
            "takes the fate and evidence given; the decision goes to its record and its "
            "organization is told."
        ),
        request=serializers.FateReviewInputSerializer,
        responses={201: serializers.FateReviewOutputSerializer, 400: FIELD_ERRORS},
    )
    @action(
        detail=True,
        methods=["get", "post"],
        url_path="fate-reviews",
        url_name="fate-reviews",
        pagination_class=None,
        filter_backends=[],
        # Not WritesOwnOrganization: facilitators decide here, companies only read.
        permission_classes=[IsAuthenticated, permissions.ReadsCompanyData],
    )
    def fate_reviews(self, request, pk=None):
        supply = self.get_object()
        if request.method == "GET":
            rows = fates.fate_review_list(user=self.viewer, supply=supply)
            return Response(serializers.FateReviewOutputSerializer(rows, many=True).data)
        if not self.viewer.is_facilitator:
            raise exceptions.PermissionDenied(_("Only a facilitator reviews a listing's fate."))
        data = self.validated(serializers.FateReviewInputSerializer)
        review = fates.supply_fate_review(user=request.user, supply=supply, **data)
        return Response(
            serializers.FateReviewOutputSerializer(review).data, status=status.HTTP_201_CREATED
        )


@_listing_schema(
    "Demand",
    serializers.DemandOutputSerializer,
    serializers.DemandRedactedSerializer,
    serializers.DemandInputSerializer,
)
class DemandViewSet(ListingViewSet):
    input_serializer_class = serializers.DemandInputSerializer
    output_serializer_class = serializers.DemandOutputSerializer
    redacted_serializer_class = serializers.DemandRedactedSerializer
    filterset_class = filters.DemandFilter
    list_selector = staticmethod(selectors.demand_list)
    create_service = staticmethod(services.demand_create)
    update_service = staticmethod(services.demand_update)
    delete_service = staticmethod(services.demand_delete)
    service_object_kwarg = "demand"


# --- reference data: read-only for every logged-in user -------------------------------


class ReferenceViewSet(ApiMixin, viewsets.ReadOnlyModelViewSet):
    pass


class MaterialViewSet(ReferenceViewSet):
    queryset = Material.objects.all()
    serializer_class = serializers.MaterialSerializer
    lookup_field = "slug"
    filter_backends = [*api_settings.DEFAULT_FILTER_BACKENDS, SearchFilter]
    filterset_fields = ["category", "hazardous", "landfill_banned"]
    search_fields = ["name_en", "name_ru", "name_kk", "ewc_code", "kz_code", "slug"]
    ordering_fields = ["name_en", "category", "ewc_code"]


class UseViewSet(ReferenceViewSet):
    queryset = Use.objects.all()
    serializer_class = serializers.UseSerializer
    lookup_field = "slug"
    filter_backends = [*api_settings.DEFAULT_FILTER_BACKENDS, SearchFilter]
    filterset_fields = []
    search_fields = ["name_en", "name_ru", "name_kk", "slug"]
    ordering_fields = ["name_en"]


class CompatibilityRuleViewSet(ReferenceViewSet):
    queryset = CompatibilityRule.objects.select_related("material", "use")
    serializer_class = serializers.CompatibilityRuleSerializer
    filterset_class = filters.CompatibilityRuleFilter
    ordering_fields = ["substitution_ratio", "credit_kg_co2e_per_t"]


class FactorSetViewSet(ReferenceViewSet):
    queryset = FactorSet.objects.prefetch_related("factors__material")
    serializer_class = serializers.FactorSetSerializer
    filterset_fields = ["is_active", "version"]
    ordering_fields = ["created_at", "version"]


# --- aggregates ----------------------------------------------------------------------


class ListingAggregatesView(ApiMixin, APIView):
    permission_classes = [IsAuthenticated, permissions.ReadsAggregates]

    @extend_schema(
        summary="Active supply and demand tonnes by material category and by district",
        description=(
            "For facilitators and city analysts. Every visibility counts; no row names an "
            "organization. Per-month listings are annualised (x12); one-off batches are "
            "summed apart."
        ),
        responses=serializers.ListingAggregatesSerializer,
    )
    def get(self, request):
        aggregates = selectors.listing_aggregates()
        return Response(serializers.ListingAggregatesSerializer(aggregates).data)


# --- API tokens ------------------------------------------------------------------------

TOKEN_ANSWER = inline_serializer(
    "ApiToken",
    fields={
        "token": drf_serializers.CharField(help_text='Send it as "Authorization: Token <token>".'),
        "expiry": drf_serializers.DateTimeField(help_text="It stops working then."),
    },
)


@extend_schema(
    summary="A new API token, for an e-mail address and password",
    request=AuthTokenSerializer,
    responses={
        200: TOKEN_ANSWER,
        400: FIELD_ERRORS,
        429: OpenApiResponse(description="Too many failed log-ins: locked for a while."),
    },
)
class TokenView(ApiMixin, APIView):
    """A token for "Authorization: Token ...", given an e-mail address (as
    ``username``) and password. Each call makes a new token (one per client),
    which expires after API_TOKEN_TTL_HOURS; only its hash is stored. After too
    many failed attempts the account is locked from that address for a while:
    every attempt then answers 429 with Retry-After, the right password
    included."""

    # Credentials come in the body. Only the session is read: a logged-in
    # browser must send the CSRF token (as for every POST), and a stale
    # "Authorization: Token" header does not stand in the way of a new token.
    authentication_classes = [SessionAuthentication]
    permission_classes = []
    throttle_classes = []
    parser_classes = [FormParser, MultiPartParser, JSONParser]
    renderer_classes = [JSONRenderer]

    def post(self, request):
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        try:
            serializer.is_valid(raise_exception=True)
        except exceptions.ValidationError:
            # DRF's serializer calls authenticate() itself, so axes' middleware
            # never turns the lock into its 429 and it would read as a wrong
            # password. Axes marks the request it was given: this DRF request.
            if getattr(request, "axes_locked_out", False):
                raise exceptions.Throttled(
                    wait=lockout_retry_after_seconds(request),
                    # The log-in page's lockout text, already translated.
                    detail=_(
                        "After several wrong passwords in a row, logging in to this account "
                        "from your address is paused for a while. Try again later, or reset "
                        "the password."
                    ),
                ) from None
            raise
        token, key = services.api_token_create(user=serializer.validated_data["user"])
        return Response({"token": key, "expiry": token.expiry})


@extend_schema(
    summary="Revoke the token this request is sent with",
    request=None,
    responses={
        204: None,
        400: OpenApiResponse(description="The request carries no token (a browser session)."),
    },
)
class TokenRevokeView(ApiMixin, APIView):
    def post(self, request):
        if not isinstance(request.auth, AuthToken):
            raise exceptions.ValidationError(
                {
                    api_settings.NON_FIELD_ERRORS_KEY: [
                        _('Send the token to revoke as "Authorization: Token <token>".')
                    ]
                }
            )
        services.api_token_revoke(user=request.user, token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(
    summary="Revoke all of your API tokens",
    request=None,
    responses={
        200: inline_serializer(
            "ApiTokensRevoked", fields={"revoked": drf_serializers.IntegerField(min_value=0)}
        )
    },
)
class TokenRevokeAllView(ApiMixin, APIView):
    def post(self, request):
        return Response({"revoked": services.api_tokens_revoke_all(user=request.user)})
