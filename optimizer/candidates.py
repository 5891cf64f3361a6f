"""Candidate arcs: which supply may go to which demand, and what a tonne saves.

Work is grouped by material: for each material, the supplies of it and the
demands accepting it are the only pairs that can match. Within a group a
k-d tree on 3-D unit-sphere coordinates finds the pairs within reach (a chord
radius derived from the km limit), so the cost grows with the number of arcs,
not with supplies x demands. Every other test (both parties' km limits, time
windows, quality limits, forbidden pairs, economic value) is a vectorised mask
over those pairs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import chain

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from optimizer.instance import Arcs, Instance
from symbiosis.impact import net_kg_co2e_saved_per_t

EARTH_RADIUS_KM = 6371.0088

# Dates become day ordinals; a missing bound is open, so it gets a sentinel past any date.
_OPEN_START = -(10**9)
_OPEN_END = 10**9


def unit_vectors(lat_deg, lon_deg) -> np.ndarray:
    """(n, 3) points on the unit sphere."""
    lat = np.radians(np.asarray(lat_deg, dtype=float))
    lon = np.radians(np.asarray(lon_deg, dtype=float))
    cos_lat = np.cos(lat)
    return np.column_stack((cos_lat * np.cos(lon), cos_lat * np.sin(lon), np.sin(lat)))


def great_circle_km(a_xyz: np.ndarray, b_xyz: np.ndarray) -> np.ndarray:
    """Great-circle km between rows of two unit-vector arrays.

    From the chord c: angle = 2 asin(c / 2), accurate and cheap except near the
    antipode, where asin loses digits; those rare rows use atan2(|a x b|, a . b).
    """
    diff = a_xyz - b_xyz
    chord = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    angle = 2.0 * np.arcsin(np.minimum(chord / 2.0, 1.0))
    far = np.flatnonzero(chord > 1.9)
    if far.size:
        a, b = a_xyz[far], b_xyz[far]
        cross = np.linalg.norm(np.cross(a, b), axis=-1)
        angle[far] = np.arctan2(cross, np.einsum("ij,ij->i", a, b))
    return EARTH_RADIUS_KM * angle


def chord_radius(great_circle_limit_km: np.ndarray) -> np.ndarray:
    """Unit-sphere chord length of a great-circle distance; >= 2 means everywhere."""
    angle = np.asarray(great_circle_limit_km, dtype=float) / EARTH_RADIUS_KM
    # A small relative margin so the tree never misses a pair sitting on the limit;
    # the exact km test below decides.
    chord = 2.0 * np.sin(np.minimum(angle, math.pi) / 2.0) * (1 + 1e-9) + 1e-12
    return np.where(angle >= math.pi, 2.5, chord)


def _limit_km(values) -> np.ndarray:
    return np.array([math.inf if v is None else v for v in values], dtype=float)


def _ordinals(values, open_value: int) -> np.ndarray:
    return np.array([open_value if v is None else v.toordinal() for v in values], dtype=np.int64)


@dataclass(frozen=True)
class _AcceptTable:
    """Every (demand, accepted material) row of the instance, flattened."""

    demand: np.ndarray
    material: np.ndarray  # material code
    credit_kg_co2e_per_t: np.ndarray
    value_kzt_per_t: np.ndarray
    accept: list  # the Accept objects, for quality limits


def _pairs_within(
    s_xyz: np.ndarray, s_radius: np.ndarray, d_xyz: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (supply row, demand row) with chord distance <= the supply's radius."""
    n_s, n_d = len(s_xyz), len(d_xyz)
    everywhere = s_radius >= 2.0
    parts_s, parts_d = [], []
    if everywhere.any():
        rows = np.flatnonzero(everywhere)
        parts_s.append(np.repeat(rows, n_d))
        parts_d.append(np.tile(np.arange(n_d), len(rows)))
    near = np.flatnonzero(~everywhere)
    if len(near) and n_d:
        tree = cKDTree(d_xyz)
        found = tree.query_ball_point(s_xyz[near], s_radius[near], return_sorted=False)
        counts = np.fromiter(map(len, found), dtype=np.int64, count=len(near))
        total = int(counts.sum())
        parts_s.append(np.repeat(near, counts))
        parts_d.append(np.fromiter(chain.from_iterable(found), dtype=np.int64, count=total))
    if not parts_s or n_s == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(parts_s), np.concatenate(parts_d)


