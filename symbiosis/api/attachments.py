"""A listing's photos, documents and data-quality level in the API (issue 18).

Routes (``symbiosis/api/urls.py``), the same under ``demands/``:

- ``GET supplies/{id}/photos/``: the photos; ``POST`` uploads one (multipart, field
  ``photo``).
- ``DELETE supplies/{id}/photos/{photo_id}/``; ``POST .../{photo_id}/move-first/``
  makes it the one lists show.
- ``GET supplies/{id}/documents/``; ``POST`` uploads one (multipart: ``kind`` and
  ``document``); ``DELETE supplies/{id}/documents/{document_id}/``.
- ``POST supplies/{id}/data-quality/`` with ``{"level": "verified" | "declared"}``: a
  facilitator verifies the listing's data, or withdraws that.

Plain API views registered by path rather than ``@action``s on the listing viewsets:
the viewsets' module is long already, and an upload is a different request (multipart,
its own parsers and permissions) on a different resource (a photo, not the listing).

Everything is done by ``symbiosis.attachments``, which the pages call too; who may do
what is as on the pages (``symbiosis.views.attachments``):

- Reading: whoever may see the listing (``selectors.supply_get``/``demand_get``, the
  visibility rule); 404 for anyone else; 403 for city analysts. Answers carry the
  addresses of the pages' guarded downloads, never a stored path; a document's name is
  its uploaded name only where the owner is shown (``document_download_name``).
- Uploading, deleting, reordering: members of the listing's organization. A user who
  is no company's member (a facilitator, an analyst) gets 403; another company gets
  404, even for a listing it sees on the market. A refused file is a 400 with the
  field's error (``photo`` or ``document``), in the pages' words.
- The data-quality level: facilitators only (403 for everyone else).
"""

from dataclasses import asdict

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from symbiosis import attachments, selectors, visibility
from symbiosis.api import permissions
from symbiosis.api.views import FIELD_ERRORS, ApiMixin
from symbiosis.models import ListingDocument, ListingPhoto
from symbiosis.models.attachments import DocumentKind
from symbiosis.models.listings import DataQuality

# --- shapes ----------------------------------------------------------------------------------


class _AbsoluteUrlField(serializers.CharField):
    """A site-relative address made absolute for the request's host."""

    def to_representation(self, value):
        request = self.context.get("request")
        return request.build_absolute_uri(value) if request else value


class ListingPhotoSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk", read_only=True)
    url = _AbsoluteUrlField(
        read_only=True, help_text="The photo (a JPEG without metadata), for who may see it."
    )
    thumbnail_url = _AbsoluteUrlField(
        read_only=True, allow_null=True, help_text="Null until the worker has made it."
    )
    width_px = serializers.IntegerField(read_only=True)
    height_px = serializers.IntegerField(read_only=True)


class ListingDocumentSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk", read_only=True)
    kind = serializers.ChoiceField(choices=DocumentKind.choices, read_only=True)
    kind_label = serializers.CharField(read_only=True)
    content_type = serializers.CharField(read_only=True)
    name = serializers.CharField(
        read_only=True,
        help_text=(
            "The name it downloads under: the uploaded one where the owner is shown, "
            'else neutral ("document-12.pdf").'
        ),
    )
    size_bytes = serializers.IntegerField(read_only=True)
    url = _AbsoluteUrlField(read_only=True, help_text="Downloads it as an attachment.")


class PhotoUploadSerializer(serializers.Serializer):
    photo = serializers.FileField(
        help_text=(
            "JPEG, PNG or WebP, judged by its content. It is stored again as a JPEG of its "
            "pixels alone: the position (GPS) and every other detail in the file are removed."
        )
    )


class DocumentUploadSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=DocumentKind.choices)
    document = serializers.FileField(
        help_text=(
            "A PDF, or a JPEG, PNG or WebP picture of the document. Everyone who sees the "
            "listing may download it."
        )
    )


