"""Browse the market: other organizations' active public and anonymous listings,
and one listing's page.

Which listings match the filters, in what order, and what each row may show
is ``symbiosis.market_query`` (shared with the saved searches' digests); this
module reads the request and renders.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from symbiosis import attachments, fates, legal, questions, regulation, selectors, visibility
from symbiosis.market_query import market_form, market_rows
from symbiosis.question_forms import QuestionForm

PAGE_SIZE = 20


def _reader(request) -> selectors.Viewer:
    viewer = selectors.viewer_for(request.user)
    if not viewer.reads_company_data:
        # City analysts see aggregates, not listings.
        raise PermissionDenied(_("The market is for companies and facilitators."))
    return viewer


# The saved searches' pages (symbiosis.views.saved_searches) admit the same readers.
market_reader = _reader


@login_required
@require_GET
def market(request):
    viewer = _reader(request)
    # Distances from the first own site unless the user chose otherwise.
    form = market_form(viewer, request.GET)
    listings, sort, rows, counted = market_rows(viewer, form)
    paginator = Paginator(listings, PAGE_SIZE)
    paginator.count = counted.count()
    page = paginator.get_page(request.GET.get("page"))
    page.object_list = rows(page.object_list)
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


def listing_page_context(viewer, kind: str, listing, question_form=None) -> dict:
    own = listing.organization_id in viewer.organization_ids
    card = visibility.listing_card(user=viewer, listing=listing)
    context = {
        # The template reads the listing through its card only.
        "card": card,
        "kind": kind,
        "own": own,
        **listing_questions_context(viewer, listing, question_form, card=card),
        # Photos and documents as this viewer may see them (no names of a hidden owner).
        **attachments.listing_attachments(card),
        "verifies_data": viewer.is_facilitator,
        # Its matches (optimizer.reach, an htmx partial): the owner's and facilitators'.
        "shows_matches": own or viewer.is_facilitator,
    }
    if kind == "supply" and (own or viewer.is_facilitator):
        # The record of its fate: the owner sees why a facilitator changed it.
        context["fate_record"] = list(fates.fate_review_list(user=viewer, supply=listing))
    if kind == "supply":
        context["landfill_ban"] = legal.landfill_ban_applies(listing.material, listing.fate)
        if context["landfill_ban"]:
            context["landfill_rules"] = regulation.legal_rule_citations("landfill-ban")
    return context


def listing_questions_context(viewer, listing, form=None, *, card=None) -> dict:
    """What the questions section of a listing's page shows this viewer
    (``_listing_questions.html``; ``views.questions`` renders it after a question).
    ``card``: the listing's card when the page has built it already."""
    threads = questions.question_thread_list(user=viewer, listing=listing)
    own = listing.organization_id in viewer.organization_ids
    asking = questions.asking_organizations(user=viewer, listing=listing)
    if form is None and asking and not own:
        form = QuestionForm(organization_ids=asking)
    return {
        "card": card or visibility.listing_card(user=viewer, listing=listing),
        "question_threads": threads,
        "question_form": form if not own else None,
        "questions_own": own,
        "questions_unread": sum(1 for view in threads if view.unread) if own else 0,
        "question_listing_kind": visibility.listing_kind(listing),
        "question_listing_pk": listing.pk,
    }


@login_required
@require_GET
def market_listing(request, kind, pk):
    """One listing as others see it: 404 for what the user may not read."""
    viewer = _reader(request)
    if kind == "demand":
        listing = selectors.demand_get(user=viewer, demand_id=pk)
    else:
        listing = selectors.supply_get(user=viewer, supply_id=pk)
    context = listing_page_context(viewer, kind, listing)
    return render(request, "symbiosis/market_listing.html", context)