def generate_arcs(instance: Instance) -> Arcs:
    """All arcs allowed by compatibility, distance, windows, quality and rules."""
    supplies, demands, params = instance.supplies, instance.demands, instance.parameters
    if not supplies or not demands:
        return Arcs.empty()

    materials = sorted({s.material for s in supplies})
    code = {m: k for k, m in enumerate(materials)}
    s_material = np.array([code[s.material] for s in supplies], dtype=np.int64)
    s_xyz = unit_vectors([s.lat for s in supplies], [s.lon for s in supplies])
    d_xyz = unit_vectors([d.lat for d in demands], [d.lon for d in demands])
    s_limit = _limit_km(s.max_km for s in supplies)
    d_limit = _limit_km(d.max_km for d in demands)
    s_from = _ordinals((s.available_from for s in supplies), _OPEN_START)
    s_until = _ordinals((s.available_until for s in supplies), _OPEN_END)
    d_from = _ordinals((d.needed_from for d in demands), _OPEN_START)
    d_until = _ordinals((d.needed_until for d in demands), _OPEN_END)
    fate_cost = np.array([s.fate_cost_kzt_per_t for s in supplies], dtype=float)

    rows = [
        (j, code[a.material], a.credit_kg_co2e_per_t, a.value_kzt_per_t, a)
        for j, d in enumerate(demands)
        for a in d.accepts
        if a.material in code  # a material nobody supplies can never match
    ]
    if not rows:
        return Arcs.empty()
    table = _AcceptTable(
        demand=np.array([r[0] for r in rows], dtype=np.int64),
        material=np.array([r[1] for r in rows], dtype=np.int64),
        credit_kg_co2e_per_t=np.array([r[2] for r in rows], dtype=float),
        value_kzt_per_t=np.array([r[3] for r in rows], dtype=float),
        accept=[r[4] for r in rows],
    )

    forbidden_keys = np.array(
        sorted(
            instance.supply_index[f.supply] * len(demands) + instance.demand_index[f.demand]
            for f in instance.forbidden
        ),
        dtype=np.int64,
    )

    s_order = np.argsort(s_material, kind="stable")
    s_bounds = np.searchsorted(s_material[s_order], np.arange(len(materials) + 1))
    a_order = np.argsort(table.material, kind="stable")
    a_bounds = np.searchsorted(table.material[a_order], np.arange(len(materials) + 1))

    out_s, out_a, out_km = [], [], []
    for m in range(len(materials)):
        s_rows = s_order[s_bounds[m] : s_bounds[m + 1]]
        a_rows = a_order[a_bounds[m] : a_bounds[m + 1]]
        if len(s_rows) == 0 or len(a_rows) == 0:
            continue
        a_demand = table.demand[a_rows]
        # Reach of a supply: its own limit, but never further than the farthest demand reaches.
        reach_km = np.minimum(s_limit[s_rows], d_limit[a_demand].max()) / params.road_factor
        i, k = _pairs_within(s_xyz[s_rows], chord_radius(reach_km), d_xyz[a_demand])
        si, ai = s_rows[i], a_rows[k]
        dj = table.demand[ai]
        road_km = great_circle_km(s_xyz[si], d_xyz[dj]) * params.road_factor
        keep = (road_km <= s_limit[si]) & (road_km <= d_limit[dj])
        keep &= np.maximum(s_from[si], d_from[dj]) <= np.minimum(s_until[si], d_until[dj])
        keep &= _quality_ok(supplies, table, si, ai)
        if len(forbidden_keys):
            keep &= ~np.isin(si * len(demands) + dj, forbidden_keys)
        out_s.append(si[keep])
        out_a.append(ai[keep])
        out_km.append(road_km[keep])

    if not out_s:
        return Arcs.empty()
    si = np.concatenate(out_s)
    ai = np.concatenate(out_a)
    road_km = np.concatenate(out_km)
    dj = table.demand[ai]

    saving = net_kg_co2e_saved_per_t(
        road_km=road_km,
        fate_kg_co2e_per_t=instance.supply_fate_kg_co2e_per_t[si],
        credit_kg_co2e_per_t=table.credit_kg_co2e_per_t[ai],
        transport_kg_co2e_per_tkm=params.transport_kg_co2e_per_tkm,
    )
    value = fate_cost[si] + table.value_kzt_per_t[ai] - params.transport_kzt_per_tkm * road_km
    capacity = np.minimum(instance.supply_tonnes[si], instance.demand_tonnes[dj])
    arcs = Arcs(si, dj, road_km, saving, capacity, value)
    if params.require_economic_value:
        arcs = arcs.take(value >= 0)
    # The order is deterministic (materials sorted, then the tree's order) but not
    # sorted by pair: sorting millions of arcs costs more than any consumer needs.
    return arcs