class DataQualityInputSerializer(serializers.Serializer):
    level = serializers.ChoiceField(
        choices=[
            ("verified", _("Verified")),
            ("declared", _("Withdraw the verification")),
        ],
        help_text=(
            '"verified" marks the data verified; "declared" withdraws that (the listing is '
            "then lab-tested again if it has a lab analysis)."
        ),
    )


class DataQualitySerializer(serializers.Serializer):
    data_quality = serializers.ChoiceField(choices=DataQuality.choices, read_only=True)
    data_quality_verified_at = serializers.DateTimeField(read_only=True, allow_null=True)


NOT_YOURS = OpenApiResponse(
    description="Not a listing of your organizations (or no such listing, photo or document)."
)
NOT_A_MEMBER = OpenApiResponse(description="You are no member of any organization.")


# --- who ----------------------------------------------------------------------------------


class MembersWrite(BasePermission):
    """Only members of an organization upload, delete or reorder (as the pages'
    ``member_required``); which listings are theirs is the view's lookup (404)."""

    message = _("Only members of the listing's organization change its photos and documents.")

    def has_permission(self, request, view):
        return request.method in SAFE_METHODS or bool(view.viewer.organization_ids)


class _ListingFilesView(ApiMixin, APIView):
    kind = ""  # "supply" or "demand": set by as_view(kind=...) in urls.py
    permission_classes = [IsAuthenticated, permissions.ReadsCompanyData, MembersWrite]

    def visible_listing(self):
        if self.kind == "supply":
            return selectors.supply_get(user=self.viewer, supply_id=self.kwargs["id"])
        return selectors.demand_get(user=self.viewer, demand_id=self.kwargs["id"])

    def own_listing(self):
        own = selectors.own_supply_list if self.kind == "supply" else selectors.own_demand_list
        return get_object_or_404(own(user=self.viewer), pk=self.kwargs["id"])

    def validated(self, serializer_class) -> dict:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @cached_property
    def output_context(self) -> dict:
        return {"request": self.request}

    def photos(self, listing) -> list:
        entries = attachments.photo_entries(listing.photos.all())
        return ListingPhotoSerializer(entries, many=True, context=self.output_context).data

    def documents(self, listing, documents=None) -> list:
        documents = list(listing.documents.all() if documents is None else documents)
        entries = attachments.document_entries(
            kind=self.kind,
            listing_id=listing.pk,
            documents=documents,
            hides_owner=visibility.listing_hides_owner(user=self.viewer, listing=listing),
        )
        # As on the listing's own ``documents``, with the name and the kind's label.
        types = {document.pk: document.content_type for document in documents}
        rows = [{**asdict(entry), "content_type": types[entry.pk]} for entry in entries]
        return ListingDocumentSerializer(rows, many=True, context=self.output_context).data


def _field_error(field: str, exc: DjangoValidationError) -> exceptions.ValidationError:
    return exceptions.ValidationError({field: exc.messages})


# --- photos -------------------------------------------------------------------------------


class PhotoListView(_ListingFilesView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        summary="A listing's photos, in the order shown (whoever may see the listing)",
        responses={200: ListingPhotoSerializer(many=True), 404: NOT_YOURS},
    )
    def get(self, request, **kwargs):
        return Response(self.photos(self.visible_listing()))

    @extend_schema(
        summary="Add a photo to a listing of your organization (at most 8)",
        request=PhotoUploadSerializer,
        responses={
            201: ListingPhotoSerializer,
            400: FIELD_ERRORS,
            403: NOT_A_MEMBER,
            404: NOT_YOURS,
        },
    )
    def post(self, request, **kwargs):
        listing = self.own_listing()
        upload = self.validated(PhotoUploadSerializer)["photo"]
        try:
            photo = attachments.photo_add(user=request.user, listing=listing, upload=upload)
        except DjangoValidationError as exc:
            raise _field_error("photo", exc) from exc
        entry = attachments.photo_entries([photo])[0]
        return Response(
            ListingPhotoSerializer(entry, context=self.output_context).data,
            status=status.HTTP_201_CREATED,
        )


class _PhotoView(_ListingFilesView):
    def own_photo(self) -> tuple:
        listing = self.own_listing()
        photo = get_object_or_404(ListingPhoto, pk=self.kwargs["photo_id"], **{self.kind: listing})
        return listing, photo


