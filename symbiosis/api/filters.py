"""Query-string filters.

No filter or ordering touches the owner of a listing (organization, site):
on anonymous listings of others that would let a caller find out whose they
are by narrowing a list down.
"""

import django_filters

from symbiosis import market_query, market_search, visibility
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
    q = django_filters.CharFilter(
        method="search",
        max_length=market_search.MAX_QUERY_CHARS,
        help_text="the market's search: material names (English, Russian, typos), EWC or "
        "national waste "
        "codes, and the descriptions the caller may read",
    )

    def search(self, queryset, _name, value):
        # The market page's search (symbiosis.market_search), for the same viewer.
        viewer = visibility.as_viewer(self.request.user)
        model = queryset.model
        found = market_search.market_search(
            value,
            kind="demand" if model is DemandListing else "supply",
            viewer=viewer,
            introduced_ids=visibility.introduced_listing_ids(viewer=viewer, model=model),
        )
        return found.narrow(queryset)


def _effective(name: str, lookup: str):
    def method(self, queryset, _field, value):
        return market_query.composition_filter(queryset, name, lookup, value)

    return method


class SupplyFilter(_ListingFilter):
    material = django_filters.CharFilter(field_name="material__slug", help_text="material slug")
    category = django_filters.ChoiceFilter(
        field_name="material__category", choices=MaterialCategory.choices
    )
    # Composition (docs/market.md), which names no owner. A supply that states no
    # value (nor its material) does not pass a limit on it, as in the optimizer.
    max_moisture_percent = django_filters.NumberFilter(
        method="filter_max_moisture",
        help_text="moisture % at most (the material's typical value where unstated)",
    )
    min_cn_ratio = django_filters.NumberFilter(
        method="filter_min_cn", help_text="C:N ratio at least (else the material's)"
    )
    max_cn_ratio = django_filters.NumberFilter(
        method="filter_max_cn", help_text="C:N ratio at most (else the material's)"
    )
    max_contamination_percent = django_filters.NumberFilter(
        field_name="contamination_percent", lookup_expr="lte", help_text="contamination % at most"
    )
    max_particle_size_mm = django_filters.NumberFilter(
        field_name="particle_size_mm", lookup_expr="lte", help_text="particle size (mm) at most"
    )
    hazardous = django_filters.BooleanFilter(
        field_name="material__hazardous", help_text="a hazardous material"
    )

    class Meta:
        model = SupplyListing
        fields = ["material", "category", "district", "status", "visibility"]

    filter_max_moisture = _effective("moisture", "lte")
    filter_min_cn = _effective("cn", "gte")
    filter_max_cn = _effective("cn", "lte")


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
