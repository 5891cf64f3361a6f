"""The Celery app; imported when Django starts (see SymbiosisConfig.ready)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "symbiosis.settings")

app = Celery("symbiosis")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
