"""Which listings of the market match a set of filters, in what order.

The one market query: the market page (``symbiosis.views.market``) and the
saved searches' digests (``symbiosis.saved_searches``) both call
``market_rows`` with a ``MarketFilterForm``, so a digest names exactly the
listings the page would show.

Rows come from the privacy selectors and are shown through
``visibility.listing_card``, which decides whether a row may name its
organization and site (and its price and description). Distances to an
anonymous listing of another company are measured to the card's point, a
coarse grid cell (``symbiosis.geo.coarse``), never to its site, and shown
rounded.

Sorting and filtering by distance happen in the database (the same
haversine, with the same coarse cell for hidden owners: ``symbiosis.geo_sql``),
and only the page shown is loaded: at 50,000 listings, building every row in
Python took seconds per request. The distances shown are computed in Python
from the page's rows, as before.
"""

from dataclasses import dataclass
from decimal import Decimal
from math import asin, cos, degrees, pi, radians, sin

from django.db.models import Case, FloatField, Q, Value, When
from django.db.models.functions import (
    ASin,
    Cast,
    Coalesce,
    Cos,
    Least,
    NullIf,
    Power,
    Radians,
    Sin,
    Sqrt,
)

from symbiosis import geo, market_map, market_search, selectors, visibility
from symbiosis.forms import MarketFilterForm
from symbiosis.geo_sql import coarse_centre_sql
from symbiosis.models import DemandListing, SupplyListing

# What a result row shows (``_market_results.html``), read for a page: the
# listings' other columns are many and would be read for nothing.
_ROW_COMMON = (
    "organization_id",
    "tonnes",
    "recurrence",
    "available_from",
    "available_until",
    "visibility",
    "data_quality",
    "organization__name",
    "site__name",
    "site__district",
    "site__latitude",
    "site__longitude",
)
ROW_FIELDS = {
    "supply": (
        *_ROW_COMMON,
        "material__name_en",
        "material__name_ru",
        "material__name_kk",
        # The row's codes and hazard flags (``{% material_codes %}``).
        "material__ewc_code",
        "material__kz_code",
        "material__hazardous",
        "material__kz_hazardous",
        "imported_origin",
        "price_kzt_per_t",
    ),
    "demand": (
        *_ROW_COMMON,
        "reference_material__name_en",
        "reference_material__name_ru",
        "reference_material__name_kk",
        "max_price_kzt_per_t",
    ),
}


@dataclass
class MarketRow:
    card: visibility.ListingCard
    distance_km: float | None
    # The first photo's thumbnail, None without one (market_search.thumbnail_url).
    thumbnail_url: str | None = None

    @property
    def kind(self) -> str:
        return self.card.kind


# Composition as the optimizer reads it (optimizer.snapshot.supply_quality): the
# listing's own moisture and C:N, else its material's typical value (a material's
# C:N of 0 means unknown). A supply that states no value (nor its material) does
# not pass a limit on it. Read by the market page and the API's filters alike.
EFFECTIVE_COMPOSITION = {
    "moisture": lambda: Coalesce("moisture_percent", "material__moisture_percent"),
    "cn": lambda: Coalesce(
        "cn_ratio", NullIf("material__carbon_to_nitrogen_ratio", Value(Decimal(0)))
    ),
}


def composition_filter(listings, name: str, lookup: str, value):
    """``listings`` whose effective ``name`` ("moisture", "cn") passes ``lookup`` value."""
    annotated = listings.annotate(**{f"effective_{name}": EFFECTIVE_COMPOSITION[name]()})
    return annotated.filter(**{f"effective_{name}__{lookup}": value})


def _composition_filtered(listings, form: MarketFilterForm):
    limits = {
        "max_moisture_percent": ("moisture", "lte"),
        "min_cn_ratio": ("cn", "gte"),
        "max_cn_ratio": ("cn", "lte"),
    }
    for field, (name, lookup) in limits.items():
        if form.value(field) is not None:
            listings = composition_filter(listings, name, lookup, form.value(field))
    plain = {
        "max_contamination_percent": "contamination_percent__lte",
        "max_particle_size_mm": "particle_size_mm__lte",
    }
    for field, lookup in plain.items():
        if form.value(field) is not None:
            listings = listings.filter(**{lookup: form.value(field)})
    for code in form.value("without_contaminants") or ():
        # Stored as "glass,plastics" (codes without commas in them).
        listings = listings.exclude(contaminants__regex=rf"(^|,)\s*{code}\s*(,|$)")
    if form.value("non_hazardous"):
        listings = listings.exclude(material__hazardous=True).exclude(material__kz_hazardous=True)
    return listings


