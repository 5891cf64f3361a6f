"""Versions of the data that cached pages read, and the cache keyed by them.

A page whose figures cost much and change seldom (the city page, a run's map)
caches them under a key holding the versions of what they read: the largest
``DataChange`` id per name, one query per request. A write that changes such
data records a change in its own transaction (``data_change_record``), so the
next request computes afresh as soon as the write commits; nothing is ever
invalidated by hand. The names:

- ``PARTIES``: organizations, sites, materials and edits of listings (names,
  places, districts, sectors: what figures are grouped and labelled by),
  recorded by the signals below for every path that saves such a row;
- ``FIGURES``: deliveries, deals, their rates, proposals and runs, recorded
  by the apps that own them (``dashboard.signals``, ``dashboard.services``).

Writes that send no signal (``bulk_create``, ``QuerySet.update``) record
nothing; the periodic reconcile (``dashboard.services.figures_reconcile``)
records a change of both, and every entry expires after ``CACHE_TIMEOUT_S``
in any case.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.db.models import Max
from django.db.models.signals import post_delete, post_save

from symbiosis.models import DataChange, DemandListing, Material, Organization, Site, SupplyListing

PARTIES = "parties"
FIGURES = "figures"
# The longest a cached figure can outlive a write that recorded no change.
CACHE_TIMEOUT_S = 600


def data_change_record(*, name: str) -> None:
    DataChange.objects.create(name=name)


def data_versions(*names: str) -> tuple[int, ...]:
    """The current version of each name (0 before any change), in one query."""
    found = dict(
        DataChange.objects.filter(name__in=names)
        .values_list("name")
        .annotate(version=Max("id"))
        .order_by()
    )
    return tuple(found.get(name, 0) for name in names)


def cached(key: str, compute: Callable[[], Any]) -> Any:
    """``compute()``, from the cache when a request with the same ``key`` (which
    holds the data versions it read) has computed it already."""
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, CACHE_TIMEOUT_S)
    return value


def data_changes_prune() -> int:
    """Delete the rows below each name's largest id (the versions stay as they are)."""
    deleted = 0
    for name, version in DataChange.objects.values_list("name").annotate(v=Max("id")).order_by():
        deleted += DataChange.objects.filter(name=name, id__lt=version).delete()[0]
    return deleted


def _party_saved(sender, instance, raw: bool = False, created: bool = False, **kwargs) -> None:
    if not raw:
        data_change_record(name=PARTIES)


def _listing_saved(sender, instance, raw: bool = False, created: bool = False, **kwargs) -> None:
    # A new listing is in no deal or proposal yet: only an edit (its site, its
    # owner) can change what cached figures show of it.
    if not raw and not created:
        data_change_record(name=PARTIES)


def _party_deleted(sender, instance, **kwargs) -> None:
    data_change_record(name=PARTIES)


def connect() -> None:
    uid = "symbiosis.data-versions"
    for model in (Organization, Site, Material):
        post_save.connect(_party_saved, sender=model, dispatch_uid=uid)
        post_delete.connect(_party_deleted, sender=model, dispatch_uid=uid)
    for model in (SupplyListing, DemandListing):
        post_save.connect(_listing_saved, sender=model, dispatch_uid=uid)
        post_delete.connect(_party_deleted, sender=model, dispatch_uid=uid)
