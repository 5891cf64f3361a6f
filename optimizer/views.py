"""Facilitator review pages: runs, progress, results, decisions; company answers."""

from __future__ import annotations

import contextlib
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseStopPolling

from optimizer import decisions, run_comparison, run_pages, selectors, services
from optimizer.forms import AnswerForm, DecisionForm, RunForm
from optimizer.models import MatchProposal, OptimizationRun
from symbiosis import visibility
from symbiosis.models import DemandListing, SupplyListing
from symbiosis.models.accounts import District
from symbiosis.numbers import number_text
from symbiosis.roles import is_city_analyst, is_facilitator
from symbiosis.views.common import parse_id

# The results table's columns: (sort key in optimizer.selectors.RESULT_COLUMNS, header).
RESULT_HEADERS = [
    ("id", _("No.")),
    ("supplier", _("Supplier")),
    ("receiver", _("Receiver")),
    ("material", _("Material")),
    ("tonnes", _("Tonnes")),
    ("km", _("km")),
    ("co2e", _("kg CO2e saved")),
    ("status", _("Status")),
]
# What the results table keeps in its URL (a decision's "next" is read through this).
RESULT_PARAMS = ("sort", "dir", "material", "status", "district", "min_tonnes", "page")


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
    page.object_list = list(page.object_list)
    run_pages.with_scope(page.object_list)
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
    context = {
        "run": run,
        "is_facilitator": is_facilitator(request.user),
        **run_pages.run_detail_extras(run, request.user, request=request),
    }
    if context["is_facilitator"] and run.status == OptimizationRun.Status.SUCCEEDED:
        context.update(_results_context(request, run))
        context["audit"] = decisions.run_audit(run)[:200]
        context["bulk_outcome"] = request.session.pop("bulk_outcome", None)
    return render(request, "optimizer/run_detail.html", context)


