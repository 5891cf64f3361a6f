"""Photos and documents of a listing: the upload area of the edit page, and the
guarded addresses that serve the files (never a public MEDIA_URL).

- Upload and delete: members of the listing's organization only (404 for a
  listing of another company, 403 for users who are no company's member). The
  forms work without JavaScript (a 302 back to the edit page, or the upload
  page with the error); htmx swaps the ``_listing_attachments.html`` partial.
- Serving: whoever may see the listing (``selectors.supply_get``/``demand_get``,
  the visibility rule), 404 for anyone else. Photos and thumbnails are sent
  inline as ``photo-<id>.jpg``; documents as attachments under the name
  ``attachments.document_download_name`` gives (neutral where the owner is
  hidden), with ``X-Content-Type-Options: nosniff`` and no caching by proxies.
- Data quality: a facilitator verifies a listing (or withdraws that) from the
  listing's market page.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from symbiosis import attachments, roles, selectors, visibility
from symbiosis.models import ListingDocument, ListingPhoto
from symbiosis.models.attachments import DocumentKind
from symbiosis.views.common import member_required, redirect_to


class PhotoUploadForm(forms.Form):
    photo = forms.FileField(
        label=gettext_lazy("Photo"),
        help_text=gettext_lazy(
            "JPEG, PNG or WebP. The position (GPS) and every other detail the camera "
            "wrote into the file are removed."
        ),
    )


class DocumentUploadForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=DocumentKind.choices)
    document = forms.FileField(
        label=gettext_lazy("Document"),
        help_text=gettext_lazy(
            "A PDF, or a picture of the document. Everyone who sees the listing may "
            "download it: on an anonymous listing, leave your company's name out of it."
        ),
    )


def _own_listing(request, kind: str, pk: int):
    own = selectors.own_supply_list if kind == "supply" else selectors.own_demand_list
    return get_object_or_404(own(user=request.viewer), pk=pk)


def _visible_listing(viewer, kind: str, pk: int):
    if kind == "supply":
        return selectors.supply_get(user=viewer, supply_id=pk)
    return selectors.demand_get(user=viewer, demand_id=pk)


def _reader(request):
    viewer = selectors.viewer_for(request.user)
    if not viewer.reads_company_data:
        raise PermissionDenied(_("Listings are for companies and facilitators."))
    return viewer


def attachments_context(kind: str, listing, *, photo_form=None, document_form=None) -> dict:
    """What the upload area of the edit page shows (the owner sees its own names)."""
    card = visibility.ListingCard(listing, hides_owner=False)
    return {
        "listing": listing,
        "kind_name": kind,
        "photo_form": photo_form or PhotoUploadForm(),
        "document_form": document_form or DocumentUploadForm(),
        **attachments.listing_attachments(card),
    }


def _answer(request, kind: str, listing, *, photo_form=None, document_form=None, saved=""):
    """After an upload or a delete: the partial for htmx; else back to the edit page,
    or, when a form has an error, the upload page showing it."""
    has_errors = any(f is not None and f.errors for f in (photo_form, document_form))
    if request.htmx:
        context = attachments_context(
            kind, listing, photo_form=photo_form, document_form=document_form
        )
        context["saved"] = saved
        return render(request, "symbiosis/_listing_attachments.html", context)
    if has_errors:
        context = attachments_context(
            kind, listing, photo_form=photo_form, document_form=document_form
        )
        return render(request, "symbiosis/listing_attachments.html", context)
    if saved:
        messages.success(request, saved)
    return redirect_to(request, reverse("listing-edit", args=[kind, listing.pk]) + "#attachments")


@member_required
@require_POST
def photo_upload(request, kind, pk):
    listing = _own_listing(request, kind, pk)
    form = PhotoUploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            attachments.photo_add(
                user=request.user, listing=listing, upload=form.cleaned_data["photo"]
            )
        except ValidationError as exc:
            form.add_error("photo", exc)
        else:
            return _answer(request, kind, listing, saved=_("Photo added."))
    return _answer(request, kind, listing, photo_form=form)


@member_required
@require_POST
def photo_delete(request, kind, pk, photo_id):
    listing = _own_listing(request, kind, pk)
    photo = get_object_or_404(ListingPhoto, pk=photo_id, **{kind: listing})
    if request.POST.get("action") == "first":
        attachments.photo_move_first(user=request.user, photo=photo)
        return _answer(request, kind, listing, saved=_("Photo shown first."))
    attachments.photo_delete(user=request.user, photo=photo)
    return _answer(request, kind, listing, saved=_("Photo deleted."))


@member_required
@require_POST
def document_upload(request, kind, pk):
    listing = _own_listing(request, kind, pk)
    form = DocumentUploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            attachments.document_add(
                user=request.user,
                listing=listing,
                upload=form.cleaned_data["document"],
                kind=form.cleaned_data["kind"],
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                form.add_error(None, exc)
            else:
                form.add_error("document", exc)
        else:
            return _answer(request, kind, listing, saved=_("Document added."))
    return _answer(request, kind, listing, document_form=form)


@member_required
@require_POST
def document_delete(request, kind, pk, document_id):
    listing = _own_listing(request, kind, pk)
    document = get_object_or_404(ListingDocument, pk=document_id, **{kind: listing})
    attachments.document_delete(user=request.user, document=document)
    return _answer(request, kind, listing, saved=_("Document deleted."))


# --- serving the files ---------------------------------------------------------------------


def _file_response(field, *, content_type: str, filename: str, as_attachment: bool):
    try:
        handle = field.open("rb")
    except (FileNotFoundError, OSError) as exc:
        raise Http404(_("This file is not available.")) from exc
    response = FileResponse(
        handle, content_type=content_type, as_attachment=as_attachment, filename=filename
    )
    response["X-Content-Type-Options"] = "nosniff"
    # The viewer's right to see it was checked: no shared cache may keep it.
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _photo(request, kind, pk, photo_id) -> ListingPhoto:
    listing = _visible_listing(_reader(request), kind, pk)
    return get_object_or_404(ListingPhoto, pk=photo_id, **{kind: listing})


@login_required
@require_GET
def photo(request, kind, pk, photo_id):
    found = _photo(request, kind, pk, photo_id)
    return _file_response(
        found.image,
        content_type="image/jpeg",
        filename=f"photo-{found.pk}.jpg",
        as_attachment=False,
    )


@login_required
@require_GET
def photo_thumbnail(request, kind, pk, photo_id):
    found = _photo(request, kind, pk, photo_id)
    if not found.thumbnail_ready:
        raise Http404(_("The thumbnail is not ready yet."))
    return _file_response(
        found.thumbnail,
        content_type="image/jpeg",
        filename=f"photo-{found.pk}-small.jpg",
        as_attachment=False,
    )


@login_required
@require_GET
def document(request, kind, pk, document_id):
    viewer = _reader(request)
    listing = _visible_listing(viewer, kind, pk)
    found = get_object_or_404(ListingDocument, pk=document_id, **{kind: listing})
    hides = visibility.listing_hides_owner(user=viewer, listing=listing)
    return _file_response(
        found.file,
        content_type=found.content_type,
        filename=attachments.document_download_name(found, hides_owner=hides),
        as_attachment=True,
    )


# --- data quality ------------------------------------------------------------------------------


@login_required
@require_POST
def data_quality(request, kind, pk):
    """A facilitator's verification of the listing's data, or its withdrawal."""
    if not roles.is_facilitator(request.user):
        raise PermissionDenied(_("Only a facilitator verifies a listing's data."))
    listing = _visible_listing(selectors.viewer_for(request.user), kind, pk)
    verified = request.POST.get("level") == "verified"
    attachments.data_quality_verify(user=request.user, listing=listing, verified=verified)
    messages.success(
        request,
        _("The listing's data is marked verified.")
        if verified
        else _("The verification is withdrawn."),
    )
    return redirect_to(request, reverse("market-listing", args=[kind, pk]) + "#data-quality")
