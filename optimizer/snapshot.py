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
from django.utils import timezone

from optimizer import seasons
from optimizer.models import (
    INTO_PLANT_KINDS,
    PLANT_OUTPUT_KINDS,
    MatchProposal,
    OptimizationRun,
    PairRule,
    ProcessingPlant,
)
from symbiosis import impact, permits
from symbiosis.accounting import FactorTable, is_landfill_operator, treatment_of
from symbiosis.clearances import cleared_material_ids
from symbiosis.models import (
    CompatibilityRule,
    DemandListing,
    FactorSet,
    Material,
    SupplyListing,
)
from symbiosis.models.listings import Recurrence, Status

# The run's note counting imported-origin supplies left out for want of a clearance.
IMPORTED_ORIGIN_NOTE = "supplies_imported_origin_not_cleared"
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


def _factor_dict(factor: impact.Factor | None) -> dict | None:
    return None if factor is None else factor.to_dict()


def _rules_by_pair() -> dict[tuple[int, int], CompatibilityRule]:
    rules = CompatibilityRule.objects.select_related("use")
    return {(r.material_id, r.use_id): r for r in rules}


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


def supply_quality(s: SupplyListing) -> dict[str, float]:
    """A supply's measured properties as the candidate rules read them: the listing's
    own composition where it states it, else its material's typical moisture and C:N
    (``SupplyListing.effective_*``: the numbers the listing page shows)."""
    quality = {}
    for key, value in (
        ("moisture_percent", s.effective_moisture_percent),
        ("cn_ratio", s.effective_cn_ratio),
        ("contamination_percent", s.contamination_percent),
        ("particle_size_mm", s.particle_size_mm),
    ):
        if value is not None:
            quality[key] = float(value)
    return quality


