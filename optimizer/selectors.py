"""Reads for the review pages: proposals with their parties, totals, map, diffs."""

from __future__ import annotations

from django.db.models import Count, F, Q, QuerySet, Sum

from optimizer.models import AuditEntry, MatchProposal, OptimizationRun
from symbiosis.roles import organization_ids


def proposals_with_parties() -> QuerySet[MatchProposal]:
    return MatchProposal.objects.select_related(
        "run",
        "material",
        "supply__organization",
        "supply__site",
        "demand__organization",
        "demand__site",
    ).annotate(saving_per_t=F("net_kg_co2e_saved") / F("tonnes"))


def run_proposals(run: OptimizationRun) -> QuerySet[MatchProposal]:
    return proposals_with_parties().filter(run=run)


def run_materials(run: OptimizationRun) -> list[tuple[str, str]]:
    seen = {}
    for p in run.proposals.select_related("material").order_by("material__name_en"):
        seen[p.material.slug] = p.material.name
    return list(seen.items())


def run_totals(run: OptimizationRun) -> dict:
    """The run's result beside its baseline, plus how far the decisions have got."""
    agg = run.proposals.aggregate(
        truck_km=Sum("road_km"),
        proposals=Count("pk"),
        approved=Count("pk", filter=Q(status=MatchProposal.Status.APPROVED)),
        rejected=Count("pk", filter=Q(status=MatchProposal.Status.REJECTED)),
        approved_tonnes=Sum("tonnes", filter=Q(status=MatchProposal.Status.APPROVED)),
        approved_kg_co2e=Sum("net_kg_co2e_saved", filter=Q(status=MatchProposal.Status.APPROVED)),
    )
    baseline_tonnes = sum(s["tonnes"] for s in (run.input_snapshot or {}).get("supplies", []))
    return {**agg, "baseline_tonnes": baseline_tonnes}


def run_map_data(run: OptimizationRun) -> dict:
    """Lines (one per proposal) and site markers for the results map."""
    lines, sites = [], {}
    for p in run_proposals(run):
        a, b = p.supply.site, p.demand.site
        for site in (a, b):
            sites[site.pk] = {
                "lat": float(site.latitude),
                "lon": float(site.longitude),
                "name": f"{site.organization.name}: {site.name}",
            }
        lines.append(
            {
                "id": p.pk,
                "from": [float(a.latitude), float(a.longitude)],
                "to": [float(b.latitude), float(b.longitude)],
                "tonnes": p.tonnes,
                "label": f"{p.material.name}: {p.tonnes:,.0f} t, {p.road_km:,.1f} km",
                "status": p.status,
            }
        )
    return {"lines": lines, "sites": list(sites.values())}


def compare_runs(a: OptimizationRun, b: OptimizationRun) -> dict:
    """What changed from run a to run b, pair by pair."""

    def pairs(run):
        return {(p.supply_id, p.demand_id): p for p in run_proposals(run)}

    pa, pb = pairs(a), pairs(b)
    rows = []
    for key in sorted(set(pa) | set(pb)):
        before, after = pa.get(key), pb.get(key)
        change = "added" if before is None else "removed" if after is None else "kept"
        if change == "kept" and abs(before.tonnes - after.tonnes) > 1e-6:
            change = "changed"
        rows.append({"before": before, "after": after, "change": change, "any": before or after})
    return {
        "rows": rows,
        "saved_delta_kg_co2e": (b.saved_kg_co2e or 0) - (a.saved_kg_co2e or 0),
        "tonnes_delta": (b.tonnes_moved or 0) - (a.tonnes_moved or 0),
        "counts": {
            c: sum(r["change"] == c for r in rows) for c in ("added", "removed", "changed", "kept")
        },
    }


def company_proposals(user) -> QuerySet[MatchProposal]:
    """Approved proposals involving one of the user's organizations' listings."""
    orgs = organization_ids(user)
    return (
        proposals_with_parties()
        .filter(status=MatchProposal.Status.APPROVED)
        .filter(Q(supply__organization_id__in=orgs) | Q(demand__organization_id__in=orgs))
        .order_by("-decided_at", "-pk")
    )


def audit_entries() -> QuerySet[AuditEntry]:
    return AuditEntry.objects.select_related("actor", "proposal", "run")
