"""The one visibility rule: who sees which listing, and what of it.

Every page, partial, API answer, export and error message that shows a
listing asks this module; nothing else restates the rule.

- **Which listings** (``listing_visible`` / ``visible_listings``): a company
  member reads its own organizations' listings (any status or visibility)
  and others' that are active and public or anonymous; facilitators read
  all; a city analyst who is no member reads none (aggregates only), nor
  does an anonymous user.
- **Whose they are** (``listing_hides_owner`` / ``hides_owner_q``): the
  owner of another organization's listing that is not public stays hidden,
  unless a facilitator introduced the two (an approved proposal between
  the listing and one of the viewer's organizations, ``introduced_listing_ids``).
  Facilitators and the owner's own members always see it.
- **What of it** (``listing_card``): where the owner is hidden, a viewer is
  shown only ``SHOWN_WHEN_OWNER_HIDDEN`` (what, how much, how often, when,
  which district, coordinates rounded to a coarse cell, a supply's composition); organization, site,
  address, exact coordinates, distance limit, prices, quality limits and the
  free-text description (which often names the owner) are left out.

Each rule is written twice on purpose, once in Python for one row and once
as a query condition for sorting and filtering many: the two sit side by
side here and ``tests/symbiosis/test_visibility.py`` checks that they agree
on random worlds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from symbiosis import geo, roles
from symbiosis.models import DemandListing, SupplyListing
from symbiosis.models.accounts import District, Membership
from symbiosis.models.listings import Recurrence, Status, Visibility

PUBLISHED_VISIBILITIES = (Visibility.PUBLIC, Visibility.ANONYMOUS)
# Built once (the labels stay lazy, translated when shown): a market page
# asks for them on every row.
_DISTRICT_LABELS = dict(District.choices)
_RECURRENCE_LABELS = dict(Recurrence.choices)


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


def as_viewer(user_or_viewer) -> Viewer:
    """A ``Viewer`` from a user, or the one a view has already read."""
    if isinstance(user_or_viewer, Viewer):
        return user_or_viewer
    return viewer_for(user_or_viewer)


# --- which listings a viewer reads ------------------------------------------------------


def listing_visible(*, user, listing) -> bool:
    """``visible_listings`` for one row."""
    viewer = as_viewer(user)
    if not viewer.reads_company_data:
        return False
    if viewer.is_facilitator or listing.organization_id in viewer.organization_ids:
        return True
    return listing.status == Status.ACTIVE and listing.visibility in PUBLISHED_VISIBILITIES


def visible_listings(queryset: QuerySet, viewer: Viewer) -> QuerySet:
    """``listing_visible`` as a filter of ``queryset``."""
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


# --- whose it is ---------------------------------------------------------------------------


def listing_hides_owner(*, user, listing, introduced_ids: set[int] | None = None) -> bool:
    """True where ``listing`` must be shown without its owner (``listing_card``).

    ``introduced_ids`` (from ``introduced_listing_ids``) saves a query per row on lists.
    """
    viewer = as_viewer(user)
    if viewer.is_facilitator or listing.organization_id in viewer.organization_ids:
        return False
    if listing.visibility == Visibility.PUBLIC:
        return False
    if introduced_ids is None:
        introduced_ids = introduced_listing_ids(viewer=viewer, model=type(listing))
    return listing.pk not in introduced_ids


def hides_owner_q(*, viewer: Viewer, introduced_ids: set[int]) -> Q | None:
    """``listing_hides_owner`` as a condition, for sorting and filtering in SQL;
    None where nothing is hidden (a facilitator)."""
    if viewer.is_facilitator:
        return None
    hides = ~Q(visibility=Visibility.PUBLIC)
    if viewer.organization_ids:
        hides &= ~Q(organization_id__in=viewer.organization_ids)
    if introduced_ids:
        hides &= ~Q(pk__in=introduced_ids)
    return hides


# Who introduces companies to each other is an app above the core (the optimizer's
# approved proposals); it registers its source here when it starts
# (OptimizerConfig.ready), so this rule imports nothing above it.
IntroductionSource = Callable[[frozenset, bool], Iterable[int]]
_introduction_sources: list[IntroductionSource] = []


def register_introduction_source(source: IntroductionSource) -> IntroductionSource:
    """Add ``source(organization_ids, supplies) -> listing ids``: the supply (or,
    with ``supplies`` False, demand) listings of others whose owner was introduced
    to one of ``organization_ids``. Registering twice is a no-op."""
    if source not in _introduction_sources:
        _introduction_sources.append(source)
    return source


def introduced_listing_ids(*, viewer, model) -> set[int]:
    """Listings of others whose owner a facilitator introduced to the viewer's
    organization (an approved proposal between the two): they know each other."""
    viewer = as_viewer(viewer)
    if not viewer.organization_ids:
        return set()
    supplies = issubclass(model, SupplyListing)
    ids: set[int] = set()
    for source in _introduction_sources:
        ids.update(source(frozenset(viewer.organization_ids), supplies))
    return ids


# --- what of it is shown -------------------------------------------------------------------

# What a viewer is shown of a listing whose owner is hidden, by kind: the
# names ``ListingCard`` answers. "district", "latitude" and "longitude" are
# the card's own (the district of the site; the centre of the site's coarse
# grid cell); every other name is the listing's attribute of that name.
SHOWN_WHEN_OWNER_HIDDEN = {
    "supply": frozenset(
        {
            "pk",
            "id",
            "visibility",
            "status",
            "material",
            "material_id",
            # A legal restriction on the residue itself, shown to every buyer.
            "imported_origin",
            # Composition describes the residue, not who has it: a buyer decides on
            # it, anonymous or not (docs/market.md). The EWC code and hazardous flag
            # are the material's, shown with it. Free text stays out (contaminants
            # are codes, not words that could name the owner).
            "moisture_percent",
            "dry_matter_percent",
            "cn_ratio",
            "effective_moisture_percent",
            "effective_cn_ratio",
            "contamination_percent",
            "contaminants",
            "contaminant_labels",
            "particle_size_mm",
            "tonnes",
            "recurrence",
            "available_from",
            "available_until",
            # When in the year (symbiosis.profiles): the season, not who has it.
            "monthly_profile",
            "district",
            "latitude",
            "longitude",
            # How far to trust the data, and the pictures and documents
            # (symbiosis.attachments): never the files' names, which pages and the
            # API replace by neutral ones where the owner is hidden.
            "data_quality",
            "get_data_quality_display",
            "photos",
            "first_photo",
            "documents",
        }
    ),
    "demand": frozenset(
        {
            "pk",
            "id",
            "visibility",
            "status",
            "materials",
            "uses",
            "tonnes",
            "recurrence",
            "available_from",
            "available_until",
            # When in the year (symbiosis.profiles): the season, not who has it.
            "monthly_profile",
            "district",
            "latitude",
            "longitude",
            # How far to trust the data, and the pictures and documents
            # (symbiosis.attachments): never the files' names, which pages and the
            # API replace by neutral ones where the owner is hidden.
            "data_quality",
            "get_data_quality_display",
            "photos",
            "first_photo",
            "documents",
        }
    ),
}

KINDS = {SupplyListing: "supply", DemandListing: "demand"}


def listing_kind(listing) -> str:
    return KINDS[type(listing)]


class HiddenField(AttributeError):
    """A listing's field its viewer may not see (the owner is hidden)."""


