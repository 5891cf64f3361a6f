"""symbiosis.notifications: rows made in the action's transaction, e-mails sent by a
Celery task after the commit, and neither a mail server nor a broker that is down
ever failing the action that caused them."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.db import transaction
from django.utils import timezone

from marketplace import services as marketplace
from marketplace.models import Deal
from optimizer import decisions
from optimizer.models import MatchProposal
from symbiosis import notifications, services
from symbiosis.celery import app
from symbiosis.models import Notification
from tests import factories
from tests.faults.conftest import celery_app_sending_to

pytestmark = pytest.mark.django_db

Status = Notification.EmailStatus
# Nothing listens here: publishing to it fails as to a Redis that is down.
DEAD_BROKER = "redis://127.0.0.1:1/0"


def test_one_row_per_active_recipient_in_the_app_at_once_and_mailed_after_commit(committed):
    a, b = factories.UserFactory(), factories.UserFactory()
    gone = factories.UserFactory(is_active=False)

    with committed():
        rows = notifications.notify(
            recipients=[a, b, gone, a], kind="changed", url="/deals/", actor=b
        )
        # In the app at once; no e-mail until the transaction commits.
        assert notifications.notifications_unread_count(user=a) == 1
        assert mail.outbox == []

    assert sorted(row.recipient_id for row in rows) == sorted([a.pk, b.pk])
    assert sorted(m.to for m in mail.outbox) == sorted([[a.email], [b.email]])
    for row in Notification.objects.all():
        assert row.email_status == Status.SENT
        assert row.emailed_at is not None and row.email_attempts == 1 and not row.email_error
    assert not Notification.objects.filter(recipient=gone).exists()


def test_a_rollback_tells_no_one(committed):
    user = factories.UserFactory()

    with committed(), pytest.raises(RuntimeError), transaction.atomic():
        notifications.notify(recipients=[user], kind="changed")
        raise RuntimeError("the action failed")

    assert not Notification.objects.exists()
    assert mail.outbox == []


def test_a_refusing_mail_server_fails_no_approval_and_a_later_resend_delivers(
    committed, refusing_mail, settings, open_proposal, market, facilitator
):
    supplier = factories.MembershipFactory(organization=market.company_a).user
    receiver = factories.MembershipFactory(organization=market.company_b).user

    with committed():
        approved = decisions.proposal_approve(user=facilitator, proposal=open_proposal)

    # The approval and its draft deal stand; nothing was delivered.
    assert approved.status == MatchProposal.Status.APPROVED
    assert Deal.objects.filter(proposal=open_proposal).exists()
    assert mail.outbox == []
    rows = Notification.objects.filter(kind="introduction")
    assert sorted(rows.values_list("recipient", flat=True)) == sorted([supplier.pk, receiver.pk])
    for row in rows:
        # The task tried, retried (at once: tasks run eagerly here) and recorded why.
        assert row.email_status == Status.PENDING
        assert row.email_attempts == 1 + notifications.EMAIL_MAX_RETRIES
        assert "SMTPServerDisconnected" in row.email_error
    assert refusing_mail["tried"] == 2 * (1 + notifications.EMAIL_MAX_RETRIES)

    # The mail server is back; the beat's resend pass, a resend interval later, delivers.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    later = timezone.now() + timedelta(minutes=settings.NOTIFICATION_RESEND_MINUTES + 1)
    assert notifications.notifications_resend(now=later) == {"queued": 2, "given_up": 0}

    assert sorted(m.to for m in mail.outbox) == sorted([[supplier.email], [receiver.email]])
    assert set(rows.values_list("email_status", flat=True)) == {Status.SENT}
    assert set(rows.values_list("email_error", flat=True)) == {""}


def test_a_refusing_mail_server_fails_no_deal_step_either(
    committed, refusing_mail, make_deal, actors
):
    deal = make_deal("draft")

    with committed():
        offered = marketplace.deal_offer(user=actors["supplier"], deal=deal, note="Mondays")

    assert offered.state == Deal.State.OFFERED
    row = Notification.objects.get(recipient=actors["receiver"])
    assert row.kind == "deal_offer" and row.email_status == Status.PENDING
    assert row.email_error


def test_the_task_retries_a_refusing_mail_server_until_it_accepts(flaky_mail):
    user = factories.UserFactory()
    with transaction.atomic():
        row = notifications.notify(recipients=[user], kind="changed")[0]
    sends = flaky_mail(2)

    # The real task, as the worker runs it (retries at once when run eagerly).
    result = notifications.notification_email_task.apply(args=[row.pk])

    assert result.successful() and result.result is True
    row.refresh_from_db()
    assert row.email_status == Status.SENT and row.email_attempts == 3 and not row.email_error
    assert sends["tried"] == 3
    assert [m.to for m in mail.outbox] == [[user.email]]


def test_the_task_retries_with_exponential_backoff():
    task = notifications.notification_email_task
    assert task.max_retries == notifications.EMAIL_MAX_RETRIES > 0
    assert task.retry_backoff == notifications.EMAIL_RETRY_BACKOFF_S > 0
    assert task.retry_jitter and task.acks_late
    assert any(issubclass(ConnectionRefusedError, error) for error in task.autoretry_for)


def test_a_broker_that_is_down_fails_no_action_and_the_resend_queues_later(
    committed, make_deal, actors
):
    deal = make_deal("offered")
    app.conf.task_always_eager = False  # tests/conftest.py puts it back
    with celery_app_sending_to(DEAD_BROKER), committed():
        message = marketplace.message_post(user=actors["supplier"], deal=deal, body="Monday?")

    assert message.pk is not None
    row = Notification.objects.get(recipient=actors["receiver"])
    # Never queued, never tried: it waits for the resend pass.
    assert row.email_status == Status.PENDING and row.email_attempts == 0
    assert mail.outbox == []

    app.conf.task_always_eager = True
    soon = timezone.now() + timedelta(seconds=30)
    assert notifications.notifications_resend(now=soon)["queued"] == 0  # its task may yet come
    later = timezone.now() + timedelta(minutes=2)
    assert notifications.notifications_resend(now=later)["queued"] == 1
    assert [m.to for m in mail.outbox] == [[actors["receiver"].email]]


def test_the_resend_pass_leaves_e_mails_a_task_is_working_on(committed):
    user = factories.UserFactory()
    with committed():
        row = notifications.notify(recipients=[user], kind="changed")[0]
    now = timezone.now()
    interval = timedelta(minutes=settings.NOTIFICATION_RESEND_MINUTES)
    Notification.objects.filter(pk=row.pk).update(
        email_status=Status.PENDING, email_last_attempt_at=now - timedelta(minutes=1)
    )
    assert not notifications.notifications_due(now=now).exists()
    assert notifications.notifications_due(now=now + interval).filter(pk=row.pk).exists()


def test_the_resend_pass_gives_up_old_e_mails_and_forgets_their_links(committed, refusing_mail):
    with committed():
        row = notifications.notify_address(
            email="someone@example.kz",
            kind="invitation",
            params={"organization": "Org", "inviter": "a@example.kz", "days": 7},
            private_params={"link": "https://symbiosis.example.kz/accounts/invitation/SECRET/"},
        )
    row.refresh_from_db()
    assert row.email_status == Status.PENDING and "SECRET" in str(row.private_params)

    too_old = row.created_at + timedelta(hours=settings.NOTIFICATION_EMAIL_GIVE_UP_HOURS, seconds=1)
    assert notifications.notifications_resend(now=too_old) == {"queued": 0, "given_up": 1}

    row.refresh_from_db()
    assert row.email_status == Status.FAILED and row.private_params == {}


def test_a_sign_up_link_is_kept_only_until_its_e_mail_is_sent(committed):
    with committed():
        services.account_signup_request(
            email="founder@example.kz",
            password="Steppe-eagle-2027",
            organization_name="Medeu Bakery",
            bin=factories.valid_bin(4242),
            sector="C",
            kind="company",
            absolute_url=lambda path: f"http://testserver{path}",
        )

    token = mail.outbox[-1].body.split("/accounts/signup/")[1].split("/")[0]
    row = Notification.objects.get(email="founder@example.kz")
    assert row.kind == "signup_confirm" and row.email_status == Status.SENT
    assert row.recipient is None and row.private_params == {}
    assert token not in str(list(Notification.objects.values_list()))


def test_a_user_deactivated_before_the_send_gets_no_e_mail(committed):
    user = factories.UserFactory()
    with transaction.atomic():
        row = notifications.notify(recipients=[user], kind="changed")[0]
    user.is_active = False
    user.save()

    assert notifications.notification_email_send(notification_id=row.pk) is False

    row.refresh_from_db()
    assert row.email_status == Status.NONE and mail.outbox == []


def test_the_beat_schedule_and_the_command_resend(capsys, committed, refusing_mail, settings):
    schedule = settings.CELERY_BEAT_SCHEDULE["notifications-resend"]
    assert schedule["task"] in app.tasks
    assert schedule["schedule"] == timedelta(minutes=settings.NOTIFICATION_RESEND_MINUTES)

    user = factories.UserFactory()
    with committed():
        notifications.notify(recipients=[user], kind="changed")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    Notification.objects.update(email_last_attempt_at=timezone.now() - timedelta(days=1))

    from django.core.management import call_command

    call_command("notifications_resend")

    assert "queued 1, given up 0" in capsys.readouterr().out
    assert [m.to for m in mail.outbox] == [[user.email]]
