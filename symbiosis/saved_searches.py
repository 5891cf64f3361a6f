"""Saved searches and their daily digests of new matching listings.

A user saves the market's current filters under a name (``saved_search_create``);
the query is stored as the filter form read it (``query_from_form``: every field
of ``MarketFilterForm`` with a valid value, whatever the fields are), and replayed
through the same form and the same query as the market page
(``symbiosis.market_query``), so a digest names exactly what the page would show
the user, through ``visibility.listing_card``: an anonymous listing stays
anonymous.

``saved_search_digests_send`` (daily, on the Celery beat schedule) sends each
user with active searches one notification (``symbiosis.notifications.notify``:
in the app, and by e-mail in the user's language) listing, per search, the
listings made since the search was saved (or resumed) that no digest has named
for it yet. Each listing named is recorded (``SavedSearchHit``, unique per
search), so a listing is never sent twice for one search, and a listing drafted
before and published after a digest is still sent once it is on the market.
Nothing is sent when nothing is new. Each digest carries, per search, a link
that stops its alerts without logging in (``saved_search_unsubscribe``).
"""

from __future__ import annotations

import logging
from datetime import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import EMPTY_VALUES
from django.db import transaction
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from symbiosis import notifications, visibility
from symbiosis.forms import MarketFilterForm
from symbiosis.market_query import MarketRow, market_form, market_rows
from symbiosis.models import SavedSearch, SavedSearchHit, User
from symbiosis.models.saved_searches import NAME_MAX_CHARS

log = logging.getLogger(__name__)

DIGEST_KIND = "saved_search_digest"
# Listings named per search in one digest; the rest are counted, with a link.
DIGEST_MAX_LISTINGS = 10
MAX_SEARCHES_PER_USER = 50
# A link back to the market shows the newest first.
_DIGEST_SORT = "newest"
# Fields of the market's form that order the rows rather than choose them.
_NOT_FILTERS = frozenset({"sort"})


class SavedSearchError(ValidationError):
    """A saved search that cannot be made or changed (a message for the user)."""


# --- the query --------------------------------------------------------------------------


def query_from_form(form: MarketFilterForm) -> dict:
    """The form's filters as a query: {field name: value as the query string
    carries it (a list for a field with several values)}, for every field with
    a valid, non-empty value. A distance limit without a site to measure from
    filters nothing and is left out."""
    form.is_valid()
    query: dict = {}
    for name in form.fields:
        if name in form.errors:
            continue
        cleaned = form.cleaned_data.get(name)
        if cleaned is False or (not hasattr(cleaned, "exists") and cleaned in EMPTY_VALUES):
            continue
        raw = form[name].value()
        if isinstance(raw, list | tuple):
            values = [str(value) for value in raw if value not in EMPTY_VALUES]
            if values:
                query[name] = values
        elif raw not in EMPTY_VALUES:
            query[name] = str(raw)
    if "site" not in query:
        query.pop("max_km", None)
    return query


def query_dict(query: dict) -> QueryDict:
    data = QueryDict(mutable=True)
    for name, value in query.items():
        data.setlist(name, [str(v) for v in value] if isinstance(value, list) else [str(value)])
    return data


def market_url(query: dict, **extra) -> str:
    """The market page showing ``query`` (plus ``extra`` parameters)."""
    data = query_dict(query)
    for name, value in extra.items():
        data[name] = value
    encoded = data.urlencode()
    return reverse("market") + (f"?{encoded}" if encoded else "")


def search_form(search: SavedSearch, viewer) -> MarketFilterForm:
    """The market's filter form with the search's query, as ``viewer`` reads it.
    A search saved without a site to measure from is replayed without one (the
    page would measure from the viewer's first site)."""
    data = query_dict(search.query)
    if "site" not in data:
        data["site"] = ""
    return market_form(viewer, data)