def _filtered(viewer, form: MarketFilterForm, kind: str):
    if kind == "demand" and form.composition_given():
        # Composition describes supplies: no demand passes a limit on it.
        return selectors.market_demand_list(user=viewer).none()
    if kind == "demand":
        listings = selectors.market_demand_list(user=viewer)
        category, material = form.value("category"), form.value("material")
        # Subqueries, not joins over the accepted materials: a join repeats
        # rows and the DISTINCT it then needs sorts every wide row.
        accepted = DemandListing.materials.through.objects
        if category:
            listings = listings.filter(
                Q(pk__in=accepted.filter(material__category=category).values("demandlisting_id"))
                | Q(reference_material__category=category)
            )
        if material:
            listings = listings.filter(
                Q(pk__in=accepted.filter(material=material).values("demandlisting_id"))
                | Q(reference_material=material)
            )
    else:
        listings = selectors.market_supply_list(user=viewer)
        if form.value("category"):
            listings = listings.filter(material__category=form.value("category"))
        if form.value("material"):
            listings = listings.filter(material=form.value("material"))
        listings = _composition_filtered(listings, form)
    if form.value("district"):
        listings = listings.filter(site__district=form.value("district"))
    if form.value("min_tonnes") is not None:
        listings = listings.filter(tonnes__gte=form.value("min_tonnes"))
    return listings


def _distance_km(origin, card: visibility.ListingCard) -> float | None:
    if origin is None:
        return None
    return geo.great_circle_km(origin.latitude, origin.longitude, *card.point)


def _haversine_km_sql(origin, lat, lon):
    """``geo.great_circle_km`` from ``origin`` to the point (lat, lon) of each row."""
    lat1, lon1 = float(origin.latitude), float(origin.longitude)
    phi1 = radians(lat1)
    phi2 = Radians(lat)
    h = Power(Sin((phi2 - Value(phi1)) / Value(2.0)), 2) + Value(cos(phi1)) * Cos(phi2) * Power(
        Sin(Radians(lon - Value(lon1)) / Value(2.0)), 2
    )
    return Value(2 * geo.EARTH_RADIUS_KM) * ASin(Least(Value(1.0), Sqrt(h)))


def _distance_km_sql(origin, hides_owner: Q | None):
    """Distance to the site, or to its coarse cell where the owner is hidden."""
    exact = _haversine_km_sql(
        origin,
        Cast("site__latitude", FloatField()),
        Cast("site__longitude", FloatField()),
    )
    if hides_owner is None:
        return exact
    coarse = _haversine_km_sql(
        origin, coarse_centre_sql("site__latitude"), coarse_centre_sql("site__longitude")
    )
    return Case(When(hides_owner, then=coarse), default=exact, output_field=FloatField())


# Slack on the box below, in degrees (about 10 cm): the haversine in SQL and
# the box bounds are both floating point.
_BOX_SLACK_DEG = 1e-6


def _within_box_q(origin, max_km: float) -> Q:
    """Sites that may lie within ``max_km`` of ``origin``: a latitude and longitude
    box, so PostgreSQL computes the haversine only for the sites inside it.

    A superset: the exact distance still filters. A point within angular distance
    r of the origin differs from it by at most r in latitude and by
    asin(sin r / cos lat) in longitude. Distances to hidden owners go to the
    centre of their coarse cell, up to half a cell from the site: the box is
    wider by that much. No box where it would reach a pole or the antimeridian.
    """
    lat0, lon0 = float(origin.latitude), float(origin.longitude)
    r = max_km / geo.EARTH_RADIUS_KM
    pad = geo.COARSE_STEP_DEG / 2 + _BOX_SLACK_DEG
    dlat = degrees(r) + pad
    reach = sin(r) / cos(radians(lat0)) if r < pi / 2 else 2.0
    if abs(lat0) + dlat >= 90 or reach >= 1:
        return Q()
    dlon = degrees(asin(reach)) + pad
    if abs(lon0) + dlon >= 180:
        return Q(site__latitude__range=(lat0 - dlat, lat0 + dlat))
    return Q(
        site__latitude__range=(lat0 - dlat, lat0 + dlat),
        site__longitude__range=(lon0 - dlon, lon0 + dlon),
    )


