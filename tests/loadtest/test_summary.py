"""loadtest/summary.py: the percentiles and the goal line the load report rests on."""

import csv
import importlib.util
import json
import random
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location(
    "loadtest_summary", Path(__file__).resolve().parents[2] / "loadtest" / "summary.py"
)
summary = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(summary)


def _nearest_rank(values, q):
    """The textbook nearest-rank percentile: the smallest value with at least
    q of the values at or below it."""
    ordered = sorted(values)
    for value in ordered:
        if sum(1 for v in ordered if v <= value) >= q * len(ordered):
            return value
    return ordered[-1]


@pytest.mark.parametrize("seed", range(20))
def test_percentile_is_the_nearest_rank(seed):
    rng = random.Random(seed)
    values = [rng.randint(1, 500) for _ in range(rng.randint(1, 60))]
    for q in (0.5, 0.95, 0.99):
        assert summary.percentile(sorted(values), q) == _nearest_rank(values, q)


def _samples(times_ms, failed=0):
    return [("company: market", ms, i >= failed, 1000.0 + i) for i, ms in enumerate(times_ms)]


def test_goal_met_with_no_errors_and_a_low_p95():
    # 6 of 100 at 299 ms: the 95th smallest value is 299.
    line = summary.goal_line(_samples([100] * 94 + [299] * 6))
    assert ": met (0 errors, p95 299 ms, 100 requests)" in line


def test_goal_not_met_when_the_p95_reaches_the_goal():
    # 6 of 100 at 300 ms: the 95th value is 300, not under 300.
    line = summary.goal_line(_samples([100] * 94 + [300] * 6))
    assert "NOT met (0 errors, p95 300 ms" in line


def test_goal_not_met_with_one_failed_request():
    line = summary.goal_line(_samples([10] * 100, failed=1))
    assert "NOT met (1 errors" in line


def test_main_prints_groups_steady_state_and_the_goal(tmp_path, capsys):
    stats = tmp_path / "stats.csv"
    with stats.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
            ["Name", "Request Count", "Requests/s", "50%", "95%", "99%", "Failure Count"]
        )
        writer.writerow(["/market/ [supply]", 40, 2.0, 50, 90, 95, 0])
        writer.writerow(["login POST", 2, 0.1, 300, 400, 400, 0])
        writer.writerow(["Aggregated", 42, 2.1, 50, 300, 400, 0])
    failures = tmp_path / "failures.csv"
    failures.write_text("Method,Name,Error,Occurrences\n")
    # Two slow logins in the first 5 s, then 40 market pages.
    samples = [("login", 400.0, True, 0.0), ("login", 300.0, True, 1.0)]
    samples += [("company: market", 50.0 + i, True, 10.0 + i / 2) for i in range(40)]
    groups = tmp_path / "groups.json"
    groups.write_text(json.dumps(samples))

    assert summary.main(str(stats), str(failures), str(groups)) == 0
    out = capsys.readouterr().out
    # The last log-in was answered 1 s after the first request.
    steady = out.split("steady state (after the last log-in, 1 s in)")[1]
    assert "login" not in steady.split("Total:")[0]
    assert "| company: market | 40 |" in steady
    # Whole run, 42 requests: the 95th percentile is the 40th smallest value
    # (0.95 x 42 = 39.9), the last market page, 50 + 39 = 89 ms.
    assert "met (0 errors, p95 89 ms, 42 requests)" in out
