"""Run the optimizer on the current active listings from the shell."""

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from optimizer import run_parameters, services
from optimizer.models import OptimizationRun


class Command(BaseCommand):
    help = "Optimize exchanges between the active listings and store the proposals as a run."

    def add_arguments(self, parser):
        parser.add_argument("--objective", choices=["co2e", "tonnes_then_co2e"])
        parser.add_argument("--solver", choices=list(run_parameters.SOLVER_CHOICES))
        parser.add_argument("--time-limit", type=float, dest="time_limit_s")
        parser.add_argument("--gap", type=float, dest="mip_gap")
        parser.add_argument("--road-factor", type=float, dest="road_factor")
        parser.add_argument("--landfill-weight", type=float, dest="landfill_weight_kg_co2e_per_t")
        parser.add_argument("--max-km", type=float, dest="max_km_cap")
        parser.add_argument("--min-lot", type=float, dest="min_lot_tonnes")
        parser.add_argument("--category", action="append", dest="categories")
        parser.add_argument("--district", action="append", dest="districts")
        parser.add_argument(
            "--by-month",
            dest="periods_start",
            metavar="YYYY-MM",
            help="a run by month: 12 months from this one, listings spread by their profiles",
        )
        parser.add_argument(
            "--worker",
            action="store_true",
            help="hand the run to a Celery worker and wait, instead of solving here",
        )

    def handle(self, *args, **options):
        keys = set(run_parameters.DEFAULT_PARAMETERS)
        parameters = {k: v for k, v in options.items() if k in keys and v is not None}
        try:
            run = services.run_create(
                user=None, parameters=parameters, enqueue=options["worker"], as_system=True
            )
        except ValidationError as exc:
            raise CommandError(json.dumps(exc.message_dict)) from None
        self.stdout.write(f"Run {run.pk} started.")
        if options["worker"]:
            run = services.wait_for(run.pk, timeout_s=3600)
        else:
            services.run_execute(run_id=run.pk)
            run.refresh_from_db()
        if run.status != OptimizationRun.Status.SUCCEEDED:
            raise CommandError(f"Run {run.pk} {run.status}: {run.error or run.stage}")
        self.stdout.write(
            f"Run {run.pk} {run.status} ({run.solver_status}, solver {run.solver}): "
            f"{run.proposals.count()} proposals, {run.tonnes_moved:,.0f} t moved, "
            f"{run.landfill_tonnes_avoided:,.0f} t kept from landfill, "
            f"{run.saved_kg_co2e / 1000:,.0f} t CO2e saved."
        )