def build_snapshot(
    *, factor_set: FactorSet, parameters: dict, supplies=None, demands=None, permit_day=None
) -> Snapshot:
    """Active listings (filtered by ``parameters``) and pair rules as an instance.

    A hazardous supply carries its national code, and each demand or plant the codes
    its organization holds a valid permit for on ``permit_day`` (default: today).

    ``supplies`` / ``demands`` (querysets) replace the active listings of that side:
    ``optimizer.reach`` builds a small instance around one listing this way, with
    every other rule of a run."""
    notes: Counter = Counter()
    # One factor set, read once: the same lookups a deal's page makes (symbiosis.accounting).
    table = FactorTable(factor_set)
    categories = set(parameters.get("categories") or [])
    cap_km = parameters.get("max_km_cap")

    plants = {p.intake_id: p for p in ProcessingPlant.objects.select_related("output__material")}
    plant_outputs = {p.output_id for p in plants.values() if p.output_id}
    supplies_qs = (
        _listings(SupplyListing, parameters) if supplies is None else supplies
    ).select_related("site", "material")
    if categories:
        supplies_qs = supplies_qs.filter(material__category__in=categories)
    supplies = []
    # Residues of imported origin are proposed only where a facilitator cleared their
    # material (symbiosis.clearances); the rest are counted in the run's notes.
    cleared = cleared_material_ids()
    for s in supplies_qs:
        if s.pk in plant_outputs:
            continue  # a plant's output is offered by its processor node
        if s.imported_origin and s.material_id not in cleared:
            notes[IMPORTED_ORIGIN_NOTE] += 1
            continue

        fate_factor = table.fate(s.material_id, s.fate)
        if fate_factor is None:
            # No factor for this fate: the residue still moves; the objective gets 0
            # for its avoided fate emissions and every proposal records that term as
            # not counted (never a silent zero in reports).
            notes["supplies_without_fate_factor"] += 1
        quality = supply_quality(s)
        supplies.append(
            {
                "id": str(s.pk),
                "lat": float(s.site.latitude),
                "lon": float(s.site.longitude),
                "material": s.material.slug,
                "tonnes": float(s.tonnes) * PERIODS_PER_YEAR[s.recurrence],
                "fate": s.fate,
                "fate_kg_co2e_per_t": fate_factor.kg_co2e_per_t if fate_factor else 0.0,
                # The accounting's own inputs (symbiosis.impact.score_flow); the
                # optimizer core reads the numbers above and ignores these.
                "fate_factor": _factor_dict(fate_factor),
                "fate_evidence": s.fate_evidence,
                "landfill_banned": s.material.landfill_banned,
                "max_km": _capped(s.max_km, cap_km),
                "available_from": _iso(s.available_from),
                "available_until": _iso(s.available_until),
                "fate_cost_kzt_per_t": _float(s.fate_cost_kzt_per_t) or 0.0,
                "quality": quality,
                "owner": str(s.organization_id),
            }
        )
        if s.material.needs_permit:
            supplies[-1]["hazardous_code"] = s.material.kz_code

    rules = _rules_by_pair()
    materials_by_use = _rule_materials_by_use()
    all_materials = Material.objects.in_bulk()
    offered = {s["material"] for s in supplies} | {
        p.output.material.slug for p in plants.values() if p.output_id
    }
    demands_qs = (
        (_listings(DemandListing, parameters) if demands is None else demands)
        .select_related("site", "organization")
        .prefetch_related(Prefetch("materials"), Prefetch("uses"))
    )
    demands, processors = [], []
    # Who may receive the hazardous codes on offer, valid today (symbiosis.permits): a
    # demand or plant of an organization without a permit gets none of them.
    hazardous_codes = {s["hazardous_code"] for s in supplies if "hazardous_code" in s}
    permitted = (
        permits.permitted_codes(
            organization_ids=set(demands_qs.values_list("organization_id", flat=True)),
            codes=hazardous_codes,
            day=permit_day or timezone.localdate(),
        )
        if hazardous_codes
        else {}
    )
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
            credit, _use = table.best_credit(
                rules[(material.pk, u)] for u in use_ids if (material.pk, u) in rules
            )
            if credit is None:
                notes["accepts_without_credit"] += 1
            limits = {}
            if d.max_moisture_percent is not None:
                limits["moisture_percent"] = {"max": float(d.max_moisture_percent)}
            if d.max_contamination_percent is not None:
                limits["contamination_percent"] = {"max": float(d.max_contamination_percent)}
            accept = {
                "material": material.slug,
                # The objective gets 0 for a credit that is not counted.
                "credit_kg_co2e_per_t": credit.kg_co2e_per_t if credit else 0.0,
                "credit_factor": _factor_dict(credit),
            }
            if limits:
                accept["quality_limits"] = limits
            accepts.append(accept)
        if not accepts:
            notes["demands_without_offered_material"] += 1
            continue
        if d.pk in plants:
            processors.append(_processor(d, plants[d.pk], accepts, cap_km, table))
            if d.organization_id in permitted:
                processors[-1]["permitted_codes"] = permitted[d.organization_id]
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
                "owner": str(d.organization_id),
                "landfill_operator": is_landfill_operator(d.organization),
            }
        )
        if d.organization_id in permitted:
            demands[-1]["permitted_codes"] = permitted[d.organization_id]

    supply_ids = {s["id"] for s in supplies}
    demand_ids = {d["id"] for d in demands}
    node_ids = {p["id"] for p in processors}
    # A rule on a plant's intake or output listing names the plant's node.
    output_node = {str(p.output_id): f"{PROCESSOR_PREFIX}{p.intake_id}" for p in plants.values()}
    pins, forbidden = [], []
    for rule in PairRule.objects.order_by("pk"):
        supply_id = output_node.get(str(rule.supply_id), str(rule.supply_id))
        demand_id = str(rule.demand_id)
        if f"{PROCESSOR_PREFIX}{demand_id}" in node_ids:
            demand_id = f"{PROCESSOR_PREFIX}{demand_id}"
        known_supply = supply_id in supply_ids or supply_id in node_ids
        known_demand = demand_id in demand_ids or demand_id in node_ids
        if not (known_supply and known_demand):
            notes["rules_outside_snapshot"] += 1
            continue
        pair = {"supply": supply_id, "demand": demand_id}
        if rule.kind == PairRule.Kind.FORBID:
            forbidden.append(pair)
        elif supply_id in node_ids or demand_id in node_ids:
            notes["pins_on_plants_not_applied"] += 1  # the optimizer pins direct arcs only
        else:
            pins.append({**pair, "tonnes": rule.tonnes})

    instance = {
        "parameters": solver_parameters(parameters, factor_set),
        "supplies": supplies,
        "demands": demands,
        "pins": pins,
        "forbidden": forbidden,
    }
    if processors:
        instance["processors"] = processors
    if parameters.get("periods_start"):  # a run by month (optimizer.seasons)
        seasons.add_periods(
            instance, notes, start=parameters["periods_start"], processor_prefix=PROCESSOR_PREFIX
        )
    return Snapshot(instance=instance, notes=notes)


PROCESSOR_PREFIX = "p"


