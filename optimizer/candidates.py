"""Candidate arcs: which supply may go to which demand, and what a tonne saves.

Work is grouped by material: for each material, the supplies of it and the
demands accepting it are the only pairs that can match. Within a group a
k-d tree on 3-D unit-sphere coordinates finds the pairs within reach (a chord
radius derived from the km limit), so the cost grows with the number of arcs,
not with supplies x demands. Every other test (both parties' km limits, time
windows, quality limits, forbidden pairs, one owner on both ends, economic
value, a hazardous supply only to a sink holding a permit for its code) is a
vectorised mask over those pairs.

Processors add two more matchings on the same rules: supplies -> processor
inputs (a processor's input side looks like a demand, its capacity as tonnes)
and processor outputs -> demands (its output side looks like a supply of the
output material, capacity x yield as tonnes). Arc endpoints are then *sources*
(supplies, then one per processor) and *sinks* (demands, then one per
processor); see ``Instance.source_index``. Processor outputs go to processors
only in chains (``processor_chain_arcs``, opt-in, instances with periods; see
``optimizer.chains``); ``generate_arcs`` never makes them.

Longer than most (about 660 lines): every candidate rule is a mask in one place
(``pair_mask``, used by the matching loop ``_match`` and by the pricing of
``optimizer.pricing``), read together, with the processors' two matchings beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from itertools import chain

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from optimizer.instance import Arcs, Instance, nitrogen_t_per_t
from symbiosis.geo import EARTH_RADIUS_KM
from symbiosis.impact import net_kg_co2e_saved_per_t, processing_net_kg_co2e_saved_per_t

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

    @cached_property
    def quality_limited(self) -> list[int]:
        """Rows with quality limits: found once, not on every call (pricing tests
        pairs in hundreds of calls, and most rows have none)."""
        return [k for k, a in enumerate(self.accept) if a.quality_limits]


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


@dataclass(frozen=True)
class _Matched:
    """Pairs found by ``_match``, in the caller's local source / sink numbering."""

    source: np.ndarray
    sink: np.ndarray
    road_km: np.ndarray
    credit_kg_co2e_per_t: np.ndarray  # of the sink's accept row
    value_kzt_per_t: np.ndarray  # of the sink's accept row


@dataclass(frozen=True)
class MatchContext:
    """The per-node arrays every candidate test reads, built once per matching; the
    pricing of ``optimizer.pricing`` tests its pairs on the same arrays."""

    params: object
    n_sinks: int
    n_materials: int
    material_codes: dict
    s_material: np.ndarray
    s_xyz: np.ndarray
    d_xyz: np.ndarray
    s_limit: np.ndarray
    d_limit: np.ndarray
    s_from: np.ndarray
    s_until: np.ndarray
    d_from: np.ndarray
    d_until: np.ndarray
    s_owner: np.ndarray
    d_owner: np.ndarray
    s_hazard: np.ndarray | None
    d_permits: np.ndarray | None
    table: _AcceptTable
    source_property: object
    forbidden_keys: np.ndarray

    def group(self, m: int) -> tuple[np.ndarray, np.ndarray]:
        """Sources of material code m and the accept rows taking it."""
        s_order, s_bounds, a_order, a_bounds = self._orders
        return s_order[s_bounds[m] : s_bounds[m + 1]], a_order[a_bounds[m] : a_bounds[m + 1]]

    @cached_property
    def _orders(self):
        s_order = np.argsort(self.s_material, kind="stable")
        s_bounds = np.searchsorted(self.s_material[s_order], np.arange(self.n_materials + 1))
        a_order = np.argsort(self.table.material, kind="stable")
        a_bounds = np.searchsorted(self.table.material[a_order], np.arange(self.n_materials + 1))
        return s_order, s_bounds, a_order, a_bounds


