"""Facilitators review the current fates of supply listings (htmx).

The fate is the baseline every tonne of a listing is counted against, and the
company states it; a facilitator verifies it or downgrades it here, with a reason
that goes to the listing's append-only record (``symbiosis.fates``) and to the
company. The page lives beside the listings it reviews, not in the optimizer's
review area: the fate belongs to the listing, whether or not a run ever proposed it.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from symbiosis import fates, selectors
from symbiosis.forms import FateReviewForm
from symbiosis.models import FateReview, Material, SupplyListing
from symbiosis.models.listings import Fate, FateEvidence
from symbiosis.views.common import parse_id, redirect_to

PAGE_SIZE = 25
# The latest reviews shown under a listing; the listing's page has them all.
RECORD_SHOWN = 5


def _facilitator(request):
    viewer = selectors.viewer_for(request.user)
    if not viewer.is_facilitator:
        raise PermissionDenied(_("Facilitators review the fates of listings."))
    return viewer


def _filters(request) -> dict:
    """The list's filters from the query string; an unknown value is no filter."""
    fate = request.GET.get("fate", "")
    evidence = request.GET.get("evidence", "")
    return {
        "fate": fate if fate in Fate.values else "",
        "evidence": evidence if evidence in FateEvidence.values else "",
        "material_id": parse_id(request.GET.get("material")),
    }


def _row(listing, form=None) -> dict:
    initial = {"fate": listing.fate, "fate_evidence": listing.fate_evidence}
    return {
        "listing": listing,
        "form": form or FateReviewForm(initial=initial, prefix=f"fate-{listing.pk}"),
        # Prefetched for a page of rows (``_page_rows``); read anew after a decision.
        "record": list(listing.fate_reviews.all())[:RECORD_SHOWN],
    }


@login_required
@require_GET
def fate_review_list(request):
    """Supply listings by fate and evidence, landfill fates and the least proven first."""
    viewer = _facilitator(request)
    filters = _filters(request)
    listings = fates.supplies_for_fate_review(user=viewer, **filters).prefetch_related(
        Prefetch("fate_reviews", queryset=FateReview.objects.select_related("by"))
    )
    page = Paginator(listings, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = [_row(listing) for listing in page.object_list]
    context = {
        "page": page,
        "filters": filters,
        "fates": Fate.choices,
        "evidence_levels": FateEvidence.choices,
        "materials": Material.objects.order_by("name_en"),
    }
    return render(request, "symbiosis/fate_review.html", context)


@login_required
@require_POST
def fate_review(request, pk):
    """Verify or downgrade one listing's fate; htmx swaps the listing's row."""
    viewer = _facilitator(request)
    listing = get_object_or_404(
        SupplyListing.objects.select_related("organization", "site", "material"), pk=pk
    )
    form = FateReviewForm(request.POST, prefix=f"fate-{listing.pk}")
    if form.is_valid():
        try:
            fates.supply_fate_review(
                user=request.user,
                supply=listing,
                fate=form.cleaned_data["fate"],
                fate_evidence=form.cleaned_data["fate_evidence"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            notice = _("Decision recorded; the company is told.")
            if request.htmx:
                row = _row(listing)
                row["notice"] = notice
                return render(request, "symbiosis/_fate_review_row.html", {"row": row})
            messages.success(request, notice)
            return redirect_to(request, reverse("fate-review-list") + f"#fate-{listing.pk}")
    row = _row(listing, form)
    if request.htmx:
        return render(request, "symbiosis/_fate_review_row.html", {"row": row})
    # Without JavaScript: the page again, with this listing alone and its errors.
    page = Paginator([row], PAGE_SIZE).get_page(1)
    context = {
        "page": page,
        "filters": {"fate": "", "evidence": "", "material_id": None},
        "fates": Fate.choices,
        "evidence_levels": FateEvidence.choices,
        "materials": Material.objects.order_by("name_en"),
        "viewer": viewer,
    }
    return render(request, "symbiosis/fate_review.html", context)
