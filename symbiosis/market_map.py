"""The market's map: the listings a viewer may see, as points or counted in cells.

Where a listing is shown on the map is what ``visibility.listing_card`` says of
it (``ListingCard.point``): the site, or the centre of the site's coarse grid
cell (``geo.coarse``) where the owner is hidden (``visibility.hides_owner_q``).
The map and the list's map-area filter (``within_bbox``) both use these
visible places, never the site's own where it is hidden: panning a small box
over the city cannot find an anonymous site.

At 50,000 listings a card per listing in Python takes seconds a request, so
the answer has two forms (``map_data``), both from one GROUP BY on the sites'
coordinates and the hidden flag (``visible_places``; a few thousand rows):

- **cells**: more than ``POINTS_MAX`` listings in the area, counted in square
  cells (a power of two of a degree, about ``CELLS_ACROSS`` across the area);
  each cell answers its count, the mean of its listings' visible places and
  its bounds (a click zooms there). Counts and means of visible places show
  nothing a card would not.
- **points**: at most ``POINTS_MAX`` listings, one point per listing, built
  from its card (what the list's row shows, and the owner only where the card
  names it); the browser clusters those that overlap (Leaflet.markercluster).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Case, Count, FloatField, Q, QuerySet, Value, When
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils.translation import gettext as _

from symbiosis import geo, visibility

# More listings than this in the area are answered as cells, fewer as points.
POINTS_MAX = 500
# About this many cells across the longer side of the area (a cluster icon is
# about 40 px on a map some 600 px wide): cell sides are powers of two of a
# degree, so cells stay put while the map pans.
CELLS_ACROSS = 16


@dataclass(frozen=True)
class BBox:
    """An area of the map in degrees: west and east longitudes, south and north latitudes."""

    west: float
    south: float
    east: float
    north: float

    def as_list(self) -> list[float]:
        return [self.west, self.south, self.east, self.north]


def parse_bbox(text: str) -> BBox:
    """``"west,south,east,north"`` in degrees, as Leaflet's ``toBBoxString`` gives it.

    Raises ValueError with a message for the user on anything else.
    """
    parts = [part.strip() for part in str(text).split(",")]
    try:
        numbers = [float(part) for part in parts]
    except ValueError:
        numbers = []
    if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
        raise ValueError(_("Give the map area as four numbers in degrees: west,south,east,north."))
    west, south, east, north = numbers
    if not (-180 <= west <= 180 and -180 <= east <= 180):
        raise ValueError(_("Longitudes of the map area must lie between -180 and 180."))
    if not (-90 <= south <= 90 and -90 <= north <= 90):
        raise ValueError(_("Latitudes of the map area must lie between -90 and 90."))
    if west >= east or south >= north:
        raise ValueError(_("The map area must have west before east and south before north."))
    return BBox(west, south, east, north)


def _hides_owner(viewer, introduced_ids) -> Q | None:
    return visibility.hides_owner_q(viewer=viewer, introduced_ids=introduced_ids)


def _introduced(viewer, listings: QuerySet) -> set[int]:
    return visibility.introduced_listing_ids(viewer=viewer, model=listings.model)


def _cells_with_centre_in(low: float, high: float) -> tuple[int, int]:
    """The first and last coarse cells whose centre (``geo.coarse_centre``, the
    card's coordinate) lies in [low, high]; first > last when none does."""
    first = math.floor((low * geo.MICRODEGREES_PER_DEG) / geo.COARSE_STEP_MICRODEGREES) - 1
    while geo.coarse_centre(first) < low:
        first += 1
    last = math.ceil((high * geo.MICRODEGREES_PER_DEG) / geo.COARSE_STEP_MICRODEGREES) + 1
    while geo.coarse_centre(last) > high:
        last -= 1
    return first, last


def _cell_edge(index: int) -> Decimal:
    """Where cell ``index`` starts, exactly (a coordinate column is a six-decimal number)."""
    return Decimal(index * geo.COARSE_STEP_MICRODEGREES) / geo.MICRODEGREES_PER_DEG


def _coarse_within(prefix: str, low: float, high: float) -> Q:
    """Sites whose coarse cell's centre lies in [low, high] along one coordinate:
    a range on the column itself, as cell k holds k x step <= x < (k + 1) x step."""
    first, last = _cells_with_centre_in(low, high)
    if first > last:
        return Q(pk__in=[])
    return Q(**{f"{prefix}__gte": _cell_edge(first), f"{prefix}__lt": _cell_edge(last + 1)})


def _exact_within(prefix: str, low: float, high: float) -> Q:
    return Q(**{f"{prefix}__gte": _decimal(low), f"{prefix}__lte": _decimal(high)})


def _decimal(value: float) -> Decimal:
    # The float's shortest form: what the user sent, not its binary expansion.
    return Decimal(repr(value))


def within_bbox(listings: QuerySet, *, viewer, bbox: BBox | None, introduced_ids=None):
    """The listings shown inside ``bbox`` as the viewer sees them (a hidden owner's
    at its coarse cell's centre, ``ListingCard.point``); all of them without a box.

    Both conditions are ranges on the site's coordinate columns (a cell's centre
    lies in the box exactly when the site lies in the cells whose centres do), so
    the database computes nothing per row.
    """
    if bbox is None:
        return listings
    if introduced_ids is None:
        introduced_ids = _introduced(viewer, listings)
    hides = _hides_owner(viewer, introduced_ids)
    exact = _exact_within("site__latitude", bbox.south, bbox.north) & _exact_within(
        "site__longitude", bbox.west, bbox.east
    )
    if hides is None:
        return listings.filter(exact)
    coarse = _coarse_within("site__latitude", bbox.south, bbox.north) & _coarse_within(
        "site__longitude", bbox.west, bbox.east
    )
    return listings.filter((hides & coarse) | (~hides & exact))


def cell_deg_for(bbox: BBox) -> float:
    """The side of a cell: a power of two of a degree giving about ``CELLS_ACROSS``
    cells across the longer side of ``bbox``."""
    span = max(bbox.east - bbox.west, bbox.north - bbox.south, 1e-6)
    return 2.0 ** math.floor(math.log2(span / CELLS_ACROSS))


def visible_places(listings: QuerySet, *, viewer, introduced_ids) -> list[tuple[float, float, int]]:
    """``(latitude, longitude, listings)`` for each place the listings are shown at.

    One GROUP BY on the site's coordinates and whether its owner is hidden
    (``visibility.hides_owner_q``): a few thousand rows at 50,000 listings. The
    place of a hidden group is then ``geo.coarse``, as on the card.
    """
    hides = _hides_owner(viewer, introduced_ids)
    hidden = Value(False) if hides is None else Case(When(hides, then=Value(True)), default=False)
    # Floats, not Decimals: a six-decimal coordinate survives the trip (geo.microdegrees
    # rounds it back to its exact integer), and thousands of Decimals cost time.
    groups = (
        listings.order_by()
        .annotate(
            map_lat=Cast("site__latitude", FloatField()),
            map_lon=Cast("site__longitude", FloatField()),
            map_hidden=hidden,
        )
        .values_list("map_lat", "map_lon", "map_hidden")
        .annotate(n=Count("pk"))
    )
    places: dict[tuple[float, float], int] = {}
    for lat, lon, is_hidden, n in groups:
        point = geo.coarse(lat, lon) if is_hidden else (lat, lon)
        places[point] = places.get(point, 0) + n
    return [(lat, lon, n) for (lat, lon), n in places.items()]


def _extent(places) -> BBox:
    lats = [p[0] for p in places]
    lons = [p[1] for p in places]
    # A single place still spans a small area, so a cell has a size.
    pad = 0.001
    return BBox(min(lons) - pad, min(lats) - pad, max(lons) + pad, max(lats) + pad)


def _cells(places, cell: float) -> list[dict]:
    sums: dict[tuple[int, int], list[float]] = {}
    for lat, lon, n in places:
        key = (math.floor(lat / cell), math.floor(lon / cell))
        found = sums.setdefault(key, [0.0, 0.0, 0])
        found[0] += lat * n
        found[1] += lon * n
        found[2] += n
    return [
        {
            "lat": round(lat_sum / n, 6),
            "lon": round(lon_sum / n, 6),
            "n": n,
            "bounds": [x * cell, y * cell, (x + 1) * cell, (y + 1) * cell],
        }
        for (y, x), (lat_sum, lon_sum, n) in sorted(sums.items())
    ]


def map_data(listings: QuerySet, *, viewer, bbox: BBox | None, points_max: int | None = None):
    """What the map shows of ``listings`` (the market's filtered listings, inside
    ``bbox`` already where one is given): a dict ready for JSON.

    ``{"mode": "cells" | "points", "total": n, "extent": [w, s, e, n] | None,
    "cells": [...] | "points": [...]}``. ``extent`` (of the places shown) only
    where no box was given, for the map to fit. A cell is ``{"lat", "lon"}`` (the
    mean of its listings' visible places), ``"n"`` and its ``"bounds"``.
    """
    if points_max is None:
        points_max = POINTS_MAX
    introduced = _introduced(viewer, listings)
    places = visible_places(listings, viewer=viewer, introduced_ids=introduced)
    total = sum(p[2] for p in places)
    if not places:
        return {"mode": "points", "total": 0, "extent": None, "points": []}
    extent = _extent(places) if bbox is None else None
    answer = {"total": total, "extent": extent.as_list() if extent else None}
    if total > points_max:
        cell = cell_deg_for(bbox or extent)
        return {**answer, "mode": "cells", "cell_deg": cell, "cells": _cells(places, cell)}
    rows = listings.order_by("pk")[:points_max]
    points = [
        listing_point(
            visibility.listing_card(user=viewer, listing=listing, introduced_ids=introduced)
        )
        for listing in rows
    ]
    return {**answer, "mode": "points", "points": points}


def _title(card: visibility.ListingCard) -> str:
    if card.kind == "supply":
        return card.material.name
    names = [m.name for m in card.materials.all()] or [u.name for u in card.uses.all()]
    return ", ".join(names)


def listing_point(card: visibility.ListingCard) -> dict:
    """One listing on the map: what its card shows in the list, at the card's point.

    No owner and no site where the card hides them (``owner`` is then None and
    the point is the coarse cell's centre).
    """
    latitude, longitude = card.point
    point = {
        "kind": card.kind,
        "id": card.pk,
        "lat": round(latitude, 6),
        "lon": round(longitude, 6),
        "title": _title(card),
        "tonnes": float(card.tonnes),
        "recurrence": str(card.recurrence_label),
        "district": str(card.district_label),
        "hidden": card.hides_owner,
        "owner": None,
        "url": reverse("market-listing", args=[card.kind, card.pk]),
    }
    if card.kind == "supply" and card.imported_origin:
        point["imported_origin"] = True
    if not card.hides_owner:
        point["owner"] = f"{card.organization.name} · {card.site.name}"
    return point
