"""Load the Almaty demo data (taxonomy and factor set first) and print the logins."""

from django.core.management.base import BaseCommand

from symbiosis.demo import load_demo
from symbiosis.management.commands.load_factors import format_counts


class Command(BaseCommand):
    help = "Load the Almaty demo organizations, sites, users and listings (idempotent)."

    def handle(self, *args, **options):
        result = load_demo()
        self.stdout.write(format_counts(result.counts))
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Demo logins (password for all: {result.password})"))
        width = max(len(login.email) for login in result.logins)
        for login in result.logins:
            self.stdout.write(f"  {login.email:<{width}}  {login.role}")
