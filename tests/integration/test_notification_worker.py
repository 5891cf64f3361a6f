"""A real Celery worker process sends the e-mail of an action, after its commit.

The worker is another process, so Django's in-memory outbox cannot show what it
sent: it writes its e-mails to files (``EMAIL_URL=filemail://DIR``), read here.
"""

import email
import shutil
import tempfile
import time
from email.header import decode_header, make_header
from pathlib import Path

import pytest

from marketplace import services
from symbiosis.models import Notification
from tests.marketplace.conftest import (  # noqa: F401  (fixtures)
    actors,
    company_c,
    make_deal,
    market,
    member_c,
)

pytestmark = pytest.mark.integration
MAIL_DIR = Path(tempfile.mkdtemp(prefix="symbiosis-test-mail-"))
# django-environ reads "filemail:///tmp/x" as the relative path "tmp/x": one more slash.
WORKER = {"env": {"EMAIL_URL": f"filemail:///{MAIL_DIR}", "SITE_URL": "https://almaty.example.kz"}}


@pytest.fixture
def worker_queue(celery_worker_process):
    """Tasks this process queues go to the test's own worker."""
    from symbiosis.celery import app

    before = app.conf.task_default_queue
    app.conf.task_default_queue = celery_worker_process.queue
    yield celery_worker_process
    app.conf.task_default_queue = before
    shutil.rmtree(MAIL_DIR, ignore_errors=True)


def _mails(timeout_s: float = 60) -> list[str]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = sorted(MAIL_DIR.glob("*.log"))
        if found:
            return [path.read_text() for path in found]
        time.sleep(0.2)
    return []


@pytest.mark.parametrize("celery_worker_process", [WORKER], indirect=True)
def test_the_worker_mails_a_deal_message_after_the_commit(worker_queue, request):
    deal = request.getfixturevalue("make_deal")("offered")
    roles = request.getfixturevalue("actors")
    receiver = roles["receiver"]
    receiver.language = "ru"
    receiver.save()

    services.message_post(user=roles["supplier"], deal=deal, body="Wet or dry?")

    mails = _mails()
    assert len(mails) == 1, worker_queue.log_path.read_text()[-3000:]
    sent = email.message_from_string(mails[0].split("\n" + "-" * 79)[0])
    body = sent.get_payload()
    assert sent["To"] == receiver.email
    assert "Wet or dry?" in body
    # In the receiver's language, linking to the deal on the configured site.
    subject = str(make_header(decode_header(sent["Subject"])))
    assert subject == f"Сделка №{deal.pk}: сообщение от Company A"
    assert f"https://almaty.example.kz/deals/{deal.pk}/" in body
    row = Notification.objects.get(recipient=receiver)
    deadline = time.monotonic() + 30
    while row.email_status != Notification.EmailStatus.SENT and time.monotonic() < deadline:
        time.sleep(0.2)
        row.refresh_from_db()
    assert row.email_status == Notification.EmailStatus.SENT and row.email_attempts == 1
