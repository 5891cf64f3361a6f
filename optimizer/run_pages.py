"""What the run page shows above its proposals: the summary in plain words and the map.

``run_detail_extras`` is the one call the run page's view makes; the partial
``_run_summary.html`` reads what it returns, and ``_run_map.html`` is rendered
here (``run_map_html``, cached).
"""

from __future__ import annotations

import math

from django.conf import settings
from django.db.models import Count, F, FloatField, Max, Q, Sum
from django.db.models.functions import Cast
from django.template.loader import render_to_string
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _

from optimizer import labels
from optimizer.models import AuditEntry, MatchProposal, OptimizationRun
from symbiosis import data_versions, geo, impact, visibility
from symbiosis.models import DemandListing, Material, Organization, SupplyListing
from symbiosis.models.accounts import District
from symbiosis.numbers import number_text, separators

# The side list beside the map, before (and without) JavaScript: the largest ones.
MAP_LIST_SHOWN = 50
# Lines coloured by material: this many colours (static/optimizer/run_map.js and the
# swatches in site.css use the same list); past them, the smallest materials share
# grey (colour number MAP_COLOURS).
MAP_COLOURS = 12


def run_detail_extras(run: OptimizationRun, user, *, request=None) -> dict:
    viewer = visibility.viewer_for(user)
    return {**run_summary_context(run), "run_map_html": run_map_html(run, viewer, request=request)}


def run_map_html(run: OptimizationRun, viewer: visibility.Viewer, *, request=None) -> str:
    """The map section (``_run_map.html``), from the cache where it can be.

    A facilitator sees every end exactly and a city analyst none (cells only),
    whoever they are: their maps are cached per run, language and data
    version. The version is the run's last decision (every change to a
    proposal writes one, ``decisions._audit``) and the parties' data version
    (names, sites: ``symbiosis.data_versions``); building the map of 900
    proposals was a third of the run page's cost.
    """

    def render() -> str:
        context = {**run_map_context(run, viewer), "is_facilitator": viewer.is_facilitator}
        return render_to_string("optimizer/_run_map.html", context, request=request)

    if run.status != OptimizationRun.Status.SUCCEEDED:
        return ""
    if viewer.is_facilitator:
        exact = "exact"
    elif not viewer.reads_company_data:
        exact = "cells"
    else:
        return render()  # what a company may see depends on who it is
    decided = AuditEntry.objects.filter(run=run).aggregate(last=Max("id"))["last"] or 0
    (parties,) = data_versions.data_versions(data_versions.PARTIES)
    key = f"run-map:{run.pk}:{get_language()}:{exact}:{decided}:{parties}"
    return data_versions.cached(key, render)


# --- the summary ------------------------------------------------------------------------


def _t(kg: float | None, seps) -> str:
    """kg -> tonnes, grouped, no decimals."""
    return "" if kg is None else number_text(kg / 1000, 0, seps=seps)


def _pricing_facts(pricing: dict | None, seps) -> dict | None:
    """A priced run's proof in numbers for its summary (optimizer.pricing): pairs
    estimated within reach (two significant digits: an estimate), tested, rounds."""
    if not pricing or not pricing.get("used"):
        return None
    estimated = float(pricing.get("estimated_arcs") or 0.0)
    if estimated > 0:
        digits = math.floor(math.log10(estimated)) - 1
        estimated = round(estimated, -digits)
    # Groups of a run priced in parts whose lots or plants had every pair listed.
    listed = [
        g
        for g in pricing.get("groups", [])
        if not g.get("used")
        and ("lots" in g.get("reason", "") or "processors" in g.get("reason", ""))
    ]
    return {
        "listed_groups": len(listed),
        "proven": bool(pricing.get("proven")),
        "rounds": int(pricing.get("rounds") or 0),
        "estimated": number_text(estimated, 0, seps=seps),
        "tested": number_text(float(pricing.get("pairs_priced") or 0), 0, seps=seps),
    }