def _results_context(request, run) -> dict:
    """The results table: sort, filters and page from the URL, checked by the
    selector (a bad parameter is named on the page and falls back to its default)."""
    materials = selectors.run_materials(run)
    query = selectors.results_query(request.GET, materials=dict(materials))
    # The page's ids first, then its 50 rows with their parties: sorting every
    # proposal of a large run with six joined rows each took most of the page.
    page = selectors.results_page(run, query, viewer=request.user)
    columns = [
        {
            "key": key,
            "label": label,
            "link": query.sort_link(key),
            "sorted": query.direction if key == query.sort else "",
        }
        for key, label in RESULT_HEADERS
    ]
    return {
        "results": query,
        "page": page,
        "columns": columns,
        "next_qs": query.querystring(),
        "districts": District.choices,
        "statuses": MatchProposal.Status.choices,
        # The same reason field and buttons in every proposed row: rendered once.
        "decide_controls": render_to_string(
            "optimizer/_decide_controls.html", {"next_qs": query.querystring()}, request=request
        ),
        "materials": materials,
        "totals": selectors.run_totals(run),
        "words": selectors.row_words(),
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


def _results_url(run_id: int, next_qs: str, *, open_id: int | None = None) -> str:
    """Back to the results table as it was (only its own parameters are kept
    from ``next_qs``), with the decided row open."""
    given = QueryDict(next_qs[:1000])
    params = QueryDict(mutable=True)
    for name in RESULT_PARAMS:
        if given.get(name):
            params[name] = given[name]
    if open_id:
        params["open"] = str(open_id)
    url = reverse("optimizer:run_detail", args=[run_id])
    if params:
        url += "?" + params.urlencode()
    return url + (f"#proposal-{open_id}" if open_id else "#proposals")


def _needs_confirmation(proposal: MatchProposal) -> bool:
    """An approval that would introduce two companies asks first (one that
    cannot be made, internal reuse or a decided proposal, is refused at once)."""
    return (
        proposal.status == MatchProposal.Status.PROPOSED
        and proposal.supply.organization_id != proposal.demand.organization_id
    )


def _decision_note(action: str, proposal: MatchProposal) -> str:
    """What a decision did, and what the next run will do with the pair."""
    if action == "approve":
        return gettext(
            "Approved: %(supplier)s and %(receiver)s are introduced and e-mailed; "
            "a draft deal waits for them."
        ) % {
            "supplier": proposal.supply.organization.name,
            "receiver": proposal.demand.organization.name,
        }
    if action == "pin":
        return gettext(
            "Pinned: the next run will always include this pair, at %(tonnes)s t a year."
        ) % {"tonnes": number_text(proposal.tonnes, 1)}
    if action == "forbid":
        return gettext("Forbidden: the next run will never propose this pair.")
    if action == "adjust":
        return gettext(
            "Tonnes changed to %(tonnes)s t a year; the CO2e figures are recomputed."
        ) % {"tonnes": number_text(proposal.tonnes, 1)}
    return gettext("Rejected; the reason is in the audit log.")


def _row_proposal(request, proposal_id: int, run_id: int) -> MatchProposal:
    """One proposal as its row of the results table shows it, with its panel's facts."""
    run = OptimizationRun.objects.defer("input_snapshot").get(pk=run_id)
    return selectors.page_proposals(
        run, [proposal_id], viewer=request.user, panel_ids=(proposal_id,)
    )[0]


def _proposal_row(request, proposal_id: int, run_id: int, **context):
    """One row of the results table as the page shows it, open."""
    p = _row_proposal(request, proposal_id, run_id)
    return render(
        request,
        "optimizer/_proposal_row.html",
        {"p": p, "open_id": p.pk, "words": selectors.row_words(), **context},
    )


@facilitator_required
def proposal_panel(request, proposal_id):
    """A row's details and decisions, fetched by htmx when the row opens: the
    results page sends its 50 rows without them (they were most of its cost).
    ``next`` is the table's query string, kept for the decision's way back."""
    run_id = get_object_or_404(
        MatchProposal.objects.values_list("run_id", flat=True), pk=proposal_id
    )
    next_qs = request.GET.get("next", "")[:1000]
    p = _row_proposal(request, proposal_id, run_id)
    return render(request, "optimizer/_proposal_panel.html", {"p": p, "next_qs": next_qs})


@require_POST
@facilitator_required
def proposal_decide(request, proposal_id):
    """A decision on one proposal. Approving asks first (a confirmation naming
    the two companies); the answer is the row (htmx) or the page again."""
    related = ("supply__organization", "demand__organization")
    proposal = get_object_or_404(MatchProposal.objects.select_related(*related), pk=proposal_id)
    form = DecisionForm(request.POST)
    next_qs = request.POST.get("next", "")
    back = _results_url(proposal.run_id, next_qs, open_id=proposal.pk)
    error = note = None
    if form.is_valid():
        action = form.cleaned_data["action"]
        if (
            action == "approve"
            and not request.POST.get("confirmed")
            and _needs_confirmation(proposal)
        ):
            context = {
                "confirming": True,
                "reason": form.cleaned_data["reason"],
                "next_qs": next_qs,
                "back": back,
            }
            if request.htmx:
                return _proposal_row(request, proposal.pk, proposal.run_id, **context)
            p = _row_proposal(request, proposal.pk, proposal.run_id)
            return render(request, "optimizer/proposal_confirm.html", {"p": p, **context})
        try:
            decided = decisions.proposal_decide(
                user=request.user,
                proposal=proposal,
                action=action,
                reason=form.cleaned_data["reason"],
                tonnes=form.cleaned_data["tonnes"],
            )
        except ValidationError as exc:
            error = "; ".join(exc.messages)
        else:
            if isinstance(decided, MatchProposal):
                proposal = decided
            note = _decision_note(action, proposal)
    else:
        error = "; ".join(m for ms in form.errors.values() for m in ms)
    if request.htmx:
        return _proposal_row(
            request, proposal.pk, proposal.run_id, error=error, note=note, next_qs=next_qs
        )
    if error:
        messages.error(request, f"#{proposal.pk}: {error}")
    else:
        messages.success(request, f"#{proposal.pk}: {note}")
    return redirect(back)


@require_POST
@facilitator_required
def proposals_bulk(request, run_id):
    """One decision on the selected proposals; approving them asks first."""
    run = get_object_or_404(OptimizationRun.objects.defer("input_snapshot"), pk=run_id)
    ids = [i for i in map(parse_id, request.POST.getlist("ids")) if i is not None]
    related = ("material", "supply__organization", "demand__organization")
    proposals = list(run.proposals.filter(pk__in=ids).select_related(*related).order_by("pk"))
    action = request.POST.get("action", "")
    next_qs = request.POST.get("next", "")
    if action == "approve" and proposals and not request.POST.get("confirmed"):
        return render(
            request,
            "optimizer/bulk_confirm.html",
            {
                "run": run,
                "proposals": proposals,
                "reason": request.POST.get("reason", "")[:2000],
                "next_qs": next_qs,
                "back": _results_url(run.pk, next_qs),
            },
        )
    note = ""
    if not proposals and action in decisions.DECISIONS:
        outcome = {"done": [], "errors": {0: gettext("Select at least one proposal first.")}}
    else:
        try:
            # The one-row form's check: the reason is written to every row and the audit log.
            reason = DecisionForm.base_fields["reason"].clean(request.POST.get("reason", ""))
            outcome = decisions.proposals_decide_bulk(
                user=request.user, proposals=proposals, action=action, reason=reason
            )
        except ValidationError as exc:
            outcome = {"done": [], "errors": {0: "; ".join(exc.messages)}}
    if outcome["done"] and action in ("pin", "forbid"):
        note = {
            "pin": ngettext(
                "The next run will always include this pair.",
                "The next run will always include these pairs.",
                len(outcome["done"]),
            ),
            "forbid": ngettext(
                "The next run will never propose this pair.",
                "The next run will never propose these pairs.",
                len(outcome["done"]),
            ),
        }[action]
    request.session["bulk_outcome"] = {
        "done": len(outcome["done"]),
        "note": note,
        "errors": [f"#{k}: {v}" if k else v for k, v in outcome["errors"].items()],
    }
    return redirect(_results_url(run.pk, next_qs))


@facilitator_required
def run_compare(request):
    """Two succeeded runs side by side: by default the latest and the one before it."""
    runs = OptimizationRun.objects.filter(status=OptimizationRun.Status.SUCCEEDED).defer(
        "input_snapshot"
    )
    a, b, problem = run_comparison.compare_pair(runs, request.GET.get("a"), request.GET.get("b"))
    choices = list(runs.order_by("-created_at", "-pk")[:50])
    run_pages.with_scope(choices)
    context = {
        "runs": choices,
        "a": a,
        "b": b,
        "problem": problem,
        "diff": None,
    }
    if a and b and not problem:
        context["diff"] = selectors.compare_runs(a, b)
        context.update(run_comparison.compare_context(a, b, context["diff"]))
    return render(request, "optimizer/compare.html", context)


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
