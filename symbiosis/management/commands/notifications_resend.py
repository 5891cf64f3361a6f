"""Queue the notification e-mails not sent yet (what the Celery beat schedule runs)."""

from django.core.management.base import BaseCommand

from symbiosis.notifications import notifications_resend


class Command(BaseCommand):
    help = (
        "Queue again the notification e-mails that are not sent yet (the broker was down when "
        "their action committed, or their task ran out of retries), and give up those older "
        "than NOTIFICATION_EMAIL_GIVE_UP_HOURS. The Celery beat schedule runs the same every "
        "NOTIFICATION_RESEND_MINUTES; this is for a deployment without beat, or by hand."
    )

    def handle(self, *args, **options):
        done = notifications_resend()
        self.stdout.write(f"queued {done['queued']}, given up {done['given_up']}")