def market_rows(viewer, form: MarketFilterForm):
    """The ids of the filtered listings in order (a queryset, to paginate), the sort
    used, a function making the ``MarketRow``s of a page of ids, and a queryset
    with the same number of rows that is cheaper to count.

    Two steps: the ids are sorted without the joins to organization and
    material and without the wide rows, and only a page of listings is loaded.
    """
    kind = form.value("kind", "supply")
    origin = form.value("site")
    introduced = visibility.introduced_listing_ids(
        viewer=viewer, model=DemandListing if kind == "demand" else SupplyListing
    )
    # The search box and the facets of issue 18 (symbiosis.market_search).
    search = market_search.market_search(
        form.value("q"), kind=kind, viewer=viewer, introduced_ids=introduced
    )
    full = search.narrow(
        market_search.apply_facets(
            _filtered(viewer, form, kind),
            recurrence=form.value("recurrence"),
            has_photos=form.value("has_photos", False),
            data_quality=form.value("data_quality"),
        )
    )
    # The map's view (symbiosis.market_map): by the places the cards show.
    full = listings = market_map.within_bbox(
        full, viewer=viewer, bbox=form.value("bbox"), introduced_ids=introduced
    )
    # None chosen: the best match with a query, else the nearest or the largest.
    sort = form.value("sort") or ("relevance" if search else "distance" if origin else "tonnes")
    max_km = form.value("max_km")
    near_first = origin is not None and sort in ("distance", "relevance")
    if near_first or (origin is not None and max_km is not None):
        hides_owner = visibility.hides_owner_q(viewer=viewer, introduced_ids=introduced)
        listings = listings.annotate(distance_sql=_distance_km_sql(origin, hides_owner))
        if max_km is not None:
            listings = listings.filter(
                _within_box_q(origin, float(max_km)), distance_sql__lte=float(max_km)
            )
    if sort == "relevance":
        # The best match first; among equals the nearest, else the largest.
        rank = search.rank()
        best = ("-search_rank",) if rank is not None else ()
        if rank is not None:
            listings = listings.annotate(search_rank=rank)
        then = ("distance_sql", "-tonnes") if near_first else ("-tonnes",)
        listings = listings.order_by(*best, *then, "pk")
    elif sort == "distance" and origin is not None:
        listings = listings.order_by("distance_sql", "-tonnes", "pk")
    elif sort == "newest":
        listings = listings.order_by("-created_at", "pk")
    else:
        sort = "tonnes"
        listings = listings.order_by("-tonnes", "pk")

    # The page's rows by id from the privacy selector alone: the ids already
    # passed the filters, and repeating their subqueries costs a query plan.
    market_list = selectors.market_demand_list if kind == "demand" else selectors.market_supply_list

    def rows(page_ids) -> list[MarketRow]:
        page_ids = list(page_ids)
        page_listings = market_list(user=viewer).filter(pk__in=page_ids).only(*ROW_FIELDS[kind])
        page_listings = page_listings.prefetch_related("photos")
        by_pk = {listing.pk: listing for listing in page_listings}
        result = []
        for listing in (by_pk[pk] for pk in page_ids):
            card = visibility.listing_card(user=viewer, listing=listing, introduced_ids=introduced)
            result.append(
                MarketRow(card, _distance_km(origin, card), market_search.thumbnail_url(card))
            )
        return result

    # Counted without the distance (and its join) unless a distance filters.
    counted = listings if max_km is not None and origin is not None else full
    return listings.values_list("pk", flat=True), sort, rows, counted


def market_form(viewer, data) -> MarketFilterForm:
    """The market's filters from ``data`` (a QueryDict), as the page reads them:
    distances from the viewer's first own site unless another (or none) is chosen."""
    data = data.copy()
    if "site" not in data:
        first_site = selectors.own_site_list(user=viewer).values_list("pk", flat=True).first()
        if first_site is not None:
            data["site"] = str(first_site)
    # The viewer, not the user: the form's site choices then need no second
    # membership query.
    return MarketFilterForm(data, user=viewer)
