"""Reads, with the privacy rules applied.

The API and the htmx pages both read through these functions; which
listings a viewer reads, whose they are and what of them is shown is
decided in ``symbiosis.visibility`` (the one visibility rule), the rest here:

- a company member sees its own organizations, their sites and all their
  listings (any status or visibility), plus the listings of other
  organizations that are active and public or anonymous;
- the owner of an anonymous listing stays hidden from other companies
  (``visibility.listing_hides_owner``): callers render rows through
  ``visibility.listing_card``, which leaves out organization, site,
  coordinates, prices and description;
- facilitators (and superusers) see everything;
- a city analyst sees aggregates only (``listing_aggregates``), unless the
  same person is also a member of an organization, in which case the
  membership gives what it gives every member;
- anonymous users see nothing.

The ``user`` argument takes a user, or a ``Viewer`` a view has already read
for the request (saves the group and membership queries).
"""

from collections import defaultdict
from decimal import Decimal

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from symbiosis.models import DemandListing, Material, Organization, Site, SupplyListing, User
from symbiosis.models.accounts import District
from symbiosis.models.listings import Recurrence, Status
from symbiosis.models.materials import MaterialCategory

# The rule itself lives in symbiosis.visibility; these names stay importable from here.
from symbiosis.visibility import PUBLISHED_VISIBILITIES, Viewer
from symbiosis.visibility import as_viewer as _viewer
from symbiosis.visibility import introduced_listing_ids as introduced_listing_ids
from symbiosis.visibility import listing_hides_owner as listing_hides_owner
from symbiosis.visibility import viewer_for as viewer_for
from symbiosis.visibility import visible_listings as _visible_listings

MONTHS_PER_YEAR = 12
UNSPECIFIED = "unspecified"


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
    """Materials matching ``query`` in English, Russian, Kazakh, slug, EWC or national code.

    "02 07" or "0207" matches EWC or national codes starting with those digits; words
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
        return [
            m
            for m in materials
            if m.ewc_digits.startswith(digits) or (m.kz_code and m.kz_digits.startswith(digits))
        ]
    words = text.split()

    def matches(material: Material) -> bool:
        haystacks = (
            _fold(material.name_en),
            _fold(material.name_ru),
            _fold(material.name_kk),
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

    Callers render each row through ``visibility.listing_card``, which
    decides whose it may show (facilitators see every owner).
    """
    viewer = _viewer(user)
    return _market(supply_list(user=viewer), viewer)


def market_demand_list(*, user) -> QuerySet[DemandListing]:
    viewer = _viewer(user)
    return _market(demand_list(user=viewer), viewer)


def user_exists(*, email: str) -> bool:
    return User.objects.filter(email=User.objects.normalize_email(email)).exists()


def invitation_pending_list(*, organization) -> QuerySet:
    """Invitations of ``organization`` whose links still work, newest first."""
    return organization.invitations.pending().select_related("invited_by")


def api_token_list(*, user) -> QuerySet:
    """The user's API tokens that still work, newest first (rows hold no secret)."""
    return user.auth_token_set.filter(expiry__gt=timezone.now()).order_by("-created")