def _processor(
    intake: DemandListing, plant: ProcessingPlant, accepts: list, cap_km, table: FactorTable
) -> dict:
    """A plant's intake listing as a processor node; its id is "p" + the intake's pk."""
    node = {
        "id": f"{PROCESSOR_PREFIX}{intake.pk}",
        "lat": float(intake.site.latitude),
        "lon": float(intake.site.longitude),
        "capacity_tonnes": float(intake.tonnes) * PERIODS_PER_YEAR[intake.recurrence],
        "treatment_kg_co2e_per_t": plant.treatment_kg_co2e_per_t,
        "treatment_factor": treatment_of(plant).to_dict(),
        "landfill_operator": is_landfill_operator(intake.organization),
        "accepts": accepts,
        "max_km": _capped(intake.max_km, cap_km),
        "available_from": _iso(intake.available_from),
        "available_until": _iso(intake.available_until),
        "owner": str(intake.organization_id),
    }
    if plant.output_id and plant.output_yield > 0:
        output = plant.output
        # What the output emits where it stays: its listing's fate, as a deal on it reads it.
        fate_factor = table.fate(output.material_id, output.fate)
        node["output"] = {
            "material": output.material.slug,
            "yield": plant.output_yield,
            "max_km": _capped(output.max_km, cap_km),
            "fate": output.fate,
            "fate_kg_co2e_per_t": fate_factor.kg_co2e_per_t if fate_factor else 0.0,
            "fate_factor": _factor_dict(fate_factor),
            "fate_evidence": output.fate_evidence,
            "landfill_banned": output.material.landfill_banned,
        }
    blend = {
        "cn_min": plant.cn_min,
        "cn_max": plant.cn_max,
        "moisture_max_percent": plant.moisture_max_percent,
    }
    blend = {k: v for k, v in blend.items() if v is not None}
    if blend:
        node["blend"] = blend
    return node


def solver_parameters(parameters: dict, factor_set: FactorSet) -> dict:
    keys = ("road_factor", "objective", "landfill_weight_kg_co2e_per_t", "time_limit_s", "mip_gap")
    out = {k: parameters[k] for k in keys if parameters.get(k) is not None}
    # Exchanges within one organization are internal reuse, proposed only when asked for.
    out["allow_internal"] = bool(parameters.get("allow_internal", False))
    out["transport_kg_co2e_per_tkm"] = float(factor_set.transport_kg_co2e_per_tkm)
    return out


def _factor(entry: dict, key: str, number_key: str) -> impact.Factor | None:
    """A factor of the stored instance; a snapshot from before the accounting kept
    only the number, which counted (0.0 included) as a published factor."""
    if key in entry:
        return impact.Factor.from_dict(entry[key])
    value = entry.get(number_key)
    return None if value is None else impact.Factor(float(value))


class SnapshotReader:
    """Scores a supply-demand pair of a stored instance document with
    ``symbiosis.impact.score_flow``: the inputs are the ones the snapshot took from
    the database (``symbiosis.accounting``), so a proposal's figures equal those of
    a deal between the same listings."""

    def __init__(self, instance: dict):
        self.transport = float(instance["parameters"]["transport_kg_co2e_per_tkm"])
        self.supplies = {s["id"]: s for s in instance["supplies"]}
        self.demands = {d["id"]: d for d in instance["demands"]}
        self.processors = {p["id"]: p for p in instance.get("processors", [])}
        self.accepts = {
            n["id"]: {a["material"]: a for a in n["accepts"]}
            for n in [*instance["demands"], *self.processors.values()]
        }

    def _credit(self, demand_id: str, material: str) -> impact.Factor | None:
        return _factor(self.accepts[demand_id][material], "credit_factor", "credit_kg_co2e_per_t")

    def _receiver(self, demand_id: str) -> dict:
        return self.demands.get(demand_id) or self.processors[demand_id]

    def score(self, supply_id, demand_id, *, tonnes: float, road_km: float) -> impact.FlowScore:
        """The breakdown of ``tonnes`` on one arc of any kind."""
        supply_id, demand_id = str(supply_id), str(demand_id)
        landfill_operator = bool(self._receiver(demand_id).get("landfill_operator", False))
        # A plant's output (to its user, or into another plant in a chain) is scored
        # like a supply of its material whose tonnes were counted on the way in.
        from_plant = supply_id in self.processors
        supply = self.processors[supply_id]["output"] if from_plant else self.supplies[supply_id]
        common = {
            "tonnes": tonnes,
            "road_km": road_km,
            "fate": supply.get("fate", "other"),
            "fate_factor": _factor(supply, "fate_factor", "fate_kg_co2e_per_t"),
            "credit": self._credit(demand_id, supply["material"]),
            "transport_kg_co2e_per_tkm": self.transport,
            "fate_evidence": supply.get("fate_evidence", ""),
            "landfill_banned": supply.get("landfill_banned", False),
            "receiver_is_landfill_operator": landfill_operator,
            "from_plant_output": from_plant,
        }
        if demand_id in self.processors:  # into a plant: a residue, or a chain
            node = self.processors[demand_id]
            output = node.get("output") or {}
            return impact.score_flow(
                **common,
                into_plant=True,
                treatment=_factor(node, "treatment_factor", "treatment_kg_co2e_per_t"),
                output_yield=output.get("yield", 0.0),
                output_fate_factor=_factor(output, "fate_factor", "fate_kg_co2e_per_t")
                if output
                else None,
            )
        return impact.score_flow(**common)

    # decisions.proposal_adjust re-scores a proposal by this name.
    impact = score


