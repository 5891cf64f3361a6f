"""Facilitator review pages: runs, progress, results, decisions; company answers."""

from __future__ import annotations

import contextlib
from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseStopPolling

from optimizer import decisions, selectors, services
from optimizer.forms import AnswerForm, DecisionForm, RunForm
from optimizer.models import MatchProposal, OptimizationRun
from symbiosis import visibility
from symbiosis.models import DemandListing, SupplyListing
from symbiosis.roles import is_city_analyst, is_facilitator
from symbiosis.views.common import parse_id

SORTS = {
    "saving": "-net_kg_co2e_saved",
    "tonnes": "-tonnes",
    "km": "road_km",
    "per_t": "-saving_per_t",
    "supplier": "supply__organization__name",
    "receiver": "demand__organization__name",
    "material": "material__name_en",
}


SORT_LABELS = [
    ("supplier", _("Supplier")),
    ("receiver", _("Receiver")),
    ("material", _("Material")),
    ("tonnes", _("Tonnes")),
    ("km", _("km")),
    ("saving", _("Net kg CO2e saved")),
    ("per_t", _("kg CO2e saved per t")),
]


def facilitator_required(view):
    @wraps(view)
    @login_required
    def wrapped(request, *args, **kwargs):
        if not is_facilitator(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def _reads_runs(user) -> bool:
    return is_facilitator(user) or is_city_analyst(user)


@login_required
def run_list(request):
    if not _reads_runs(request.user):
        raise PermissionDenied
    runs = (
        OptimizationRun.objects.select_related("created_by")
        .defer("input_snapshot")
        .order_by("-created_at")
    )
    page = Paginator(runs, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "optimizer/run_list.html",
        {"page": page, "is_facilitator": is_facilitator(request.user)},
    )


@facilitator_required
def run_new(request):
    form = RunForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            run = services.run_create(user=request.user, parameters=form.parameters())
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                form.add_error(None if field == "__all__" else _form_field(field), messages)
        else:
            url = reverse("optimizer:run_detail", args=[run.pk])
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    template = "optimizer/_run_form.html" if request.htmx else "optimizer/run_new.html"
    return render(request, template, {"form": form})


def _form_field(parameter: str) -> str | None:
    return "organizations" if parameter == "organization_ids" else parameter


def _run_or_404(request, run_id) -> OptimizationRun:
    if not _reads_runs(request.user):
        raise PermissionDenied
    # The input snapshot (hundreds of kB of JSON) is not shown on these pages.
    return get_object_or_404(OptimizationRun.objects.defer("input_snapshot"), pk=run_id)


@login_required
def run_detail(request, run_id):
    run = _run_or_404(request, run_id)
    context = {"run": run, "is_facilitator": is_facilitator(request.user)}
    if context["is_facilitator"] and run.status == OptimizationRun.Status.SUCCEEDED:
        context.update(_results_context(request, run))
        context["audit"] = decisions.run_audit(run)[:200]
        context["bulk_outcome"] = request.session.pop("bulk_outcome", None)
    return render(request, "optimizer/run_detail.html", context)


def _results_context(request, run) -> dict:
    proposals = selectors.run_proposals(run)
    material = request.GET.get("material")
    if material:
        proposals = proposals.filter(material__slug=material)
    status = request.GET.get("status")
    if status in MatchProposal.Status.values:
        proposals = proposals.filter(status=status)
    sort = request.GET.get("sort", "saving")
    proposals = proposals.order_by(SORTS.get(sort, SORTS["saving"]), "pk")
    # The page's ids first, then its 50 rows with their parties: sorting every
    # proposal of a large run with six joined rows each took most of the page.
    page = Paginator(proposals.values_list("pk", flat=True), 50).get_page(request.GET.get("page"))
    page.object_list = selectors.page_proposals(run, list(page.object_list))
    return {
        "page": page,
        "sort": sort,
        "sort_columns": SORT_LABELS,
        "material": material or "",
        "status_filter": status or "",
        # The same reason field and buttons in every proposed row: rendered once.
        "decide_controls": render_to_string("optimizer/_decide_controls.html", request=request),
        "materials": selectors.run_materials(run),
        "totals": selectors.run_totals(run),
        "map_data": selectors.run_map_data(run),
        "tile_url": getattr(settings, "MAP_TILE_URL", ""),
    }


@login_required
def run_status(request, run_id):
    """The progress partial; htmx polls it every 2 s until the run ends."""
    run = _run_or_404(request, run_id)
    context = {"run": run, "can_cancel": is_facilitator(request.user)}
    response = render(request, "optimizer/_run_status.html", context)
    if run.is_finished and request.htmx:
        # Stop polling and reload so the results appear.
        stop = HttpResponseStopPolling(response.content)
        stop["HX-Refresh"] = "true"
        return stop
    return response


@require_POST
@facilitator_required
def run_cancel(request, run_id):
    run = get_object_or_404(OptimizationRun, pk=run_id)
    # A run that finished meanwhile cannot be cancelled: the page shows how it ended.
    with contextlib.suppress(ValidationError):
        services.run_cancel(user=request.user, run=run)
    return redirect("optimizer:run_detail", run_id=run.pk)


@facilitator_required
def proposal_detail(request, proposal_id):
    proposal = get_object_or_404(selectors.proposals_with_parties(), pk=proposal_id)
    low, high = decisions.feasible_tonnes_range(proposal)
    return render(
        request,
        "optimizer/_proposal_detail.html",
        {
            "p": proposal,
            "low": max(low, 0),
            "high": high,
            "audit": proposal.audit.select_related("actor"),
        },
    )


@require_POST
@facilitator_required
def proposal_decide(request, proposal_id):
    proposal = get_object_or_404(MatchProposal, pk=proposal_id)
    form = DecisionForm(request.POST)
    error = None
    if form.is_valid():
        try:
            decisions.proposal_decide(
                user=request.user,
                proposal=proposal,
                action=form.cleaned_data["action"],
                reason=form.cleaned_data["reason"],
                tonnes=form.cleaned_data["tonnes"],
            )
        except ValidationError as exc:
            error = "; ".join(exc.messages)
    else:
        error = "; ".join(m for ms in form.errors.values() for m in ms)
    if request.htmx:
        proposal = selectors.with_texts([selectors.proposals_with_parties().get(pk=proposal.pk)])[0]
        row = render(request, "optimizer/_proposal_row.html", {"p": proposal, "error": error})
        return row
    return redirect(reverse("optimizer:run_detail", args=[proposal.run_id]) + "#proposals")


@require_POST
@facilitator_required
def proposals_bulk(request, run_id):
    run = get_object_or_404(OptimizationRun, pk=run_id)
    ids = [i for i in map(parse_id, request.POST.getlist("ids")) if i is not None]
    proposals = list(run.proposals.filter(pk__in=ids))
    try:
        # The one-row form's check: the reason is written to every row and the audit log.
        reason = DecisionForm.base_fields["reason"].clean(request.POST.get("reason", ""))
        outcome = decisions.proposals_decide_bulk(
            user=request.user,
            proposals=proposals,
            action=request.POST.get("action", ""),
            reason=reason,
        )
    except ValidationError as exc:
        outcome = {"done": [], "errors": {0: "; ".join(exc.messages)}}
    request.session["bulk_outcome"] = {
        "done": len(outcome["done"]),
        "errors": [f"#{k}: {v}" if k else v for k, v in outcome["errors"].items()],
    }
    return redirect(reverse("optimizer:run_detail", args=[run.pk]) + "#proposals")


@facilitator_required
def run_compare(request):
    runs = OptimizationRun.objects.filter(status=OptimizationRun.Status.SUCCEEDED)
    a = runs.filter(pk=parse_id(request.GET.get("a")) or 0).first()
    b = runs.filter(pk=parse_id(request.GET.get("b")) or 0).first()
    diff = selectors.compare_runs(a, b) if a and b else None
    return render(
        request,
        "optimizer/compare.html",
        {"runs": runs.order_by("-created_at")[:50], "a": a, "b": b, "diff": diff},
    )


@login_required
def my_proposals(request):
    """A company's introductions: proposals involving its listings, once approved.

    Each side is shown through its listing's card: the approval is what
    introduces the two, so the other party is named, by the same rule as
    everywhere else (``symbiosis.visibility``).
    """
    viewer = visibility.viewer_for(request.user)
    introduced = {
        model: visibility.introduced_listing_ids(viewer=viewer, model=model)
        for model in (SupplyListing, DemandListing)
    }
    proposals = list(selectors.company_proposals(request.user))
    for p in proposals:
        for side in ("supply", "demand"):
            listing = getattr(p, side)
            card = visibility.listing_card(
                user=viewer, listing=listing, introduced_ids=introduced[type(listing)]
            )
            setattr(p, f"{side}_card", card)
    return render(
        request,
        "optimizer/my_proposals.html",
        {
            "proposals": proposals,
            "form": AnswerForm(),
            "answer_error": request.session.pop("answer_error", None),
        },
    )


@require_POST
@login_required
def proposal_answer(request, proposal_id):
    proposal = get_object_or_404(selectors.company_proposals(request.user), pk=proposal_id)
    form = AnswerForm(request.POST)
    if not form.is_valid():
        return HttpResponse(status=400)
    try:
        decisions.proposal_answer(
            user=request.user,
            proposal=proposal,
            accept=form.cleaned_data["answer"] == "accept",
            reason=form.cleaned_data["reason"],
        )
    except ValidationError as exc:
        request.session["answer_error"] = "; ".join(exc.messages)
    return redirect("optimizer:my_proposals")


@facilitator_required
def listing_audit(request, kind, listing_id):
    field = {"supply": "supply_id", "demand": "demand_id"}.get(kind)
    if field is None:
        raise PermissionDenied
    entries = selectors.audit_entries().filter(**{field: listing_id})
    return render(
        request, "optimizer/audit.html", {"entries": entries[:500], "kind": kind, "id": listing_id}
    )
