"""Matches a company can see (``optimizer.reach``), as htmx partials loaded after
the page: on the listing's own page, and as a count per row of the workspace.

Only the listing's own organization and facilitators see a listing's matches;
anyone else gets the 404 a listing they may not open gets.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from optimizer import reach
from symbiosis import selectors, visibility
from symbiosis.models import DemandListing, SupplyListing
from symbiosis.views.common import member_required


def _own_or_facilitated(viewer, kind: str, pk: int):
    """The listing if the viewer's organization owns it or the viewer facilitates."""
    if not viewer.reads_company_data:
        raise PermissionDenied(_("The market is for companies and facilitators."))
    if kind not in ("supply", "demand"):
        raise Http404
    if kind == "demand":
        listing = selectors.demand_get(user=viewer, demand_id=pk)
    else:
        listing = selectors.supply_get(user=viewer, supply_id=pk)
    if not (viewer.is_facilitator or listing.organization_id in viewer.organization_ids):
        # Others' listings keep their matches to their owners: as if it were not there.
        raise Http404
    return listing


@login_required
@require_GET
def listing_reach(request, kind, pk):
    viewer = selectors.viewer_for(request.user)
    listing = _own_or_facilitated(viewer, kind, pk)
    found = reach.listing_reach(listing)
    other_model = SupplyListing if kind == "demand" else DemandListing
    introduced = visibility.introduced_listing_ids(viewer=viewer, model=other_model)
    best = [
        {
            "card": visibility.listing_card(user=viewer, listing=other, introduced_ids=introduced),
            "road_km": counterpart.road_km_rounded,
        }
        for counterpart, other in reach.counterpart_listings(found)
    ]
    context = {"kind": kind, "listing": listing, "reach": found, "best": best}
    return render(request, "optimizer/_listing_reach.html", context)


@member_required
@require_GET
def reach_counts(request):
    """The workspace's count per own listing, as out-of-band swaps of its rows' slots."""
    viewer = request.viewer
    counts = reach.reach_counts(
        supplies=selectors.own_supply_list(user=viewer).exclude(status="closed"),
        demands=selectors.own_demand_list(user=viewer).exclude(status="closed"),
    )
    rows = [{"kind": kind, "pk": pk, "count": count} for (kind, pk), count in counts.items()]
    return render(request, "optimizer/_reach_counts.html", {"rows": rows})
