"""Notifications: the one way the platform tells a user something.

Every e-mail and every in-app notice starts here. A service that changes state
calls ``notify`` (users) or ``notify_address`` (an address that may have no
account: sign-up, invitation) inside its transaction; that writes one
``Notification`` row per recipient and, once the transaction commits, queues
``notification_email_task`` for each (``transaction.on_commit(robust=True)``):

- a rollback sends nothing and leaves no row;
- a broker that is down fails nothing: the rows stay ``pending`` and the resend
  pass (``notifications_resend_task`` on the Celery beat schedule, or
  ``manage.py notifications_resend``) queues them later;
- a mail server that refuses fails nothing either: the task records the
  attempt and the error on the row and retries with exponential backoff; the
  resend pass picks up what is still unsent after that, until
  ``NOTIFICATION_EMAIL_GIVE_UP_HOURS``.

Texts are not stored: each kind has a template, ``templates/notifications/
<kind>.txt``, whose first line is the subject and the rest the body; an unknown
``deal_<action>`` falls back to ``deal_changed.txt``, any other unknown kind to
``changed.txt``. E-mails are rendered in the recipient's language
(``User.language``; "" is ``settings.LANGUAGE_CODE``) with links made absolute
from ``settings.SITE_URL``; the app shows the subject line in the page's
language. The Celery tasks are defined here, beside the services they call
(``symbiosis.tasks`` imports them for the worker): ``notify`` queues the task,
and the task calls back into this module, so apart they would import each other.
"""

from __future__ import annotations

import logging
import re
import smtplib
from dataclasses import dataclass
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q, QuerySet
from django.template.loader import select_template
from django.urls import reverse
from django.utils import timezone, translation

from symbiosis.models import Notification
from symbiosis.models.notifications import EMAIL_ERROR_MAX_CHARS

log = logging.getLogger(__name__)

Status = Notification.EmailStatus
LANGUAGE_CODES = frozenset(code for code, _name in settings.LANGUAGES)
PAGE_SIZE = 25
# Mail server trouble worth trying again later: refusals, timeouts, no connection.
EMAIL_RETRY_ERRORS = (smtplib.SMTPException, OSError)
# Retries of one queued e-mail: 10 s, 20 s, 40 s, 80 s, 160 s (with jitter).
EMAIL_MAX_RETRIES = 5
EMAIL_RETRY_BACKOFF_S = 10
EMAIL_RETRY_BACKOFF_MAX_S = 600


# --- making notifications ---------------------------------------------------------


def notify(*, recipients, kind: str, params: dict | None = None, url: str = "", actor=None):
    """Tell each of ``recipients`` (users) about ``kind``: one row each, in the app at
    once and by e-mail after the transaction commits. Inactive users and duplicates
    are left out. ``params``: plain JSON for the kind's template; ``url``: the
    page it leads to, relative ("/deals/7/"). Returns the rows."""
    users, seen = [], set()
    for user in recipients:
        if user is None or user.pk in seen or not user.is_active:
            continue
        seen.add(user.pk)
        users.append(user)
    if not users:
        return []
    rows = Notification.objects.bulk_create(
        [
            Notification(
                recipient=user,
                kind=kind,
                params=params or {},
                url=url,
                actor=actor if actor is not None and actor.is_authenticated else None,
                email_status=Status.PENDING if user.email else Status.NONE,
            )
            for user in users
        ]
    )
    _send_after_commit([row.pk for row in rows if row.email_status == Status.PENDING])
    return rows


def notify_address(
    *,
    email: str,
    kind: str,
    params: dict | None = None,
    private_params: dict | None = None,
    language: str = "",
) -> Notification:
    """E-mail ``email`` (an address, perhaps of no account) about ``kind``, in
    ``language``. ``private_params`` (a link with a token) are kept only until the
    e-mail is sent or given up. Never shown in the app."""
    row = Notification.objects.create(
        email=email,
        language=language if language in LANGUAGE_CODES else "",
        kind=kind,
        params=params or {},
        private_params=private_params or {},
    )
    _send_after_commit([row.pk])
    return row


