"""What a finished run adds up to, from its proposals: the headline by tonnes category
and CO2e tier (``accounting_totals``), internal reuse apart (``internal_totals``), and a
run by month net of its stores (``store_account``, ``net_of_stores``; docs/accounting.md
section 10). ``optimizer.services.run_finish`` stores them; the run page and the city
read them."""

from __future__ import annotations

from optimizer import seasons
from optimizer.models import PLANT_OUTPUT_KINDS, MatchProposal
from optimizer.snapshot import SnapshotReader
from symbiosis import impact
from symbiosis.models import DemandListing, SupplyListing


def owners_of(proposals: list[MatchProposal]) -> dict[str, dict[int, int]]:
    owners = {}
    for model, field in ((SupplyListing, "supply_id"), (DemandListing, "demand_id")):
        ids = {getattr(p, field) for p in proposals}
        owners[field] = dict(model.objects.filter(pk__in=ids).values_list("pk", "organization_id"))
    return owners


def is_internal(p: MatchProposal, owners: dict) -> bool:
    return owners["supply_id"][p.supply_id] == owners["demand_id"][p.demand_id]


def internal_totals(proposals: list[MatchProposal], *, owners: dict | None = None) -> dict:
    """Proposals, tonnes and CO2e of internal reuse: both listings of one organization.

    Tonnes leaving a supply (a plant's output adds none) and the net saving of
    every flow, as ``accounting_totals`` sums the exchanges between organizations.
    """
    owners = owners if owners is not None else owners_of(proposals)
    totals = {
        "proposals": 0,
        "tonnes_moved": 0.0,
        "landfill_tonnes_avoided": 0.0,
        "kg_co2e_saved": 0.0,
    }
    for p in proposals:
        if not is_internal(p, owners):
            continue
        totals["proposals"] += 1
        totals["kg_co2e_saved"] += p.net_kg_co2e_saved
        if p.kind not in PLANT_OUTPUT_KINDS:
            totals["tonnes_moved"] += p.tonnes
            totals["landfill_tonnes_avoided"] += p.tonnes_diverted_from_landfill
    return totals


def accounting_totals(proposals: list[MatchProposal], factor_set=None) -> dict:
    """The run's headline from its proposals' breakdowns: tonnes once, by category
    (a plant's output adds none), CO2e split by tier with its range, and how many
    proposals leave each term not counted. The run page and the city read these."""
    by_category = dict.fromkeys(impact.CATEGORIES, 0.0)
    not_counted = dict.fromkeys(impact.TERMS, 0)
    totals = {
        "kg_co2e_saved": 0.0,
        "kg_co2e_published": 0.0,
        "kg_co2e_proxy": 0.0,
        "kg_co2e_low": 0.0,
        "kg_co2e_high": 0.0,
    }
    for p in proposals:
        category = p.tonnes_category or impact.PUT_TO_USE
        by_category[category] += p.tonnes
        totals["kg_co2e_saved"] += p.net_kg_co2e_saved
        totals["kg_co2e_published"] += p.net_published_kg_co2e or 0.0
        totals["kg_co2e_proxy"] += p.net_proxy_kg_co2e or 0.0
        totals["kg_co2e_low"] += p.net_low_kg_co2e or 0.0
        totals["kg_co2e_high"] += p.net_high_kg_co2e or 0.0
        for term in p.terms_not_counted:
            not_counted[term] = not_counted.get(term, 0) + 1
    return {
        **totals,
        "tonnes_moved": sum(by_category[c] for c in impact.TONNES_COUNTED_CATEGORIES),
        "tonnes_by_category": by_category,
        "proposals_not_counting": {k: v for k, v in not_counted.items() if v},
        "factor_set": factor_set.version if factor_set else "",
    }


def store_account(proposals, solution, instance: dict, owners: dict) -> dict:
    """``seasons.store_account`` with the run's scoring (the snapshot's factors, at
    0 km: a lost tonne's transport was spent) and its split of internal reuse."""
    reader = SnapshotReader(instance)

    def score_lost(supply_node, demand_node, tonnes):
        return reader.score(supply_node, demand_node, tonnes=tonnes, road_km=0.0)

    return seasons.store_account(
        proposals, solution, instance, score_lost, lambda p: not is_internal(p, owners)
    )


def net_of_stores(accounting: dict, stores: dict) -> dict:
    """The headline of a run by month net of its stores (``seasons.STORE_TOTALS``):
    their emissions and the saving of what receivers' stores lose taken off the CO2e
    (emissions on a store factor's tier: published, else with the proxies and
    estimates; no range is known for them, so low and high both lose them), lost
    tonnes off the tonnes moved and their category. ``stores`` is kept beside it."""
    out = {**accounting, "tonnes_by_category": dict(accounting["tonnes_by_category"])}
    emitted = stores["kg_co2e_emitted"]
    out["kg_co2e_saved"] -= emitted + stores["lost_kg_co2e"]
    out["kg_co2e_published"] -= (
        stores["kg_co2e_emitted_published"] + stores["lost_published_kg_co2e"]
    )
    out["kg_co2e_proxy"] -= stores["kg_co2e_emitted_estimated"] + stores["lost_proxy_kg_co2e"]
    out["kg_co2e_low"] -= emitted + stores["lost_high_kg_co2e"]
    out["kg_co2e_high"] -= emitted + stores["lost_low_kg_co2e"]
    for category, tonnes in stores["lost_tonnes_by_category"].items():
        out["tonnes_by_category"][category] -= tonnes
    out["tonnes_moved"] -= stores["lost_tonnes_counted"]
    out["stores"] = dict(stores)
    return out
