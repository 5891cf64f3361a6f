"""Input serializers check the shape of requests; output serializers render rows.

Input serializers do no business validation of their own beyond types,
choices, ranges copied from the model fields and lookups of related rows the
user may use; the services run ``full_clean()`` on the whole row. Related
rows are looked up only among the user's own organizations and sites, so an
id of another organization's data answers "does not exist", exactly as an id
that does not exist.

An input serializer and its output serializer share a schema component name:
with COMPONENT_SPLIT_REQUEST the input becomes "<Name>Request", and enums
used by both (organization kind, ...) then get one name instead of a clash.

Just over 500 lines: the core app's serializers (organizations, sites,
listings, imports, tokens) share the visibility-aware fields defined here.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from symbiosis import services
from symbiosis.api.attachment_fields import ListingDocumentsField, ListingPhotosField
from symbiosis.models import (
    CompatibilityRule,
    DemandListing,
    EmissionFactor,
    FactorSet,
    FateReview,
    Material,
    Organization,
    Site,
    SupplyListing,
    Use,
)
from symbiosis.models.accounts import District
from symbiosis.models.listings import DataQuality, Fate, FateEvidence
from symbiosis.models.materials import MaterialCategory
from symbiosis.services import ORGANIZATION_FIELDS
from symbiosis.validators import REASON_MAX_CHARS

# --- related rows the user may write with ---------------------------------------


class OwnOrganizationField(serializers.PrimaryKeyRelatedField):
    """An organization the requesting user is a member of."""

    def get_queryset(self):
        viewer = self.context.get("viewer")
        if viewer is None:
            return Organization.objects.none()
        return Organization.objects.filter(id__in=viewer.organization_ids)


class OwnSiteField(serializers.PrimaryKeyRelatedField):
    """A site of one of the requesting user's organizations."""

    def get_queryset(self):
        viewer = self.context.get("viewer")
        if viewer is None:
            return Site.objects.none()
        return Site.objects.filter(organization_id__in=viewer.organization_ids)


class OwnOrganizationDefaultMixin:
    """``organization`` may be left out by a user who belongs to exactly one.

    Once the row exists it stays with its organization, so updates drop the
    field instead of offering a move.
    """

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:
            fields.pop("organization", None)
        return fields

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if self.instance is None and attrs.get("organization") is None:
            viewer = self.context.get("viewer")
            own = sorted(viewer.organization_ids) if viewer else []
            if len(own) != 1:
                raise serializers.ValidationError(
                    {"organization": [_("Say which of your organizations this is for.")]}
                )
            attrs["organization"] = Organization.objects.get(id=own[0])
        return attrs


# --- organizations and sites ---------------------------------------------------------


@extend_schema_serializer(component_name="Organization")
class OrganizationInputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = list(ORGANIZATION_FIELDS)


@extend_schema_serializer(component_name="Organization")
class OrganizationOutputSerializer(serializers.ModelSerializer):
    # Blank when none was given, and "" is no e-mail address: a plain string.
    contact_email = serializers.CharField(read_only=True)

    class Meta:
        model = Organization
        fields = ["id", *ORGANIZATION_FIELDS, "created_at"]
        read_only_fields = fields


@extend_schema_serializer(component_name="Site")
class SiteInputSerializer(OwnOrganizationDefaultMixin, serializers.ModelSerializer):
    organization = OwnOrganizationField(queryset=Organization.objects.all(), required=False)

    class Meta:
        model = Site
        fields = ["organization", "name", "address", "district", "latitude", "longitude"]


@extend_schema_serializer(component_name="Site")
class SiteOutputSerializer(serializers.ModelSerializer):
    organization_name = serializers.CharField(source="organization.name", read_only=True)

    class Meta:
        model = Site
        fields = [
            "id",
            "organization",
            "organization_name",
            "name",
            "address",
            "district",
            "latitude",
            "longitude",
        ]
        read_only_fields = fields


# --- reference data ----------------------------------------------------------------


class MaterialSerializer(serializers.ModelSerializer):
    class Meta:
        model = Material
        fields = [
            "slug",
            "ewc_code",
            "name_en",
            "name_ru",
            "name_kk",
            "category",
            "density_t_per_m3",
            "carbon_to_nitrogen_ratio",
            "moisture_percent",
            "hazardous",
            "kz_code",
            "kz_hazardous",
            "kz_hazard_basis",
            "kz_code_source",
            "landfill_banned",
            "landfill_ban_basis",
            "properties_source",
        ]
        read_only_fields = fields


class UseSerializer(serializers.ModelSerializer):
    class Meta:
        model = Use
        fields = ["slug", "name_en", "name_ru", "name_kk", "description"]
        read_only_fields = fields


