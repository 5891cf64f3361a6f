"""Load the Almaty demo data (taxonomy and factor set first) and print the logins."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from symbiosis.demo import load_demo
from symbiosis.management.commands.load_factors import format_counts


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--today: {text!r} is no date (YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = (
        "Load the Almaty demo organizations, sites, users and listings (idempotent). "
        "Listing windows are placed around the day it runs (see symbiosis/fixtures/README.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--today",
            type=_day,
            default=None,
            metavar="YYYY-MM-DD",
            help="place the listing windows around this day instead of today (to try a season)",
        )

    def handle(self, *args, **options):
        result = load_demo(today=options["today"])
        self.stdout.write(format_counts(result.counts))
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Demo logins (password for all: {result.password})"))
        width = max(len(login.email) for login in result.logins)
        for login in result.logins:
            self.stdout.write(f"  {login.email:<{width}}  {login.role}")