def _quality_ok(supplies, table: _AcceptTable, si: np.ndarray, ai: np.ndarray) -> np.ndarray:
    ok = np.ones(len(si), dtype=bool)
    limited = [k for k, a in enumerate(table.accept) if a.quality_limits]
    if not limited or len(si) == 0:
        return ok
    props = sorted({p for k in limited for p in table.accept[k].quality_limits})
    for prop in props:
        low = np.full(len(table.accept), -np.inf)
        high = np.full(len(table.accept), np.inf)
        applies = np.zeros(len(table.accept), dtype=bool)
        for k in limited:
            if prop in table.accept[k].quality_limits:
                low[k], high[k] = table.accept[k].quality_limits[prop]
                applies[k] = True
        if not applies[ai].any():
            continue
        # A supply that does not state the property cannot be shown to meet the limit.
        value = np.array([s.quality.get(prop, np.nan) for s in supplies], dtype=float)[si]
        within = (value >= low[ai]) & (value <= high[ai])  # NaN compares False
        ok &= ~applies[ai] | within
    return ok


# --------------------------------------------------------------------------- presolve


def objective_saving_per_t(instance: Instance, arcs: Arcs) -> np.ndarray:
    """What the model maximises per tonne: net saving plus the landfill weight."""
    weight = instance.parameters.landfill_weight_kg_co2e_per_t
    return arcs.net_kg_co2e_saved_per_t + weight * instance.supply_is_landfill[arcs.supply]


def pair_keys(instance: Instance, supply: np.ndarray, demand: np.ndarray) -> np.ndarray:
    """One int64 per (supply, demand) pair."""
    return supply.astype(np.int64) * len(instance.demands) + demand


def pin_keys(instance: Instance) -> np.ndarray:
    supply = np.array([instance.supply_index[p.supply] for p in instance.pins], dtype=np.int64)
    demand = np.array([instance.demand_index[p.demand] for p in instance.pins], dtype=np.int64)
    return pair_keys(instance, supply, demand)


def pinned_mask(instance: Instance, arcs: Arcs) -> np.ndarray:
    if not instance.pins or not len(arcs):
        return np.zeros(len(arcs), dtype=bool)
    return np.isin(pair_keys(instance, arcs.supply, arcs.demand), pin_keys(instance))


def presolve(instance: Instance, arcs: Arcs) -> Arcs:
    """Drop arcs that can carry nothing or can never improve the objective.

    Every constraint of the model is a packing constraint (<=) that zero flow
    satisfies, so an unpinned arc can be removed when it has no capacity, when
    its capacity is below its demand's minimum lot (it could only carry 0), or,
    when the objective is pure CO2e, when a tonne on it saves nothing (> 0 is
    needed to improve a minimisation). "tonnes_then_co2e" keeps the
    non-saving arcs because they still move tonnes.
    """
    if not len(arcs):
        return arcs
    free = ~pinned_mask(instance, arcs)
    lot = instance.demand_min_lot_tonnes[arcs.demand]
    drop = (arcs.capacity_tonnes <= 0) | (arcs.capacity_tonnes < lot)
    if instance.parameters.objective == "co2e":
        drop |= objective_saving_per_t(instance, arcs) <= 0
    return arcs.take(~(drop & free))


# --------------------------------------------------------------------------- components


def arc_components(n_supplies: int, n_demands: int, arcs: Arcs) -> tuple[int, np.ndarray]:
    """Connected components of the bipartite arc graph, as a label per arc.

    Labels run 0..k-1 over components that hold at least one arc, largest first,
    so a caller handing them to parallel workers starts the slow ones first.
    """
    if not len(arcs):
        return 0, np.zeros(0, dtype=np.int64)
    n = n_supplies + n_demands
    graph = coo_matrix(
        (np.ones(len(arcs), dtype=np.int8), (arcs.supply, n_supplies + arcs.demand)), shape=(n, n)
    )
    _, node_label = connected_components(graph, directed=False)
    raw = node_label[arcs.supply]
    used, dense, sizes = np.unique(raw, return_inverse=True, return_counts=True)
    rank = np.empty(len(used), dtype=np.int64)
    rank[np.argsort(-sizes, kind="stable")] = np.arange(len(used))
    return len(used), rank[dense]
