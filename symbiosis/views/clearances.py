"""Facilitators record imported-origin clearances per material (``symbiosis.clearances``).

The page lists every material with an active imported-origin supply or a decision,
the undecided first, with each material's history; a form records a new decision.
The decision's document is downloaded by facilitators only (it may be an authority's
letter addressed to a company)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from symbiosis import clearances, selectors
from symbiosis.forms import ClearanceForm
from symbiosis.legal import IMPORTED_ORIGIN_BASIS, IMPORTED_ORIGIN_RESTRICTION
from symbiosis.models import ImportedOriginClearance
from symbiosis.views.common import parse_id, redirect_to


def _facilitator(request):
    viewer = selectors.viewer_for(request.user)
    if not viewer.is_facilitator:
        raise PermissionDenied(_("Facilitators record imported-origin clearances."))
    return viewer


def _page(request, form, status=200):
    context = {
        "form": form,
        "rows": clearances.clearance_rows(),
        "restriction": IMPORTED_ORIGIN_RESTRICTION,
        "basis": IMPORTED_ORIGIN_BASIS,
    }
    return render(request, "symbiosis/clearances.html", context, status=status)


@login_required
def clearance_list(request):
    """GET: the materials and their decisions (``?material=<id>`` preselects one);
    POST: record a decision, then the page again."""
    _facilitator(request)
    if request.method != "POST":
        material_id = parse_id(request.GET.get("material"))
        return _page(request, ClearanceForm(initial={"material": material_id}))
    form = ClearanceForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            clearances.clearance_record(user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Decision recorded."))
            return redirect_to(request, reverse("imported-origin-clearances"))
    return _page(request, form)


@login_required
@require_GET
def clearance_document(request, pk):
    _facilitator(request)
    clearance = get_object_or_404(ImportedOriginClearance, pk=pk)
    if not clearance.document:
        raise Http404("No document with this decision.")
    return FileResponse(
        clearance.document.open("rb"),
        filename=clearance.document.name.rsplit("/", 1)[-1],
        as_attachment=True,
    )
