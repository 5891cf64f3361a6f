"""The city page's month view of potential (issue 19): beside the confirmed tonnes of
each month, what the latest optimizer run by month proposes for it and what of that
facilitators approved. Potential is shown apart, never added to confirmed figures.

Reads the proposals' ``tonnes_by_period`` (``optimizer.seasons``): tonnes leaving
supplies (a plant's output adds none) and, apart, what receivers' stores lose of
them (the run's store account: moved, but to no use), exchanges between
organizations only, with the page's district and category filters and its months.
"""

from __future__ import annotations

from django.db.models import F

from optimizer.models import PLANT_OUTPUT_KINDS, MatchProposal, OptimizationRun
from symbiosis.impact import TONNES_COUNTED_CATEGORIES

# How many recent runs to look through for one by month.
RECENT_RUNS = 50


def latest_run_by_month() -> OptimizationRun | None:
    runs = (
        OptimizationRun.objects.filter(status=OptimizationRun.Status.SUCCEEDED)
        .order_by("-finished_at", "-id")
        .only("id", "parameters", "finished_at")[:RECENT_RUNS]
    )
    return next((r for r in runs if (r.parameters or {}).get("periods_start")), None)


def lost_by_proposal(run: OptimizationRun) -> dict[tuple[int, str], float]:
    """Tonnes lost in receivers' stores by (proposal, month), as the run's store
    account charged them (``optimizer.seasons.store_account``, ``stats["stores"]``)."""
    lost: dict[tuple[int, str], float] = {}
    for line in (run.stats or {}).get("stores") or []:
        if line.get("proposal") is not None and line.get("category") in TONNES_COUNTED_CATEGORIES:
            key = (line["proposal"], line["period"])
            lost[key] = lost.get(key, 0.0) + line["lost_tonnes"]
    return lost


def month_potential(filters, confirmed_rows: list[dict]) -> dict | None:
    """``{"run": id, "start": "2027-01", "rows": [{"month", "confirmed_tonnes",
    "approved_tonnes", "run_tonnes", "run_lost_tonnes"}]}`` for the run's months
    within the filters, or None without a run by month."""
    run = latest_run_by_month()
    if run is None:
        return None
    proposals = (
        MatchProposal.objects.filter(run=run)
        .exclude(kind__in=PLANT_OUTPUT_KINDS)
        .exclude(supply__organization_id=F("demand__organization_id"))
    )
    if filters.district:
        proposals = proposals.filter(supply__site__district=filters.district)
    if filters.category:
        proposals = proposals.filter(material__category=filters.category)
    confirmed = {row["month"]: row["tonnes"] for row in confirmed_rows}
    lost = lost_by_proposal(run)
    rows: dict[str, dict] = {}
    for pk, status, by_period in proposals.values_list("pk", "status", "tonnes_by_period"):
        for month, tonnes in (by_period or {}).items():
            row = rows.setdefault(
                month,
                {
                    "month": month,
                    "confirmed_tonnes": confirmed.get(month, 0.0),
                    "approved_tonnes": 0.0,
                    "run_tonnes": 0.0,
                    "run_lost_tonnes": 0.0,
                },
            )
            # What a receiver's store loses after the month's end: moved, but to no use.
            row["run_lost_tonnes"] += lost.get((pk, month), 0.0)
            row["run_tonnes"] += tonnes
            if status == MatchProposal.Status.APPROVED:
                row["approved_tonnes"] += tonnes
    low = filters.date_from.strftime("%Y-%m") if filters.date_from else ""
    high = filters.date_to.strftime("%Y-%m") if filters.date_to else "9999-12"
    shown = [rows[m] for m in sorted(rows) if low <= m <= high]
    return {"run": run.pk, "start": run.parameters["periods_start"], "rows": shown}
