from django.core.management.base import BaseCommand

from dashboard.services import months_refresh, rates_refresh


class Command(BaseCommand):
    help = "Recompute every deal's per-tonne impact and the monthly roll-up."

    def handle(self, *args, **options):
        count = rates_refresh(everything=True)
        self.stdout.write(f"{count} deal rate(s) recomputed")
        months_refresh(force=True)
        self.stdout.write("monthly roll-up rebuilt")
