"""With Redis as the broker, a run is never handed to a second worker while it is still going."""

import json
import os
import subprocess
import sys

from optimizer.run_parameters import NUMBER_RULES
from tests.worker import ROOT

PRINT_OPTIONS = (
    "import django, json; django.setup(); from django.conf import settings; "
    "print(json.dumps(settings.CELERY_BROKER_TRANSPORT_OPTIONS))"
)


def test_redis_visibility_timeout_outlasts_the_longest_run():
    # Settings are read at start-up from the environment: ask a fresh process.
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "symbiosis.settings",
        "CELERY_BROKER_URL": "redis://redis:6379/0",
    }
    out = subprocess.run(
        [sys.executable, "-c", PRINT_OPTIONS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    options = json.loads(out.stdout.strip().splitlines()[-1])
    longest_solve_s = NUMBER_RULES["time_limit_s"][2]
    # Snapshot, candidates and saving come on top of the solver's time limit.
    assert options["visibility_timeout"] >= longest_solve_s * 1.5
