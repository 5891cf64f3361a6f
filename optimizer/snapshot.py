"""The one place that turns the database into an optimizer instance, and a
solution back into proposals. Everything else in optimizer/ core stays pure.

Horizon: one year. A listing's tonnes per period become tonnes in the horizon
(per month x 12, per year x 1, a one-off batch as it is).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Prefetch

from optimizer.models import MatchProposal, OptimizationRun, PairRule
from symbiosis import impact
from symbiosis.models import (
    CompatibilityRule,
    DemandListing,
    EmissionFactor,
    FactorSet,
    Material,
    SupplyListing,
)
from symbiosis.models.listings import Recurrence, Status

PERIODS_PER_YEAR = {Recurrence.ONCE: 1, Recurrence.MONTHLY: 12, Recurrence.YEARLY: 1}


@dataclass
class Snapshot:
    """An instance document plus what the database side needs to read its result."""

    instance: dict
    # Counts of what was left out or not counted, e.g. supplies without a fate factor.
    notes: Counter = field(default_factory=Counter)

    @property
    def sha256(self) -> str:
        return instance_sha256(self.instance)


def instance_sha256(instance: dict) -> str:
    canonical = json.dumps(instance, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _float(value) -> float | None:
    return None if value is None else float(value)


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _capped(max_km, cap_km):
    values = [float(v) for v in (max_km, cap_km) if v is not None]
    return min(values) if values else None


def _factor_table(factor_set: FactorSet) -> dict[tuple[int, str], float]:
    rows = EmissionFactor.objects.filter(factor_set=factor_set).values_list(
        "material_id", "kind", "kg_co2e_per_t"
    )
    return {(m, k): float(v) for m, k, v in rows}


def _rule_credits() -> dict[tuple[int, int], float | None]:
    rows = CompatibilityRule.objects.values_list("material_id", "use_id", "credit_kg_co2e_per_t")
    return {(m, u): _float(c) for m, u, c in rows}


def _rule_materials_by_use() -> dict[int, set[int]]:
    by_use: dict[int, set[int]] = {}
    for material_id, use_id in CompatibilityRule.objects.values_list("material_id", "use_id"):
        by_use.setdefault(use_id, set()).add(material_id)
    return by_use


def _listings(model, parameters: dict):
    qs = model.objects.filter(status=Status.ACTIVE).select_related("site").order_by("pk")
    if parameters.get("districts"):
        qs = qs.filter(site__district__in=parameters["districts"])
    if parameters.get("organization_ids"):
        qs = qs.filter(organization_id__in=parameters["organization_ids"])
    return qs


def build_snapshot(*, factor_set: FactorSet, parameters: dict) -> Snapshot:
    """Active listings (filtered by ``parameters``) and pair rules as an instance."""
    notes: Counter = Counter()
    factors = _factor_table(factor_set)
    categories = set(parameters.get("categories") or [])
    cap_km = parameters.get("max_km_cap")

    supplies_qs = _listings(SupplyListing, parameters).select_related("material")
    if categories:
        supplies_qs = supplies_qs.filter(material__category__in=categories)
    supplies = []
    for s in supplies_qs:
        fate_factor = factors.get((s.material_id, s.fate))
        if fate_factor is None:
            # No factor for this fate: the residue still moves, but its avoided
            # fate emissions are not counted (never a silent zero in reports).
            notes["supplies_without_fate_factor"] += 1
        moisture = (
            s.moisture_percent if s.moisture_percent is not None else (s.material.moisture_percent)
        )
        quality = {}
        if moisture is not None:
            quality["moisture_percent"] = float(moisture)
        if s.contamination_percent is not None:
            quality["contamination_percent"] = float(s.contamination_percent)
        supplies.append(
            {
                "id": str(s.pk),
                "lat": float(s.site.latitude),
                "lon": float(s.site.longitude),
                "material": s.material.slug,
                "tonnes": float(s.tonnes) * PERIODS_PER_YEAR[s.recurrence],
                "fate": s.fate,
                "fate_kg_co2e_per_t": fate_factor or 0.0,
                "max_km": _capped(s.max_km, cap_km),
                "available_from": _iso(s.available_from),
                "available_until": _iso(s.available_until),
                "fate_cost_kzt_per_t": _float(s.fate_cost_kzt_per_t) or 0.0,
                "quality": quality,
            }
        )

    credits = _rule_credits()
    materials_by_use = _rule_materials_by_use()
    all_materials = Material.objects.in_bulk()
    offered = {s["material"] for s in supplies}
    demands_qs = _listings(DemandListing, parameters).prefetch_related(
        Prefetch("materials"), Prefetch("uses")
    )
    demands = []
    for d in demands_qs:
        use_ids = [u.pk for u in d.uses.all()]
        explicit = {m.pk: m for m in d.materials.all()}
        accepted_ids = set(explicit) or set().union(
            *(materials_by_use.get(u, set()) for u in use_ids)
        )
        accepted = explicit or {pk: all_materials[pk] for pk in accepted_ids}
        accepts = []
        for material in sorted(accepted.values(), key=lambda m: m.slug):
            if categories and material.category not in categories:
                continue
            if material.slug not in offered:
                continue
            known = [credits[(material.pk, u)] for u in use_ids if (material.pk, u) in credits]
            known = [c for c in known if c is not None]
            if not known:
                notes["accepts_without_credit"] += 1
            credit = max(known) if known else 0.0
            limits = {}
            if d.max_moisture_percent is not None:
                limits["moisture_percent"] = {"max": float(d.max_moisture_percent)}
            if d.max_contamination_percent is not None:
                limits["contamination_percent"] = {"max": float(d.max_contamination_percent)}
            accept = {"material": material.slug, "credit_kg_co2e_per_t": credit}
            if limits:
                accept["quality_limits"] = limits
            accepts.append(accept)
        if not accepts:
            notes["demands_without_offered_material"] += 1
            continue
        lot = d.min_lot_tonnes if d.min_lot_tonnes is not None else parameters.get("min_lot_tonnes")
        demands.append(
            {
                "id": str(d.pk),
                "lat": float(d.site.latitude),
                "lon": float(d.site.longitude),
                "tonnes": float(d.tonnes) * PERIODS_PER_YEAR[d.recurrence],
                "max_km": _capped(d.max_km, cap_km),
                "min_lot_tonnes": _float(lot),
                "needed_from": _iso(d.available_from),
                "needed_until": _iso(d.available_until),
                "accepts": accepts,
            }
        )

    supply_ids = {s["id"] for s in supplies}
    demand_ids = {d["id"] for d in demands}
    pins, forbidden = [], []
    for rule in PairRule.objects.order_by("pk"):
        pair = (str(rule.supply_id), str(rule.demand_id))
        if pair[0] not in supply_ids or pair[1] not in demand_ids:
            notes["rules_outside_snapshot"] += 1
            continue
        if rule.kind == PairRule.Kind.PIN:
            pins.append({"supply": pair[0], "demand": pair[1], "tonnes": rule.tonnes})
        else:
            forbidden.append({"supply": pair[0], "demand": pair[1]})

    instance = {
        "parameters": solver_parameters(parameters, factor_set),
        "supplies": supplies,
        "demands": demands,
        "pins": pins,
        "forbidden": forbidden,
    }
    return Snapshot(instance=instance, notes=notes)


def solver_parameters(parameters: dict, factor_set: FactorSet) -> dict:
    keys = ("road_factor", "objective", "landfill_weight_kg_co2e_per_t", "time_limit_s", "mip_gap")
    out = {k: parameters[k] for k in keys if parameters.get(k) is not None}
    out["transport_kg_co2e_per_tkm"] = float(factor_set.transport_kg_co2e_per_tkm)
    return out


def proposals_from_solution(*, run: OptimizationRun, instance: dict, solution) -> list:
    """Unsaved MatchProposals, each with its impact.py breakdown.

    Reads only the stored instance document, so a run's proposals can be
    rebuilt from its snapshot alone (the parallel path does exactly that).
    """
    transport = float(instance["parameters"]["transport_kg_co2e_per_tkm"])
    supplies = {s["id"]: s for s in instance["supplies"]}
    credits = {
        d["id"]: {a["material"]: a.get("credit_kg_co2e_per_t", 0.0) for a in d["accepts"]}
        for d in instance["demands"]
    }
    material_ids = dict(Material.objects.values_list("slug", "pk"))
    proposals = []
    for flow in solution.flows:
        if flow.tonnes <= 0:
            continue
        supply = supplies[flow.supply]
        breakdown = impact.exchange_impact(
            tonnes=flow.tonnes,
            road_km=flow.road_km,
            fate=supply["fate"],
            fate_kg_co2e_per_t=supply["fate_kg_co2e_per_t"],
            credit_kg_co2e_per_t=credits[flow.demand][supply["material"]],
            transport_kg_co2e_per_tkm=transport,
        )
        proposals.append(
            MatchProposal(
                run=run,
                supply_id=int(flow.supply),
                demand_id=int(flow.demand),
                material_id=material_ids[supply["material"]],
                tonnes=breakdown.tonnes,
                road_km=breakdown.road_km,
                tonnes_diverted_from_landfill=breakdown.tonnes_diverted_from_landfill,
                fate_kg_co2e_avoided=breakdown.fate_kg_co2e_avoided,
                transport_kg_co2e_added=breakdown.transport_kg_co2e_added,
                virgin_kg_co2e_avoided=breakdown.virgin_kg_co2e_avoided,
                net_kg_co2e_saved=breakdown.net_kg_co2e_saved,
                economic_value_kzt=flow.economic_value_kzt,
            )
        )
    return proposals