class CompatibilityRuleSerializer(serializers.ModelSerializer):
    material = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    use = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = CompatibilityRule
        fields = [
            "id",
            "material",
            "use",
            "substitution_ratio",
            "replaces",
            "credit_kg_co2e_per_t",
            "source",
            "is_estimate",
        ]
        read_only_fields = fields


class EmissionFactorSerializer(serializers.ModelSerializer):
    material = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = EmissionFactor
        fields = ["material", "kind", "kg_co2e_per_t", "source", "is_estimate"]
        read_only_fields = fields


class FactorSetSerializer(serializers.ModelSerializer):
    factors = EmissionFactorSerializer(many=True, read_only=True)

    class Meta:
        model = FactorSet
        fields = [
            "id",
            "version",
            "name",
            "basis",
            "transport_kg_co2e_per_tkm",
            "transport_source",
            "is_active",
            "created_at",
            "factors",
        ]
        read_only_fields = fields


# --- listings: input -------------------------------------------------------------------


@extend_schema_serializer(component_name="Supply")
class SupplyInputSerializer(OwnOrganizationDefaultMixin, serializers.ModelSerializer):
    organization = OwnOrganizationField(queryset=Organization.objects.all(), required=False)
    site = OwnSiteField(queryset=Site.objects.all())
    material = serializers.SlugRelatedField(slug_field="slug", queryset=Material.objects.all())

    class Meta:
        model = SupplyListing
        fields = [
            "organization",
            # declared or documented; "verified" is refused (400): facilitators verify
            # with POST /supplies/{id}/fate-reviews/.
            *services.SUPPLY_FIELDS,
        ]


@extend_schema_serializer(component_name="Demand")
class DemandInputSerializer(OwnOrganizationDefaultMixin, serializers.ModelSerializer):
    organization = OwnOrganizationField(queryset=Organization.objects.all(), required=False)
    site = OwnSiteField(queryset=Site.objects.all())
    materials = serializers.SlugRelatedField(
        slug_field="slug", queryset=Material.objects.all(), many=True, required=False
    )
    uses = serializers.SlugRelatedField(
        slug_field="slug", queryset=Use.objects.all(), many=True, required=False
    )
    reference_material = serializers.SlugRelatedField(
        slug_field="slug", queryset=Material.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = DemandListing
        fields = [
            "organization",
            *services.LISTING_FIELDS,
            *services.DEMAND_M2M_FIELDS,
            *services.DEMAND_OWN_FIELDS,
        ]


# --- listings: output --------------------------------------------------------------------


class _ListingOwnerFields(serializers.Serializer):
    """Who offers or needs it, and where: only for rows whose owner may be shown."""

    organization = serializers.IntegerField(source="organization_id", read_only=True)
    organization_name = serializers.CharField(source="organization.name", read_only=True)
    site = serializers.IntegerField(source="site_id", read_only=True)
    site_name = serializers.CharField(source="site.name", read_only=True)
    site_address = serializers.CharField(source="site.address", read_only=True)
    latitude = serializers.DecimalField(
        source="site.latitude", max_digits=9, decimal_places=6, read_only=True
    )
    longitude = serializers.DecimalField(
        source="site.longitude", max_digits=9, decimal_places=6, read_only=True
    )


class _ListingPublicFields(serializers.Serializer):
    """What anyone who may see a listing sees, its owner shown or not.

    Listing output serializers render a ``visibility.ListingCard``, not the
    row: the redacted ones may use only names in
    ``visibility.SHOWN_WHEN_OWNER_HIDDEN`` (tests/symbiosis/test_visibility.py).
    """

    # The card's district: the site itself is not on a hidden owner's card.
    district = serializers.ChoiceField(choices=District.choices, read_only=True)
    data_quality = serializers.ChoiceField(choices=DataQuality.choices, read_only=True)
    photos = ListingPhotosField()
    documents = ListingDocumentsField()


SUPPLY_PUBLIC_FIELDS = [
    "id",
    "visibility",
    "status",
    "material",
    "material_name",
    "category",
    "district",
    "tonnes",
    "recurrence",
    "available_from",
    "available_until",
    "monthly_profile",
    # The law may restrict reusing it (symbiosis.legal): every buyer is told.
    "imported_origin",
    "data_quality",
    "photos",
    "documents",
    # Composition names no owner: shown on anonymous listings too (visibility.py).
    "ewc_code",
    "hazardous",
    "kz_code",
    "kz_hazardous",
    "moisture_percent",
    "dry_matter_percent",
    "cn_ratio",
    "contamination_percent",
    "contaminants",
    "particle_size_mm",
]


@extend_schema_serializer(component_name="SupplyRedacted")
class SupplyRedactedSerializer(_ListingPublicFields, serializers.ModelSerializer):
    """Another organization's anonymous supply: no organization, site or coordinates."""

    material = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    material_name = serializers.CharField(source="material.name", read_only=True)
    category = serializers.ChoiceField(
        source="material.category", choices=MaterialCategory.choices, read_only=True
    )
    ewc_code = serializers.CharField(source="material.ewc_code", read_only=True)
    hazardous = serializers.BooleanField(source="material.hazardous", read_only=True)
    kz_code = serializers.CharField(
        source="material.kz_code",
        read_only=True,
        help_text="The national waste code (Kazakhstan's classifier); empty where not loaded.",
    )
    kz_hazardous = serializers.BooleanField(
        source="material.kz_hazardous",
        read_only=True,
        help_text="Hazardous under the national classifier: a receiver needs a verified permit.",
    )
    # 100 - moisture (the listing's, else the material's typical value): derived.
    dry_matter_percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, read_only=True, allow_null=True
    )

    class Meta:
        model = SupplyListing
        fields = SUPPLY_PUBLIC_FIELDS
        read_only_fields = fields


