"""Load the material taxonomy and the starting emission factor set."""

from django.core.management.base import BaseCommand

from symbiosis.taxonomy import DEFAULT_FACTOR_SET_VERSION, load_factor_set, load_taxonomy


def format_counts(counts) -> str:
    return ", ".join(f"{name}: {n}" for name, n in sorted(counts.items())) or "nothing"


class Command(BaseCommand):
    help = "Load materials, uses, compatibility rules and the emission factor set (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--set-version",
            dest="set_version",
            default=DEFAULT_FACTOR_SET_VERSION,
            help="factor set version to create or refresh",
        )
        parser.add_argument(
            "--no-activate",
            action="store_true",
            help="load the set without making it the active one",
        )

    def handle(self, *args, set_version, no_activate, **options):
        self.stdout.write(f"Taxonomy: {format_counts(load_taxonomy())}")
        factor_set, counts = load_factor_set(set_version, activate=not no_activate)
        state = "active" if factor_set.is_active else "inactive"
        self.stdout.write(f"Factor set {factor_set.version} ({state}): {format_counts(counts)}")
