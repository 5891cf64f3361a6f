"""API shapes of deals, deliveries and messages.

Input serializers check types and look related rows up only among what the
requesting user may see (another organization's private listing or a deal the
user has no part in "does not exist"); the services decide everything else.

Longer than most: one input and one output serializer per endpoint of the
deal journey, each short; split by endpoint they would repeat the visible-row
fields.
"""

from dataclasses import asdict
from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from marketplace import history, selectors, services
from marketplace.models import (
    MAX_LOADS,
    Deal,
    DealAmendment,
    DealEvent,
    DealMessage,
    Delivery,
    Party,
)
from marketplace.validators import validate_single_line
from symbiosis import selectors as symbiosis_selectors
from symbiosis import visibility
from symbiosis.models import DemandListing, Site, SupplyListing
from symbiosis.models.listings import Recurrence
from symbiosis.validators import validate_business_date


def _context_viewer(field):
    """The Viewer the view put in the serializer's context (visibility.as_viewer)."""
    return field.context.get("viewer")


@extend_schema_field(OpenApiTypes.INT)
class VisibleSupplyField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        viewer = _context_viewer(self)
        if viewer is None:
            return SupplyListing.objects.none()
        return symbiosis_selectors.supply_list(user=viewer)

    def display_value(self, instance):
        # The browsable API's choice label: never the owner (str() names it),
        # which an anonymous listing hides from other companies.
        return visibility.listing_choice_label(instance)


@extend_schema_field(OpenApiTypes.INT)
class VisibleDemandField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        viewer = _context_viewer(self)
        if viewer is None:
            return DemandListing.objects.none()
        return symbiosis_selectors.demand_list(user=viewer)

    def display_value(self, instance):
        # As VisibleSupplyField: no owner in the choice label.
        return visibility.listing_choice_label(instance)


@extend_schema_field(OpenApiTypes.INT)
class ReceiverSiteField(serializers.PrimaryKeyRelatedField):
    """One of the user's own sites; any site for a facilitator (an introduction)."""

    def get_queryset(self):
        viewer = _context_viewer(self)
        if viewer is None:
            return Site.objects.none()
        if viewer.is_facilitator:
            return Site.objects.all()
        return Site.objects.filter(organization_id__in=viewer.organization_ids)


@extend_schema_field(OpenApiTypes.INT)
class ProposalField(serializers.PrimaryKeyRelatedField):
    """Optimizer proposals are the facilitators' to turn into deals."""

    def get_queryset(self):
        viewer = _context_viewer(self)
        # The proposal model, through the relation the deal declares: the marketplace
        # imports nothing of the optimizer.
        proposals = Deal._meta.get_field("proposal").related_model.objects
        if viewer is None or not viewer.is_facilitator:
            return proposals.none()
        return proposals.all()


@extend_schema_field(OpenApiTypes.INT)
class VisibleDealField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        viewer = _context_viewer(self)
        if viewer is None:
            return Deal.objects.none()
        return selectors.deal_list(user=viewer)


# The listings' recurrence and status have their own schema enums; the same
# choices under other names would be components of their own, so these stay inline.
@extend_schema_field({"type": "string", "enum": list(Recurrence.values)})
class PeriodField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=Recurrence.choices, **kwargs)


@extend_schema_field({"type": "string", "enum": list(Deal.State.values)})
class DealStateField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=Deal.State.choices, **kwargs)


@extend_schema_field({"type": "string", "enum": list(Party.values)})
class PartyField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=Party.choices, **kwargs)


@extend_schema_field(
    {"type": "string", "description": "One of: " + ", ".join(Delivery.Status.values)}
)
class DeliveryStatusField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=Delivery.Status.choices, **kwargs)


# --- input ---------------------------------------------------------------------------


class _TermsFields(serializers.Serializer):
    tonnes_per_period = serializers.DecimalField(
        max_digits=14, decimal_places=4, min_value=Decimal("0.0001")
    )
    period = PeriodField(required=False)
    price_kzt_per_t = serializers.DecimalField(max_digits=12, decimal_places=2, required=False)
    transport_by = serializers.ChoiceField(choices=Deal.TransportBy.choices, required=False)
    start_date = serializers.DateField(validators=[validate_business_date])
    end_date = serializers.DateField(validators=[validate_business_date])
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class DealCreateInputSerializer(_TermsFields):
    supply = VisibleSupplyField()
    demand = VisibleDemandField(required=False, allow_null=True)
    receiver_site = ReceiverSiteField(
        required=False,
        allow_null=True,
        help_text="Where the residue goes; defaults to the demand listing's site.",
    )
    proposal = ProposalField(required=False, allow_null=True)


