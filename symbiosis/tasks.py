from celery import shared_task
from django.db import connection

from symbiosis import attachments, imports, saved_searches
from symbiosis.models import Organization

# Defined beside their services (symbiosis.notifications, which queues them);
# imported here so the worker registers every task of the app from one module.
from symbiosis.notifications import notification_email_task, notifications_resend_task

__all__ = [
    "listing_import_check_task",
    "listing_import_write_task",
    "notification_email_task",
    "notifications_resend_task",
    "photo_thumbnail_task",
    "ping",
    "saved_search_digests_task",
]


@shared_task
def ping() -> dict:
    """Health check of a worker: proves it reaches the same database as the web."""
    return {"database": connection.vendor, "organizations": Organization.objects.count()}


# Thin: the services record progress and outcome on the ListingImport row.
# acks_late + reject_on_worker_lost: a worker that dies mid-file hands the task
# to another; the services count attempts and write all rows or none.
@shared_task(acks_late=True, reject_on_worker_lost=True)
def listing_import_check_task(import_id: int) -> None:
    imports.listing_import_check(import_id=import_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def listing_import_write_task(import_id: int) -> None:
    imports.listing_import_write(import_id=import_id)


# Thin: the service reads the stored photo and writes the thumbnail; a photo deleted
# meanwhile, or one with its thumbnail already (a redelivered task), is left alone.
@shared_task(acks_late=True, reject_on_worker_lost=True, autoretry_for=(OSError,), max_retries=3)
def photo_thumbnail_task(photo_id: int) -> None:
    attachments.photo_thumbnail_make(photo_id=photo_id)


# Daily on the Celery beat schedule (settings.SAVED_SEARCH_DIGEST_HOUR): the
# service sends each user one digest; a listing is recorded as sent with the
# notification, in one transaction per user, so a retried or doubled run sends
# nothing twice.
@shared_task(name="symbiosis.tasks.saved_search_digests_task")
def saved_search_digests_task() -> dict:
    return saved_searches.saved_search_digests_send()
