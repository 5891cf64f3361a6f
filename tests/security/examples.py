"""Hypothesis settings shared by the hostile-input tests."""

from hypothesis import HealthCheck, settings

# Bounded and repeatable: the same 30 examples on every run, no example database.
HYPOTHESIS = settings(
    max_examples=30,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