def match_context(
    params, sources, sinks, source_property, forbidden_keys: np.ndarray
) -> MatchContext | None:
    """The arrays of one matching; None when no pair can match at all."""
    if not sources or not sinks:
        return None
    materials = sorted({s.material for s in sources})
    code = {m: k for k, m in enumerate(materials)}
    rows = [
        (j, code[a.material], a.credit_kg_co2e_per_t, a.value_kzt_per_t, a)
        for j, d in enumerate(sinks)
        for a in d.accepts
        if a.material in code  # a material nobody supplies can never match
    ]
    if not rows:
        return None
    s_hazard, d_permits = _permit_table(sources, sinks)
    s_owner, d_owner = _owner_codes(sources, sinks)
    return MatchContext(
        params=params,
        n_sinks=len(sinks),
        n_materials=len(materials),
        material_codes=code,
        s_material=np.array([code[s.material] for s in sources], dtype=np.int64),
        s_xyz=unit_vectors([s.lat for s in sources], [s.lon for s in sources]),
        d_xyz=unit_vectors([d.lat for d in sinks], [d.lon for d in sinks]),
        s_limit=_limit_km(s.max_km for s in sources),
        d_limit=_limit_km(d.max_km for d in sinks),
        s_from=_ordinals((s.available_from for s in sources), _OPEN_START),
        s_until=_ordinals((s.available_until for s in sources), _OPEN_END),
        d_from=_ordinals((d.needed_from for d in sinks), _OPEN_START),
        d_until=_ordinals((d.needed_until for d in sinks), _OPEN_END),
        s_owner=s_owner,
        d_owner=d_owner,
        s_hazard=s_hazard,
        d_permits=d_permits,
        table=_AcceptTable(
            demand=np.array([r[0] for r in rows], dtype=np.int64),
            material=np.array([r[1] for r in rows], dtype=np.int64),
            credit_kg_co2e_per_t=np.array([r[2] for r in rows], dtype=float),
            value_kzt_per_t=np.array([r[3] for r in rows], dtype=float),
            accept=[r[4] for r in rows],
        ),
        source_property=source_property,
        forbidden_keys=forbidden_keys,
    )


