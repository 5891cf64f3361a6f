"""Saved searches under /api/v1/saved-searches/: the caller's own, as on the pages.

- ``GET``: the caller's searches, newest first (with what each filters, in words);
- ``POST``: save one: ``name`` and ``query``, the market's query parameters
  (``kind``, ``material``, ``max_km``, ``q``, ...), read by the market's own
  filter form (``market_query.market_form``, so an omitted ``site`` measures
  from the caller's first site, as the market page does) and saved by the page's
  service; a parameter the form refuses, or one the market does not have, is a
  400 with the error under ``query``;
- ``GET|PATCH|DELETE /{id}/``: read, rename (``name``), pause or resume
  (``active``) and delete one.

Another user's search is a 404, whoever asks; city analysts have no market (403).
The digest's unsubscribe token is never shown: it is the e-mail's key.
"""

from django.core.exceptions import NON_FIELD_ERRORS
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.settings import api_settings

from symbiosis import saved_searches
from symbiosis.api import permissions
from symbiosis.api.views import FIELD_ERRORS, ApiViewSet
from symbiosis.forms import MarketFilterForm
from symbiosis.market_query import market_form
from symbiosis.models import SavedSearch
from symbiosis.models.saved_searches import NAME_MAX_CHARS

QUERY_HELP = (
    "The market's query parameters, as /market/ reads them: "
    + ", ".join(MarketFilterForm.base_fields)
    + ". A field with several values takes a list. Without site, distances are measured "
    'from your first site, as on the market page; "site": "" measures none.'
)


@extend_schema_field(
    {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"label": {"type": "string"}, "value": {"type": "string"}},
            "required": ["label", "value"],
        },
    }
)
class SummaryField(serializers.ReadOnlyField):
    pass


class SavedSearchSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    query = serializers.DictField(
        read_only=True, help_text="The filters as saved (field: value or list of values)."
    )
    summary = SummaryField(help_text="Each filter in words, in your language.")
    broken = serializers.BooleanField(
        read_only=True,
        help_text="A filter no longer holds (a site or material gone): it finds nothing.",
    )
    active = serializers.BooleanField(read_only=True, help_text="Alerts on: in the daily digest.")
    market_url = serializers.CharField(read_only=True, help_text="The market page showing it.")
    created_at = serializers.DateTimeField(read_only=True)
    last_sent_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When a digest last named it."
    )


class SavedSearchCreateSerializer(serializers.Serializer):
    name = serializers.CharField(
        allow_blank=True, trim_whitespace=False, help_text=f"At most {NAME_MAX_CHARS} characters."
    )
    query = serializers.DictField(required=False, default=dict, help_text=QUERY_HELP)


class SavedSearchChangeSerializer(serializers.Serializer):
    name = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text=f"A new name, at most {NAME_MAX_CHARS} characters.",
    )
    active = serializers.BooleanField(
        required=False, help_text="false pauses its alerts; true resumes them (news from now on)."
    )


def _field_of(exc: saved_searches.SavedSearchError) -> str:
    return "name" if exc.code == "name" else api_settings.NON_FIELD_ERRORS_KEY


def _as_text(value) -> str:
    # JSON's true and false as a query string carries a checkbox's value.
    return str(value).lower() if isinstance(value, bool) else str(value)


def _query_data(query: dict):
    """``query`` as the market page's query string, or a 400 for a parameter the
    market does not have or a value that is no value."""
    errors = {}
    present = {}
    for name, value in query.items():
        if name not in MarketFilterForm.base_fields:
            errors[name] = [_("Not a filter of the market.")]
            continue
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, dict | list) for v in values):
            errors[name] = [_("A value or a list of values.")]
            continue
        values = [_as_text(v) for v in values if v is not None]
        if any("\x00" in v for v in values):
            # Not even stored as written: PostgreSQL's JSON holds no NUL character.
            errors[name] = [_("Null characters are not allowed.")]
            continue
        if values:
            present[name] = values
    if errors:
        raise exceptions.ValidationError({"query": errors})
    return saved_searches.query_dict(present)


@extend_schema_view(
    list=extend_schema(summary="Your saved searches, newest first"),
    retrieve=extend_schema(summary="One of your saved searches"),
    create=extend_schema(
        summary="Save the market's filters under a name; alerts are on",
        description=(
            "The query is read by the market's filter form, as the page's; a value it "
            "refuses is a field error under query, nothing is saved. A new match comes in "
            "the daily digest (e-mail and in the app), with a link that stops the alerts."
        ),
        request=SavedSearchCreateSerializer,
        responses={201: SavedSearchSerializer, 400: FIELD_ERRORS},
    ),
    partial_update=extend_schema(
        summary="Rename a saved search, or pause or resume its alerts",
        request=SavedSearchChangeSerializer,
        responses={200: SavedSearchSerializer, 400: FIELD_ERRORS},
    ),
    destroy=extend_schema(summary="Delete a saved search", responses={204: None}),
)
class SavedSearchViewSet(ApiViewSet):
    permission_classes = [IsAuthenticated, permissions.ReadsCompanyData]
    output_serializer_class = SavedSearchSerializer
    input_serializer_class = SavedSearchCreateSerializer
    filter_backends = []
    queryset = SavedSearch.objects.none()  # for the schema; rows are the caller's own

    def get_queryset(self):
        # The schema generator asks too, with no request.
        return saved_searches.saved_search_list(user=getattr(self.request, "user", None))

    def get_serializer_class(self):
        if self.action == "partial_update":
            return SavedSearchChangeSerializer
        return super().get_serializer_class()

    def _own(self, pk) -> SavedSearch:
        try:
            return saved_searches.saved_search_get(user=self.request.user, search_id=int(pk))
        except (SavedSearch.DoesNotExist, TypeError, ValueError):
            raise Http404 from None

    def render(self, search: SavedSearch) -> dict:
        # As the list page's row: the filters replayed through the market's form.
        form = saved_searches.search_form(search, self.viewer)
        search.summary = [
            {"label": label, "value": value} for label, value in saved_searches.query_summary(form)
        ]
        search.broken = not form.is_valid()
        search.market_url = saved_searches.market_url(search.query)
        return SavedSearchSerializer(search).data

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([self.render(search) for search in page])

    def retrieve(self, request, pk=None):
        return Response(self.render(self._own(pk)))

    def create(self, request):
        data = self.validated(SavedSearchCreateSerializer)
        form = market_form(self.viewer, _query_data(data["query"]))
        if not form.is_valid():
            errors = {
                api_settings.NON_FIELD_ERRORS_KEY if name == NON_FIELD_ERRORS else name: list(
                    messages
                )
                for name, messages in form.errors.items()
            }
            raise exceptions.ValidationError({"query": errors})
        try:
            search = saved_searches.saved_search_create(
                user=request.user, name=data["name"], form=form
            )
        except saved_searches.SavedSearchError as exc:
            raise exceptions.ValidationError({_field_of(exc): exc.messages}) from None
        return Response(self.render(search), status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        search = self._own(pk)
        data = self.validated(SavedSearchChangeSerializer)
        try:
            with transaction.atomic():
                if "name" in data:
                    saved_searches.saved_search_rename(search=search, name=data["name"])
                if "active" in data:
                    saved_searches.saved_search_set_active(search=search, active=data["active"])
        except saved_searches.SavedSearchError as exc:
            raise exceptions.ValidationError({_field_of(exc): exc.messages}) from None
        return Response(self.render(self._own(pk)))

    def destroy(self, request, pk=None):
        saved_searches.saved_search_delete(search=self._own(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)
