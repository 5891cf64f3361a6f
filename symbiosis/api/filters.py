"""Query-string filters.

No filter or ordering touches the owner of a listing (organization, site):
on anonymous listings of others that would let a caller find out whose they
are by narrowing a list down.
"""

import django_filters

from symbiosis.models import CompatibilityRule, DemandListing, Site, SupplyListing
from symbiosis.models.accounts import District
from symbiosis.models.listings import Status, Visibility
from symbiosis.models.materials import MaterialCategory


class SiteFilter(django_filters.FilterSet):
    # Sites are listed for their own organizations only, so filtering by one is safe.
    # A number, not a lookup of the row: a lookup would answer differently
    # for another organization's id than for an id that does not exist.
    # organization__id, not organization_id: that lookup answers "none" for an id
    # beyond the database's integer range instead of failing.
    organization = django_filters.NumberFilter(field_name="organization__id")
    district = django_filters.ChoiceFilter(choices=District.choices)

    class Meta:
        model = Site
        fields = ["organization", "district"]


class _ListingFilter(django_filters.FilterSet):
    district = django_filters.ChoiceFilter(field_name="site__district", choices=District.choices)
    status = django_filters.ChoiceFilter(choices=Status.choices)
    visibility = django_filters.ChoiceFilter(choices=Visibility.choices)


class SupplyFilter(_ListingFilter):
    material = django_filters.CharFilter(field_name="material__slug", help_text="material slug")
    category = django_filters.ChoiceFilter(
        field_name="material__category", choices=MaterialCategory.choices
    )

    class Meta:
        model = SupplyListing
        fields = ["material", "category", "district", "status", "visibility"]


class DemandFilter(_ListingFilter):
    material = django_filters.CharFilter(
        field_name="materials__slug", distinct=True, help_text="slug of an accepted material"
    )
    category = django_filters.ChoiceFilter(
        field_name="materials__category",
        choices=MaterialCategory.choices,
        distinct=True,
        help_text="category of an accepted material",
    )
    use = django_filters.CharFilter(
        field_name="uses__slug", distinct=True, help_text="slug of an accepted use"
    )

    class Meta:
        model = DemandListing
        fields = ["material", "category", "use", "district", "status", "visibility"]


class CompatibilityRuleFilter(django_filters.FilterSet):
    material = django_filters.CharFilter(field_name="material__slug", help_text="material slug")
    use = django_filters.CharFilter(field_name="use__slug", help_text="use slug")

    class Meta:
        model = CompatibilityRule
        fields = ["material", "use"]
