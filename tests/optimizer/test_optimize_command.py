"""`manage.py optimize` runs on the current listings from the shell."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from optimizer.models import OptimizationRun

pytestmark = pytest.mark.django_db


def test_optimize_on_demo_data_stores_a_succeeded_run(demo, capsys):
    call_command("optimize", "--time-limit", "30")
    run = OptimizationRun.objects.get()
    assert run.status == "succeeded" and run.proposals.exists()
    out = capsys.readouterr().out
    assert f"Run {run.pk} succeeded" in out and "proposals" in out


def test_optimize_with_a_category_filter_moves_only_that_category(demo):
    call_command("optimize", "--category", "metals")
    run = OptimizationRun.objects.get()
    categories = set(run.proposals.values_list("material__category", flat=True))
    assert categories == {"metals"}


def test_bad_parameters_are_refused_before_any_run_is_stored():
    with pytest.raises(CommandError, match="road_factor"):
        call_command("optimize", "--road-factor", "0.5")
    assert not OptimizationRun.objects.exists()
