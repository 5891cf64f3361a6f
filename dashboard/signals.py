"""Keep the city's roll-up and rates current on every write, so no read writes.

Receivers only, the work is ``dashboard.services``:

- a delivery written: ``deal_months_refresh`` (the roll-up, and the rate of a
  deal's first confirmed delivery). A confirmed row is never changed or deleted
  afterwards (``marketplace.models.Delivery`` refuses), so the branches for a
  changed or deleted confirmed row are a safety net only;
- a deal saved (terms, ends, an amendment), a supply's fate, evidence, material
  or site changed (a facilitator's fate review), a site moved: the rates of the
  deals concerned that have confirmed deliveries (``deals_rates_refresh``);
- a deal, proposal or run saved: a new version of the city's figures
  (``symbiosis.data_versions.FIGURES``), which its page caches; the services
  above record one wherever they change the roll-up or a rate.

They are signals, not calls from the services of other apps, so that every path
that writes such a row (a page, the API, a loader, the admin) keeps the figures
current at once, and ``symbiosis`` and ``marketplace`` need not know the
dashboard. Writes that send no signal (``bulk_create``, ``QuerySet.update``,
fixtures, an edited factor row) are caught by the periodic reconcile
(``dashboard.tasks.figures_reconcile_task`` on Celery beat) or at once by
``manage.py dashboard_refresh_rates``.
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_migrate, post_save, pre_save

from dashboard.services import deal_months_refresh, deals_rates_refresh, rates_refresh
from marketplace.models import Deal, Delivery
from optimizer.models import MatchProposal, OptimizationRun
from symbiosis.data_versions import FIGURES, data_change_record
from symbiosis.models import Site, SupplyListing

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


def _deal_saved(sender, instance: Deal, raw: bool = False, **kwargs) -> None:
    if not raw:
        deals_rates_refresh(deal_ids=[instance.pk])
        # Its state counts among the active deals, whether or not its rate changed.
        data_change_record(name=FIGURES)


def _figures_changed(sender, instance, raw: bool = False, **kwargs) -> None:
    """A proposal decided or a run finished: the city page's potential changes."""
    if not raw:
        data_change_record(name=FIGURES)


# What a deal's rate reads of its supply and of a site.
SUPPLY_RATE_FIELDS = ("fate", "fate_evidence", "material_id", "site_id")
SITE_RATE_FIELDS = ("latitude", "longitude")


def _remember_fields(fields):
    def remember(sender, instance, raw: bool = False, **kwargs) -> None:
        instance._dashboard_rate_before = (
            None
            if raw or instance.pk is None
            else sender.objects.filter(pk=instance.pk).values(*fields).first()
        )

    return remember


def _changed(instance, fields) -> bool:
    before = getattr(instance, "_dashboard_rate_before", None)
    if before is None:
        return False  # a new row: no deal reads it yet
    return any(str(before[f]) != str(getattr(instance, f)) for f in fields)


def _supply_saved(sender, instance: SupplyListing, raw: bool = False, **kwargs) -> None:
    if not raw and _changed(instance, SUPPLY_RATE_FIELDS):
        deals_rates_refresh(deal_ids=Deal.objects.filter(supply_id=instance.pk).values("pk"))


def _site_saved(sender, instance: Site, raw: bool = False, **kwargs) -> None:
    if not raw and _changed(instance, SITE_RATE_FIELDS):
        deals = Deal.objects.filter(supply__site_id=instance.pk) | Deal.objects.filter(
            receiver_site_id=instance.pk
        )
        deals_rates_refresh(deal_ids=deals.values("pk"))


_remember_supply = _remember_fields(SUPPLY_RATE_FIELDS)
_remember_site = _remember_fields(SITE_RATE_FIELDS)


def _migrated(sender, **kwargs) -> None:
    """After ``migrate``: a migration that changes how rates are computed drops them
    (dashboard 0003), and the figures must not wait for the hourly reconcile."""
    rates_refresh()


def connect(app_config) -> None:
    uid = "dashboard.roll-up"
    post_migrate.connect(_migrated, sender=app_config, dispatch_uid=uid)
    pre_save.connect(_remember, sender=Delivery, dispatch_uid=uid)
    post_save.connect(_saved, sender=Delivery, dispatch_uid=uid)
    post_delete.connect(_deleted, sender=Delivery, dispatch_uid=uid)
    post_save.connect(_deal_saved, sender=Deal, dispatch_uid=uid)
    pre_save.connect(_remember_supply, sender=SupplyListing, dispatch_uid=uid)
    post_save.connect(_supply_saved, sender=SupplyListing, dispatch_uid=uid)
    pre_save.connect(_remember_site, sender=Site, dispatch_uid=uid)
    post_save.connect(_site_saved, sender=Site, dispatch_uid=uid)
    for model in (MatchProposal, OptimizationRun):
        post_save.connect(_figures_changed, sender=model, dispatch_uid=uid)
