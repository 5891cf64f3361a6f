"""The run's pieces around the solver: preparation, components, assembly.

1. ``prepare``: candidate arcs, presolve, pin checks, pins taken out of the
   capacities (a pinned arc is a constant, not a variable), and the connected
   components of the remaining arcs, each as a self-contained
   :class:`ComponentProblem` (plain arrays with ``to_dict``/``from_dict``, so a
   Celery group can ship one component per worker).
2. ``optimizer.model.solve_component`` solves one component (PuLP with HiGHS or
   CBC, or the exact min-cost flow of ``optimizer.flow`` for a pure LP).
3. ``assemble``: merge pins and component results into one :class:`Solution`.

A component problem, in tonnes and kg CO2e:
maximise  sum_a w_a x_a          (w_a = net saving per tonne + landfill weight)
s.t.      sum_{a out of i} x_a <= tonnes left at supply i
          sum_{a into j}   x_a <= tonnes left at demand j
          0 <= x_a <= cap_a, and x_a in {0} u [lot_j, cap_a] where demand j has a lot
which is the issue's "minimise sum_i fate_i (s_i - sent_i) + sum (transport km -
credit) x" with its constant baseline taken out. "tonnes_then_co2e" first
maximises sum x, then maximises sum w x with sum x held at that optimum.

With processors, a plant k is a sink (its input, "tonnes" = capacity) and a
source (its output, "tonnes" = capacity x yield) joined into one component, and
the component also has, per plant,
          sum_{a out of k} x_a <= yield_k sum_{a into k} x_a
          sum_{a into k} N_a (r_a - cn_min_k) x_a >= 0     (C:N at least cn_min)
          sum_{a into k} N_a (r_a - cn_max_k) x_a <= 0     (C:N at most cn_max)
          sum_{a into k} (m_a - m_min_k) x_a >= 0, sum_{a into k} (m_a - m_max_k) x_a <= 0
(N_a nitrogen per wet tonne, r_a C:N, m_a moisture % of arc a's supply), the
plant's output source having no "<= tonnes" row of its own (implied). Such a
component is no network flow: it always goes to PuLP. In "tonnes_then_co2e" the
tonnes of stage one are those leaving supplies (plant outputs are not counted
again).

Longer than most: preparing a component (arcs, lots, processors, windows,
pins) and assembling the solution back are two halves of one mapping between
the instance and the model's columns, kept together so the indices agree.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from optimizer.candidates import (
    arc_components,
    generate_arcs,
    great_circle_km,
    objective_saving_per_t,
    pair_keys,
    pin_keys,
    presolve,
    unit_vectors,
)
from optimizer.instance import (
    DIRECT,
    FROM_PROCESSOR,
    TO_PROCESSOR,
    Arcs,
    Flow,
    Instance,
    Solution,
)

# Flows below this many tonnes are solver noise, not proposals.
FLOW_EPS_TONNES = 1e-9


class PinError(Exception):
    """The pins cannot all hold; the message says which and why."""


def _no_ints() -> np.ndarray:
    return np.zeros(0, dtype=np.int64)


def _no_floats() -> np.ndarray:
    return np.zeros(0, dtype=float)


_PROCESSOR_FIELDS = (
    "processor_ids",
    "processor_input_node",
    "processor_output_node",
    "processor_yield",
    "processor_cn_min",
    "processor_cn_max",
    "processor_moisture_min",
    "processor_moisture_max",
    "arc_nitrogen_t_per_t",
    "arc_cn_ratio",
    "arc_moisture_percent",
)


# --------------------------------------------------------------------------- problem and result


@dataclass(eq=False)
class ComponentProblem:
    """One independent piece of the model, pins already taken out.

    Arc arrays are parallel; ``arc_supply``/``arc_demand`` index the local node
    arrays. ``arc_ids`` are rows of the run's arc table, used to merge back.
    """

    objective: str
    supply_tonnes: np.ndarray
    demand_tonnes: np.ndarray
    arc_supply: np.ndarray
    arc_demand: np.ndarray
    arc_capacity_tonnes: np.ndarray
    arc_saving_kg_co2e_per_t: np.ndarray
    arc_min_lot_tonnes: np.ndarray  # 0 = no lot on this arc
    arc_ids: np.ndarray
    # Processors of this component, one entry each (all empty when there are none):
    # the plant's index in Instance.processors, its input sink and output source
    # (local node indices; -1 when no output arc is left), its yield and blend limits
    # (NaN = no limit). Per arc, the blend properties of its supply where the arc
    # goes into a plant (NaN elsewhere); empty arrays when there are no plants.
    processor_ids: np.ndarray = field(default_factory=_no_ints)
    processor_input_node: np.ndarray = field(default_factory=_no_ints)
    processor_output_node: np.ndarray = field(default_factory=_no_ints)
    processor_yield: np.ndarray = field(default_factory=_no_floats)
    processor_cn_min: np.ndarray = field(default_factory=_no_floats)
    processor_cn_max: np.ndarray = field(default_factory=_no_floats)
    processor_moisture_min: np.ndarray = field(default_factory=_no_floats)
    processor_moisture_max: np.ndarray = field(default_factory=_no_floats)
    arc_nitrogen_t_per_t: np.ndarray = field(default_factory=_no_floats)
    arc_cn_ratio: np.ndarray = field(default_factory=_no_floats)
    arc_moisture_percent: np.ndarray = field(default_factory=_no_floats)

    @property
    def n_arcs(self) -> int:
        return int(self.arc_ids.shape[0])

    @property
    def n_binaries(self) -> int:
        return int(np.count_nonzero(self.arc_min_lot_tonnes > 0))

    @property
    def has_processors(self) -> bool:
        return len(self.processor_input_node) > 0

    @property
    def is_pure_lp(self) -> bool:
        """A transport LP: no lots and no processors (the min-cost flow can take it)."""
        return self.n_binaries == 0 and not self.has_processors

    @property
    def arc_from_processor(self) -> np.ndarray:
        """Per arc: does it leave a processor (carry output rather than residue)?"""
        if not self.has_processors:
            return np.zeros(self.n_arcs, dtype=bool)
        return np.isin(self.arc_supply, self.processor_output_node)

    def to_dict(self) -> dict:
        out = {
            "objective": self.objective,
            "supply_tonnes": self.supply_tonnes.tolist(),
            "demand_tonnes": self.demand_tonnes.tolist(),
            "arc_supply": self.arc_supply.tolist(),
            "arc_demand": self.arc_demand.tolist(),
            "arc_capacity_tonnes": self.arc_capacity_tonnes.tolist(),
            "arc_saving_kg_co2e_per_t": self.arc_saving_kg_co2e_per_t.tolist(),
            "arc_min_lot_tonnes": self.arc_min_lot_tonnes.tolist(),
            "arc_ids": self.arc_ids.tolist(),
        }
        if self.has_processors:
            # NaN (no limit, unknown) as null: plain JSON has no NaN.
            for name in _PROCESSOR_FIELDS:
                values = getattr(self, name)
                out[name] = [None if v != v else v for v in values.tolist()]
        return out

    @classmethod
    def from_dict(cls, raw: dict) -> ComponentProblem:
        ints = {
            "arc_supply",
            "arc_demand",
            "arc_ids",
            "processor_ids",
            "processor_input_node",
            "processor_output_node",
        }
        return cls(
            objective=raw["objective"],
            **{
                k: np.asarray(raw[k], dtype=np.int64 if k in ints else float)
                for k in raw
                if k != "objective"
            },
        )

    def upper_bound_kg_co2e(self) -> float:
        """A weak but valid bound on the saving: every supply (and every demand)
        at its best arc. Used when a solver stops without a bound of its own."""
        best = np.maximum(self.arc_saving_kg_co2e_per_t, 0.0)
        by_supply = np.zeros(len(self.supply_tonnes))
        np.maximum.at(by_supply, self.arc_supply, best)
        by_demand = np.zeros(len(self.demand_tonnes))
        np.maximum.at(by_demand, self.arc_demand, best)
        return float(min(by_supply @ self.supply_tonnes, by_demand @ self.demand_tonnes))


@dataclass(eq=False)
class ComponentResult:
    status: str  # optimal | feasible | time_limit | infeasible
    arc_ids: np.ndarray
    tonnes: np.ndarray
    saving_kg_co2e: float  # sum w x of this solution (model terms)
    saving_bound_kg_co2e: float  # no solution saves more than this
    solver: str
    variables: int = 0
    binaries: int = 0
    build_s: float = 0.0
    solve_s: float = 0.0
    message: str | None = None

    def to_dict(self) -> dict:
        return {
            "status": self.status,
            "arc_ids": self.arc_ids.tolist(),
            "tonnes": self.tonnes.tolist(),
            "saving_kg_co2e": self.saving_kg_co2e,
            "saving_bound_kg_co2e": self.saving_bound_kg_co2e,
            "solver": self.solver,
            "variables": self.variables,
            "binaries": self.binaries,
            "build_s": self.build_s,
            "solve_s": self.solve_s,
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, raw: dict) -> ComponentResult:
        raw = dict(raw)
        raw["arc_ids"] = np.asarray(raw["arc_ids"], dtype=np.int64)
        raw["tonnes"] = np.asarray(raw["tonnes"], dtype=float)
        return cls(**raw)


# --------------------------------------------------------------------------- preparation


@dataclass(eq=False)
class Prepared:
    """Everything ``solve`` needs besides the solver: arcs, pins, components."""

    instance: Instance
    arcs: Arcs  # model arcs after presolve, pinned ones included
    candidate_arcs: int
    pinned_rows: np.ndarray  # rows of ``arcs`` that are pinned
    pinned_tonnes: np.ndarray
    problems: list[ComponentProblem]
    components: int
    candidates_s: float
    message: str | None = None  # set when the pins are infeasible
    # Set when the arcs were priced (optimizer.pricing) rather than all enumerated: its
    # figures, and the proven bound on the free arcs' saving over *all* arcs.
    pricing: dict | None = None
    # Set when the free arcs' optimum is already known (pricing's last round solved
    # exactly these arcs by the flow): ``solve_prepared`` assembles it as it is.
    solved: list[ComponentResult] | None = None

    @property
    def infeasible(self) -> bool:
        return self.message is not None


def prepare(instance: Instance) -> Prepared:
    if instance.seasons is not None:
        raise ValueError(
            "an instance with periods is solved whole by optimizer.orchestrate.solve "
            "(optimizer.solve_periods), not prepared into components"
        )
    t0 = time.perf_counter()
    all_arcs = generate_arcs(instance)
    arcs = presolve(instance, all_arcs)
    return prepare_arcs(instance, arcs, len(all_arcs), time.perf_counter() - t0)


def prepare_arcs(
    instance: Instance, arcs: Arcs, candidate_arcs: int, candidates_s: float
) -> Prepared:
    """``prepare`` from arcs already generated and presolved (``candidate_arcs`` of
    them before presolve): pins, capacities left, components. Pricing
    (``optimizer.pricing``) calls it with the arcs it has proven enough."""
    n_s, n_d = instance.n_sources, instance.n_sinks
    supply_left = instance.source_tonnes.copy()
    demand_left = instance.sink_tonnes.copy()
    try:
        pinned_rows, pinned_tonnes = _apply_pins(instance, arcs, supply_left, demand_left)
    except PinError as exc:
        return Prepared(
            instance,
            arcs,
            candidate_arcs,
            np.zeros(0, np.int64),
            np.zeros(0),
            [],
            0,
            candidates_s,
            message=str(exc),
        )

    free = np.ones(len(arcs), dtype=bool)
    free[pinned_rows] = False
    free_rows = np.flatnonzero(free)
    free_arcs = arcs.take(free_rows)
    # After pins, an arc carries at most what both ends still have; below the lot it carries 0.
    capacity = np.minimum(supply_left[free_arcs.supply], demand_left[free_arcs.demand])
    lot = instance.sink_min_lot_tonnes[free_arcs.demand]
    usable = (capacity > 0) & (capacity >= lot)
    if instance.processors:
        usable &= _fed_outputs(instance, free_arcs, usable)
    free_rows, free_arcs = free_rows[usable], free_arcs.take(usable)
    capacity, lot = capacity[usable], lot[usable]
    saving = objective_saving_per_t(instance, free_arcs)
    plants = _PlantArrays(instance, free_arcs) if instance.processors else None

    n_components, label = arc_components(
        n_s, n_d, free_arcs, plants.links if plants is not None else None
    )
    problems = []
    order = np.argsort(label, kind="stable")
    bounds = np.searchsorted(label[order], np.arange(n_components + 1))
    for c in range(n_components):
        rows = order[bounds[c] : bounds[c + 1]]
        s_nodes, s_local = _relabel(free_arcs.supply[rows], n_s)
        d_nodes, d_local = _relabel(free_arcs.demand[rows], n_d)
        problems.append(
            ComponentProblem(
                objective=instance.parameters.objective,
                supply_tonnes=supply_left[s_nodes],
                demand_tonnes=demand_left[d_nodes],
                arc_supply=s_local,
                arc_demand=d_local,
                arc_capacity_tonnes=capacity[rows],
                arc_saving_kg_co2e_per_t=saving[rows],
                # A lot equal to the capacity still needs its binary: 0 or all.
                arc_min_lot_tonnes=lot[rows],
                arc_ids=free_rows[rows],
                **(plants.component(rows, s_nodes, d_nodes) if plants is not None else {}),
            )
        )
    return Prepared(
        instance,
        arcs,
        candidate_arcs,
        pinned_rows,
        pinned_tonnes,
        problems,
        n_components,
        candidates_s,
    )


def _fed_outputs(instance: Instance, arcs: Arcs, usable: np.ndarray) -> np.ndarray:
    """False on the output arcs of plants that no usable arc feeds (they can only
    carry 0), True elsewhere."""
    n_s, n_d = len(instance.supplies), len(instance.demands)
    fed = np.zeros(len(instance.processors), dtype=bool)
    into = usable & (arcs.demand >= n_d)
    fed[arcs.demand[into] - n_d] = True
    out = arcs.supply >= n_s
    ok = np.ones(len(arcs), dtype=bool)
    ok[out] = fed[arcs.supply[out] - n_s]
    return ok


class _PlantArrays:
    """The processors' part of the component problems, computed once for all arcs."""

    def __init__(self, instance: Instance, arcs: Arcs):
        n_s, n_d = len(instance.supplies), len(instance.demands)
        self.n_s, self.n_d = n_s, n_d
        processors = instance.processors
        into = arcs.demand >= n_d
        fed = np.unique(arcs.demand[into] - n_d)
        self.links = (n_s + fed, n_d + fed)
        self.into = into
        blend = instance.supply_blend_properties
        nan = np.full(len(arcs), np.nan)
        self.arc_nitrogen = np.where(into, blend["nitrogen"][arcs.supply * into], nan)
        self.arc_cn = np.where(into, blend["cn"][arcs.supply * into], nan)
        self.arc_moisture = np.where(into, blend["moisture"][arcs.supply * into], nan)

        def limit(values) -> np.ndarray:
            return np.array([math.nan if v is None else v for v in values], dtype=float)

        self.yields = np.array(
            [p.output.yield_t_per_t if p.output else 0.0 for p in processors], dtype=float
        )
        self.cn_min = limit(p.blend.cn_min for p in processors)
        self.cn_max = limit(p.blend.cn_max for p in processors)
        self.moisture_min = limit(p.blend.moisture_min_percent for p in processors)
        self.moisture_max = limit(p.blend.moisture_max_percent for p in processors)

    def component(self, rows: np.ndarray, s_nodes: np.ndarray, d_nodes: np.ndarray) -> dict:
        """The processor fields of the component with these arcs and (sorted) nodes."""
        inputs = np.flatnonzero(d_nodes >= self.n_d)
        if not len(inputs):
            return {}
        plant = d_nodes[inputs] - self.n_d
        at = np.searchsorted(s_nodes, self.n_s + plant)
        found = (at < len(s_nodes)) & (
            s_nodes[np.minimum(at, len(s_nodes) - 1)] == self.n_s + plant
        )
        return {
            "processor_ids": plant.astype(np.int64),
            "processor_input_node": inputs.astype(np.int64),
            "processor_output_node": np.where(found, at, -1).astype(np.int64),
            "processor_yield": self.yields[plant],
            "processor_cn_min": self.cn_min[plant],
            "processor_cn_max": self.cn_max[plant],
            "processor_moisture_min": self.moisture_min[plant],
            "processor_moisture_max": self.moisture_max[plant],
            "arc_nitrogen_t_per_t": self.arc_nitrogen[rows],
            "arc_cn_ratio": self.arc_cn[rows],
            "arc_moisture_percent": self.arc_moisture[rows],
        }


