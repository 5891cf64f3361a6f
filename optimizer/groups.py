"""Material groups: an instance split into independent sub-instances, and their
solutions merged back into one.

Two listings can only be joined by an arc of a material both name, and a demand's
tonnes (or a plant's capacity) are shared among the materials it accepts; so the
materials fall into groups (union-find: each demand, plant and pin unions the
materials it touches) with no arc and no shared row between groups. Each group's
optimum is found on its own and the instance's optimum is their sum
(tests/optimizer/test_groups.py checks it against linprog on all arcs).

A priced run (``optimizer.orchestrate.solve``) solves group by group, or a Celery
chord one task per group (``optimizer.services``), holding one group's arcs at a
time. Ids are the instance's, so the groups' flows merge without renaming.
Instances with periods are split by their own model (``optimizer.period_problem``)."""

from __future__ import annotations

import dataclasses
import time

from optimizer.instance import Instance, Solution
from optimizer.problem import STATUS_RANK


class _Sets:
    """Union-find over material names."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, m: str) -> str:
        self.parent.setdefault(m, m)
        root = m
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[m] != root:  # path compression
            self.parent[m], m = root, self.parent[m]
        return root

    def union(self, materials) -> None:
        materials = list(materials)
        for m in materials[1:]:
            a, b = self.find(materials[0]), self.find(m)
            if a != b:
                self.parent[max(a, b)] = min(a, b)  # the root is the smallest name


def material_groups(instance: Instance) -> list[Instance]:
    """The instance as independent sub-instances with its own ids and parameters; in
    the order of their first supply, the listings that can take part in no arc (a
    material nobody accepts, a demand for a material nobody offers) in one last group."""
    if instance.seasons is not None:
        raise ValueError("an instance with periods is split by optimizer.period_problem")
    sets = _Sets()
    for s in instance.supplies:
        sets.find(s.material)
    for d in instance.demands:
        sets.union(a.material for a in d.accepts)
    for p in instance.processors:
        sets.union([a.material for a in p.accepts] + ([p.output.material] if p.output else []))
    supply_of = {s.id: s for s in instance.supplies}
    demand_of = {d.id: d for d in instance.demands}
    for pin in instance.pins:
        # A pin whose demand does not take its material stays with it, so that the
        # group's run says why it cannot hold, as the whole run would.
        accepts = [a.material for a in demand_of[pin.demand].accepts]
        sets.union([supply_of[pin.supply].material, *accepts])

    def root(materials) -> str:
        return sets.find(next(iter(materials)))

    supplies: dict[str, list] = {}
    demands: dict[str, list] = {}
    processors: dict[str, list] = {}
    for s in instance.supplies:
        supplies.setdefault(root([s.material]), []).append(s)
    for d in instance.demands:
        if d.accepts:
            demands.setdefault(root(a.material for a in d.accepts), []).append(d)
    for p in instance.processors:
        processors.setdefault(root([a.material for a in p.accepts] or [p.id]), []).append(p)
    idle = [d for d in instance.demands if not d.accepts]

    live, rest = [], {"supplies": [], "demands": idle, "processors": []}
    for key in dict.fromkeys([*supplies, *demands, *processors]):
        part = {
            "supplies": supplies.get(key, []),
            "demands": demands.get(key, []),
            "processors": processors.get(key, []),
        }
        if part["supplies"] and (part["demands"] or part["processors"]):
            live.append(part)
        else:  # no arc can form in it; merged, since any union of groups is independent
            for name, items in part.items():
                rest[name] += items
    if any(rest.values()):
        live.append(rest)
    return [_sub_instance(instance, part) for part in live]


def _sub_instance(instance: Instance, part: dict) -> Instance:
    # The instance's own order within the group: the same arcs, in the same order.
    order_s, order_d = instance.supply_index, instance.demand_index
    order_p = instance.processor_index
    supplies = tuple(sorted(part["supplies"], key=lambda s: order_s[s.id]))
    demands = tuple(sorted(part["demands"], key=lambda d: order_d[d.id]))
    processors = tuple(sorted(part["processors"], key=lambda p: order_p[p.id]))
    ids = {x.id for x in (*supplies, *demands, *processors)}
    return dataclasses.replace(
        instance,
        supplies=supplies,
        demands=demands,
        processors=processors,
        pins=tuple(p for p in instance.pins if p.supply in ids and p.demand in ids),
        forbidden=tuple(f for f in instance.forbidden if f.supply in ids and f.demand in ids),
    )


def describe(group: Instance) -> dict:
    """What a group's solution records of it (``stats["group"]``)."""
    materials = {s.material for s in group.supplies}
    materials |= {a.material for d in (*group.demands, *group.processors) for a in d.accepts}
    return {
        "supplies": len(group.supplies),
        "demands": len(group.demands),
        "processors": len(group.processors),
        "materials": len(materials),
    }


def pair_count(instance: Instance, *, plants: bool = True) -> int:
    """Supply-demand pairs agreeing on the material (with ``plants``, a plant counts
    as both): a group's size for ordering the groups and sharing the time, and a cheap
    upper bound on the direct arcs (``plants=False``), counted without the arcs."""
    offered: dict[str, int] = {}
    for s in instance.supplies:
        offered[s.material] = offered.get(s.material, 0) + 1
    processors = instance.processors if plants else ()
    for p in processors:
        if p.output is not None:
            offered[p.output.material] = offered.get(p.output.material, 0) + 1
    sinks = (*instance.demands, *processors)
    return sum(offered.get(a.material, 0) for d in sinks for a in d.accepts)


