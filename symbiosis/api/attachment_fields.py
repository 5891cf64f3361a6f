"""A listing's photos and documents in the API: the addresses of the guarded views
(``symbiosis.views.attachments``), never a stored path or an uploaded file name.

Read-only here; a listing's own endpoints upload, delete and reorder them
(``symbiosis.api.attachments``).
"""

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from symbiosis import attachments
from symbiosis.models.attachments import DocumentKind


class _PhotoEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField(help_text="Served only to who may see the listing.")
    thumbnail_url = serializers.CharField(allow_null=True, help_text="Null until it is made.")
    width_px = serializers.IntegerField()
    height_px = serializers.IntegerField()


class _DocumentEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=DocumentKind.choices)
    content_type = serializers.CharField()
    size_bytes = serializers.IntegerField()
    url = serializers.CharField(help_text="Downloads it as an attachment with a neutral name.")


class _AttachmentsField(serializers.Field):
    """A listing's photos or documents (the related manager on the card) as
    addresses of the guarded views; never the uploaded file names."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, **kwargs)

    def _absolute(self, url: str | None) -> str | None:
        request = self.context.get("request")
        return request.build_absolute_uri(url) if url and request else url


@extend_schema_field(_PhotoEntrySerializer(many=True))
class ListingPhotosField(_AttachmentsField):
    def to_representation(self, photos):
        return [
            {
                "id": entry.pk,
                "url": self._absolute(entry.url),
                "thumbnail_url": self._absolute(entry.thumbnail_url),
                "width_px": entry.width_px,
                "height_px": entry.height_px,
            }
            for entry in attachments.photo_entries(photos.all())
        ]


@extend_schema_field(_DocumentEntrySerializer(many=True))
class ListingDocumentsField(_AttachmentsField):
    def to_representation(self, documents):
        return [
            {
                "id": document.pk,
                "kind": document.kind,
                "content_type": document.content_type,
                "size_bytes": document.size_bytes,
                "url": self._absolute(
                    reverse(
                        "listing-document",
                        args=[
                            document.listing_kind,
                            document.supply_id or document.demand_id,
                            document.pk,
                        ],
                    )
                ),
            }
            for document in documents.all()
        ]
