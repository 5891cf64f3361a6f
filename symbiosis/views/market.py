"""Browse the market: other organizations' active public and anonymous listings.

Rows come from the privacy selectors; each row asks ``listing_hides_owner``
whether it may name its organization and site. Distances to an anonymous
listing of another company are measured to a coarse grid cell
(``symbiosis.geo.coarse``), never to its site, and shown rounded.

Filtering by distance happens in Python after the database filters: the
market of one city is a few thousand rows at most.
"""

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from symbiosis import geo, selectors
from symbiosis.forms import MarketFilterForm

PAGE_SIZE = 20


@dataclass
class MarketRow:
    listing: object
    kind: str
    hides_owner: bool
    distance_km: float | None


def _reader(request) -> selectors.Viewer:
    viewer = selectors.viewer_for(request.user)
    if not viewer.reads_company_data:
        # City analysts see aggregates, not listings.
        raise PermissionDenied(_("The market is for companies and facilitators."))
    return viewer


def _filtered(viewer, form: MarketFilterForm, kind: str):
    if kind == "demand":
        listings = selectors.market_demand_list(user=viewer)
        category, material = form.value("category"), form.value("material")
        if category:
            listings = listings.filter(
                Q(materials__category=category) | Q(reference_material__category=category)
            )
        if material:
            listings = listings.filter(Q(materials=material) | Q(reference_material=material))
        listings = listings.distinct()
    else:
        listings = selectors.market_supply_list(user=viewer)
        if form.value("category"):
            listings = listings.filter(material__category=form.value("category"))
        if form.value("material"):
            listings = listings.filter(material=form.value("material"))
    if form.value("district"):
        listings = listings.filter(site__district=form.value("district"))
    return listings


def _distance_km(origin, listing, hides_owner: bool) -> float | None:
    if origin is None:
        return None
    lat, lon = listing.site.latitude, listing.site.longitude
    if hides_owner:
        lat, lon = geo.coarse(lat, lon)
    return geo.great_circle_km(origin.latitude, origin.longitude, lat, lon)


def market_rows(viewer, form: MarketFilterForm) -> tuple[list[MarketRow], str]:
    kind = form.value("kind", "supply")
    origin = form.value("site")
    rows = []
    for listing in _filtered(viewer, form, kind):
        hides = selectors.listing_hides_owner(user=viewer, listing=listing)
        rows.append(MarketRow(listing, kind, hides, _distance_km(origin, listing, hides)))
    max_km = form.value("max_km")
    if max_km is not None and origin is not None:
        rows = [row for row in rows if row.distance_km <= float(max_km)]
    sort = form.value("sort", "distance" if origin else "tonnes")
    if sort == "distance" and origin is not None:
        rows.sort(key=lambda row: (row.distance_km, -row.listing.tonnes))
    elif sort == "newest":
        rows.sort(key=lambda row: row.listing.created_at, reverse=True)
    else:
        sort = "tonnes"
        rows.sort(key=lambda row: (-row.listing.tonnes, row.listing.pk))
    return rows, sort


@login_required
@require_GET
def market(request):
    viewer = _reader(request)
    data = request.GET.copy()
    own_sites = selectors.own_site_list(user=viewer)
    if "site" not in data and own_sites:
        # Distances from the first own site unless the user chose otherwise.
        data["site"] = str(own_sites[0].pk)
    form = MarketFilterForm(data, user=request.user)
    rows, sort = market_rows(viewer, form)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "kind": form.value("kind", "supply"),
        "sort": sort,
        "origin": form.value("site"),
    }
    partial = request.htmx and not request.htmx.history_restore_request
    template = "symbiosis/_market_results.html" if partial else "symbiosis/market.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
@require_GET
def market_listing(request, kind, pk):
    """One listing as others see it: 404 for what the user may not read."""
    viewer = _reader(request)
    if kind == "demand":
        listing = selectors.demand_get(user=viewer, demand_id=pk)
    else:
        listing = selectors.supply_get(user=viewer, supply_id=pk)
    own = listing.organization_id in viewer.organization_ids
    context = {
        "listing": listing,
        "kind": kind,
        "own": own,
        "hides_owner": selectors.listing_hides_owner(user=viewer, listing=listing),
    }
    return render(request, "symbiosis/market_listing.html", context)
