"""Bulk import pages: upload, a check of every row, then import all rows or none.

A small file (``IMPORT_SYNC_MAX_ROWS``) is checked and imported within the
request. A larger one is checked and imported by the Celery worker; the page
polls ``_import_status.html`` every 2 s until it ends, like a run's status.
An import (``ListingImport``) is seen only by the user who uploaded the file,
and only while a member of the organization it was uploaded in: anyone else
gets a 404, as for a row that does not exist.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling

from symbiosis import imports
from symbiosis.models import ListingImport
from symbiosis.views.common import member_required, redirect_to


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


def _own_import(request, import_id) -> ListingImport:
    return get_object_or_404(
        ListingImport.objects.defer("content", "rows"),
        pk=import_id,
        owner=request.user,
        organization_id__in=request.viewer.organization_ids,
    )


def _render(request, form, listing_import=None, error="", status=200):
    kind = form["kind"].value() or "supply"
    context = {
        "form": form,
        "error": error,
        "columns": imports.COLUMNS,
        "kind": kind if kind in imports.COLUMNS else "supply",
        "sync_max_rows": settings.IMPORT_SYNC_MAX_ROWS,
        "listing_import": listing_import,
    }
    template = "symbiosis/_import_preview.html" if request.htmx else "symbiosis/import.html"
    response = render(request, template, context, status=status)
    if listing_import is not None and request.htmx:
        # A reload (or the link in the status card) comes back to this import.
        response["HX-Push-Url"] = reverse("listing-import-detail", args=[listing_import.pk])
    return response


def _imported(request, listing_import) -> None:
    count = listing_import.imported_rows
    messages.success(request, _("%(count)s listings imported.") % {"count": count})


@member_required
def listing_import(request):
    """GET: the page; POST: upload a file and check it (at once, or in the worker)."""
    if request.method != "POST":
        return _render(request, UploadForm())
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render(request, form)
    upload = form.cleaned_data["file"]
    try:
        listing_import = imports.listing_import_start(
            user=request.user,
            kind=form.cleaned_data["kind"],
            file_name=upload.name or "",
            content=imports.read_upload(upload),
            language=request.LANGUAGE_CODE,
        )
    except imports.ImportFileError as exc:
        form.add_error("file", str(exc))
        return _render(request, form)
    if listing_import.in_progress and not request.htmx:
        return redirect("listing-import-detail", import_id=listing_import.pk)
    return _render(request, form, listing_import)


@member_required
@require_GET
def listing_import_detail(request, import_id):
    """The page of one import: its progress, its row report or its outcome."""
    listing_import = _own_import(request, import_id)
    return _render(request, UploadForm(initial={"kind": listing_import.kind}), listing_import)


@member_required
@require_GET
def listing_import_status(request, import_id):
    """The progress partial; htmx polls it every 2 s until the check or import ends."""
    listing_import = _own_import(request, import_id)
    if listing_import.status == ListingImport.Status.IMPORTED and request.htmx:
        _imported(request, listing_import)
        done = HttpResponseStopPolling()
        done["HX-Redirect"] = reverse("home")
        return done
    response = render(request, "symbiosis/_import_status.html", {"listing_import": listing_import})
    if request.htmx and not listing_import.in_progress:
        # The report (or the error) takes the place of the progress card.
        return HttpResponseStopPolling(response.content)
    return response


@member_required
@require_POST
def listing_import_commit(request, import_id):
    """Import the checked rows in one transaction, or none of them; the rows
    warned about as duplicates too, unless the user chose to leave them out."""
    listing_import = _own_import(request, import_id)
    form = UploadForm(initial={"kind": listing_import.kind})
    try:
        listing_import = imports.listing_import_commit(
            user=request.user,
            listing_import=listing_import,
            skip_duplicates=request.POST.get("skip_duplicates") == "on",
        )
    except ValidationError as exc:
        # The user's own choice left nothing: a message to read (htmx swaps a 200),
        # not a refused request.
        status = 200 if exc.code == "nothing_left" else 400
        return _render(request, form, listing_import, error=exc.messages[0], status=status)
    if listing_import.status == ListingImport.Status.IMPORTED:
        _imported(request, listing_import)
        return redirect_to(request, reverse("home"))
    if listing_import.in_progress and not request.htmx:
        return redirect("listing-import-detail", import_id=listing_import.pk)
    # In progress in the worker (htmx), or something changed since the check
    # (a site renamed...): the report says why, and nothing was saved.
    return _render(request, form, listing_import)


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