class DealTermsInputSerializer(_TermsFields):
    """Only the terms given change; the others stay."""

    party = serializers.ChoiceField(
        choices=Party.choices,
        required=False,
        help_text="The side proposing them; only for a member of both parties.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False


class OfferInputSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    party = serializers.ChoiceField(
        choices=Party.choices,
        required=False,
        help_text="The side sending it; only for a member of both parties.",
    )


class ActivateInputSerializer(serializers.Serializer):
    start_date = serializers.DateField(
        required=False,
        validators=[validate_business_date],
        help_text="The first day deliveries may be dated: on or after the agreed start, "
        "not after the agreed end. Default: today or the agreed start, whichever is later.",
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class AcceptInputSerializer(serializers.Serializer):
    terms_version = serializers.IntegerField(
        min_value=1, help_text="The version of the terms you read and accept."
    )
    party = serializers.ChoiceField(
        choices=Party.choices,
        required=False,
        help_text="Only for a user who is a member of both parties.",
    )


class ReasonInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class NoteInputSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


def _weighbridge_tonnes(**kwargs):
    return serializers.DecimalField(
        max_digits=12, decimal_places=3, min_value=Decimal("0.001"), **kwargs
    )


class _DeliveryFigures(serializers.Serializer):
    """A weighbridge ticket's figures: net tonnes, or gross and tare (net = gross - tare)."""

    tonnes_required = True

    date = serializers.DateField(validators=[validate_business_date])
    tonnes = _weighbridge_tonnes(
        required=False, help_text="Net tonnes; may be left out when gross and tare are given."
    )
    loads = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_LOADS,
        help_text="Vehicles this ticket stands for (default 1).",
    )
    gross_tonnes = _weighbridge_tonnes(required=False, allow_null=True)
    tare_tonnes = serializers.DecimalField(
        max_digits=12, decimal_places=3, min_value=Decimal(0), required=False, allow_null=True
    )
    ticket_number = serializers.CharField(max_length=60, validators=[validate_single_line])
    vehicle = serializers.CharField(
        required=False, allow_blank=True, max_length=40, validators=[validate_single_line]
    )

    def validate(self, attrs):
        gross, tare = attrs.get("gross_tonnes"), attrs.get("tare_tonnes")
        if (gross is None) != (tare is None):
            field = "tare_tonnes" if tare is None else "gross_tonnes"
            raise serializers.ValidationError({field: [_("Give both gross and tare, or neither.")]})
        if gross is None and attrs.get("tonnes") is None and self.tonnes_required:
            raise serializers.ValidationError(
                {"tonnes": [_("Give the net tonnes, or gross and tare.")]}
            )
        return attrs


class DeliveryInputSerializer(_DeliveryFigures):
    deal = VisibleDealField()
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    party = serializers.ChoiceField(
        choices=Party.choices,
        required=False,
        help_text="The side you log it for; only for a member of both parties.",
    )


class DeliveryCorrectInputSerializer(_DeliveryFigures):
    """The corrected figures; those left out stay as they were."""

    reason = serializers.CharField(max_length=2000)
    void = serializers.BooleanField(
        required=False, default=False, help_text="The load never happened: no replacement."
    )
    party = serializers.ChoiceField(
        choices=Party.choices,
        required=False,
        help_text="The side you propose it for; only for a member of both parties.",
    )
    tonnes_required = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("date", "ticket_number"):
            self.fields[name].required = False


class MessageInputSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=5000)


# --- output --------------------------------------------------------------------------


class DealEventSerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="email", read_only=True)
    from_state = serializers.CharField(read_only=True, help_text="A deal state; empty on creation.")
    to_state = serializers.CharField(read_only=True, help_text="A deal state.")
    label = serializers.SerializerMethodField(help_text="The action, in the request's language.")
    text = serializers.SerializerMethodField(
        help_text="What the line is about (party, terms changed, a delivery's figures), in "
        "the request's language."
    )
    details = serializers.JSONField(
        read_only=True, help_text="The same as codes and numbers (party, changes, delivery)."
    )

    class Meta:
        model = DealEvent
        fields = [
            "at",
            "actor",
            "action",
            "label",
            "from_state",
            "to_state",
            "terms_version",
            "text",
            "note",
            "details",
        ]
        read_only_fields = fields

    def get_label(self, event) -> str:
        return history.event_label(event.action)

    def get_text(self, event) -> str:
        return history.history_line(event).text