def query_summary(form: MarketFilterForm) -> list[tuple[str, str]]:
    """(label, value shown) of each filter a search holds, for its page."""
    summary = []
    for name, field in form.fields.items():
        if name in _NOT_FILTERS:
            continue
        value = form.value(name)
        if value is False or (not hasattr(value, "exists") and value in EMPTY_VALUES):
            continue
        if isinstance(field, forms.ModelChoiceField):  # objects: named by themselves
            items = list(value) if hasattr(value, "exists") else [value]
            shown = ", ".join(str(item) for item in items)
        else:
            choices = dict(getattr(field, "flat_choices", None) or getattr(field, "choices", ()))
            items = value if isinstance(value, list | tuple) else [value]
            shown = ", ".join(str(choices.get(item, item)) for item in items)
        if shown:
            summary.append((str(field.label), shown))
    return summary


# --- changing saved searches ---------------------------------------------------------------


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise SavedSearchError(_("Give the search a name."), code="name")
    if len(name) > NAME_MAX_CHARS:
        raise SavedSearchError(
            _("A name of at most %(n)d characters, please.") % {"n": NAME_MAX_CHARS},
            code="name",
        )
    return name


def saved_search_create(*, user, name: str, form: MarketFilterForm, now=None) -> SavedSearch:
    """Save the market's filters in ``form`` (bound to the page's query) as
    ``user``'s search named ``name``; alerts are on."""
    name = _clean_name(name)
    if SavedSearch.objects.filter(user=user).count() >= MAX_SEARCHES_PER_USER:
        raise SavedSearchError(
            _("You have %(n)d saved searches, the most one can keep: delete one first.")
            % {"n": MAX_SEARCHES_PER_USER},
            code="too_many",
        )
    now = now or timezone.now()
    return SavedSearch.objects.create(
        user=user, name=name, query=query_from_form(form), new_since=now
    )


def saved_search_list(*, user):
    """``user``'s saved searches, newest first (none for anyone else)."""
    if not user or not user.is_authenticated:
        return SavedSearch.objects.none()
    return SavedSearch.objects.filter(user=user)


def saved_search_get(*, user, search_id) -> SavedSearch:
    """``user``'s search; ``SavedSearch.DoesNotExist`` for any other's (a 404)."""
    return saved_search_list(user=user).get(pk=search_id)


def saved_search_rename(*, search: SavedSearch, name: str) -> SavedSearch:
    search.name = _clean_name(name)
    search.save(update_fields=["name"])
    return search


def saved_search_set_active(*, search: SavedSearch, active: bool, now=None) -> SavedSearch:
    """Pause or resume the search's alerts. Resumed, it counts as new what is
    listed from now on, not everything listed while it was paused."""
    if search.active == active:
        return search
    search.active = active
    fields = ["active"]
    if active:
        search.new_since = now or timezone.now()
        fields.append("new_since")
    search.save(update_fields=fields)
    return search


def saved_search_delete(*, search: SavedSearch) -> None:
    search.delete()


def saved_search_by_token(*, token: str) -> SavedSearch | None:
    """The search an unsubscribe link names (None for an unknown token)."""
    if not token or len(token) > SavedSearch._meta.get_field("unsubscribe_token").max_length:
        return None
    return SavedSearch.objects.filter(unsubscribe_token=token).select_related("user").first()


def saved_search_unsubscribe(*, token: str) -> SavedSearch | None:
    """Stop the alerts of the one search ``token`` names; None for an unknown token."""
    search = saved_search_by_token(token=token)
    if search is not None:
        saved_search_set_active(search=search, active=False)
    return search


# --- digests ---------------------------------------------------------------------------------


def _each_language(make) -> dict:
    """{"kk": make(), "ru": make(), "en": make()}: a text in every language, each made
    with its language active."""
    values = {}
    for code in notifications.LANGUAGE_CODES:
        with translation.override(code):
            values[code] = str(make())
    return values


def _what(card: visibility.ListingCard) -> str:
    if card.kind == "supply":
        return card.material.name
    names = [m.name for m in card.materials.all()] or [u.name for u in card.uses.all()]
    return ", ".join(names)