def apply_breakdown(proposal: MatchProposal, score: impact.FlowScore) -> MatchProposal:
    """A proposal's figures from its ``score_flow`` breakdown; a term not counted is
    None in its field and named in ``terms_not_counted``."""
    proposal.tonnes = score.tonnes
    proposal.road_km = score.road_km
    proposal.tonnes_category = score.category
    proposal.tonnes_diverted_from_landfill = score.tonnes_kept_out_of_landfill
    proposal.fate_kg_co2e_avoided = score.fate_kg_co2e_avoided
    proposal.transport_kg_co2e_added = score.transport_kg_co2e_added
    proposal.virgin_kg_co2e_avoided = score.virgin_kg_co2e_avoided
    proposal.treatment_kg_co2e_added = score.treatment_kg_co2e_added
    proposal.net_kg_co2e_saved = score.net_kg_co2e_saved
    proposal.net_published_kg_co2e = score.net_published_kg_co2e
    proposal.net_proxy_kg_co2e = score.net_proxy_kg_co2e
    proposal.net_low_kg_co2e = score.net_low_kg_co2e
    proposal.net_high_kg_co2e = score.net_high_kg_co2e
    proposal.terms_not_counted = list(score.not_counted)
    proposal.factor_refs = list(score.refs)
    return proposal


def proposals_from_solution(*, run: OptimizationRun, instance: dict, solution) -> list:
    """Unsaved MatchProposals, each with its impact.py breakdown.

    Reads only the stored instance document, so a run's proposals can be
    rebuilt from its snapshot alone (the parallel path does exactly that).
    """
    reader = SnapshotReader(instance)
    material_ids = dict(Material.objects.values_list("slug", "pk"))
    plants = {f"{PROCESSOR_PREFIX}{p.intake_id}": p for p in ProcessingPlant.objects.all()}
    proposals = []
    # By month: one proposal per pair, its months summed (optimizer.seasons).
    by_month = solution.periods is not None
    for flow in seasons.pair_flows(solution) if by_month else solution.flows:
        if flow.tonnes <= 0:
            continue
        breakdown = reader.score(flow.supply, flow.demand, tonnes=flow.tonnes, road_km=flow.road_km)
        kind = getattr(flow, "kind", "direct")
        if kind in PLANT_OUTPUT_KINDS:  # from a plant's output listing
            supply_id = plants[flow.supply].output_id
            material = reader.processors[flow.supply]["output"]["material"]
        else:
            supply_id = int(flow.supply)
            material = reader.supplies[flow.supply]["material"]
        into_plant = kind in INTO_PLANT_KINDS
        demand_id = plants[flow.demand].intake_id if into_plant else int(flow.demand)
        proposal = MatchProposal(
            run=run,
            kind=kind,
            supply_id=supply_id,
            demand_id=demand_id,
            material_id=material_ids[material],
            economic_value_kzt=flow.economic_value_kzt,
        )
        # Its instance node ids, not stored: the run's store account charges a
        # receiver's lost tonnes to one of the pairs into it (seasons.store_account).
        proposal.nodes = (flow.supply, flow.demand)
        if by_month:
            proposal.tonnes_by_period = flow.tonnes_by_period
            proposal.stock_by_period = flow.stock_by_period
            # Each month scored by the same function as the whole.
            proposal.kg_co2e_by_period = {
                period: reader.score(
                    flow.supply, flow.demand, tonnes=tonnes, road_km=flow.road_km
                ).net_kg_co2e_saved
                for period, tonnes in flow.tonnes_by_period.items()
            }
        proposals.append(apply_breakdown(proposal, breakdown))
    return proposals
