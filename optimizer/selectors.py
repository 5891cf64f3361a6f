"""Reads for the review pages: proposals with their parties, totals, map, diffs."""

from __future__ import annotations

from django.db.models import Count, F, Q, QuerySet, Sum

from optimizer.models import AuditEntry, MatchProposal, OptimizationRun
from symbiosis.models import Material
from symbiosis.roles import organization_ids


def proposals_with_parties() -> QuerySet[MatchProposal]:
    return (
        MatchProposal.objects.select_related(
            "run",
            "material",
            "supply__organization",
            "supply__site",
            "demand__organization",
            "demand__site",
        )
        # The run's input snapshot (every listing of the run, hundreds of kB)
        # would otherwise be fetched and parsed once per proposal row.
        .defer("run__input_snapshot")
        .annotate(saving_per_t=F("net_kg_co2e_saved") / F("tonnes"))
    )


def run_proposals(run: OptimizationRun) -> QuerySet[MatchProposal]:
    return proposals_with_parties().filter(run=run)


def run_materials(run: OptimizationRun) -> list[tuple[str, str]]:
    materials = Material.objects.filter(matchproposal__run=run).distinct().order_by("name_en")
    return [(m.slug, m.name) for m in materials]


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
    """Lines (one per proposal) and site markers for the results map.

    Plain values, not model instances: a run has hundreds to thousands of
    proposals, and building each with its six related objects took seconds.
    """
    lines, sites = [], {}
    materials = {m.pk: m.name for m in Material.objects.filter(matchproposal__run=run).distinct()}
    ends = ("supply__site", "demand__site")
    fields = ("id", "latitude", "longitude", "name", "organization__name")
    rows = run.proposals.values_list(
        "pk",
        "material_id",
        "tonnes",
        "road_km",
        "status",
        *(f"{end}__{field}" for end in ends for field in fields),
    )
    for pk, material_id, tonnes, road_km, status, *site_values in rows:
        points = []
        for site_id, lat, lon, name, organization in (site_values[:5], site_values[5:]):
            sites[site_id] = {
                "lat": float(lat),
                "lon": float(lon),
                "name": f"{organization}: {name}",
            }
            points.append([float(lat), float(lon)])
        lines.append(
            {
                "id": pk,
                "from": points[0],
                "to": points[1],
                "tonnes": tonnes,
                "label": f"{materials[material_id]}: {tonnes:,.0f} t, {road_km:,.1f} km",
                "status": status,
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