class DealAmendmentSerializer(serializers.ModelSerializer):
    """New terms an active deal waits on: the deal runs on its own until they are accepted."""

    period = PeriodField(read_only=True)
    proposed_as = PartyField(read_only=True, help_text="The party that proposed them.")

    class Meta:
        model = DealAmendment
        fields = [
            "terms_version",
            "tonnes_per_period",
            "period",
            "tonnes_total",
            "price_kzt_per_t",
            "transport_by",
            "start_date",
            "end_date",
            "proposed_as",
            "proposed_at",
            "note",
        ]
        read_only_fields = fields


class ImpactFiguresSerializer(serializers.Serializer):
    """symbiosis.impact.score_flow of the deal's tonnes (docs/accounting.md)."""

    tonnes = serializers.FloatField()
    road_km = serializers.FloatField()
    category = serializers.CharField(
        help_text="What the tonnes are: kept_out_of_landfill, brought_into_compliance, "
        "put_to_use, reuse_continued, used_at_landfill or plant_output."
    )
    tonnes_diverted_from_landfill = serializers.FloatField(
        help_text="The tonnes kept out of landfill (that category only)."
    )
    fate_kg_co2e_avoided = serializers.FloatField(
        allow_null=True, help_text="null: not counted (the current fate has no factor)."
    )
    transport_kg_co2e_added = serializers.FloatField()
    virgin_kg_co2e_avoided = serializers.FloatField(
        allow_null=True, help_text="null: not counted, or no virgin material replaced (a plant)."
    )
    treatment_kg_co2e_added = serializers.FloatField(
        allow_null=True, help_text="A plant's own treatment; null on a direct exchange."
    )
    net_kg_co2e_saved = serializers.FloatField(help_text="The sum of the counted terms.")
    net_published_kg_co2e = serializers.FloatField()
    net_proxy_kg_co2e = serializers.FloatField(help_text="The part from proxies and estimates.")
    net_low_kg_co2e = serializers.FloatField()
    net_high_kg_co2e = serializers.FloatField()
    not_counted = serializers.ListField(
        child=serializers.CharField(), help_text="Terms without a factor: fate, virgin, treatment."
    )


class DealImpactSerializer(serializers.Serializer):
    tonnes_delivered = serializers.DecimalField(
        max_digits=16,
        decimal_places=4,
        help_text="Confirmed by the party that did not log them (or a facilitator), "
        "net of confirmed corrections.",
    )
    tonnes_awaiting_confirmation = serializers.DecimalField(max_digits=16, decimal_places=4)
    tonnes_disputed = serializers.DecimalField(max_digits=16, decimal_places=4)
    tonnes_held = serializers.DecimalField(
        max_digits=16,
        decimal_places=4,
        help_text="Implausible deliveries waiting for a facilitator's review.",
    )
    tonnes_expected = serializers.DecimalField(max_digits=16, decimal_places=4)
    road_km = serializers.FloatField()
    fate = serializers.CharField()
    fate_kg_co2e_per_t = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    credit_kg_co2e_per_t = serializers.DecimalField(
        max_digits=10, decimal_places=2, allow_null=True
    )
    credit_use = serializers.CharField()
    transport_kg_co2e_per_tkm = serializers.DecimalField(
        max_digits=8, decimal_places=5, allow_null=True
    )
    factor_set_version = serializers.CharField()
    so_far = ImpactFiguresSerializer(allow_null=True)
    expected = ImpactFiguresSerializer(allow_null=True)
    not_counted = serializers.ListField(child=serializers.CharField())
    net_excludes_credit = serializers.BooleanField()
    category = serializers.CharField(help_text="What the tonnes are (as in so_far.category).")