def _listing_item(row: MarketRow) -> dict:
    """One listing of a digest, as its reader may see it (``listing_card``)."""
    card = row.card
    return {
        "url": reverse("market-listing", args=[card.kind, card.pk]),
        "what": _each_language(lambda: _what(card)),
        "tonnes": str(card.tonnes),
        "recurrence": _each_language(lambda: card.recurrence_label),
        "district": _each_language(lambda: card.district_label),
        # The owner only where the card shows it: never for an anonymous listing.
        "owner": card.owner_name,
        "km": None if row.distance_km is None else round(row.distance_km),
    }


def saved_search_new_matches(*, search: SavedSearch, viewer) -> list[int]:
    """Ids of the listings the market shows ``viewer`` for ``search`` that are new
    to it (made since ``new_since``) and no digest named for it, in the market's
    order. A search whose filters no longer hold (a site or material gone) finds
    nothing rather than everything."""
    form = search_form(search, viewer)
    if not form.is_valid():
        log.info("saved search %s: filters no longer valid (%s)", search.pk, form.errors)
        return []
    ids, _sort, _rows, _counted = market_rows(viewer, form)
    return list(
        ids.filter(created_at__gt=search.new_since).exclude(
            pk__in=SavedSearchHit.objects.filter(search=search).values("listing_id")
        )
    )


def _search_digest(search: SavedSearch, viewer, listing_ids: list[int]) -> dict:
    form = search_form(search, viewer)
    _ids, _sort, rows, _counted = market_rows(viewer, form)
    named = rows(listing_ids[:DIGEST_MAX_LISTINGS])
    return {
        "name": search.name,
        "count": len(listing_ids),
        "more": max(0, len(listing_ids) - DIGEST_MAX_LISTINGS),
        "listings": [_listing_item(row) for row in named],
        "market_url": market_url(search.query, sort=_DIGEST_SORT),
        "unsubscribe_url": reverse("saved-search-unsubscribe", args=[search.unsubscribe_token]),
    }


def saved_search_digest_send(*, user, now: datetime | None = None):
    """Send ``user`` one digest of what is new for each of their active searches;
    the notification, or None when nothing is new (then nothing is sent)."""
    now = now or timezone.now()
    viewer = visibility.viewer_for(user)
    if not viewer.reads_company_data:
        return None  # no market (a city analyst): nothing to tell
    with transaction.atomic():
        # Locked: two digests running at once cannot both name a listing.
        searches = list(
            SavedSearch.objects.select_for_update()
            .filter(user=user, active=True)
            .order_by("created_at", "pk")
        )
        digests, hits = [], []
        for search in searches:
            listing_ids = saved_search_new_matches(search=search, viewer=viewer)
            if not listing_ids:
                continue
            digests.append(_search_digest(search, viewer, listing_ids))
            hits += [SavedSearchHit(search=search, listing_id=pk) for pk in listing_ids]
            search.last_sent_at = now
            search.save(update_fields=["last_sent_at"])
        if not digests:
            return None
        SavedSearchHit.objects.bulk_create(hits)
        total = sum(digest["count"] for digest in digests)
        if total == 1:
            url = digests[0]["listings"][0]["url"]
        elif len(digests) == 1:
            url = digests[0]["market_url"]
        else:
            url = reverse("saved-searches")
        params = {
            "count": total,
            "searches": digests,
            "link": notifications.absolute_url(reverse("saved-searches")),
        }
        rows = notifications.notify(recipients=[user], kind=DIGEST_KIND, params=params, url=url)
    return rows[0] if rows else None


def saved_search_digests_send(*, now: datetime | None = None) -> dict:
    """The daily pass: one digest per user with something new. Returns
    {"users": users told, "listings": listings named}."""
    now = now or timezone.now()
    users = User.objects.filter(is_active=True, saved_searches__active=True).distinct()
    told = listings = 0
    for user in users.order_by("pk").iterator():
        row = saved_search_digest_send(user=user, now=now)
        if row is not None:
            told += 1
            listings += row.params["count"]
    return {"users": told, "listings": listings}
