"""Questions to a lister under /api/v1/questions/: the pages' rules, as JSON.

- ``GET /api/v1/questions/``: the threads the caller reads, newest message
  first: on its organizations' listings (as the lister) and those its
  organizations asked (as the asker); facilitators read all. ``?side=`` and
  ``?unread=`` narrow them.
- ``POST /api/v1/questions/``: ask on a listing of the market (``listing_kind``,
  ``listing``, ``body``; ``organization`` when the caller belongs to several).
  A second question on the same listing from the same organization continues
  its thread.
- ``GET /api/v1/questions/{id}/``: one thread with its messages; reading it
  marks it read for the caller's side, as opening the thread's page does.
- ``GET|POST /api/v1/questions/{id}/messages/``: its messages; a reply (the
  lister answers, the asker follows up).

Thin: ``symbiosis.questions`` decides who reads and writes and how each side is
named (``ThreadView``): the lister as its listing's card names it, the asker as
"Asker N" to the lister, both once a deal between them followed. No answer
carries a user, an e-mail address or a site. A thread the caller may not read
is a 404; one it reads but may not write to (a facilitator) a 403; city
analysts get 403 throughout, as on the pages.
"""

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from symbiosis import questions, selectors
from symbiosis.api import permissions
from symbiosis.api.views import FIELD_ERRORS, ApiViewSet
from symbiosis.models.questions import QUESTION_MAX_CHARS, QuestionThread
from symbiosis.question_forms import BODY_HELP

REFUSED = OpenApiResponse(
    description="You may see this listing or thread but not write here: your own listing, "
    "or no organization to ask for (facilitators read, the two companies write)."
)
KINDS = [("supply", "supply"), ("demand", "demand")]


class QuestionMessageSerializer(serializers.Serializer):
    """One message, named by its side alone (``ThreadView.who``)."""

    id = serializers.IntegerField(read_only=True)
    side = serializers.CharField(
        read_only=True, help_text='The writer\'s side: "asker" or "lister".'
    )
    who = serializers.CharField(
        read_only=True,
        help_text='"Your organization", "Asker N", "The lister", or a name where the '
        "pages show it (a public listing's owner; both once a deal followed).",
    )
    mine = serializers.BooleanField(read_only=True, help_text="Written by your side.")
    body = serializers.CharField(read_only=True)
    at = serializers.DateTimeField(read_only=True)


def _message(view: questions.ThreadView, message) -> dict:
    message.who = view.who(message)
    message.mine = message.side == view.side
    return QuestionMessageSerializer(message).data


class QuestionThreadSerializer(serializers.Serializer):
    """A thread as the caller may be shown it (``questions.ThreadView``)."""

    id = serializers.IntegerField(source="thread.pk", read_only=True)
    listing_kind = serializers.CharField(
        source="thread.kind", read_only=True, help_text='"supply" or "demand".'
    )
    listing = serializers.IntegerField(
        source="thread.listing_id",
        read_only=True,
        help_text="The listing asked about: /api/v1/supplies/{listing}/ or /demands/{listing}/.",
    )
    side = serializers.CharField(
        read_only=True, help_text='Yours: "asker", "lister", or "facilitator" (reads only).'
    )
    asker_name = serializers.CharField(
        read_only=True, help_text='The asking organization; "Asker N" to the lister.'
    )
    lister_name = serializers.CharField(
        read_only=True,
        help_text='The listing\'s owner; "The lister" to the asker where the listing '
        "card hides its owner.",
    )
    joined = serializers.BooleanField(
        read_only=True, help_text="A deal between the two followed: both are named."
    )
    unread = serializers.BooleanField(read_only=True, help_text="A message your side has not read.")
    may_write = serializers.BooleanField(read_only=True)
    message_count = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(source="thread.created_at", read_only=True)
    last_message_at = serializers.DateTimeField(source="thread.last_message_at", read_only=True)
    answered_at = serializers.DateTimeField(
        source="thread.answered_at",
        read_only=True,
        allow_null=True,
        help_text="The lister's first answer; empty until then.",
    )

    def get_message_count(self, view) -> int:
        return len(view.thread.messages.all())


class QuestionThreadDetailSerializer(QuestionThreadSerializer):
    messages = serializers.SerializerMethodField()

    @extend_schema_field(QuestionMessageSerializer(many=True))
    def get_messages(self, view) -> list:
        return [_message(view, message) for message in view.thread.messages.all()]


class ListingRefSerializer(serializers.Serializer):
    listing_kind = serializers.ChoiceField(choices=KINDS)
    listing = serializers.IntegerField(help_text="The listing's id.")


class QuestionAskSerializer(ListingRefSerializer):
    body = serializers.CharField(max_length=QUESTION_MAX_CHARS, help_text=str(BODY_HELP))
    organization = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="Which of your organizations asks: needed when you belong to several.",
    )


class QuestionReplySerializer(serializers.Serializer):
    body = serializers.CharField(max_length=QUESTION_MAX_CHARS, help_text=str(BODY_HELP))


