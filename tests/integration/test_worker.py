"""A real worker process answers on the configured broker and sees our database."""

import pytest
from django.db import connection

from symbiosis.tasks import ping
from tests import factories

pytestmark = pytest.mark.integration


def test_worker_process_reads_the_test_database(celery_worker_process):
    factories.OrganizationFactory.create_batch(3)
    result = ping.apply_async(queue=celery_worker_process.queue)
    answer = result.get(timeout=60)
    assert answer == {"database": connection.vendor, "organizations": 3}