class PhotoDetailView(_PhotoView):
    @extend_schema(
        summary="Delete a photo of a listing of your organization",
        responses={204: None, 403: NOT_A_MEMBER, 404: NOT_YOURS},
    )
    def delete(self, request, **kwargs):
        _listing, photo = self.own_photo()
        attachments.photo_delete(user=request.user, photo=photo)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PhotoMoveFirstView(_PhotoView):
    @extend_schema(
        summary="Show this photo first (the one lists show)",
        request=None,
        responses={
            200: ListingPhotoSerializer(many=True),
            403: NOT_A_MEMBER,
            404: NOT_YOURS,
        },
    )
    def post(self, request, **kwargs):
        listing, photo = self.own_photo()
        attachments.photo_move_first(user=request.user, photo=photo)
        return Response(self.photos(listing))


# --- documents ----------------------------------------------------------------------------


class DocumentListView(_ListingFilesView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        summary="A listing's documents (whoever may see the listing)",
        description=(
            "Where the owner is hidden (an anonymous listing of another company, before an "
            "introduction) the names are neutral, never the uploaded ones."
        ),
        responses={200: ListingDocumentSerializer(many=True), 404: NOT_YOURS},
    )
    def get(self, request, **kwargs):
        return Response(self.documents(self.visible_listing()))

    @extend_schema(
        summary="Add a document to a listing of your organization (at most 5)",
        description=(
            "A lab analysis makes a declared listing lab-tested. Anyone who sees the listing "
            "may download the document: on an anonymous listing, leave your name out of it."
        ),
        request=DocumentUploadSerializer,
        responses={
            201: ListingDocumentSerializer,
            400: FIELD_ERRORS,
            403: NOT_A_MEMBER,
            404: NOT_YOURS,
        },
    )
    def post(self, request, **kwargs):
        listing = self.own_listing()
        data = self.validated(DocumentUploadSerializer)
        try:
            document = attachments.document_add(
                user=request.user, listing=listing, upload=data["document"], kind=data["kind"]
            )
        except DjangoValidationError as exc:
            if hasattr(exc, "error_dict"):
                raise  # a field's own error ("kind"): the API's handler keeps its field
            raise _field_error("document", exc) from exc
        return Response(self.documents(listing, [document])[0], status=status.HTTP_201_CREATED)


class DocumentDetailView(_ListingFilesView):
    @extend_schema(
        summary="Delete a document of a listing of your organization",
        description="Without a lab analysis left, a lab-tested listing is declared again.",
        responses={204: None, 403: NOT_A_MEMBER, 404: NOT_YOURS},
    )
    def delete(self, request, **kwargs):
        listing = self.own_listing()
        document = get_object_or_404(
            ListingDocument, pk=self.kwargs["document_id"], **{self.kind: listing}
        )
        attachments.document_delete(user=request.user, document=document)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- data quality -------------------------------------------------------------------------


class FacilitatorsOnly(BasePermission):
    message = _("Only a facilitator verifies a listing's data.")

    def has_permission(self, request, view):
        return view.viewer.is_facilitator


class DataQualityView(_ListingFilesView):
    permission_classes = [IsAuthenticated, FacilitatorsOnly]

    @extend_schema(
        summary="Mark a listing's data verified, or withdraw that (facilitators)",
        description=(
            "Who verified and when is recorded. Withdrawn, the listing is lab-tested if it "
            "has a lab analysis among its documents, else declared."
        ),
        request=DataQualityInputSerializer,
        responses={
            200: DataQualitySerializer,
            400: FIELD_ERRORS,
            403: OpenApiResponse(description="Only facilitators."),
            404: OpenApiResponse(description="No such listing."),
        },
    )
    def post(self, request, **kwargs):
        listing = self.visible_listing()
        level = self.validated(DataQualityInputSerializer)["level"]
        attachments.data_quality_verify(
            user=request.user, listing=listing, verified=level == "verified"
        )
        return Response(DataQualitySerializer(listing).data)