def pair_mask(ctx: MatchContext, si: np.ndarray, ai: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(allowed, road km) of pairs (source si, accept row ai) of one material: every
    candidate test but the economic one (see ``generate_arcs``)."""
    params = ctx.params
    dj = ctx.table.demand[ai]
    road_km = great_circle_km(ctx.s_xyz[si], ctx.d_xyz[dj]) * params.road_factor
    keep = (road_km <= ctx.s_limit[si]) & (road_km <= ctx.d_limit[dj])
    keep &= np.maximum(ctx.s_from[si], ctx.d_from[dj]) <= np.minimum(
        ctx.s_until[si], ctx.d_until[dj]
    )
    keep &= _quality_ok(ctx.source_property, ctx.table, si, ai)
    if len(ctx.forbidden_keys):
        keep &= ~np.isin(si * ctx.n_sinks + dj, ctx.forbidden_keys)
    if not params.allow_internal:
        keep &= ctx.s_owner[si] != ctx.d_owner[dj]
    if ctx.s_hazard is not None:
        hazard = ctx.s_hazard[si]
        keep &= (hazard < 0) | ctx.d_permits[dj, np.maximum(hazard, 0)]
    return keep, road_km


def matched_pairs(ctx: MatchContext, si: np.ndarray, ai: np.ndarray, road_km) -> _Matched:
    """Allowed pairs as a ``_Matched``."""
    return _Matched(
        si,
        ctx.table.demand[ai],
        road_km,
        ctx.table.credit_kg_co2e_per_t[ai],
        ctx.table.value_kzt_per_t[ai],
    )


def _match(params, sources, sinks, source_property, forbidden_keys: np.ndarray) -> _Matched:
    """Every (source, sink) pair allowed by compatibility, distance, windows, quality
    and ``forbidden_keys`` (sorted source * len(sinks) + sink, local numbering).

    ``sources`` look like supplies and ``sinks`` like demands (same attributes);
    ``source_property(prop)`` gives a property per source, NaN where unknown.
    """
    empty = _Matched(*(np.zeros(0, np.int64),) * 2, *(np.zeros(0),) * 3)
    ctx = match_context(params, sources, sinks, source_property, forbidden_keys)
    if ctx is None:
        return empty
    out_s, out_a, out_km = [], [], []
    for m in range(ctx.n_materials):
        s_rows, a_rows = ctx.group(m)
        if len(s_rows) == 0 or len(a_rows) == 0:
            continue
        a_demand = ctx.table.demand[a_rows]
        # Reach of a source: its own limit, but never further than the farthest sink reaches.
        reach_km = np.minimum(ctx.s_limit[s_rows], ctx.d_limit[a_demand].max()) / params.road_factor
        i, k = _pairs_within(ctx.s_xyz[s_rows], chord_radius(reach_km), ctx.d_xyz[a_demand])
        si, ai = s_rows[i], a_rows[k]
        keep, road_km = pair_mask(ctx, si, ai)
        out_s.append(si[keep])
        out_a.append(ai[keep])
        out_km.append(road_km[keep])

    if not out_s:
        return empty
    return matched_pairs(ctx, np.concatenate(out_s), np.concatenate(out_a), np.concatenate(out_km))


def _owner_codes(sources, sinks) -> tuple[np.ndarray, np.ndarray]:
    """Owners as integers shared by both sides; an unknown owner gets a code of its
    own side (-1 sources, -2 sinks), so it never equals anything across."""
    codes: dict[str, int] = {}

    def encode(nodes, unknown: int) -> np.ndarray:
        return np.array(
            [unknown if n.owner is None else codes.setdefault(n.owner, len(codes)) for n in nodes],
            dtype=np.int64,
        )

    return encode(sources, -1), encode(sinks, -2)


def _permit_table(sources, sinks) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Hazardous codes as integers: per source its code's number (-1: not hazardous),
    and a (sinks x codes) table of which sink holds a permit for which code. (None,
    None) where no source is hazardous: the rule then costs nothing."""
    codes = sorted({s.hazardous_code for s in sources if s.hazardous_code is not None})
    if not codes:
        return None, None
    number = {c: k for k, c in enumerate(codes)}
    hazard = np.array(
        [-1 if s.hazardous_code is None else number[s.hazardous_code] for s in sources],
        dtype=np.int64,
    )
    permits = np.zeros((len(sinks), len(codes)), dtype=bool)
    for j, d in enumerate(sinks):
        for code in d.permitted_codes:
            if code in number:
                permits[j, number[code]] = True
    return hazard, permits


def _forbidden_keys(instance: Instance, n_sources: int, n_sinks: int, sink_offset: int):
    """Forbidden pairs as sorted local keys of a matching of the supplies (the first
    ``n_sources`` sources) with sinks ``sink_offset`` .. ``sink_offset + n_sinks - 1``."""
    keys = []
    for f in instance.forbidden:
        i = instance.source_index[f.supply]
        j = instance.sink_index[f.demand] - sink_offset
        if i < n_sources and 0 <= j < n_sinks:
            keys.append(i * n_sinks + j)
    return np.array(sorted(keys), dtype=np.int64)


def generate_arcs(instance: Instance) -> Arcs:
    """All arcs allowed by compatibility, distance, windows, quality and rules:
    supplies -> demands, then supplies -> processors, then processors -> demands."""
    supplies, demands, params = instance.supplies, instance.demands, instance.parameters
    n_s, n_d = len(supplies), len(demands)
    fate_cost = supply_fate_cost(instance)
    parts = []

    # Supplies -> demands.
    m = _match(
        params, supplies, demands, instance.supply_property, _forbidden_keys(instance, n_s, n_d, 0)
    )
    parts.append(direct_arcs(instance, m, fate_cost))

    processors = instance.processors
    if processors:
        parts.append(_to_processors(instance, fate_cost))
        parts.append(_from_processors(instance))

    arcs = parts[0] if len(parts) == 1 else concatenate_arcs(parts)
    if params.require_economic_value:
        arcs = arcs.take(arcs.economic_value_kzt_per_t >= 0)
    # The order is deterministic (materials sorted, then the tree's order) but not
    # sorted by pair: sorting millions of arcs costs more than any consumer needs.
    return arcs


def direct_arcs(instance: Instance, m: _Matched, fate_cost: np.ndarray) -> Arcs:
    """Supply -> demand arcs of matched pairs (before the economic filter)."""
    params = instance.parameters
    si, dj = m.source, m.sink
    return Arcs(
        si,
        dj,
        m.road_km,
        net_kg_co2e_saved_per_t(
            road_km=m.road_km,
            fate_kg_co2e_per_t=instance.supply_fate_kg_co2e_per_t[si],
            credit_kg_co2e_per_t=m.credit_kg_co2e_per_t,
            transport_kg_co2e_per_tkm=params.transport_kg_co2e_per_tkm,
        ),
        np.minimum(instance.supply_tonnes[si], instance.demand_tonnes[dj]),
        fate_cost[si] + m.value_kzt_per_t - params.transport_kzt_per_tkm * m.road_km,
    )


def supply_fate_cost(instance: Instance) -> np.ndarray:
    return np.array([s.fate_cost_kzt_per_t for s in instance.supplies], dtype=float)


def _to_processors(instance: Instance, fate_cost: np.ndarray) -> Arcs:
    """Supplies -> processor inputs. A plant with C:N limits takes only supplies whose
    C:N and nitrogen are known; one with moisture limits, those whose moisture is."""
    params, processors = instance.parameters, instance.processors
    n_s, n_d, n_p = len(instance.supplies), len(instance.demands), len(processors)
    sinks = [p.as_sink() for p in processors]
    m = _match(
        params,
        instance.supplies,
        sinks,
        instance.supply_property,
        _forbidden_keys(instance, n_s, n_p, n_d),
    )
    si, pk = m.source, m.sink
    blend = instance.supply_blend_properties
    needs_cn = np.array([p.blend.limits_cn for p in processors], dtype=bool)[pk]
    needs_moisture = np.array([p.blend.limits_moisture for p in processors], dtype=bool)[pk]
    known_cn = np.isfinite(blend["cn"][si]) & np.isfinite(blend["nitrogen"][si])
    keep = (~needs_cn | known_cn) & (~needs_moisture | np.isfinite(blend["moisture"][si]))
    si, pk, m = si[keep], pk[keep], _take(m, keep)

    treatment = np.array([p.treatment_kg_co2e_per_t for p in processors], dtype=float)
    yields = np.array([p.output.yield_t_per_t if p.output else 0.0 for p in processors])
    out_fate = np.array([p.output.fate_kg_co2e_per_t if p.output else 0.0 for p in processors])
    capacity = np.array([p.capacity_tonnes for p in processors], dtype=float)
    saving = processing_net_kg_co2e_saved_per_t(
        road_km=m.road_km,
        fate_kg_co2e_per_t=instance.supply_fate_kg_co2e_per_t[si],
        treatment_kg_co2e_per_t=treatment[pk],
        transport_kg_co2e_per_tkm=params.transport_kg_co2e_per_tkm,
        credit_kg_co2e_per_t=m.credit_kg_co2e_per_t,
        output_yield=yields[pk],
        output_fate_kg_co2e_per_t=out_fate[pk],
    )
    return Arcs(
        si,
        n_d + pk,
        m.road_km,
        saving,
        np.minimum(instance.supply_tonnes[si], capacity[pk]),
        fate_cost[si] + m.value_kzt_per_t - params.transport_kzt_per_tkm * m.road_km,
    )


def _from_processors(instance: Instance) -> Arcs:
    """Processor outputs -> demands, the output offered like a supply."""
    params, processors = instance.parameters, instance.processors
    n_s = len(instance.supplies)
    with_output = [k for k, p in enumerate(processors) if p.output is not None]
    sources = [processors[k].as_source() for k in with_output]
    plant = np.array(with_output, dtype=np.int64)

    def output_property(prop: str) -> np.ndarray:
        return np.array(
            [
                s.quality.get(prop, instance.materials.get(s.material, {}).get(prop, math.nan))
                for s in sources
            ],
            dtype=float,
        )

    # Forbidden pairs name plants by id; number them like ``sources`` here.
    local = {k: row for row, k in enumerate(with_output)}
    keys = sorted(
        local[instance.processor_index[f.supply]] * len(instance.demands)
        + instance.demand_index[f.demand]
        for f in instance.forbidden
        if f.supply in instance.processor_index
        and instance.processor_index[f.supply] in local
        and f.demand in instance.demand_index
    )
    m = _match(params, sources, instance.demands, output_property, np.array(keys, dtype=np.int64))
    pk, dj = plant[m.source], m.sink
    fate = np.array([s.fate_kg_co2e_per_t for s in sources], dtype=float)[m.source]
    cost = np.array([s.fate_cost_kzt_per_t for s in sources], dtype=float)[m.source]
    out_cap = np.array([s.tonnes for s in sources], dtype=float)[m.source]
    return Arcs(
        n_s + pk,
        dj,
        m.road_km,
        net_kg_co2e_saved_per_t(
            road_km=m.road_km,
            fate_kg_co2e_per_t=fate,
            credit_kg_co2e_per_t=m.credit_kg_co2e_per_t,
            transport_kg_co2e_per_tkm=params.transport_kg_co2e_per_tkm,
        ),
        np.minimum(out_cap, instance.demand_tonnes[dj]),
        cost + m.value_kzt_per_t - params.transport_kzt_per_tkm * m.road_km,
    )


def processor_chain_arcs(instance: Instance) -> Arcs:
    """Processor outputs -> other processors' inputs, from plants whose output says
    ``to_processors``: the output as a supply (its material, ``output.max_km``, the
    plant's window, ``output.quality`` else the materials table) and the receiving
    plant as a demand, on the rules of the other matchings (a plant with blend limits
    takes only outputs whose properties it needs are known). Per tonne: the output's
    fate avoided + the receiver's credit - transport - its treatment - its yield x its
    output's fate (``processing_net_kg_co2e_saved_per_t``)."""
    params, processors = instance.parameters, instance.processors
    n_s, n_d = len(instance.supplies), len(instance.demands)
    offering = [k for k, p in enumerate(processors) if p.output and p.output.to_processors]
    if not offering:
        return Arcs.empty()
    sources = [processors[k].as_source() for k in offering]
    plant = np.array(offering, dtype=np.int64)

    def output_property(prop: str) -> np.ndarray:
        return np.array(
            [
                s.quality.get(prop, instance.materials.get(s.material, {}).get(prop, math.nan))
                for s in sources
            ],
            dtype=float,
        )

    sinks = [p.as_sink() for p in processors]
    m = _match(params, sources, sinks, output_property, np.zeros(0, dtype=np.int64))
    pk, qk = plant[m.source], m.sink
    cn, moisture = output_property("cn_ratio"), output_property("moisture_percent")
    nitrogen = nitrogen_t_per_t(cn, moisture, output_property("nitrogen_percent"))
    needs_cn = np.array([p.blend.limits_cn for p in processors], dtype=bool)[qk]
    needs_moisture = np.array([p.blend.limits_moisture for p in processors], dtype=bool)[qk]
    known_cn = np.isfinite(cn[m.source]) & np.isfinite(nitrogen[m.source])
    keep = (pk != qk) & (~needs_cn | known_cn)
    keep &= ~needs_moisture | np.isfinite(moisture[m.source])
    pk, qk, m = pk[keep], qk[keep], _take(m, keep)

    out_fate = np.array([p.output.fate_kg_co2e_per_t if p.output else 0.0 for p in processors])
    out_cost = np.array([p.output.fate_cost_kzt_per_t if p.output else 0.0 for p in processors])
    yields = np.array([p.output.yield_t_per_t if p.output else 0.0 for p in processors])
    treatment = np.array([p.treatment_kg_co2e_per_t for p in processors], dtype=float)
    capacity = np.array([p.capacity_tonnes for p in processors], dtype=float)
    saving = processing_net_kg_co2e_saved_per_t(
        road_km=m.road_km,
        fate_kg_co2e_per_t=out_fate[pk],
        treatment_kg_co2e_per_t=treatment[qk],
        transport_kg_co2e_per_tkm=params.transport_kg_co2e_per_tkm,
        credit_kg_co2e_per_t=m.credit_kg_co2e_per_t,
        output_yield=yields[qk],
        output_fate_kg_co2e_per_t=out_fate[qk],
    )
    return Arcs(
        n_s + pk,
        n_d + qk,
        m.road_km,
        saving,
        np.minimum(capacity[pk] * yields[pk], capacity[qk]),
        out_cost[pk] + m.value_kzt_per_t - params.transport_kzt_per_tkm * m.road_km,
    )


def _take(m: _Matched, rows) -> _Matched:
    return _Matched(
        m.source[rows],
        m.sink[rows],
        m.road_km[rows],
        m.credit_kg_co2e_per_t[rows],
        m.value_kzt_per_t[rows],
    )


def concatenate_arcs(parts: list[Arcs]) -> Arcs:
    return Arcs(
        *(
            np.concatenate([getattr(a, name) for a in parts])
            for name in (
                "supply",
                "demand",
                "road_km",
                "net_kg_co2e_saved_per_t",
                "capacity_tonnes",
                "economic_value_kzt_per_t",
            )
        )
    )


def _quality_ok(source_property, table: _AcceptTable, si: np.ndarray, ai: np.ndarray) -> np.ndarray:
    ok = np.ones(len(si), dtype=bool)
    limited = table.quality_limited
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
        # A source that does not state the property cannot be shown to meet the limit.
        value = source_property(prop)[si]
        within = (value >= low[ai]) & (value <= high[ai])  # NaN compares False
        ok &= ~applies[ai] | within
    return ok


# --------------------------------------------------------------------------- presolve


def objective_saving_per_t(instance: Instance, arcs: Arcs) -> np.ndarray:
    """What the model maximises per tonne: net saving plus the landfill weight."""
    weight = instance.parameters.landfill_weight_kg_co2e_per_t
    return arcs.net_kg_co2e_saved_per_t + weight * instance.source_is_landfill[arcs.supply]


def pair_keys(instance: Instance, supply: np.ndarray, demand: np.ndarray) -> np.ndarray:
    """One int64 per (source, sink) pair."""
    return supply.astype(np.int64) * instance.n_sinks + demand


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
    non-saving arcs because they still move tonnes. Arcs into a processor are
    kept whatever they save on their own: their output may earn more downstream,
    and a low-value input may be what lets a blend meet its limits.
    """
    if not len(arcs):
        return arcs
    free = ~pinned_mask(instance, arcs)
    lot = instance.sink_min_lot_tonnes[arcs.demand]
    drop = (arcs.capacity_tonnes <= 0) | (arcs.capacity_tonnes < lot)
    if instance.parameters.objective == "co2e":
        to_processor = arcs.demand >= len(instance.demands)
        drop |= (objective_saving_per_t(instance, arcs) <= 0) & ~to_processor
    return arcs.take(~(drop & free))


# --------------------------------------------------------------------------- components


def arc_components(
    n_supplies: int, n_demands: int, arcs: Arcs, links: tuple | None = None
) -> tuple[int, np.ndarray]:
    """Connected components of the bipartite arc graph, as a label per arc.

    ``links`` = (source nodes, sink nodes) joins those pairs as well: a processor's
    output source and input sink are one plant, so its input and output arcs share
    a component. Labels run 0..k-1 over components that hold at least one arc,
    largest first, so a caller handing them to parallel workers starts the slow
    ones first.
    """
    if not len(arcs):
        return 0, np.zeros(0, dtype=np.int64)
    n = n_supplies + n_demands
    rows, cols = arcs.supply, n_supplies + arcs.demand
    if links is not None and len(links[0]):
        rows = np.concatenate((rows, np.asarray(links[0], dtype=np.int64)))
        cols = np.concatenate((cols, n_supplies + np.asarray(links[1], dtype=np.int64)))
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n))
    _, node_label = connected_components(graph, directed=False)
    raw = node_label[arcs.supply]
    used, dense, sizes = np.unique(raw, return_inverse=True, return_counts=True)
    rank = np.empty(len(used), dtype=np.int64)
    rank[np.argsort(-sizes, kind="stable")] = np.arange(len(used))
    return len(used), rank[dense]
