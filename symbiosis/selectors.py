"""Reads, with the privacy rules in one place.

The API and the htmx pages both read through these functions, so who sees
what is decided here and nowhere else:

- a company member sees its own organizations, their sites and all their
  listings (any status or visibility), plus the listings of other
  organizations that are active and public or anonymous;
- the owner of an anonymous listing stays hidden from other companies
  (``listing_hides_owner``): callers render such rows without organization,
  site or coordinates;
- facilitators (and superusers) see everything;
- a city analyst sees aggregates only (``listing_aggregates``), unless the
  same person is also a member of an organization, in which case the
  membership gives what it gives every member;
- anonymous users see nothing.

The ``user`` argument takes a user, or a ``Viewer`` a view has already read
for the request (saves the group and membership queries).
"""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from symbiosis import roles
from symbiosis.models import DemandListing, Material, Organization, Site, SupplyListing, User
from symbiosis.models.accounts import District, Membership
from symbiosis.models.listings import Recurrence, Status, Visibility
from symbiosis.models.materials import MaterialCategory

PUBLISHED_VISIBILITIES = (Visibility.PUBLIC, Visibility.ANONYMOUS)
MONTHS_PER_YEAR = 12
UNSPECIFIED = "unspecified"


@dataclass(frozen=True)
class Viewer:
    """What the privacy rules need to know about a user, read once per request."""

    is_authenticated: bool
    is_facilitator: bool
    is_city_analyst: bool
    organization_ids: frozenset[int]
    admin_organization_ids: frozenset[int]

    @property
    def reads_company_data(self) -> bool:
        """May read organizations, sites and listings at all."""
        if not self.is_authenticated:
            return False
        return self.is_facilitator or not self.is_city_analyst or bool(self.organization_ids)

    @property
    def reads_aggregates(self) -> bool:
        return self.is_authenticated and (self.is_facilitator or self.is_city_analyst)

    def writes_for(self, organization_id: int) -> bool:
        # Facilitators read everything but write only where they are members.
        return organization_id in self.organization_ids

    def administers(self, organization_id: int) -> bool:
        return organization_id in self.admin_organization_ids


def viewer_for(user) -> Viewer:
    if not user or not user.is_authenticated:
        return Viewer(False, False, False, frozenset(), frozenset())
    # One query for both sets (every page asks): organization and role per membership.
    memberships = list(Membership.objects.filter(user=user).values_list("organization_id", "role"))
    return Viewer(
        is_authenticated=True,
        is_facilitator=roles.is_facilitator(user),
        is_city_analyst=roles.is_city_analyst(user),
        organization_ids=frozenset(org for org, _role in memberships),
        admin_organization_ids=frozenset(
            org for org, role in memberships if role == Membership.Role.ADMIN
        ),
    )


def _viewer(user_or_viewer) -> Viewer:
    if isinstance(user_or_viewer, Viewer):
        return user_or_viewer
    return viewer_for(user_or_viewer)


# --- organizations and sites -------------------------------------------------


def organization_list(*, user) -> QuerySet[Organization]:
    """Own organizations; other companies' identities are not listable."""
    viewer = _viewer(user)
    if not viewer.reads_company_data:
        return Organization.objects.none()
    if viewer.is_facilitator:
        return Organization.objects.all()
    return Organization.objects.filter(id__in=viewer.organization_ids)


def organization_get(*, user, organization_id) -> Organization:
    return get_object_or_404(organization_list(user=user), id=organization_id)


def site_list(*, user) -> QuerySet[Site]:
    viewer = _viewer(user)
    sites = Site.objects.select_related("organization")
    if not viewer.reads_company_data:
        return sites.none()
    if viewer.is_facilitator:
        return sites
    return sites.filter(organization_id__in=viewer.organization_ids)


def site_get(*, user, site_id) -> Site:
    return get_object_or_404(site_list(user=user), id=site_id)


# --- listings ------------------------------------------------------------------


def _visible_listings(queryset: QuerySet, viewer: Viewer) -> QuerySet:
    if not viewer.reads_company_data:
        return queryset.none()
    if viewer.is_facilitator:
        return queryset
    # One query with OR, not a union of querysets: filters and distinct()
    # applied later by the API then work on it unchanged.
    return queryset.filter(
        Q(organization_id__in=viewer.organization_ids)
        | Q(status=Status.ACTIVE, visibility__in=PUBLISHED_VISIBILITIES)
    )


