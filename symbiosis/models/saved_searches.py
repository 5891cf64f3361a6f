"""Saved searches: a user's market filters, kept to be alerted of new matches.

A ``SavedSearch`` stores the market's query string (``query``: field name to
value or list of values) as the filter form cleaned it, whatever the form's
fields are, so it is replayed through the same form and the same market query
(``symbiosis.market_query``). ``SavedSearchHit`` records each listing a digest
named for a search: a listing is never sent twice for one search (the
database's unique constraint holds it, also for two digests running at once).
"""

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

NAME_MAX_CHARS = 120
# Bytes of randomness in an unsubscribe token (url-safe base64: 43 characters).
TOKEN_BYTES = 32


def new_unsubscribe_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


class SavedSearch(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_searches"
    )
    name = models.CharField(_("name"), max_length=NAME_MAX_CHARS)
    # The market's filters: {"kind": "supply", "material": "12", ...}, as the
    # query string carries them (a list for a field with several values).
    query = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Listings made after this are new to the search: when it was saved, and
    # again when it is resumed after a pause (what was listed meanwhile is not
    # sent all at once).
    new_since = models.DateTimeField()
    # When a digest last named this search (None: never).
    last_sent_at = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(_("alerts on"), default=True)
    # The unsubscribe link of its digests, which works without logging in.
    unsubscribe_token = models.CharField(
        max_length=64, unique=True, default=new_unsubscribe_token, editable=False
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="saved_search_by_user")]

    def __str__(self):
        return f"{self.name} (user {self.user_id})"


class SavedSearchHit(models.Model):
    """A listing a digest named for a search."""

    search = models.ForeignKey(SavedSearch, on_delete=models.CASCADE, related_name="hits")
    listing_id = models.PositiveBigIntegerField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["search", "listing_id"], name="saved_search_hit_once")
        ]

    def __str__(self):
        return f"listing {self.listing_id} for search {self.search_id}"