class QuestionThreadViewSet(ApiViewSet):
    permission_classes = [IsAuthenticated, permissions.ReadsCompanyData]
    output_serializer_class = QuestionThreadSerializer
    input_serializer_class = QuestionAskSerializer
    # Filters are read by the selector, not by django-filter.
    filter_backends = []
    queryset = QuestionThread.objects.none()  # for the schema; rows come from the selector

    def get_serializer_class(self):
        if self.action == "messages":
            if self.request is not None and self.request.method == "POST":
                return QuestionReplySerializer
            return QuestionMessageSerializer
        if self.action == "retrieve":
            return QuestionThreadDetailSerializer
        return super().get_serializer_class()

    def _view(self, pk) -> questions.ThreadView:
        try:
            thread_id = int(pk)
        except (TypeError, ValueError):
            raise Http404 from None
        return questions.question_thread_get(user=self.viewer, thread_id=thread_id)

    def _detail(self, view, status_code=status.HTTP_200_OK):
        return Response(QuestionThreadDetailSerializer(view).data, status=status_code)

    @extend_schema(
        summary="Question threads you read: on your listings and those you asked",
        description=(
            "Newest message first. As the lister you read every thread on your organizations' "
            'listings, each asker named "Asker N"; as the asker your organizations\' own '
            "threads, the lister named only where the listing's card names it. Facilitators "
            "read all threads and write in none."
        ),
        parameters=[
            OpenApiParameter("side", str, enum=["asker", "lister"], description="Your side."),
            OpenApiParameter(
                "unread", bool, description="Only threads with (true) or without (false) news."
            ),
        ],
    )
    def list(self, request):
        side = request.query_params.get("side") or None
        unread = request.query_params.get("unread")
        errors = {}
        if side not in (None, questions.ASKER, questions.LISTER):
            errors["side"] = [_('"asker" or "lister".')]
        flag = {"true": True, "1": True, "false": False, "0": False, None: None}
        if unread not in flag:
            errors["unread"] = [_('"true" or "false".')]
        if errors:
            raise exceptions.ValidationError(errors)
        threads = questions.question_thread_list_for(
            user=self.viewer, side=side, unread=flag[unread]
        )
        page = self.paginate_queryset(threads)
        views = questions.question_thread_views(user=self.viewer, threads=page)
        return self.get_paginated_response(QuestionThreadSerializer(views, many=True).data)

    @extend_schema(
        summary="One question thread with its messages; marks it read for your side",
        responses=QuestionThreadDetailSerializer,
    )
    def retrieve(self, request, pk=None):
        view = self._view(pk)
        questions.question_mark_read(user=self.viewer, thread=view.thread)
        return self._detail(self._view(pk))

    @extend_schema(
        summary="Ask the lister of a market listing, without either side being named",
        description=(
            "For members of a company about another organization's listing they may see. "
            "A follow-up from the same organization on the same listing joins its thread. "
            "The lister's members are told, without the asker's name. A listing you may "
            "not see is a field error, as one that does not exist."
        ),
        request=QuestionAskSerializer,
        responses={201: QuestionThreadDetailSerializer, 400: FIELD_ERRORS, 403: REFUSED},
    )
    def create(self, request):
        ref = self.validated(ListingRefSerializer)
        try:
            listing = _listing(self.viewer, ref["listing_kind"], ref["listing"])
        except Http404:
            raise exceptions.ValidationError({"listing": [_("No such listing.")]}) from None
        # The question page's refusals, in its order: the own listing, then no
        # organization to ask for (before the text is read).
        if listing.organization_id in self.viewer.organization_ids:
            raise exceptions.PermissionDenied(_("This is your own listing."))
        if not questions.asking_organizations(user=self.viewer, listing=listing):
            raise exceptions.PermissionDenied(
                _("Questions are asked by members of an organization.")
            )
        data = self.validated(QuestionAskSerializer)
        try:
            message = questions.question_ask(
                user=request.user,
                listing=listing,
                body=data["body"],
                organization_id=data.get("organization"),
            )
        except Http404:  # no longer on the market
            raise exceptions.ValidationError({"listing": [_("No such listing.")]}) from None
        return self._detail(self._view(message.thread_id), status.HTTP_201_CREATED)

    @extend_schema(
        methods=["GET"],
        summary="The messages of a question thread, oldest first; marks it read for your side",
        responses=QuestionMessageSerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        summary="Write in a question thread: the lister answers, the asker follows up",
        description="The other side's members are told, without the writer's name.",
        request=QuestionReplySerializer,
        responses={201: QuestionMessageSerializer, 400: FIELD_ERRORS, 403: REFUSED},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def messages(self, request, pk=None):
        view = self._view(pk)
        if request.method == "GET":
            questions.question_mark_read(user=self.viewer, thread=view.thread)
            return Response([_message(view, message) for message in view.thread.messages.all()])
        if not view.may_write:
            raise exceptions.PermissionDenied(
                _("Facilitators read questions; the two companies write them.")
            )
        data = self.validated(QuestionReplySerializer)
        message = questions.question_reply(user=request.user, thread=view.thread, body=data["body"])
        return Response(_message(view, message), status=status.HTTP_201_CREATED)


def _listing(viewer, kind: str, pk: int):
    """The listing as the question page reads it (404 where the viewer may not see it)."""
    if kind == "demand":
        return selectors.demand_get(user=viewer, demand_id=pk)
    return selectors.supply_get(user=viewer, supply_id=pk)