def _relabel(nodes: np.ndarray, n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct nodes used (ascending) and each entry's local index.

    A mark-and-count pass is O(nodes + arcs), which beats np.unique's sort for
    million-arc components; small components (there may be thousands) sort.
    """
    if len(nodes) * 8 < n_nodes:
        distinct, local = np.unique(nodes, return_inverse=True)
        return distinct, local.astype(np.int64)
    used = np.zeros(n_nodes, dtype=bool)
    used[nodes] = True
    local = np.cumsum(used, dtype=np.int64) - 1
    return np.flatnonzero(used), local[nodes]


def _apply_pins(instance: Instance, arcs: Arcs, supply_left, demand_left):
    """Locate each pin's arc, check it can hold, and subtract it from the capacities."""
    if not instance.pins:
        return np.zeros(0, np.int64), np.zeros(0)
    # Where each pin's arc sits, found for all pins in one pass over the arcs.
    wanted = pin_keys(instance)
    hits = np.flatnonzero(np.isin(pair_keys(instance, arcs.supply, arcs.demand), wanted))
    row_of = dict(
        zip(
            pair_keys(instance, arcs.supply[hits], arcs.demand[hits]).tolist(),
            hits.tolist(),
            strict=True,
        )
    )
    problems, rows, tonnes = [], [], []
    for pin, key in zip(instance.pins, wanted.tolist(), strict=True):
        i, j = instance.supply_index[pin.supply], instance.demand_index[pin.demand]
        label = f"pin {pin.supply} -> {pin.demand}"
        pos = row_of.get(key)
        if pos is None:
            problems.append(f"{label}: no such arc ({explain_missing_arc(instance, i, j)})")
            continue
        capacity = float(arcs.capacity_tonnes[pos])
        lot = instance.demands[j].min_lot_tonnes or 0.0
        if pin.tonnes > capacity * (1 + 1e-12):
            problems.append(f"{label}: {pin.tonnes:g} t exceeds the arc capacity {capacity:g} t")
        elif 0 < pin.tonnes < lot:
            problems.append(f"{label}: {pin.tonnes:g} t is below demand's minimum lot {lot:g} t")
        rows.append(pos)
        tonnes.append(pin.tonnes)
    rows_a, tonnes_a = np.array(rows, dtype=np.int64), np.array(tonnes, dtype=float)
    np.subtract.at(supply_left, arcs.supply[rows_a], tonnes_a)
    np.subtract.at(demand_left, arcs.demand[rows_a], tonnes_a)
    # Pins name supplies and demands only, so only those rows can go negative.
    for k in np.flatnonzero(supply_left < -1e-9 * np.maximum(1.0, instance.source_tonnes)):
        s = instance.supplies[k]
        problems.append(
            f"pins on supply {s.id} total {s.tonnes - supply_left[k]:g} t, "
            f"more than its {s.tonnes:g} t"
        )
    for k in np.flatnonzero(demand_left < -1e-9 * np.maximum(1.0, instance.sink_tonnes)):
        d = instance.demands[k]
        problems.append(
            f"pins on demand {d.id} total {d.tonnes - demand_left[k]:g} t, "
            f"more than its {d.tonnes:g} t"
        )
    if problems:
        raise PinError("; ".join(problems))
    np.maximum(supply_left, 0.0, out=supply_left)
    np.maximum(demand_left, 0.0, out=demand_left)
    return rows_a, tonnes_a


def explain_missing_arc(instance: Instance, i: int, j: int) -> str:
    """Why supply i -> demand j is not an arc, in words (for pin messages)."""
    s, d, p = instance.supplies[i], instance.demands[j], instance.parameters
    accept = next((a for a in d.accepts if a.material == s.material), None)
    if accept is None:
        return f"demand {d.id} does not accept {s.material!r}"
    if any(f.supply == s.id and f.demand == d.id for f in instance.forbidden):
        return "the pair is forbidden"
    if not p.allow_internal and s.owner is not None and s.owner == d.owner:
        return f"both belong to {s.owner!r} and internal reuse is not allowed"
    xyz = unit_vectors([s.lat, d.lat], [s.lon, d.lon])
    km = float(great_circle_km(xyz[:1], xyz[1:])[0]) * p.road_factor
    if s.max_km is not None and km > s.max_km:
        return f"{km:.1f} road km exceeds supply {s.id}'s max_km {s.max_km:g}"
    if d.max_km is not None and km > d.max_km:
        return f"{km:.1f} road km exceeds demand {d.id}'s max_km {d.max_km:g}"
    starts = [x for x in (s.available_from, d.needed_from) if x is not None]
    ends = [x for x in (s.available_until, d.needed_until) if x is not None]
    if starts and ends and max(starts) > min(ends):
        return "the availability and need windows do not overlap"
    for prop, (low, high) in accept.quality_limits.items():
        value = s.quality.get(prop)
        if value is None or not low <= value <= high:
            return f"quality {prop}={value} is outside the accepted [{low:g}, {high:g}]"
    if p.require_economic_value:
        value = s.fate_cost_kzt_per_t + accept.value_kzt_per_t - p.transport_kzt_per_tkm * km
        if value < 0:
            return f"economic value {value:.1f} KZT/t is negative"
    return "the arc was not generated"


def merge_problems(problems: list[ComponentProblem]) -> ComponentProblem:
    """Several independent components as one problem (node indices shifted)."""
    s_offset = np.cumsum([0] + [len(p.supply_tonnes) for p in problems])
    d_offset = np.cumsum([0] + [len(p.demand_tonnes) for p in problems])
    return ComponentProblem(
        objective=problems[0].objective,
        supply_tonnes=np.concatenate([p.supply_tonnes for p in problems]),
        demand_tonnes=np.concatenate([p.demand_tonnes for p in problems]),
        arc_supply=np.concatenate(
            [p.arc_supply + o for p, o in zip(problems, s_offset, strict=False)]
        ),
        arc_demand=np.concatenate(
            [p.arc_demand + o for p, o in zip(problems, d_offset, strict=False)]
        ),
        arc_capacity_tonnes=np.concatenate([p.arc_capacity_tonnes for p in problems]),
        arc_saving_kg_co2e_per_t=np.concatenate([p.arc_saving_kg_co2e_per_t for p in problems]),
        arc_min_lot_tonnes=np.concatenate([p.arc_min_lot_tonnes for p in problems]),
        arc_ids=np.concatenate([p.arc_ids for p in problems]),
    )


STATUS_RANK = {"optimal": 0, "feasible": 1, "time_limit": 2, "infeasible": 3}


def assemble(
    prepared: Prepared, results: list[ComponentResult], started: float | None = None
) -> Solution:
    """Merge pins and component results into the run's Solution."""
    instance, arcs = prepared.instance, prepared.arcs
    weighted = objective_saving_per_t(instance, arcs)
    baseline = float(
        (
            instance.supply_fate_kg_co2e_per_t
            + instance.parameters.landfill_weight_kg_co2e_per_t * instance.supply_is_landfill
        )
        @ instance.supply_tonnes
    )
    stats = {
        "arcs": len(arcs),
        "candidate_arcs": prepared.candidate_arcs,
        "components": prepared.components,
        "variables": sum(r.variables for r in results),
        "binaries": sum(r.binaries for r in results),
        "seconds": {
            "candidates": prepared.candidates_s,
            "build": sum(r.build_s for r in results),
            "solve": sum(r.solve_s for r in results),
            "total": (time.perf_counter() - started) if started is not None else None,
        },
        "solver": "+".join(sorted({r.solver for r in results} - {"none"})) or "none",
    }
    if prepared.pricing is not None:
        stats["pricing"] = prepared.pricing
    if prepared.infeasible or any(r.status == "infeasible" for r in results):
        messages = [prepared.message] + [r.message for r in results if r.status == "infeasible"]
        return Solution.infeasible(
            baseline_kg_co2e=baseline, stats=stats, message="; ".join(m for m in messages if m)
        )

    rows = np.concatenate([prepared.pinned_rows] + [r.arc_ids for r in results])
    tonnes = np.concatenate([prepared.pinned_tonnes] + [r.tonnes for r in results])
    # Pinned flows are kept even at 0 t (the facilitator asked for them); others only if used.
    keep = np.ones(len(rows), dtype=bool)
    keep[len(prepared.pinned_rows) :] = tonnes[len(prepared.pinned_rows) :] > FLOW_EPS_TONNES
    rows, tonnes = rows[keep], tonnes[keep]
    # Flows listed by supply, then demand: easy to read and the same on every run.
    order = np.lexsort((arcs.demand[rows], arcs.supply[rows]))
    rows, tonnes = rows[order], tonnes[order]

    saving = float(weighted[rows] @ tonnes)
    pinned_saving = float(weighted[prepared.pinned_rows] @ prepared.pinned_tonnes)
    bound_saving = pinned_saving + sum(r.saving_bound_kg_co2e for r in results)
    if prepared.pricing is not None and prepared.pricing["used"]:
        # The components' bounds hold for the priced arcs only; the duals' bound holds
        # for every arc (optimizer.pricing).
        bound_saving = pinned_saving + prepared.pricing["dual_bound_kg_co2e"]
    bound_saving = max(bound_saving, saving)
    objective = baseline - saving
    bound = baseline - bound_saving
    gap_abs = bound_saving - saving
    gap = 0.0 if gap_abs <= 1e-9 * max(1.0, abs(saving)) else gap_abs / max(abs(saving), 1e-9)

    net = arcs.net_kg_co2e_saved_per_t[rows] * tonnes
    value = arcs.economic_value_kzt_per_t[rows] * tonnes
    s_idx, d_idx = arcs.supply[rows], arcs.demand[rows]
    n_s, n_d = len(instance.supplies), len(instance.demands)
    source_ids, sink_ids = instance.source_ids, instance.sink_ids
    materials = instance.source_materials
    flows = [
        Flow(
            supply=source_ids[i],
            demand=sink_ids[j],
            tonnes=float(t),
            road_km=float(km),
            net_kg_co2e_saved=float(n),
            economic_value_kzt=float(v),
            kind=FROM_PROCESSOR if i >= n_s else (TO_PROCESSOR if j >= n_d else DIRECT),
            material=materials[i],
        )
        for i, j, t, km, n, v in zip(
            s_idx.tolist(),
            d_idx.tolist(),
            tonnes.tolist(),
            arcs.road_km[rows].tolist(),
            net.tolist(),
            value.tolist(),
            strict=True,
        )
    ]
    # Residue moved: what left the supplies (a plant's output is the same matter again).
    from_supply = s_idx < n_s
    status = max((r.status for r in results), key=STATUS_RANK.__getitem__, default="optimal")
    if prepared.pricing is not None and prepared.pricing.get("stopped") and status == "optimal":
        # Optimal on the priced arcs, but pricing stopped before proving it on all.
        status = prepared.pricing["stopped"]
    messages = [r.message for r in results if r.message]
    return Solution(
        status=status,
        objective_kg_co2e=objective,
        baseline_kg_co2e=baseline,
        saved_kg_co2e=float(net.sum()),
        tonnes_moved=float(tonnes[from_supply].sum()),
        landfill_tonnes_avoided=float(tonnes[instance.source_is_landfill[s_idx]].sum()),
        bound_kg_co2e=bound,
        gap=gap,
        flows=flows,
        stats=stats,
        message="; ".join(dict.fromkeys(messages)) or None,
        processors=processor_summaries(instance, s_idx, d_idx, tonnes)
        if instance.processors
        else None,
    )


def processor_summaries(
    instance: Instance, source: np.ndarray, sink: np.ndarray, tonnes: np.ndarray
) -> list[dict]:
    """Per processor: input, output made (yield x input) and sent on, and the input
    blend's C:N and moisture (null without input or where an input's is unknown)."""
    n_s, n_d = len(instance.supplies), len(instance.demands)
    blend = instance.supply_blend_properties
    out = []
    for k, p in enumerate(instance.processors):
        into = (sink == n_d + k) & (source < n_s)
        x, si = tonnes[into], source[into]
        total = float(x.sum())
        nitrogen, cn, moisture = blend["nitrogen"][si], blend["cn"][si], blend["moisture"][si]
        n_total = float(nitrogen @ x)
        mix_cn = float((cn * nitrogen) @ x / n_total) if total > 0 and n_total > 0 else None
        mix_moisture = float(moisture @ x / total) if total > 0 else None
        yield_ = p.output.yield_t_per_t if p.output else 0.0
        out.append(
            {
                "id": p.id,
                "input_tonnes": total,
                "capacity_tonnes": p.capacity_tonnes,
                "output_material": p.output.material if p.output else None,
                "output_tonnes": yield_ * total,
                "output_sent_tonnes": float(tonnes[source == n_s + k].sum()),
                "cn_ratio": mix_cn if mix_cn is not None and math.isfinite(mix_cn) else None,
                "moisture_percent": mix_moisture
                if mix_moisture is not None and math.isfinite(mix_moisture)
                else None,
            }
        )
    return out