def _send_after_commit(notification_ids: list[int]) -> None:
    if notification_ids:
        # robust: whatever goes wrong while queueing, the action itself is stored.
        transaction.on_commit(
            lambda: notifications_enqueue(notification_ids=notification_ids), robust=True
        )


def notifications_enqueue(*, notification_ids) -> int:
    """Queue the e-mail of each row; the number queued. A broker that cannot be
    reached queues nothing: the rows stay pending for the resend pass."""
    queued = 0
    for pk in notification_ids:
        try:
            notification_email_task.delay(pk)
        except Exception as exc:  # kombu's OperationalError, or any connection error
            log.warning("notification %s not queued (%s); the resend pass will", pk, exc)
            return queued
        queued += 1
    return queued


# --- texts -------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    subject: str
    body: str


def language_of(notification: Notification) -> str:
    """The language ``notification`` is written in for its recipient."""
    if notification.recipient_id is not None:
        language = notification.recipient.language
    else:
        language = notification.language
    return language if language in LANGUAGE_CODES else settings.LANGUAGE_CODE


def absolute_url(path: str) -> str:
    """``path`` on the site: settings.SITE_URL + path ("" stays "")."""
    if not path or path.startswith(("http://", "https://")):
        return path
    return f"{settings.SITE_URL}/{path.lstrip('/')}"


def _in_language(value, language: str):
    """A {"kk": ..., "ru": ..., "en": ...} value in ``language``, also inside lists and other
    dicts (a digest's listings); any other value as it is. A language the value
    lacks (a row stored before kk was added) reads its fallbacks (kk → ru → en)."""
    if isinstance(value, dict) and value and set(value) <= LANGUAGE_CODES:
        fallbacks = settings.LANGUAGE_FALLBACKS.get(language, ())
        for code in (language, *fallbacks, settings.LANGUAGE_CODE):
            if value.get(code):
                return value[code]
        return next(iter(value.values()))
    if isinstance(value, dict):
        return {key: _in_language(item, language) for key, item in value.items()}
    if isinstance(value, list):
        return [_in_language(item, language) for item in value]
    return value


def _template_names(kind: str) -> list[str]:
    names = [f"notifications/{kind}.txt"]
    prefix = kind.split("_", 1)[0]
    if prefix != kind:
        names.append(f"notifications/{prefix}_changed.txt")
    return [*names, "notifications/changed.txt"]


def render(notification: Notification, *, language: str | None = None) -> Text:
    """The notification's subject and body in ``language`` (default: its
    recipient's), with absolute links."""
    language = language or language_of(notification)
    with translation.override(language):
        context = {
            name: _in_language(value, language) for name, value in notification.params.items()
        }
        context.update(notification.private_params)
        context.setdefault("link", absolute_url(notification.url))
        context["kind"] = notification.kind
        context["site_url"] = settings.SITE_URL
        context["notifications_link"] = absolute_url(reverse("notifications"))
        template = select_template(_template_names(notification.kind))
        text = template.render(context)
    subject, _newline, body = text.strip().partition("\n")
    # Templates are laid out for reading; the mail keeps at most one blank line.
    body = re.sub(r"[ \t]+\n", "\n", body)
    body = re.sub(r"\n{3,}", "\n\n", body).strip() + "\n"
    return Text(subject=" ".join(subject.split()), body=body)


def headline(notification: Notification) -> str:
    """The line the app shows (the e-mail's subject), in the page's language."""
    language = translation.get_language()
    return render(notification, language=language if language in LANGUAGE_CODES else None).subject


# --- sending ------------------------------------------------------------------------


