from celery import shared_task
from django.db import connection

from symbiosis.models import Organization


@shared_task
def ping() -> dict:
    """Health check of a worker: proves it reaches the same database as the web."""
    return {"database": connection.vendor, "organizations": Organization.objects.count()}
