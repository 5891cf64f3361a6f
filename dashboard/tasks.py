from celery import shared_task

from dashboard import services


# Thin: the periodic reconcile of the city's figures (Celery beat, see settings).
@shared_task
def figures_reconcile_task() -> dict:
    return services.figures_reconcile()
