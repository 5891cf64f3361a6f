"""E-mail backends that fail as a mail server does, for the notification tests.

Set ``settings.EMAIL_BACKEND`` to one of them; ``REFUSALS`` is how many sends the
flaky one refuses before it delivers (to Django's locmem outbox, like the
default test backend).
"""

import smtplib

from django.core.mail.backends.locmem import EmailBackend as LocmemBackend

SENDS = {"tried": 0}
REFUSALS = {"left": 0}


class RefusingBackend(LocmemBackend):
    """A mail server that refuses every message."""

    def send_messages(self, messages):
        SENDS["tried"] += len(messages)
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


class FlakyBackend(LocmemBackend):
    """Refuses ``REFUSALS["left"]`` sends, then delivers."""

    def send_messages(self, messages):
        SENDS["tried"] += len(messages)
        if REFUSALS["left"] > 0:
            REFUSALS["left"] -= 1
            raise smtplib.SMTPDataError(451, "Try again later")
        return super().send_messages(messages)
