from django.core.management.base import BaseCommand

from dashboard.services import months_refresh, rates_refresh


class Command(BaseCommand):
    help = (
        "Recompute every deal's per-tonne impact and rebuild the roll-ups of confirmed "
        "deliveries. Writes keep them current on their own; run this after writes that "
        "send no signal (bulk_create, QuerySet.update, loaddata, raw SQL) or after a "
        "change of sites, listings or factors the rates depend on."
    )

    def handle(self, *args, **options):
        count = rates_refresh(everything=True)
        self.stdout.write(f"{count} deal rate(s) recomputed")
        months_refresh(force=True)
        self.stdout.write("roll-ups of confirmed deliveries rebuilt")