@extend_schema_serializer(component_name="Supply")
class SupplyOutputSerializer(_ListingOwnerFields, SupplyRedactedSerializer):
    """A supply listing in full: own, public, or seen by a facilitator."""

    class Meta:
        model = SupplyListing
        fields = [
            *SUPPLY_PUBLIC_FIELDS,
            "organization",
            "organization_name",
            "site",
            "site_name",
            "site_address",
            "latitude",
            "longitude",
            "quantity",
            "unit",
            "piece_mass_kg",
            "max_km",
            "storage_capacity_tonnes",
            "fate",
            "fate_evidence",
            "fate_evidence_note",
            "fate_reviewed_at",
            "fate_cost_kzt_per_t",
            "price_kzt_per_t",
            "description",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class FateReviewInputSerializer(serializers.Serializer):
    """A facilitator's decision on a supply's current fate."""

    fate = serializers.ChoiceField(choices=Fate.choices)
    fate_evidence = serializers.ChoiceField(choices=FateEvidence.choices)
    reason = serializers.CharField(max_length=REASON_MAX_CHARS)


class FateReviewOutputSerializer(serializers.ModelSerializer):
    """One entry of a supply's fate record: a facilitator's review, or the company's
    change of a reviewed fate."""

    class Meta:
        model = FateReview
        fields = [
            "id",
            "listing",
            "from_fate",
            "to_fate",
            "from_evidence",
            "to_evidence",
            "reason",
            "by_facilitator",
            "at",
        ]
        read_only_fields = fields


DEMAND_PUBLIC_FIELDS = [
    "id",
    "visibility",
    "status",
    "materials",
    "uses",
    "district",
    "tonnes",
    "recurrence",
    "available_from",
    "available_until",
    "monthly_profile",
    "data_quality",
    "photos",
    "documents",
]


@extend_schema_serializer(component_name="DemandRedacted")
class DemandRedactedSerializer(_ListingPublicFields, serializers.ModelSerializer):
    """Another organization's anonymous demand: no organization, site or coordinates."""

    materials = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)
    uses = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)

    class Meta:
        model = DemandListing
        fields = DEMAND_PUBLIC_FIELDS
        read_only_fields = fields


@extend_schema_serializer(component_name="Demand")
class DemandOutputSerializer(_ListingOwnerFields, DemandRedactedSerializer):
    """A demand listing in full: own, public, or seen by a facilitator."""

    reference_material = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = DemandListing
        fields = [
            *DEMAND_PUBLIC_FIELDS,
            "organization",
            "organization_name",
            "site",
            "site_name",
            "site_address",
            "latitude",
            "longitude",
            "reference_material",
            "quantity",
            "unit",
            "piece_mass_kg",
            "max_km",
            "storage_capacity_tonnes",
            "max_moisture_percent",
            "max_contamination_percent",
            "max_price_kzt_per_t",
            "min_lot_tonnes",
            "description",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


# --- aggregates ------------------------------------------------------------------------


class AggregateTotalSerializer(serializers.Serializer):
    listings = serializers.IntegerField()
    # Per-month listings count twelve times; one-off batches are kept apart.
    recurring_tonnes_per_year = serializers.DecimalField(max_digits=20, decimal_places=6)
    one_off_tonnes = serializers.DecimalField(max_digits=20, decimal_places=6)


class AggregateRowSerializer(AggregateTotalSerializer):
    key = serializers.CharField()
    label = serializers.CharField()


class AggregateSideSerializer(serializers.Serializer):
    by_category = AggregateRowSerializer(many=True)
    by_district = AggregateRowSerializer(many=True)
    total = AggregateTotalSerializer()


class ListingAggregatesSerializer(serializers.Serializer):
    supply = AggregateSideSerializer()
    demand = AggregateSideSerializer()