def merge(instance: Instance, solutions: list[Solution], started: float | None = None) -> Solution:
    """The groups' solutions (``material_groups(instance)``, in any order) as the
    instance's: flows in its supply then demand order, the worst status, objective,
    baseline and bound summed, the gap from the summed bounds; stats summed, the
    pricing figures per group and in total (``_pricing_totals``)."""
    stats = _merged_stats(solutions, started)
    baseline = sum(s.baseline_kg_co2e for s in solutions)
    if any(s.status == "infeasible" for s in solutions):
        messages = [s.message for s in solutions if s.status == "infeasible" and s.message]
        return Solution.infeasible(
            baseline_kg_co2e=baseline, stats=stats, message="; ".join(messages)
        )
    sources, sinks = instance.source_index, instance.sink_index
    flows = sorted(
        (f for s in solutions for f in s.flows), key=lambda f: (sources[f.supply], sinks[f.demand])
    )
    saving = sum(s.baseline_kg_co2e - s.objective_kg_co2e for s in solutions)
    bound_saving = max(sum(s.baseline_kg_co2e - s.bound_kg_co2e for s in solutions), saving)
    gap_abs = bound_saving - saving
    gap = 0.0 if gap_abs <= 1e-9 * max(1.0, abs(saving)) else gap_abs / max(abs(saving), 1e-9)
    messages = [s.message for s in solutions if s.message]
    processors = None
    if instance.processors:
        by_id = {p["id"]: p for s in solutions for p in s.processors or []}
        processors = [by_id[p.id] for p in instance.processors if p.id in by_id]
    return Solution(
        status=max((s.status for s in solutions), key=STATUS_RANK.__getitem__, default="optimal"),
        objective_kg_co2e=baseline - saving,
        baseline_kg_co2e=baseline,
        saved_kg_co2e=sum(s.saved_kg_co2e for s in solutions),
        tonnes_moved=sum(s.tonnes_moved for s in solutions),
        landfill_tonnes_avoided=sum(s.landfill_tonnes_avoided for s in solutions),
        bound_kg_co2e=baseline - bound_saving,
        gap=gap,
        flows=flows,
        stats=stats,
        message="; ".join(dict.fromkeys(messages)) or None,
        processors=processors,
    )


def _merged_stats(solutions: list[Solution], started: float | None) -> dict:
    stats = [s.stats for s in solutions]
    seconds = [s["seconds"] for s in stats]
    return {
        **{k: sum(s[k] for s in stats) for k in ("arcs", "candidate_arcs", "components")},
        **{k: sum(s[k] for s in stats) for k in ("variables", "binaries")},
        "seconds": {
            **{k: sum(s[k] for s in seconds) for k in ("candidates", "build", "solve")},
            "total": (time.perf_counter() - started) if started is not None else None,
        },
        "solver": "+".join(sorted({x for s in stats for x in s["solver"].split("+")} - {"none"}))
        or "none",
        "pricing": _pricing_totals(solutions),
    }


def _pricing_totals(solutions: list[Solution]) -> dict:
    """Per group what it did (priced or enumerated, its size and seconds) and in total:
    rounds the most any group took, pairs priced and arcs summed, proven if every
    priced group is (an enumerated group is solved on all its arcs)."""
    groups = []
    for s in solutions:
        pricing = s.stats.get("pricing") or {
            "used": False,
            "reason": "all arcs enumerated: a small group",
        }
        groups.append(
            {
                **pricing,
                **s.stats.get("group", {}),
                "model_arcs": s.stats["arcs"],
                "run_seconds": s.stats["seconds"]["total"],
            }
        )
    priced = [g for g in groups if g["used"]]
    if not priced:
        reasons = dict.fromkeys(g["reason"] for g in groups)
        return {"used": False, "reason": "; ".join(reasons), "groups": groups}

    def total(key: str) -> int:
        return sum(g.get(key, 0) for g in priced)

    return {
        "used": True,
        "proven": all(g["proven"] for g in priced),
        # Why the proof is missing, where it is: the worst of the groups' reasons.
        "stopped": max(
            (g["stopped"] for g in priced if g.get("stopped")),
            key=STATUS_RANK.__getitem__,
            default=None,
        ),
        "rounds": max(g["rounds"] for g in priced),
        "estimated_arcs": sum(g.get("estimated_arcs", 0.0) for g in priced),
        **{k: total(k) for k in ("initial_arcs", "arcs_added", "arcs_dropped", "arcs")},
        "pairs_priced": total("pairs_priced"),
        "columns_solved": total("columns_solved"),
        "duals": {k: sum(g["duals"][k] for g in priced) for k in ("from_flow", "from_highs")},
        "last_round_kept": all(g["last_round_kept"] for g in priced),
        "seconds": {k: sum(g["seconds"][k] for g in priced) for k in ("lp", "pricing")},
        "groups_priced": len(priced),
        "groups": groups,
    }
