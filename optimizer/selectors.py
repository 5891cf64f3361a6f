"""Reads for the review pages: proposals with their parties, totals, map, diffs."""

from __future__ import annotations

from django.db.models import Count, F, FloatField, Q, QuerySet, Sum
from django.db.models.functions import Cast
from django.utils.translation import gettext

from optimizer.models import AuditEntry, MatchProposal, OptimizationRun
from symbiosis.models import Material
from symbiosis.numbers import number_text, separators
from symbiosis.roles import organization_ids
from symbiosis.visibility import as_viewer


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


# What _proposal_row.html reads (a test counts the page's queries, so a field
# missing here shows as one query per row).
PAGE_ROW_FIELDS = (
    "run_id",
    "status",
    "tonnes",
    "road_km",
    "net_kg_co2e_saved",
    "supplier_answer",
    "receiver_answer",
    "material__name_en",
    "material__name_ru",
    "supply__organization__name",
    "demand__organization__name",
)


def page_proposals(run: OptimizationRun, ids: list[int]) -> list[MatchProposal]:
    """One page of the results table, in the order of ``ids``: only what a row
    shows (parties' names, material), without joining the run to every row."""
    rows = (
        MatchProposal.objects.filter(run=run, pk__in=ids)
        .select_related("material", "supply__organization", "demand__organization")
        .only(*PAGE_ROW_FIELDS)
        .annotate(saving_per_t=F("net_kg_co2e_saved") / F("tonnes"))
    )
    by_pk = {p.pk: p for p in rows}
    for p in by_pk.values():
        p.run = run
    return with_texts([by_pk[pk] for pk in ids])


def with_texts(proposals: list[MatchProposal]) -> list[MatchProposal]:
    """The row's figures as _proposal_row.html shows them, formatted here: the
    template filters cost more than the rest of a row of the results table."""
    seps = separators()
    for p in proposals:
        p.tonnes_text = number_text(p.tonnes, 1, seps=seps)
        p.road_km_text = number_text(p.road_km, 1, grouping=False, seps=seps)
        p.saving_text = number_text(p.net_kg_co2e_saved, 0, seps=seps)
        p.saving_per_t_text = number_text(p.saving_per_t, 0, grouping=False, seps=seps)
    return proposals


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
    return {**agg, "baseline_tonnes": run_supply_tonnes(run)}


def run_supply_tonnes(run: OptimizationRun) -> float:
    """The snapshot's supply tonnes, stored on the run the first time they are
    read (migration 0004 filled the runs made before), so later views parse no
    snapshot."""
    if run.input_supply_tonnes is None:
        runs = OptimizationRun.objects.filter(pk=run.pk)
        snapshot = runs.values_list("input_snapshot", flat=True).first()
        if not snapshot:
            return 0
        run.input_supply_tonnes = float(sum(s["tonnes"] for s in snapshot.get("supplies", [])))
        runs.update(input_supply_tonnes=run.input_supply_tonnes)
    return run.input_supply_tonnes


def run_map_data(run: OptimizationRun) -> dict:
    """Lines (one per proposal) and site markers for the results map.

    Plain values, not model instances: a run has hundreds to thousands of
    proposals, and building each with its six related objects took seconds.
    Coordinates come as floats from the database (no Decimal per value).
    """
    lines, sites = [], {}
    label = gettext("%(material)s: %(tonnes)s t, %(road_km)s km")
    materials = {m.pk: m.name for m in Material.objects.filter(matchproposal__run=run).distinct()}
    ends = ("supply__site", "demand__site")
    coordinates = {
        f"{end}_{axis}": Cast(f"{end}__{axis}", FloatField())
        for end in ends
        for axis in ("latitude", "longitude")
    }
    rows = run.proposals.annotate(**coordinates).values_list(
        "pk",
        "material_id",
        "tonnes",
        "road_km",
        "status",
        *(f"{end}_{axis}" for end in ends for axis in ("latitude", "longitude")),
        *(f"{end}__{field}" for end in ends for field in ("id", "name", "organization__name")),
    )
    for row in rows:
        pk, material_id, tonnes, road_km, status, s_lat, s_lon, d_lat, d_lon = row[:9]
        s_id, s_name, s_org, d_id, d_name, d_org = row[9:]
        if s_id not in sites:
            sites[s_id] = {"lat": s_lat, "lon": s_lon, "name": f"{s_org}: {s_name}"}
        if d_id not in sites:
            sites[d_id] = {"lat": d_lat, "lon": d_lon, "name": f"{d_org}: {d_name}"}
        lines.append(
            {
                "id": pk,
                "from": [s_lat, s_lon],
                "to": [d_lat, d_lon],
                "tonnes": tonnes,
                "label": label
                % {
                    "material": materials[material_id],
                    "tonnes": f"{tonnes:,.0f}",
                    "road_km": f"{road_km:,.1f}",
                },
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


def introductions_awaiting(user) -> QuerySet[MatchProposal]:
    """Introductions waiting for an answer from one of ``user``'s organizations (a
    user or a ``Viewer``): approved, that side has not answered, and no side declined
    (a declined one takes no more answers). Counted in the menu and listed in the
    workspace."""
    orgs = as_viewer(user).organization_ids
    if not orgs:
        return MatchProposal.objects.none()
    pending = MatchProposal.Answer.PENDING
    declined = MatchProposal.Answer.DECLINED
    return (
        MatchProposal.objects.filter(status=MatchProposal.Status.APPROVED)
        .filter(
            Q(supply__organization_id__in=orgs, supplier_answer=pending)
            | Q(demand__organization_id__in=orgs, receiver_answer=pending)
        )
        .exclude(supplier_answer=declined)
        .exclude(receiver_answer=declined)
        .order_by("-decided_at", "-pk")
    )