def supply_list(*, user) -> QuerySet[SupplyListing]:
    queryset = SupplyListing.objects.select_related("organization", "site", "material")
    return _visible_listings(queryset, _viewer(user))


def supply_get(*, user, supply_id) -> SupplyListing:
    return get_object_or_404(supply_list(user=user), id=supply_id)


def demand_list(*, user) -> QuerySet[DemandListing]:
    queryset = DemandListing.objects.select_related(
        "organization", "site", "reference_material"
    ).prefetch_related("materials", "uses")
    return _visible_listings(queryset, _viewer(user))


def demand_get(*, user, demand_id) -> DemandListing:
    return get_object_or_404(demand_list(user=user), id=demand_id)


def listing_hides_owner(*, user, listing, introduced_ids: set[int] | None = None) -> bool:
    """True where ``listing`` must be shown without its organization and site.

    ``introduced_ids`` (from ``introduced_listing_ids``) saves a query per row on lists.
    """
    viewer = _viewer(user)
    if viewer.is_facilitator or listing.organization_id in viewer.organization_ids:
        return False
    if listing.visibility == Visibility.PUBLIC:
        return False
    if introduced_ids is None:
        introduced_ids = introduced_listing_ids(viewer=viewer, model=type(listing))
    return listing.pk not in introduced_ids


def introduced_listing_ids(*, viewer, model) -> set[int]:
    """Listings of others whose owner a facilitator introduced to the viewer's
    organization (an approved proposal between the two): they know each other."""
    viewer = _viewer(viewer)
    if not viewer.organization_ids:
        return set()
    # Imported here: the optimizer builds on this app, not the other way round.
    from optimizer.models import MatchProposal

    approved = MatchProposal.objects.filter(status=MatchProposal.Status.APPROVED)
    if issubclass(model, SupplyListing):
        rows = approved.filter(demand__organization_id__in=viewer.organization_ids)
        return set(rows.values_list("supply_id", flat=True))
    rows = approved.filter(supply__organization_id__in=viewer.organization_ids)
    return set(rows.values_list("demand_id", flat=True))


# --- aggregates for the city ---------------------------------------------------


def _empty_cell() -> dict:
    return {"listings": 0, "recurring_tonnes_per_year": Decimal(0), "one_off_tonnes": Decimal(0)}


def _add(cell: dict, tonnes: Decimal, recurrence: str) -> None:
    cell["listings"] += 1
    if recurrence == Recurrence.ONCE:
        # A one-off batch is not a yearly flow: kept apart rather than
        # inflating or diluting the recurring figure.
        cell["one_off_tonnes"] += tonnes
    elif recurrence == Recurrence.MONTHLY:
        cell["recurring_tonnes_per_year"] += tonnes * MONTHS_PER_YEAR
    else:
        cell["recurring_tonnes_per_year"] += tonnes


def _rows(cells: dict, labels: dict) -> list[dict]:
    return [
        {"key": key, "label": str(labels.get(key, key)), **cells[key]}
        for key in sorted(cells, key=lambda k: (k == UNSPECIFIED, k))
    ]


def _summarise(records) -> dict:
    """``records``: (tonnes, recurrence, category, district) per listing."""
    by_category: dict = defaultdict(_empty_cell)
    by_district: dict = defaultdict(_empty_cell)
    total = _empty_cell()
    for tonnes, recurrence, category, district in records:
        _add(by_category[category or UNSPECIFIED], tonnes, recurrence)
        _add(by_district[district or UNSPECIFIED], tonnes, recurrence)
        _add(total, tonnes, recurrence)
    category_labels = {**dict(MaterialCategory.choices), UNSPECIFIED: "Unspecified"}
    district_labels = {**dict(District.choices), UNSPECIFIED: "Unspecified"}
    return {
        "by_category": _rows(by_category, category_labels),
        "by_district": _rows(by_district, district_labels),
        "total": total,
    }


def _demand_categories() -> dict[int, str]:
    """One category per active demand, so no tonne is counted twice.

    The material the quantity is measured in decides; else the accepted
    materials if they share one category; else (several categories, or uses
    only) the demand counts as unspecified.
    """
    categories: dict[int, set[str]] = defaultdict(set)
    through = DemandListing.materials.through.objects.filter(demandlisting__status=Status.ACTIVE)
    for demand_id, category in through.values_list("demandlisting_id", "material__category"):
        categories[demand_id].add(category)
    return {
        demand_id: next(iter(found)) for demand_id, found in categories.items() if len(found) == 1
    }


