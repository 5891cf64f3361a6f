"""Waste permits: a company adds and sees its own (``/permits/``); a facilitator
reviews the pending ones (``/permits/review/``), opens the document and verifies
or rejects each with a reason. The rule they feed is ``symbiosis.permits``.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from symbiosis import legal, permits, selectors
from symbiosis.models import Organization
from symbiosis.models.permits import PermitStatus
from symbiosis.permit_forms import PermitForm, PermitReviewForm
from symbiosis.views.attachments import _file_response
from symbiosis.views.common import redirect_to


def _organizations(viewer) -> list:
    return list(Organization.objects.filter(pk__in=viewer.organization_ids).order_by("name"))


@login_required
@require_http_methods(["GET", "POST"])
def permit_list(request):
    """A company's permits and the form to add one; facilitators read every permit."""
    viewer = selectors.viewer_for(request.user)
    if not viewer.organization_ids and not viewer.is_facilitator:
        raise PermissionDenied(_("This page is for members of an organization."))
    organizations = _organizations(viewer)
    form = None
    if organizations:
        form = PermitForm(request.POST or None, request.FILES or None, organizations=organizations)
    if request.method == "POST":
        if form is None:
            raise PermissionDenied(_("Only the organization's members add its permits."))
        if form.is_valid():
            data = form.cleaned_data
            try:
                permits.permit_add(
                    user=request.user,
                    organization=next(o for o in organizations if o.pk == data["organization"]),
                    number=data["number"],
                    issuer=data["issuer"],
                    activity=data["activity"],
                    codes=data["codes"],
                    valid_from=data["valid_from"],
                    valid_until=data["valid_until"],
                    upload=data["document"],
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, _("Permit added: a facilitator will verify it."))
                return redirect_to(request, reverse("permits"))
    context = {
        "form": form,
        "permits": permits.permits_visible(user=viewer),
        "rule": legal.PERMIT_RULE_BASIS,
        "is_facilitator": viewer.is_facilitator,
    }
    return render(request, "symbiosis/permits.html", context)


def _facilitator(request):
    viewer = selectors.viewer_for(request.user)
    if not viewer.is_facilitator:
        raise PermissionDenied(_("Facilitators verify permits."))
    return viewer


@login_required
@require_GET
def permit_review_list(request):
    """Pending permits first, each with its document and the decision form."""
    _facilitator(request)
    rows = [
        {"permit": permit, "form": PermitReviewForm(prefix=f"permit-{permit.pk}")}
        for permit in permits.permits_pending()
    ]
    return render(request, "symbiosis/permit_review.html", {"rows": rows})


@login_required
@require_POST
def permit_review(request, pk):
    """Verify or reject one permit; htmx swaps its row."""
    viewer = _facilitator(request)
    permit = get_object_or_404(permits.permits_visible(user=viewer), pk=pk)
    form = PermitReviewForm(request.POST, prefix=f"permit-{permit.pk}")
    if form.is_valid():
        try:
            permit = permits.permit_review(
                user=request.user,
                permit=permit,
                verified=form.cleaned_data["decision"] == "verify",
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            notice = (
                _("Permit verified.")
                if permit.status == PermitStatus.VERIFIED
                else _("Permit rejected; the company reads your reason.")
            )
            if request.htmx:
                row = {"permit": permit, "form": None, "notice": notice}
                return render(request, "symbiosis/_permit_review_row.html", {"row": row})
            messages.success(request, notice)
            return redirect_to(request, reverse("permit-review-list"))
    row = {"permit": permit, "form": form}
    if request.htmx:
        return render(request, "symbiosis/_permit_review_row.html", {"row": row})
    return render(request, "symbiosis/permit_review.html", {"rows": [row]})


@login_required
@require_GET
def permit_document(request, pk):
    """The permit's document, for its organization's members and facilitators."""
    viewer = selectors.viewer_for(request.user)
    if not viewer.reads_company_data:
        raise PermissionDenied(_("City analysts see aggregates only."))
    permit = get_object_or_404(permits.permits_visible(user=viewer), pk=pk)
    return _file_response(
        permit.document,
        content_type=permit.document_content_type,
        filename=f"permit-{permit.pk}.{permit.document_extension}",
        as_attachment=True,
    )