class ListingCard:
    """What one viewer may be shown of one listing: templates, serializers and
    exports read a listing through this, never the row itself.

    Where the owner is hidden, reading a name outside ``SHOWN_WHEN_OWNER_HIDDEN``
    (organization, site, description, prices, ...) raises ``HiddenField``, an
    AttributeError: a template then prints nothing, ``{% if %}`` on it is
    false (``is not None`` too), and Python code fails loudly. A hidden field
    cannot be printed by mistake.
    """

    __slots__ = ("_listing", "hides_owner", "kind")

    def __init__(self, listing, *, hides_owner: bool):
        self._listing = listing
        self.hides_owner = hides_owner
        self.kind = listing_kind(listing)

    def shows(self, name: str) -> bool:
        return not self.hides_owner or name in SHOWN_WHEN_OWNER_HIDDEN[self.kind]

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        if not self.shows(name):
            getattr(self._listing.__class__, name)  # a plain AttributeError if no listing has it
            raise HiddenField(f"{name} of this {self.kind} listing is not shown to this viewer")
        return getattr(self._listing, name)

    @property
    def district(self) -> str:
        # The district, never the site: a site's name and address name its owner.
        return self._listing.site.district

    @property
    def district_label(self) -> str:
        district = self.district
        return _DISTRICT_LABELS.get(district, district)

    @property
    def recurrence_label(self) -> str:
        recurrence = self._listing.recurrence
        return _RECURRENCE_LABELS.get(recurrence, recurrence)

    @property
    def point(self) -> tuple[float, float]:
        """Where to measure distances to: the site, or its coarse cell where hidden."""
        site = self._listing.site
        if self.hides_owner:
            return geo.coarse(site.latitude, site.longitude)
        return float(site.latitude), float(site.longitude)

    @property
    def latitude(self) -> float:
        return self.point[0]

    @property
    def longitude(self) -> float:
        return self.point[1]

    @property
    def owner_name(self) -> str | None:
        return None if self.hides_owner else self._listing.organization.name

    def __repr__(self) -> str:
        state = "owner hidden" if self.hides_owner else "in full"
        return f"<ListingCard {self.kind} {self._listing.pk} ({state})>"


def listing_card(*, user, listing, introduced_ids: set[int] | None = None) -> ListingCard:
    """What ``user`` may be shown of ``listing`` (which the caller read through
    ``visible_listings``)."""
    hides = listing_hides_owner(user=user, listing=listing, introduced_ids=introduced_ids)
    return ListingCard(listing, hides_owner=hides)


def listing_choice_label(listing) -> str:
    """A listing named in a list of choices, from what anyone who sees it may see."""
    if listing_kind(listing) == "supply":
        return f"#{listing.pk}: {listing.material} ({listing.tonnes} t/{listing.recurrence})"
    return f"#{listing.pk}: need ({listing.tonnes} t/{listing.recurrence})"