def run_summary_context(run: OptimizationRun) -> dict:
    """The run's facts in words, and its CO2e taken apart term by term.

    The headline nets what the proposals avoid (their supplies' current fates),
    what they substitute (virgin material the receivers no longer produce) and
    what they add (plants' treatment, trucking): shown apart, each with its
    basis, so a net larger than the baseline of the current fates reads right.
    Internal reuse is left out, as in the run's totals (``services.run_finish``).
    """
    summary = {
        "objective": labels.objective_label(run.parameters.get("objective", "")),
        "scope": labels.scope_phrases(run.parameters, organization_names([run])),
        "solver": labels.solver_label(run.solver),
        "quality": labels.quality_label(run.solver_status, run.gap),
    }
    if run.status != OptimizationRun.Status.SUCCEEDED:
        return {"summary": summary}
    seps = separators()
    summary["pricing"] = _pricing_facts(run.stats.get("pricing"), seps)
    exchanges = run.proposals.exclude(supply__organization_id=F("demand__organization_id"))
    sums = exchanges.aggregate(
        n=Count("pk"),
        fate=Sum("fate_kg_co2e_avoided"),
        virgin=Sum("virgin_kg_co2e_avoided"),
        treatment=Sum("treatment_kg_co2e_added"),
        transport=Sum("transport_kg_co2e_added"),
        net=Sum("net_kg_co2e_saved"),
        plants=Count("pk", filter=Q(kind="to_processor")),
    )
    accounting = run.stats.get("accounting") or {}
    not_counted = accounting.get("proposals_not_counting", {})
    fate, virgin = sums["fate"] or 0.0, sums["virgin"] or 0.0
    treatment, transport = sums["treatment"] or 0.0, sums["transport"] or 0.0
    net = sums["net"] or 0.0
    # What a plant's output emits while it waits for a user is not stored per
    # proposal: it is what the net holds beyond the four stored terms.
    output_fate = net - (fate + virgin - treatment - transport)
    terms = [
        {
            "key": impact.FATE,
            "saved": fate,
            "label": _("Current fates' emissions avoided"),
            "basis": _(
                "What the supplies' current fates (landfill, open dump, burning, storage) "
                "would emit: each supply's fate factor per tonne, for the tonnes proposed."
            ),
            "anchor": "factors",
            "not_counted": not_counted.get(impact.FATE, 0),
        },
        {
            "key": impact.VIRGIN,
            "saved": virgin,
            "label": _("Virgin material replaced (credits)"),
            "basis": _(
                "The production of new material the receivers no longer need: the best "
                "known credit among each receiver's uses of the material."
            ),
            "anchor": "factors",
            "not_counted": not_counted.get(impact.VIRGIN, 0),
        },
    ]
    if sums["plants"] or treatment:
        terms.append(
            {
                "key": impact.TREATMENT,
                "saved": -treatment,
                "label": _("Treatment at compost and digestion plants"),
                "basis": _(
                    "Each plant's own process, per tonne taken in (a plus where the "
                    "process keeps more out of the air than it emits)."
                ),
                "anchor": "factors",
                "not_counted": not_counted.get(impact.TREATMENT, 0),
            }
        )
    if abs(output_fate) >= 500 or not_counted.get(impact.OUTPUT_FATE):
        terms.append(
            {
                "key": impact.OUTPUT_FATE,
                "saved": output_fate,
                "label": _("Plants' output waiting for a user"),
                "basis": _("What a plant's output emits where it stays until someone uses it."),
                "anchor": "factors",
                "not_counted": not_counted.get(impact.OUTPUT_FATE, 0),
            }
        )
    terms.append(
        {
            "key": impact.TRANSPORT,
            "saved": -transport,
            "label": _("Trucking"),
            "basis": _(
                "Road km (straight-line km times the road factor) times the tonnes "
                "times the factor set's transport factor per tonne-km."
            ),
            "anchor": "factors",
            "not_counted": 0,
        }
    )
    stores = accounting.get("stores")
    if stores and (stores["kg_co2e_emitted"] or stores["lost_tonnes"]):
        # A run by month: what its stores emit and lose, node-level (shared by the
        # proposals into a store), so one run-level line; the net below is after it.
        store_kg = stores["kg_co2e_emitted"] + stores["lost_kg_co2e"]
        net -= store_kg
        terms.append(
            {
                "key": "stores",
                "saved": -store_kg,
                "label": _("Stores between months (estimated)"),
                "basis": _(
                    "What material held in stores from one month to the next emits "
                    "(%(emitted)s t, on estimated factors unless a material states its "
                    "own), and the saving of the %(lost)s t that receivers' stores lose "
                    "before use (%(lost_co2e)s t): those tonnes are not counted as moved."
                )
                % {
                    "emitted": _t(stores["kg_co2e_emitted"], seps),
                    "lost": _t(stores["lost_tonnes"] * 1000, seps),
                    "lost_co2e": _t(stores["lost_kg_co2e"], seps),
                },
                "anchor": "factors",
                "not_counted": 0,
            }
        )
    for term in terms:
        # Each term as what it adds to the net saving: a plus saves, a minus emits.
        term["sign"] = "−" if term["saved"] < 0 else "+"
        term["t"] = _t(abs(term["saved"]), seps)
    baseline = run.baseline_kg_co2e
    summary.update(
        {
            "terms": terms,
            "net_t": _t(net, seps),
            "published_t": _t(accounting.get("kg_co2e_published"), seps),
            "proxy_t": _t(accounting.get("kg_co2e_proxy"), seps),
            "low_t": _t(accounting.get("kg_co2e_low"), seps),
            "high_t": _t(accounting.get("kg_co2e_high"), seps),
            "has_accounting": bool(accounting),
            "baseline_t": _t(baseline, seps),
            "landfill_weight": run.parameters.get("landfill_weight_kg_co2e_per_t") or 0,
            # The share of the current fates' emissions the proposals avoid: this,
            # not the net, is what compares with the baseline.
            "fate_share": labels.percent_text(fate / baseline) if baseline and fate > 0 else "",
        }
    )
    return {"summary": summary}


