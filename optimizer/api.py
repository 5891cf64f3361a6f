"""Optimizer proposals under /api/v1/: facilitators decide, companies answer.

- ``/api/v1/proposals/`` (facilitators): the proposals of the runs (``?run=``,
  ``?status=``), one proposal, and ``POST /{id}/decide/`` (approve, reject,
  adjust, pin, forbid): the review page's service, ``optimizer.decisions``.
  Approving introduces the two companies: a draft deal both of them see.
- ``/api/v1/introductions/`` (companies): the approved proposals involving one
  of the caller's organizations' listings (as /review/proposals/mine/), and
  ``POST /{id}/answer/``. Once both accept, either company changes and sends the
  draft deal (``deal``: /api/v1/deals/{deal}/); a decline cancels it.

Companies get 403 on the first, city analysts on both; a proposal the caller
may not see is 404. Each party is named through its listing's card
(``symbiosis.visibility``), as the pages do.
"""

import django_filters
from django.db.models import OuterRef, Subquery
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response

from optimizer import decisions, selectors
from optimizer.models import MatchProposal
from symbiosis import visibility
from symbiosis.api import permissions
from symbiosis.api.views import FIELD_ERRORS, ApiViewSet
from symbiosis.models import DemandListing, SupplyListing
from symbiosis.validators import REASON_MAX_CHARS

REFUSED = OpenApiResponse(description="You may see this proposal but not take this step.")


class IsFacilitator(BasePermission):
    message = "Proposals are decided by facilitators."

    def has_permission(self, request, view):
        return view.viewer.is_facilitator


def _choices_in_words(choices, description: str = ""):
    """A read-only choice field the schema describes in words, as ``DeliveryStatusField``
    does: an enum would be a component named after the field ("status", "..._answer"),
    colliding with other choice sets of that name or naming one set twice."""
    values = ", ".join(repr(value) if value == "" else value for value, _label in choices)

    @extend_schema_field({"type": "string", "description": f"{description}One of: {values}."})
    class ChoiceInWords(serializers.ChoiceField):
        pass

    return ChoiceInWords(choices=choices, read_only=True)


def _with_deal(proposals):
    """Each proposal with ``deal_id``: the draft deal its approval made (or None).

    Read through the relation the marketplace's deal declares (``MatchProposal.deals``),
    so the optimizer imports nothing of the marketplace."""
    deal_model = MatchProposal.deals.rel.related_model
    deals = deal_model.objects.filter(proposal=OuterRef("pk")).order_by("pk").values("pk")[:1]
    return proposals.annotate(deal_id=Subquery(deals))


class ProposalOutputSerializer(serializers.ModelSerializer):
    material = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    material_name = serializers.CharField(source="material.name", read_only=True)
    status = _choices_in_words(MatchProposal.Status.choices)
    supplier_answer = _choices_in_words(
        MatchProposal.Answer.choices, "The supplier's answer, empty until it answers. "
    )
    receiver_answer = _choices_in_words(
        MatchProposal.Answer.choices, "The receiver's answer, empty until it answers. "
    )
    supplier_name = serializers.SerializerMethodField()
    receiver_name = serializers.SerializerMethodField()
    deal = serializers.IntegerField(
        source="deal_id",
        read_only=True,
        allow_null=True,
        help_text="The draft deal of an approved proposal (/api/v1/deals/{deal}/).",
    )

    class Meta:
        model = MatchProposal
        fields = [
            "id",
            "run",
            "status",
            "kind",
            "material",
            "material_name",
            "supply",
            "demand",
            "supplier_name",
            "receiver_name",
            "tonnes",
            "road_km",
            "tonnes_diverted_from_landfill",
            "net_kg_co2e_saved",
            # A run by month: {"2027-08": t, ...} (every month of the run); {} otherwise.
            "tonnes_by_period",
            "supplier_answer",
            "receiver_answer",
            "decided_at",
            "deal",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "net_kg_co2e_saved": {
                "help_text": "The pair's own net saving as delivered (one scoring for every "
                "flow). In a run by month it is before the run's stores: what they emit and "
                "lose is one line of the run, taken off the run's headline "
                "(docs/accounting.md, section 10)."
            }
        }

    def _name(self, listing) -> str | None:
        viewer = self.context["viewer"]
        introduced = self.context.get("introduced", {}).get(type(listing))
        card = visibility.listing_card(user=viewer, listing=listing, introduced_ids=introduced)
        return None if card.hides_owner else card.owner_name

    def get_supplier_name(self, proposal) -> str | None:
        return self._name(proposal.supply)

    def get_receiver_name(self, proposal) -> str | None:
        return self._name(proposal.demand)


class DecideInputSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=decisions.DECISIONS)
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=REASON_MAX_CHARS,
        help_text="Needed to reject or forbid; goes into the audit log.",
    )
    tonnes = serializers.FloatField(required=False, help_text="Only to adjust.")


class AnswerInputSerializer(serializers.Serializer):
    answer = serializers.ChoiceField(choices=[("accept", "accept"), ("decline", "decline")])
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=REASON_MAX_CHARS,
        help_text="Needed to decline; the draft deal is cancelled with it.",
    )


class ProposalFilter(django_filters.FilterSet):
    run = django_filters.NumberFilter(field_name="run_id")

    class Meta:
        model = MatchProposal
        fields = ["run", "status"]


class _ProposalViewSet(ApiViewSet):
    output_serializer_class = ProposalOutputSerializer
    filterset_class = ProposalFilter
    ordering_fields = ["net_kg_co2e_saved", "tonnes", "decided_at"]
    ordering = ["-net_kg_co2e_saved", "-id"]

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if self.viewer.organization_ids:
            context["introduced"] = {
                model: visibility.introduced_listing_ids(viewer=self.viewer, model=model)
                for model in (SupplyListing, DemandListing)
            }
        return context

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        data = self.output_serializer_class(
            page, many=True, context=self.get_serializer_context()
        ).data
        return self.get_paginated_response(data)

    def retrieve(self, request, pk=None):
        return Response(self.render(self.get_object()))

    def _fresh(self, proposal):
        return self.get_queryset().get(pk=proposal.pk)


@extend_schema_view(
    list=extend_schema(summary="Proposals of optimization runs (facilitators)"),
    retrieve=extend_schema(summary="One proposal (facilitators)"),
)
class ProposalViewSet(_ProposalViewSet):
    permission_classes = [IsAuthenticated, IsFacilitator]

    def get_queryset(self):
        return _with_deal(selectors.proposals_with_parties())

    @extend_schema(
        summary="Decide on a proposal: approve (introduces the two companies and drafts "
        "their deal), reject, adjust, pin or forbid",
        request=DecideInputSerializer,
        responses={200: ProposalOutputSerializer, 400: FIELD_ERRORS, 403: REFUSED},
    )
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        proposal = self.get_object()
        data = self.validated(DecideInputSerializer)
        decisions.proposal_decide(
            user=request.user,
            proposal=proposal,
            action=data["action"],
            reason=data.get("reason", ""),
            tonnes=data.get("tonnes"),
        )
        return Response(self.render(self._fresh(proposal)))


@extend_schema_view(
    list=extend_schema(
        summary="Introductions: approved proposals with your organizations' listings",
        description=(
            "Each names the draft deal (deal) both companies see from the introduction. "
            "Answer with /answer/; once both accepted, either company changes and sends "
            "the deal."
        ),
    ),
    retrieve=extend_schema(summary="One of your introductions"),
)
class IntroductionViewSet(_ProposalViewSet):
    permission_classes = [IsAuthenticated, permissions.ReadsCompanyData]

    def get_queryset(self):
        return _with_deal(selectors.company_proposals(self.request.user))

    @extend_schema(
        summary="Accept or decline an introduction for your organization",
        description=(
            "Declining needs a reason: the draft deal is cancelled with it and the "
            "introduction takes no more answers. Once both companies accepted, either of "
            "them changes and sends the draft deal."
        ),
        request=AnswerInputSerializer,
        responses={200: ProposalOutputSerializer, 400: FIELD_ERRORS, 403: REFUSED},
    )
    @action(detail=True, methods=["post"])
    def answer(self, request, pk=None):
        proposal = self.get_object()
        data = self.validated(AnswerInputSerializer)
        decisions.proposal_answer(
            user=request.user,
            proposal=proposal,
            accept=data["answer"] == "accept",
            reason=data.get("reason", ""),
        )
        return Response(self.render(self._fresh(proposal)))