class DealOutputSerializer(serializers.ModelSerializer):
    supplier_name = serializers.CharField(source="supplier.name", read_only=True)
    receiver_name = serializers.CharField(source="receiver.name", read_only=True)
    material = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    material_name = serializers.CharField(source="material.name", read_only=True)
    ewc_code = serializers.CharField(source="material.ewc_code", read_only=True)
    kz_code = serializers.CharField(source="material.kz_code", read_only=True)
    factor_set = serializers.SlugRelatedField(slug_field="version", read_only=True)
    state = DealStateField(read_only=True)
    period = PeriodField(read_only=True)
    allowed_actions = serializers.SerializerMethodField()
    deliveries_from = serializers.DateField(
        source="deliveries_start",
        read_only=True,
        help_text="The first day a delivery may be dated (named when deliveries started; "
        "until then the agreed start).",
    )
    waiting_for_introduction = serializers.SerializerMethodField(
        help_text="Parties (supplier, receiver) whose acceptance of the introduction this "
        "draft waits for before either company may change and send it."
    )
    pending_amendment = serializers.SerializerMethodField()
    next_steps = serializers.SerializerMethodField(
        help_text="Where the deal stands for you and what to do next, in the request's language."
    )
    refused_for_a_date = serializers.SerializerMethodField(
        help_text="Steps that a date refuses today, with why (log_delivery before "
        "deliveries start; accept of a hazardous waste while the receiver has no permit "
        "valid on the first day of deliveries): not in allowed_actions."
    )

    class Meta:
        model = Deal
        fields = [
            "id",
            "state",
            "initiator",
            "supplier",
            "supplier_name",
            "receiver",
            "receiver_name",
            "supply",
            "demand",
            "receiver_site",
            "material",
            "material_name",
            "ewc_code",
            "kz_code",
            "tonnes_per_period",
            "period",
            "tonnes_total",
            "price_kzt_per_t",
            "transport_by",
            "start_date",
            "end_date",
            "terms_version",
            "supplier_accepted_at",
            "receiver_accepted_at",
            "deliveries_from",
            "closed_reason",
            "proposal",
            "factor_set",
            "created_at",
            "updated_at",
            "allowed_actions",
            "waiting_for_introduction",
            "pending_amendment",
            "next_steps",
            "refused_for_a_date",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_allowed_actions(self, deal) -> list[str]:
        viewer = self.context.get("viewer")
        if viewer is None:
            return []
        return sorted(services.allowed_actions(user=viewer, deal=deal))

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_waiting_for_introduction(self, deal) -> list[str]:
        return services.introduction_waiting_for(deal) if deal.state == Deal.State.DRAFT else []

    @extend_schema_field(DealAmendmentSerializer(allow_null=True))
    def get_pending_amendment(self, deal) -> dict | None:
        amendment = services.pending_amendment(deal)
        return DealAmendmentSerializer(amendment).data if amendment else None

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_next_steps(self, deal) -> list[str]:
        viewer = self.context.get("viewer")
        if viewer is None:
            return []
        return [step.text for step in selectors.deal_next_steps(user=viewer, deal=deal)]

    @extend_schema_field(serializers.DictField(child=serializers.CharField()))
    def get_refused_for_a_date(self, deal) -> dict[str, str]:
        # A permit refusal ("accept": no valid permit on the first day of deliveries) too.
        return {**services.date_refusals(deal), **services.permit_refusals(deal)}


class DealDetailSerializer(DealOutputSerializer):
    events = DealEventSerializer(many=True, read_only=True)
    impact = serializers.SerializerMethodField()

    class Meta(DealOutputSerializer.Meta):
        fields = [*DealOutputSerializer.Meta.fields, "impact", "events"]
        read_only_fields = fields

    @extend_schema_field(DealImpactSerializer)
    def get_impact(self, deal) -> dict:
        impact = selectors.deal_impact(deal=deal)
        data = asdict(impact)
        data["net_excludes_credit"] = impact.net_excludes_credit
        return DealImpactSerializer(data).data


class DeliveryOutputSerializer(serializers.ModelSerializer):
    logged_by = serializers.SlugRelatedField(slug_field="email", read_only=True, allow_null=True)
    confirmed_by = serializers.SlugRelatedField(slug_field="email", read_only=True, allow_null=True)
    disputed_by = serializers.SlugRelatedField(slug_field="email", read_only=True, allow_null=True)
    reviewed_by = serializers.SlugRelatedField(slug_field="email", read_only=True, allow_null=True)
    status = DeliveryStatusField(read_only=True)
    held_reason = serializers.ListField(
        child=serializers.DictField(),
        read_only=True,
        help_text="Why it is held: checks with a code (per_load, period) and their numbers.",
    )
    held_reason_text = serializers.CharField(
        read_only=True, help_text="The same, as a sentence in the request's language."
    )

    class Meta:
        model = Delivery
        fields = [
            "id",
            "deal",
            "kind",
            "corrects",
            "reversal",
            "date",
            "tonnes",
            "loads",
            "gross_tonnes",
            "tare_tonnes",
            "ticket_number",
            "vehicle",
            "note",
            "status",
            "held_reason",
            "held_reason_text",
            "logged_by",
            "logged_as",
            "logged_at",
            "confirmed_by",
            "confirmed_at",
            "disputed_by",
            "disputed_at",
            "dispute_reason",
            "reviewed_by",
            "reviewed_at",
            "review_reason",
            "correction_reason",
        ]
        read_only_fields = fields


class CorrectionOutputSerializer(serializers.Serializer):
    reversal = DeliveryOutputSerializer()
    replacement = DeliveryOutputSerializer(allow_null=True)


class MessageOutputSerializer(serializers.ModelSerializer):
    author = serializers.SlugRelatedField(slug_field="email", read_only=True)

    class Meta:
        model = DealMessage
        fields = ["id", "author", "body", "at"]
        read_only_fields = fields