def listing_aggregates() -> dict:
    """Active supply and demand tonnes by material category and by district.

    Every visibility counts (the city needs the whole picture) but no row
    names an organization or a listing. Only facilitators and city analysts
    may be shown this; callers check ``Viewer.reads_aggregates``.
    """
    supplies = SupplyListing.objects.filter(status=Status.ACTIVE).values_list(
        "tonnes", "recurrence", "material__category", "site__district"
    )
    demand_category = _demand_categories()
    demands = DemandListing.objects.filter(status=Status.ACTIVE).values_list(
        "id", "tonnes", "recurrence", "reference_material__category", "site__district"
    )
    demand_records = (
        (tonnes, recurrence, reference_category or demand_category.get(demand_id), district)
        for demand_id, tonnes, recurrence, reference_category, district in demands
    )
    return {"supply": _summarise(supplies), "demand": _summarise(demand_records)}


# --- the company workspace (htmx pages) -------------------------------------------


def own_site_list(*, user) -> QuerySet[Site]:
    """Sites of the user's own organizations: the ones listings may be written for.

    Facilitators read every site, but write only where they are members.
    """
    viewer = _viewer(user)
    return Site.objects.select_related("organization").filter(
        organization_id__in=viewer.organization_ids
    )


def own_supply_list(*, user) -> QuerySet[SupplyListing]:
    viewer = _viewer(user)
    return supply_list(user=viewer).filter(organization_id__in=viewer.organization_ids)


def own_demand_list(*, user) -> QuerySet[DemandListing]:
    viewer = _viewer(user)
    return demand_list(user=viewer).filter(organization_id__in=viewer.organization_ids)


def supply_duplicates(*, user, site_id, material_id, exclude_id=None) -> QuerySet[SupplyListing]:
    """Active supplies of the same material at the same site (for a warning)."""
    found = own_supply_list(user=user).filter(
        status=Status.ACTIVE, site_id=site_id, material_id=material_id
    )
    return found.exclude(id=exclude_id) if exclude_id else found


def demand_duplicates(*, user, site_id, material_ids, exclude_id=None) -> QuerySet[DemandListing]:
    """Active demands at the same site accepting one of the same materials."""
    found = (
        own_demand_list(user=user)
        .filter(status=Status.ACTIVE, site_id=site_id, materials__in=list(material_ids))
        .distinct()
    )
    return found.exclude(id=exclude_id) if exclude_id else found


def _fold(text: str) -> str:
    return (text or "").casefold().replace("ё", "е")


def material_search(query: str) -> list[Material]:
    """Materials matching ``query`` in English, Russian, slug or EWC code.

    "02 07" or "0207" matches EWC codes starting with those digits; words
    ("spent grain", "дробина") must all occur in one of the names. Done in
    Python: the taxonomy is a few dozen rows, and SQLite's LIKE folds the
    case of ASCII letters only, not Cyrillic ones.
    """
    materials = list(Material.objects.all())
    text = _fold(query).strip()
    if not text:
        return materials
    digits = text.replace(" ", "").rstrip("*")
    if digits.isdigit():
        return [m for m in materials if m.ewc_digits.startswith(digits)]
    words = text.split()

    def matches(material: Material) -> bool:
        haystacks = (
            _fold(material.name_en),
            _fold(material.name_ru),
            material.slug.replace("-", " "),
        )
        return any(all(word in hay for word in words) for hay in haystacks)

    return [m for m in materials if matches(m)]


def _market(queryset: QuerySet, viewer: Viewer) -> QuerySet:
    return queryset.filter(status=Status.ACTIVE, visibility__in=PUBLISHED_VISIBILITIES).exclude(
        organization_id__in=viewer.organization_ids
    )


def market_supply_list(*, user) -> QuerySet[SupplyListing]:
    """Other organizations' active public and anonymous supplies.

    Callers still ask ``listing_hides_owner`` for each row before showing
    whose it is (facilitators see every owner).
    """
    viewer = _viewer(user)
    return _market(supply_list(user=viewer), viewer)


def market_demand_list(*, user) -> QuerySet[DemandListing]:
    viewer = _viewer(user)
    return _market(demand_list(user=viewer), viewer)


def user_exists(*, email: str) -> bool:
    return User.objects.filter(email__iexact=email.strip()).exists()