def organization_names(runs) -> dict[int, str]:
    ids = {i for run in runs for i in run.parameters.get("organization_ids") or []}
    if not ids:
        return {}
    return dict(Organization.objects.filter(pk__in=ids).values_list("pk", "name"))


# --- the map ------------------------------------------------------------------------------

_DISTRICTS = dict(District.choices)
# What the map reads of a listing at either end of a proposal.
_END_FIELDS = (
    "id",
    "organization_id",
    "status",
    "visibility",
    "site_id",
    "lat",
    "lon",
    "site__district",
    "site__name",
    "organization__name",
)


def _ends(model, ids) -> dict[int, tuple]:
    """The listings at one end of the run's proposals; ``ids`` is a subquery (a list
    of 900 ids cost more to send as parameters than the query did to run)."""
    rows = (
        model.objects.filter(pk__in=ids)
        # Floats from the database: no Decimal per coordinate.
        .annotate(
            lat=Cast("site__latitude", FloatField()), lon=Cast("site__longitude", FloatField())
        )
        .values_list(*_END_FIELDS)
    )
    return {row[0]: row for row in rows}


def run_map_context(run: OptimizationRun, viewer: visibility.Viewer) -> dict:
    """One line per proposal, coloured by material, between its two ends.

    An end is the listing's site where the viewer may see whose it is
    (``symbiosis.visibility``: facilitators always), else the centre of the site's
    coarse grid cell named by its district, as the city's map draws exchanges.
    Compact for thousands of proposals: each end is listed once, and a line is
    ``[id, material id, tonnes, road km, start, end, status]`` (indexes into the
    ends; the status as ``statuses`` words it: a facilitator sees on the map
    what is still to decide).
    """
    if run.status != OptimizationRun.Status.SUCCEEDED:
        return {}
    rows = list(
        run.proposals.order_by("-tonnes", "pk").values_list(
            "pk", "material_id", "tonnes", "road_km", "supply_id", "demand_id", "status"
        )
    )
    if not rows:
        return {}
    listings = {
        "supply": _ends(SupplyListing, run.proposals.values("supply_id")),
        "demand": _ends(DemandListing, run.proposals.values("demand_id")),
    }
    shown = _ends_shown(viewer, listings)
    seps = separators()
    points: dict[tuple, int] = {}
    sites: list[dict] = []
    end_of: dict[tuple[str, int], int] = {}

    def end_index(kind: str, listing_id: int) -> int:
        if (kind, listing_id) in end_of:
            return end_of[kind, listing_id]
        _id, _org, _status, _vis, site_id, lat, lon, district, site, org = listings[kind][
            listing_id
        ]
        if shown[kind].get(listing_id, False):
            key, point, label = ("site", site_id), (lat, lon), f"{org}: {site}"
        else:
            point = geo.coarse(lat, lon)
            key = ("cell", *point)
            label = _("an area of %(district)s") % {"district": _DISTRICTS.get(district, district)}
        if key not in points:
            points[key] = len(sites)
            sites.append({"lat": point[0], "lon": point[1], "label": str(label)})
        end_of[kind, listing_id] = points[key]
        return points[key]

    by_material: dict[int, float] = {}
    lines = []
    for pk, material_id, tonnes, road_km, supply_id, demand_id, status in rows:
        by_material[material_id] = by_material.get(material_id, 0.0) + tonnes
        lines.append(
            [
                pk,
                material_id,
                round(tonnes, 3),
                round(road_km, 1),
                end_index("supply", supply_id),
                end_index("demand", demand_id),
                status,
            ]
        )
    names = {m.pk: m.name for m in Material.objects.filter(pk__in=by_material)}
    order = sorted(by_material, key=lambda m: (-by_material[m], names.get(m, "")))
    colour = {m: min(i, MAP_COLOURS) for i, m in enumerate(order)}
    materials = [
        {
            "id": m,
            "name": names.get(m, ""),
            "c": colour[m],
            "t": number_text(by_material[m], 0, seps=seps),
        }
        for m in order
    ]
    statuses = {
        # The words of the results table (templates/optimizer/_proposal_row.html).
        MatchProposal.Status.PROPOSED: pgettext("proposal status: not decided yet", "open"),
        MatchProposal.Status.APPROVED: _("approved"),
        MatchProposal.Status.REJECTED: _("rejected"),
    }
    listed = [
        {
            "id": pk,
            "material": names.get(m, ""),
            "colour": colour[m],
            "tonnes": number_text(t, 1, seps=seps),
            "km": number_text(km, 1, grouping=False, seps=seps),
            "from": sites[a]["label"],
            "to": sites[b]["label"],
            "status": statuses[status],
            "decided": status != MatchProposal.Status.PROPOSED,
        }
        for pk, m, t, km, a, b, status in lines[:MAP_LIST_SHOWN]
    ]
    return {
        "run_map": {
            "data": {
                "materials": materials,
                "sites": sites,
                "lines": lines,
                "statuses": {str(k): v for k, v in statuses.items()},
            },
            "listed": listed,
            "total": len(lines),
            "shown": len(listed),
            "tile_url": getattr(settings, "MAP_TILE_URL", ""),
            "exact": viewer.is_facilitator,
        }
    }


def _ends_shown(viewer: visibility.Viewer, listings: dict) -> dict[str, dict[int, bool]]:
    """For each listing at an end, whether its site may be shown (the owner known)."""
    if viewer.is_facilitator:
        return {kind: dict.fromkeys(rows, True) for kind, rows in listings.items()}
    shown: dict[str, dict[int, bool]] = {"supply": {}, "demand": {}}
    if not viewer.reads_company_data:
        return shown
    for kind, model in (("supply", SupplyListing), ("demand", DemandListing)):
        introduced = visibility.introduced_listing_ids(viewer=viewer, model=model)
        for listing_id, org_id, status, vis, *_rest in listings[kind].values():
            listing = model(pk=listing_id, organization_id=org_id, status=status, visibility=vis)
            shown[kind][listing_id] = visibility.listing_visible(
                user=viewer, listing=listing
            ) and not visibility.listing_hides_owner(
                user=viewer, listing=listing, introduced_ids=introduced
            )
    return shown


def with_scope(runs) -> None:
    """Each run of a list gets ``scope``: its limits in words ("biomass only")."""
    runs = list(runs)
    names = organization_names(runs)
    for run in runs:
        run.scope = labels.scope_phrases(run.parameters, names)
