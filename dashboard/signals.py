"""Keep the city's roll-up current on every write of a delivery.

Receivers only, the work is ``dashboard.services.deal_months_refresh``. They
are signals, not calls from ``marketplace.services``, so that every path that
confirms a row (a confirmation, the two rows of a correction, a loader that
saves confirmed rows) keeps the roll-up current at once. A confirmed row is
never changed or deleted afterwards (``marketplace.models.Delivery`` refuses),
so the branches for a changed or deleted confirmed row are a safety net only.
Writes that send no signal (``bulk_create``, ``QuerySet.update``, fixtures)
are caught by ``manage.py dashboard_refresh_rates``.
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save, pre_save

from dashboard.services import deal_months_refresh
from marketplace.models import Delivery

CONFIRMED = Delivery.Status.CONFIRMED
# What the roll-up is made of: a change to any other field leaves it as it is.
COUNTED = ("deal_id", "status", "date", "tonnes")


def _remember(sender, instance: Delivery, raw: bool = False, **kwargs) -> None:
    """Before an update, read the stored row: its deal may need a rebuild too."""
    instance._dashboard_before = (
        None
        if raw or instance.pk is None
        else Delivery.objects.filter(pk=instance.pk).values(*COUNTED).first()
    )


def _saved(sender, instance: Delivery, raw: bool = False, **kwargs) -> None:
    if raw:
        return
    before = getattr(instance, "_dashboard_before", None)
    after = {field: getattr(instance, field) for field in COUNTED}
    deal_ids = set()
    if before is not None and before["status"] == CONFIRMED:
        if _counted(before) != _counted(after):
            deal_ids |= {before["deal_id"], after["deal_id"]}
    elif after["status"] == CONFIRMED:
        deal_ids.add(after["deal_id"])
    if deal_ids:
        deal_months_refresh(deal_ids=deal_ids)


def _counted(row: dict) -> tuple:
    # The instance may hold a str or float until it is read back: compare as stored.
    return (
        row["deal_id"],
        row["status"],
        str(row["date"]),
        f"{float(row['tonnes']):.3f}",
    )


def _deleted(sender, instance: Delivery, **kwargs) -> None:
    if instance.status == CONFIRMED:
        deal_months_refresh(deal_ids={instance.deal_id})


def connect() -> None:
    uid = "dashboard.roll-up"
    pre_save.connect(_remember, sender=Delivery, dispatch_uid=uid)
    post_save.connect(_saved, sender=Delivery, dispatch_uid=uid)
    post_delete.connect(_deleted, sender=Delivery, dispatch_uid=uid)
