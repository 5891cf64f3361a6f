"""Print loadtest/run.sh's results as Markdown: per request name, per group, total.

    python loadtest/summary.py OUT/locust_stats.csv OUT/locust_failures.csv [OUT/groups.json]

Requests per second, p50/p95/p99 in ms and failures. Per-name and total rows
come from locust's CSV; per-group rows from the raw samples the locustfile
writes (locust itself has no percentiles per group of names).
"""

from __future__ import annotations

import csv
import json
import math
import sys
from collections import defaultdict

GOAL_P95_MS = 300.0


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    # Nearest rank: the smallest value with at least q of all values at or
    # below it (the epsilon keeps 0.95 * 100 from rounding up to rank 96).
    rank = math.ceil(q * len(sorted_values) - 1e-9)
    return sorted_values[min(len(sorted_values), max(1, rank)) - 1]


def table(rows: list[tuple]) -> str:
    lines = [
        "| requests | n | rps | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, n, rps, p50, p95, p99, errors in rows:
        lines.append(f"| {name} | {n} | {rps:.1f} | {p50:.0f} | {p95:.0f} | {p99:.0f} | {errors} |")
    return "\n".join(lines)


def group_rows(samples: list, duration_s: float) -> list[tuple]:
    groups: dict[str, list] = defaultdict(list)
    for group, ms, ok, *_ in samples:
        groups[group].append((ms, ok))
    groups_all = [("**total**", [pair for pairs in groups.values() for pair in pairs])]
    rows = []
    for group, pairs in [*sorted(groups.items()), *groups_all]:
        times = sorted(ms for ms, _ in pairs)
        errors = sum(1 for _, ok in pairs if not ok)
        rps = len(times) / duration_s if duration_s else 0.0
        rows.append(
            (
                group,
                len(times),
                rps,
                percentile(times, 0.50),
                percentile(times, 0.95),
                percentile(times, 0.99),
                errors,
            )
        )
    return rows


def goal_line(samples: list, p95_goal_ms: float = GOAL_P95_MS) -> str:
    """Whether the whole run met the goal: no failed request and p95 under the
    goal, from the raw samples (locust's own total percentiles are rounded)."""
    times = sorted(sample[1] for sample in samples)
    errors = sum(1 for sample in samples if not sample[2])
    p95 = percentile(times, 0.95)
    met = errors == 0 and p95 < p95_goal_ms
    return (
        f"Goal (0 errors, p95 < {p95_goal_ms:.0f} ms over the whole run): "
        f"{'met' if met else 'NOT met'} ({errors} errors, p95 {p95:.0f} ms, {len(times)} requests)"
    )


def main(stats_path: str, failures_path: str, groups_path: str | None = None) -> int:
    with open(stats_path, newline="") as f:
        stats = list(csv.DictReader(f))
    by_name, total, samples = [], None, []
    for row in stats:
        entry = (
            row["Name"] if row["Name"] != "Aggregated" else "**total**",
            int(row["Request Count"]),
            float(row["Requests/s"]),
            float(row["50%"]),
            float(row["95%"]),
            float(row["99%"]),
            int(row["Failure Count"]),
        )
        if row["Name"] == "Aggregated":
            total = entry
        else:
            by_name.append(entry)
    print("### Per request name\n")
    print(table([*by_name, *([total] if total else [])]))
    duration_s = total[1] / total[2] if total and total[2] else 0
    if groups_path:
        try:
            with open(groups_path) as f:
                samples = json.load(f)
        except (OSError, ValueError):
            samples = []
        if samples:
            print("\n### Per group, whole run\n")
            print(table(group_rows(samples, duration_s)))
        if samples and len(samples[0]) > 3:
            # The logins (PBKDF2, about 0.3 s of CPU each) come first; the
            # steady state starts when the last one has been answered.
            logins = [s[3] for s in samples if s[0] == "login"]
            start = max(logins) if logins else min(s[3] for s in samples)
            end = max(s[3] for s in samples)
            steady = [s for s in samples if s[3] > start]
            if steady and end > start:
                offset_s = start - min(s[3] for s in samples)
                print(
                    f"\n### Per group, steady state (after the last log-in, {offset_s:.0f} s in)\n"
                )
                print(table(group_rows(steady, end - start)))
    with open(failures_path, newline="") as f:
        failures = list(csv.DictReader(f))
    if failures:
        print("\n### Failures\n")
        for row in failures:
            print(f"- {row['Occurrences']} x {row['Method']} {row['Name']}: {row['Error']}")
    if total:
        print(
            f"\nTotal: {total[1]} requests in {duration_s:.0f} s, {total[2]:.1f} rps, "
            f"p50 {total[3]:.0f} ms, p95 {total[4]:.0f} ms, p99 {total[5]:.0f} ms, "
            f"{total[6]} errors"
        )
    if samples:
        print(goal_line(samples))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
