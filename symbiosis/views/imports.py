"""Bulk import page: upload, dry-run preview with row errors, then import all or none.

The preview hands the parsed rows back in a signed token, so the import
confirms exactly the rows that were previewed, with no file kept on disk.
"""

from django import forms
from django.contrib import messages
from django.core import signing
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from symbiosis import imports
from symbiosis.views.common import member_required, redirect_to

TOKEN_SALT = "symbiosis.import"
TOKEN_MAX_AGE = 60 * 60  # an hour between preview and import


class UploadForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("Listings"),
        choices=[
            ("supply", gettext_lazy("Supplies (residues we give away)")),
            ("demand", gettext_lazy("Demands (materials we need)")),
        ],
        widget=forms.RadioSelect,
        initial="supply",
    )
    file = forms.FileField(
        label=gettext_lazy("File (.csv or .xlsx)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}),
    )


def _render(request, form, result=None, token=None, status=200):
    kind = form["kind"].value() or "supply"
    context = {
        "form": form,
        "result": result,
        "token": token,
        "columns": imports.COLUMNS,
        "kind": kind if kind in imports.COLUMNS else "supply",
    }
    template = "symbiosis/_import_preview.html" if request.htmx else "symbiosis/import.html"
    return render(request, template, context, status=status)


@member_required
def listing_import(request):
    """GET: the page; POST: a dry run of the uploaded file."""
    if request.method != "POST":
        return _render(request, UploadForm())
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render(request, form)
    kind = form.cleaned_data["kind"]
    try:
        rows = imports.read_rows(form.cleaned_data["file"], kind)
    except imports.ImportFileError as exc:
        form.add_error("file", str(exc))
        return _render(request, form)
    result = imports.listings_import(user=request.user, kind=kind, rows=rows, commit=False)
    token = None
    if not result.failed:
        payload = {"u": request.user.pk, "k": kind, "r": [[r.line, r.data] for r in rows]}
        token = signing.dumps(payload, salt=TOKEN_SALT, compress=True)
    return _render(request, form, result, token)


@member_required
@require_POST
def listing_import_confirm(request):
    """Import the previewed rows in one transaction, or none of them."""
    try:
        payload = signing.loads(
            request.POST.get("token", ""), salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE
        )
    except signing.BadSignature:
        payload = None
    if not payload or payload["u"] != request.user.pk:
        form = UploadForm(initial={"kind": request.POST.get("kind", "supply")})
        messages.error(request, _("This preview has expired: upload the file again."))
        return _render(request, form, status=400)
    kind = payload["k"]
    rows = [imports.Row(line, data) for line, data in payload["r"]]
    result = imports.listings_import(user=request.user, kind=kind, rows=rows, commit=True)
    if result.saved:
        messages.success(request, _("%(count)s listings imported.") % {"count": len(result.rows)})
        return redirect_to(request, reverse("home"))
    # Something changed since the preview (a site renamed...): show why, nothing saved.
    return _render(request, UploadForm(initial={"kind": kind}), result)


@member_required
@require_GET
def listing_import_template(request, kind, ext):
    if ext not in ("csv", "xlsx"):
        raise Http404
    if ext == "xlsx":
        body = imports.template_xlsx(kind)
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        body = imports.template_csv(kind)
        content_type = "text/csv; charset=utf-8"
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{kind}-listings-template.{ext}"'
    return response
