"""Scale the Almaty demo up for the load scenario (loadtest/run.sh)."""

from django.core.management.base import BaseCommand, CommandError

from symbiosis.demo import DEMO_PASSWORD
from symbiosis.demo_scale import SCALE_EMAIL_DOMAIN, scale_demo, scale_email
from symbiosis.management.commands.load_factors import format_counts


class Command(BaseCommand):
    help = (
        "After load_demo: add synthetic organizations, sites, listings, one optimizer run and "
        "deals with confirmed deliveries, up to the given totals. Refuses to run twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organizations", type=int, default=5000, help="total wanted")
        parser.add_argument("--listings", type=int, default=50000, help="supplies + demands")
        parser.add_argument(
            "--run-organizations",
            type=int,
            default=150,
            help="synthetic organizations in the optimizer run (besides the demo's)",
        )
        parser.add_argument("--deals", type=int, default=2000)
        parser.add_argument("--deliveries-per-deal", type=int, default=10)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, **options):
        try:
            result = scale_demo(
                organizations=options["organizations"],
                listings=options["listings"],
                run_organizations=options["run_organizations"],
                deals=options["deals"],
                deliveries_per_deal=options["deliveries_per_deal"],
                seed=options["seed"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if result.already_scaled:
            self.stdout.write(
                self.style.WARNING(
                    f"Already scaled (organizations with @{SCALE_EMAIL_DOMAIN} exist): "
                    "nothing done. Drop the database to scale again."
                )
            )
            return
        self.stdout.write(format_counts(result.counts))
        self.stdout.write(
            "Timings: " + ", ".join(f"{k} {v} s" for k, v in result.timings_s.items())
        )
        self.stdout.write(f"Optimizer run: {result.run_id}")
        self.stdout.write(
            self.style.SUCCESS(f"Logins {scale_email(1)} ... (password for all: {DEMO_PASSWORD})")
        )