def notification_email_send(*, notification_id: int) -> bool:
    """Send the e-mail of a pending row; True when it went out (False: nothing to
    send). A failure is recorded on the row (attempts, error) and raised again,
    for the task to retry."""
    failure = None
    with transaction.atomic():
        row = (
            Notification.objects.select_for_update(of=("self",))
            .select_related("recipient")
            .filter(pk=notification_id, email_status=Status.PENDING)
            .first()
        )
        if row is None:
            return False
        address = row.recipient.email if row.recipient_id is not None else row.email
        if row.recipient_id is not None and not (row.recipient.is_active and address):
            row.email_status = Status.NONE
            row.private_params = {}
            row.save(update_fields=["email_status", "private_params"])
            return False
        row.email_attempts += 1
        row.email_last_attempt_at = timezone.now()
        try:
            text = render(row)
            EmailMessage(text.subject, text.body, settings.DEFAULT_FROM_EMAIL, [address]).send()
        except Exception as exc:
            failure = exc
            row.email_error = f"{type(exc).__name__}: {exc}"[:EMAIL_ERROR_MAX_CHARS]
        else:
            row.email_status = Status.SENT
            row.emailed_at = row.email_last_attempt_at
            row.email_error = ""
            row.private_params = {}
        row.save()
    if failure is not None:
        raise failure
    return True


def notifications_due(*, now=None) -> QuerySet[Notification]:
    """Pending e-mails that no task is working on: never tried (queueing failed)
    or last tried over a resend interval ago, and not yet too old."""
    now = now or timezone.now()
    interval = timedelta(minutes=settings.NOTIFICATION_RESEND_MINUTES)
    return Notification.objects.filter(
        email_status=Status.PENDING,
        created_at__gt=now - timedelta(hours=settings.NOTIFICATION_EMAIL_GIVE_UP_HOURS),
    ).filter(
        Q(email_last_attempt_at__isnull=True, created_at__lte=now - timedelta(minutes=1))
        | Q(email_last_attempt_at__lte=now - interval)
    )


def notifications_resend(*, now=None) -> dict:
    """The resend pass: give up e-mails too old to matter, queue the due ones.
    Returns {"queued": n, "given_up": n}."""
    now = now or timezone.now()
    too_old = now - timedelta(hours=settings.NOTIFICATION_EMAIL_GIVE_UP_HOURS)
    given_up = Notification.objects.filter(
        email_status=Status.PENDING, created_at__lte=too_old
    ).update(email_status=Status.FAILED, private_params={})
    due = list(notifications_due(now=now).order_by("created_at").values_list("pk", flat=True))
    return {"queued": notifications_enqueue(notification_ids=due), "given_up": given_up}


# Thin tasks: load by id, call the service; Celery retries a mail server's refusal
# with exponential backoff. acks_late: a worker lost mid-send hands the e-mail on.
@shared_task(
    name="symbiosis.tasks.notification_email_task",
    autoretry_for=EMAIL_RETRY_ERRORS,
    retry_backoff=EMAIL_RETRY_BACKOFF_S,
    retry_backoff_max=EMAIL_RETRY_BACKOFF_MAX_S,
    retry_jitter=True,
    max_retries=EMAIL_MAX_RETRIES,
    acks_late=True,
)
def notification_email_task(notification_id: int) -> bool:
    return notification_email_send(notification_id=notification_id)


@shared_task(name="symbiosis.tasks.notifications_resend_task")
def notifications_resend_task() -> dict:
    return notifications_resend()


# --- reading and marking read ----------------------------------------------------------


def notification_list(*, user) -> QuerySet[Notification]:
    """The user's notifications, newest first (none for anonymous users)."""
    if not user or not user.is_authenticated:
        return Notification.objects.none()
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-id")


def notification_page(*, user, page_number):
    """One page of ``notification_list``, each row with its ``headline``."""
    page = Paginator(notification_list(user=user), PAGE_SIZE).get_page(page_number)
    for row in page.object_list:
        row.recipient = user
        row.headline = headline(row)
    return page


def notifications_unread_count(*, user) -> int:
    if not user or not user.is_authenticated:
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def notification_open(*, user, notification_id: int) -> Notification:
    """The user's notification, marked read; ``Notification.DoesNotExist`` for any
    other's (a 404 to the caller)."""
    row = Notification.objects.get(pk=notification_id, recipient=user)
    if row.read_at is None:
        row.read_at = timezone.now()
        Notification.objects.filter(pk=row.pk, read_at__isnull=True).update(read_at=row.read_at)
    return row


def notifications_mark_all_read(*, user) -> int:
    """Mark every unread notification of ``user`` read; how many were unread."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )
