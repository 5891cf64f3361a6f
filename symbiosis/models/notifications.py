"""Notifications: what a user is told, in the app and by e-mail.

One row per recipient and event, made by ``symbiosis.notifications.notify``
inside the transaction of the action it tells about. Its text is not stored:
it is rendered from the template of its ``kind`` with ``params``, in the
recipient's language, when the e-mail is sent and when the notifications page
shows it. The e-mail is sent by a Celery task after the commit; its outcome
(attempts, last error, when it was sent) is kept here, so a mail server or a
broker that is down never fails the action, and what was not sent is sent
later (``notifications_resend``, on the Celery beat schedule).

A row without a recipient is an e-mail to an address that may have no account
(a sign-up confirmation, an invitation): it never shows in the app.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

EMAIL_ERROR_MAX_CHARS = 1_000


class Notification(models.Model):
    class EmailStatus(models.TextChoices):
        PENDING = "pending", _("Not sent yet")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Given up")
        NONE = "none", _("No e-mail (no active address)")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    # Only for a row without a recipient; a user's row uses the address they have
    # when the e-mail goes out.
    email = models.EmailField(_("e-mail address"), blank=True)
    # Only for a row without a recipient (the page language when it was made); a
    # user's row is written in the language the user has when it is rendered.
    language = models.CharField(max_length=10, blank=True)
    kind = models.CharField(_("kind"), max_length=40)
    # Plain JSON values the template reads; a value {"kk": ..., "ru": ..., "en": ...} is
    # read in the language the text is rendered in (a material's name).
    params = models.JSONField(default=dict, blank=True)
    # What the e-mail alone may carry, and only until it is sent or given up: a
    # sign-up or invitation link with its token (only the token's hash is kept
    # for good, on the sign-up or invitation).
    private_params = models.JSONField(default=dict, blank=True)
    # Where the notification leads, relative ("/deals/7/"); e-mails make it
    # absolute with settings.SITE_URL.
    url = models.CharField(max_length=300, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    email_status = models.CharField(
        max_length=10, choices=EmailStatus.choices, default=EmailStatus.PENDING
    )
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_last_attempt_at = models.DateTimeField(null=True, blank=True)
    email_error = models.CharField(max_length=EMAIL_ERROR_MAX_CHARS, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The notifications page (newest first) and the unread count in the menu.
            models.Index(fields=["recipient", "-created_at"], name="notification_inbox"),
            models.Index(fields=["recipient", "read_at"], name="notification_unread"),
            # The resend pass looks for e-mails not sent yet.
            models.Index(fields=["email_status", "created_at"], name="notification_email_due"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(recipient__isnull=False) | ~models.Q(email=""),
                name="notification_has_recipient_or_address",
            ),
        ]

    def __str__(self):
        to = self.recipient_id and f"user {self.recipient_id}" or self.email
        return f"{self.kind} to {to} ({self.email_status})"

    @property
    def is_unread(self) -> bool:
        return self.read_at is None
