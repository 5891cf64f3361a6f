"""Pricing instead of enumeration: the all-arcs optimum from a few of the arcs.

For a transport LP (no lots, no processors, the CO2e objective) the optimum over
every candidate arc is found on a small set and *proven* on all:

1. Start from a sparse set (``_initial_pairs``): per material, each supply's
   ``K_NEAREST`` nearest accepting demands within reach and each accept row's nearest
   supplies, also among the best half, quarter and eighth of the other side; and the
   pins.
2. Solve the LP on the set exactly with the min-cost flow (``optimizer.flow``) and
   read the duals off its optimum (``flow_duals``: complementary slackness through the
   forest of arcs carrying flow): u_i per supply row, v_j per demand row, >= 0. They
   are checked on every column of the set; where they fail (a tree whose free
   constant the difference constraints could not fix), HiGHS (``highspy``), started
   from the flow's optimum, gives the duals of an optimal basis instead.
3. Price every arc without materialising the pairs: arc i -> j is worth adding only
   if its reduced saving w_ij - u_i - v_j > ``REDUCED_COST_TOL``. With
   w_ij = a_i + c_j - t * road_km (a_i: the supply's fate avoided plus landfill
   weight, c_j: the demand's credit for the material, t: transport per tonne-km),
   that is road_km < (a_i - u_i + c_j - v_j) / t: a distance threshold. Supplies are
   sorted into buckets by a_i - u_i and accept rows by c_j - v_j; a bucket pair whose
   best sum is not positive holds no candidate at all, and the others are a k-d tree
   range query per accept row with the bucket's best a_i - u_i. Every hit is then
   tested exactly (the reduced saving, and every candidate rule, through the very
   masks ``generate_arcs`` applies: ``optimizer.candidates.pair_mask``).
4. Add the best ``ADD_PER_NODE`` improving arcs per node, drop the idle arcs beyond
   each node's best ``KEEP_PER_NODE`` (``_prunable``: they price out, and pricing
   brings back any the duals want again), re-solve only the connected components of
   the set that gained an arc (the others keep their optimum and duals), and repeat
   until pricing finds nothing.

Then (u + eps, v), eps the largest reduced saving left on any arc (at most the
tolerance off the set; on it, what the flow's cost rounding or HiGHS's tolerances
leave), is a feasible dual of the all-arcs LP, so sum s_i (u_i + eps) + sum d_j v_j
bounds every solution over all arcs: that bound is the run's bound
(``Prepared.pricing``), and the priced arcs are handed to the usual components
(``optimizer.problem.prepare_arcs``), which the exact min-cost flow solves.

Why duals from the flow: OR-Tools' Python min-cost flow returns no node potentials,
and HiGHS solving the LP (or even crossing over from the flow's optimum) took most
of the time: at 50,000 x 50,000, 704 s and 317,000 simplex iterations for one round
of 3 M columns; reading the duals off the flow takes a fraction of a second.

Pricing is used (``use_pricing``) when the instance is such an LP and its
estimated pairs within reach pass ``PRICING_MIN_ARCS`` (or when asked for); below
that enumerating is faster and the default run stays what it was. Instances with lots, processors or
the tonnes-first objective are enumerated in full (the reason is in the stats):
a lot's binary variable has no LP dual, a plant's yield and blend rows couple its
arcs beyond the two node duals, and the tonnes-first objective is two stacked LPs.

Longer than most (about 950 lines): the first set, the pricing queries, the duals
and the loop with its bound are one algorithm, and the bound is only as sound as
all four together.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import chain

import highspy
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import breadth_first_order, connected_components
from scipy.spatial import cKDTree

from optimizer.candidates import (
    MatchContext,
    _forbidden_keys,
    chord_radius,
    concatenate_arcs,
    direct_arcs,
    great_circle_km,
    match_context,
    matched_pairs,
    objective_saving_per_t,
    pair_keys,
    pair_mask,
    presolve,
    supply_fate_cost,
)
from optimizer.flow import rounded_savings, solve_min_cost_flow
from optimizer.groups import pair_count
from optimizer.instance import Arcs, Instance
from optimizer.problem import (
    ComponentProblem,
    ComponentResult,
    PinError,
    Prepared,
    _apply_pins,
    prepare,
    prepare_arcs,
)
from optimizer.solvers import _swallow_highs_banner
from symbiosis.impact import net_kg_co2e_saved_per_t

# ``auto`` prices from this many estimated pairs within reach (the estimate counts
# them before windows, quality and the other rules: on the benchmark's city 6.5 M at
# 10,000 x 10,000 for 5.0 M arcs, 40 M at 25,000 x 25,000 for 31 M arcs). Measured
# there (2 shared cores, seed 1), pricing is both faster and leaner: 10,000: 11.6 s
# and 0.34 GB against 13.4 s and 1.3 GB enumerating; 25,000: 35 s and 0.7 GB against
# 98 s and 7.7 GB. At 5,000 x 5,000 (1.6 M estimated) enumerating is faster: 1.7 s
# against 3.2 s priced, so the threshold sits between.
# ``on`` prices whenever the instance allows.
PRICING_MIN_ARCS = 5_000_000
# Nearest accepting partners per supply (and per demand) in the first set.
K_NEAREST = 8
# ... among all of the other side, then among its best half, quarter, eighth.
FIRST_SHARES = (1, 2, 4, 8)
# An arc joins when its reduced saving exceeds this (kg CO2e per tonne): about HiGHS's
# dual feasibility tolerance, below which its duals cannot tell an arc apart anyway.
REDUCED_COST_TOL = 1e-7
# Pricing's first test (distance only) keeps pairs down to this far below 0 (kg CO2e
# per tonne), so that float rounding cannot drop one the exact test would keep.
ROUGH_MARGIN = 1e-6
# Improving arcs added per supply and per demand in a round (partial pricing).
ADD_PER_NODE = 4
# After a round, idle columns of the restricted LP beyond the best this many per node
# (by reduced saving) leave it (``_prunable``), in the first PRUNE_ROUNDS rounds: past
# them the set only grows, so the rounds end as plain column generation does.
KEEP_PER_NODE = 4
PRUNE_ROUNDS = 30
# The restricted LP's components are solved by one flow each, but the small ones
# together up to this many columns (a flow call has its overhead).
FLOW_BATCH_COLUMNS = 20_000
# Duals read off the flow are used when no column of the set has a reduced saving
# above this share of the largest saving per tonne: the flow's costs are rounded to
# 1e-9 of it (optimizer.flow), and along a tree of flow arcs the roundings add up
# (1.4e-5 kg/t seen at 50,000 x 50,000, largest ~5,000 kg/t); past it, HiGHS computes
# the duals. What is left counts in the bound (eps in the module docstring).
FLOW_DUAL_TOL_SHARE = 1e-8
# Bellman-Ford rounds for the free constants of ``flow_duals``.
MAX_THETA_ROUNDS = 10_000
# Buckets per side (supplies by a_i - u_i, accept rows by c_j - v_j) in a material.
BUCKETS = 12
# Stop adding rounds after this many (never reached in practice; the stats would say).
MAX_ROUNDS = 100
PRICING_MODES = ("auto", "on", "off")
# PRICING_TRACE=1 in the environment prints each round's figures to stderr.
_TRACE = bool(os.environ.get("PRICING_TRACE"))


def unpriceable_reason(instance: Instance) -> str | None:
    """Why this instance's arcs cannot be priced, or None when they can."""
    if instance.seasons is not None:
        return "periods (the time-expanded model)"
    if instance.processors:
        return "processors (a plant's yield and blend rows are no transport LP)"
    if bool((instance.demand_min_lot_tonnes > 0).any()):
        return "minimum lots (a lot's binary variable has no LP dual)"
    if instance.parameters.objective != "co2e":
        return f"objective {instance.parameters.objective!r} (two stacked LPs)"
    return None


def _context(instance: Instance) -> MatchContext | None:
    n_s, n_d = len(instance.supplies), len(instance.demands)
    return match_context(
        instance.parameters,
        instance.supplies,
        instance.demands,
        instance.supply_property,
        _forbidden_keys(instance, n_s, n_d, 0),
    )


def estimate_arcs(ctx: MatchContext, sample: int = 400, seed: int = 0) -> float:
    """Candidate pairs within reach (before the other rules), estimated from a sample
    of each material's supplies: counting them all costs what enumerating does."""
    rng = np.random.default_rng(seed)
    rf = ctx.params.road_factor
    total = 0.0
    for m in range(ctx.n_materials):
        s_rows, a_rows = ctx.group(m)
        if not len(s_rows) or not len(a_rows):
            continue
        picked = s_rows if len(s_rows) <= sample else rng.choice(s_rows, sample, replace=False)
        a_demand = ctx.table.demand[a_rows]
        reach_km = np.minimum(ctx.s_limit[picked], ctx.d_limit[a_demand].max()) / rf
        radius = chord_radius(reach_km)
        counts = cKDTree(ctx.d_xyz[a_demand]).query_ball_point(
            ctx.s_xyz[picked], np.minimum(radius, 2.5), return_length=True
        )
        total += float(np.sum(counts)) * len(s_rows) / len(picked)
    return total


def use_pricing(instance: Instance, mode: str = "auto") -> tuple[bool, dict | None]:
    """Whether to price, and what the stats should say about it: None where pricing
    was never in question (``auto`` below ``PRICING_MIN_ARCS``, so such runs report
    exactly what they did before pricing existed)."""
    if mode not in PRICING_MODES:
        raise ValueError(f"unknown pricing mode {mode!r}; use one of {PRICING_MODES}")
    if mode == "off" or instance.seasons is not None:
        return False, None
    if mode == "auto" and pair_count(instance, plants=False) < PRICING_MIN_ARCS:
        return False, None  # at most that many arcs: no need to estimate
    ctx = _context(instance)
    estimate = estimate_arcs(ctx) if ctx is not None else 0.0
    if mode == "auto" and estimate < PRICING_MIN_ARCS:
        return False, None
    reason = unpriceable_reason(instance)
    if reason is not None:
        return False, {
            "used": False,
            "estimated_arcs": estimate,
            "reason": f"all arcs enumerated: {reason}",
        }
    return True, {"used": True, "estimated_arcs": estimate}


# --------------------------------------------------------------------------- the arc set


def _lookup(sorted_keys: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each of ``keys``: whether ``sorted_keys`` holds it, and where (a valid
    index even where it does not)."""
    if not len(sorted_keys):
        return np.zeros(len(keys), dtype=bool), np.zeros(len(keys), dtype=np.int64)
    at = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[at] == keys, at


class _ArcSet:
    """The priced arcs so far, with a sorted key per pair for membership tests."""

    def __init__(self, instance: Instance, arcs: Arcs):
        self.instance = instance
        self.arcs = arcs
        self.keys = np.sort(pair_keys(instance, arcs.supply, arcs.demand))

    def new_rows(self, arcs: Arcs) -> np.ndarray:
        """Rows of ``arcs`` not yet in the set (and each pair once)."""
        keys = pair_keys(self.instance, arcs.supply, arcs.demand)
        _, first = np.unique(keys, return_index=True)
        fresh = np.zeros(len(keys), dtype=bool)
        fresh[first] = True
        fresh &= ~_lookup(self.keys, keys)[0]
        return np.flatnonzero(fresh)

    def remove(self, supply: np.ndarray, demand: np.ndarray) -> None:
        """Drop these pairs from the set (pricing may bring them back)."""
        gone = np.sort(pair_keys(self.instance, supply, demand))
        if not len(gone):
            return
        keys = pair_keys(self.instance, self.arcs.supply, self.arcs.demand)
        keep = ~_lookup(gone, keys)[0]
        self.arcs = self.arcs.take(keep)
        self.keys = np.sort(keys[keep])

    def add(self, arcs: Arcs) -> None:
        self.arcs = concatenate_arcs([self.arcs, arcs])
        self.keys = np.sort(
            np.concatenate((self.keys, pair_keys(self.instance, arcs.supply, arcs.demand)))
        )


def _arcs_of(instance: Instance, ctx: MatchContext, si, ai, fate_cost) -> Arcs:
    """Supply -> demand arcs of candidate pairs (source si, accept row ai), kept where
    every rule of ``generate_arcs`` allows them."""
    keep, road_km = pair_mask(ctx, si, ai)
    arcs = direct_arcs(instance, matched_pairs(ctx, si[keep], ai[keep], road_km[keep]), fate_cost)
    if instance.parameters.require_economic_value:
        arcs = arcs.take(arcs.economic_value_kzt_per_t >= 0)
    return arcs


def _nearest(tree_xyz, rows, query_xyz, query_rows, reach_chord, k):
    """(query row, tree row) pairs: each query point's k nearest tree points within
    its reach chord."""
    k = min(k, len(rows))
    dist, idx = cKDTree(tree_xyz).query(query_xyz, k=k)
    dist, idx = dist.reshape(len(query_rows), k), idx.reshape(len(query_rows), k)
    ok = (dist <= reach_chord[:, None]).ravel()
    return np.repeat(query_rows, k)[ok], rows[
        np.where(dist <= reach_chord[:, None], idx, 0)
    ].ravel()[ok]


def _initial_pairs(ctx: MatchContext, supply_value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first set, as (source, accept row) pairs: each supply's ``K_NEAREST``
    nearest accept rows of its material within reach, and each accept row's nearest
    supplies; then the same among the best half, quarter and eighth of the other
    side (accept rows by credit, supplies by ``supply_value``). Where transport is
    cheap beside fates and credits, the optimum sends far to the best partners, and
    geography alone starts from duals so poor that nearly every arc prices in."""
    rf = ctx.params.road_factor
    parts_s, parts_a = [], []
    for m in range(ctx.n_materials):
        s_rows, a_rows = ctx.group(m)
        if not len(s_rows) or not len(a_rows):
            continue
        a_demand = ctx.table.demand[a_rows]
        s_reach = chord_radius(np.minimum(ctx.s_limit[s_rows], ctx.d_limit[a_demand].max()) / rf)
        a_reach = chord_radius(np.minimum(ctx.d_limit[a_demand], ctx.s_limit[s_rows].max()) / rf)
        by_credit = np.argsort(-ctx.table.credit_kg_co2e_per_t[a_rows], kind="stable")
        by_value = np.argsort(-supply_value[s_rows], kind="stable")
        for share in FIRST_SHARES:
            top_a = by_credit[: max(len(a_rows) // share, 1)]
            top_s = by_value[: max(len(s_rows) // share, 1)]
            if share > 1 and len(top_a) < K_NEAREST and len(top_s) < K_NEAREST:
                break
            i, a = _nearest(
                ctx.d_xyz[a_demand[top_a]],
                a_rows[top_a],
                ctx.s_xyz[s_rows],
                s_rows,
                s_reach,
                K_NEAREST,
            )
            parts_s.append(i)
            parts_a.append(a)
            a, i = _nearest(
                ctx.s_xyz[s_rows[top_s]],
                s_rows[top_s],
                ctx.d_xyz[a_demand],
                a_rows,
                a_reach,
                K_NEAREST,
            )
            parts_s.append(i)
            parts_a.append(a)
    if not parts_s:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(parts_s), np.concatenate(parts_a)


def _pin_pairs(instance: Instance, ctx: MatchContext) -> tuple[np.ndarray, np.ndarray]:
    """The (source, accept row) pair of each pin whose demand accepts its material."""
    row_of = {
        (int(j), int(mat)): a
        for a, (j, mat) in enumerate(zip(ctx.table.demand, ctx.table.material, strict=True))
    }
    si, ai = [], []
    for pin in instance.pins:
        i, j = instance.supply_index[pin.supply], instance.demand_index[pin.demand]
        a = row_of.get((j, int(ctx.s_material[i])))
        if a is not None:
            si.append(i)
            ai.append(a)
    return np.array(si, dtype=np.int64), np.array(ai, dtype=np.int64)


# --------------------------------------------------------------------------- pricing


@dataclass
class _Priced:
    """One pricing pass: the arcs chosen to join, how many improve, the largest reduced
    saving of any arc off the set (0 when none is positive), and pairs tested."""

    chosen: Arcs
    improving: int = 0
    eps_left: float = 0.0
    tested: int = 0


def _price(
    instance: Instance,
    ctx: MatchContext,
    arc_set: _ArcSet,
    u: np.ndarray,
    v: np.ndarray,
    supply_left: np.ndarray,
    demand_left: np.ndarray,
    fate_cost: np.ndarray,
) -> _Priced:
    """Every allowed arc off the set with a positive reduced saving, found by range
    queries (see the module docstring), of which those past the tolerance are
    improving and the best ``ADD_PER_NODE`` per node are chosen. The queries find
    every positive arc, not only those past the tolerance, so the bound can count
    what is left. Each material's hits are reduced to their best per node at once,
    so no more than one material's pairs are held at a time."""
    params = instance.parameters
    per_km = params.transport_kg_co2e_per_tkm * params.road_factor  # per great-circle km
    value = (
        instance.supply_fate_kg_co2e_per_t
        + params.landfill_weight_kg_co2e_per_t * instance.supply_is_landfill
        - u
    )
    out = _Priced(Arcs.empty())
    chosen, chosen_reduced = [], []

    def take(si: np.ndarray, ai: np.ndarray) -> None:
        # The reduced saving from the distance alone first (the saving the arcs below
        # get, by the same function): the candidate rules are then tested on the
        # hopeful few only.
        dj = ctx.table.demand[ai]
        road_km = great_circle_km(ctx.s_xyz[si], ctx.d_xyz[dj]) * params.road_factor
        saving = net_kg_co2e_saved_per_t(
            road_km=road_km,
            fate_kg_co2e_per_t=instance.supply_fate_kg_co2e_per_t[si],
            credit_kg_co2e_per_t=ctx.table.credit_kg_co2e_per_t[ai],
            transport_kg_co2e_per_tkm=params.transport_kg_co2e_per_tkm,
        )
        weight = params.landfill_weight_kg_co2e_per_t * instance.supply_is_landfill[si]
        hopeful = saving + weight - u[si] - v[dj] > -ROUGH_MARGIN
        si, ai = si[hopeful], ai[hopeful]
        arcs = _arcs_of(instance, ctx, si, ai, fate_cost)
        reduced = objective_saving_per_t(instance, arcs) - u[arcs.supply] - v[arcs.demand]
        # Only positive arcs matter below, so only they are checked against the set
        # (the membership test of every hit took seconds a round).
        positive = np.flatnonzero(reduced > 0)
        arcs, reduced = arcs.take(positive), reduced[positive]
        fresh = arc_set.new_rows(arcs)
        arcs, reduced = arcs.take(fresh), reduced[fresh]
        out.eps_left = max(out.eps_left, float(reduced.max(initial=0.0)))
        improving = reduced > REDUCED_COST_TOL
        out.improving += int(improving.sum())
        arcs, reduced = arcs.take(improving), reduced[improving]
        best = _best_per_node(arcs, reduced)
        chosen.append(arcs.take(best))
        chosen_reduced.append(reduced[best])

    for m in range(ctx.n_materials):
        s_rows, a_rows = ctx.group(m)
        s_rows = s_rows[supply_left[s_rows] > 0]
        a_rows = a_rows[demand_left[ctx.table.demand[a_rows]] > 0]
        if not len(s_rows) or not len(a_rows):
            continue
        a_val = value[s_rows]
        b_val = ctx.table.credit_kg_co2e_per_t[a_rows] - v[ctx.table.demand[a_rows]]
        if a_val.max() + b_val.max() <= 0:
            continue
        s_rows, a_val = s_rows[np.argsort(-a_val)], np.sort(a_val)[::-1]
        b_order = np.argsort(-b_val)
        a_rows, b_val = a_rows[b_order], b_val[b_order]
        hit_s, hit_a = [], []  # one material's hits, tested together
        s_parts = np.array_split(np.arange(len(s_rows)), min(BUCKETS, len(s_rows)))
        a_parts = np.array_split(np.arange(len(a_rows)), min(BUCKETS, len(a_rows)))
        for sp in s_parts:
            best_a = a_val[sp[0]]
            if best_a + b_val[0] <= 0:
                break  # later buckets are worse still
            bucket = s_rows[sp]
            tree = None
            reach_km = ctx.s_limit[bucket].max()
            for ap in a_parts:
                if best_a + b_val[ap[0]] <= 0:
                    break
                slack = best_a + b_val[ap]
                rows = ap[slack > 0]
                demand = ctx.table.demand[a_rows[rows]]
                with np.errstate(divide="ignore"):
                    km = slack[slack > 0] / per_km if per_km > 0 else np.inf
                km = np.minimum(km, np.minimum(ctx.d_limit[demand], reach_km) / params.road_factor)
                if tree is None:
                    tree = cKDTree(ctx.s_xyz[bucket])
                hits = tree.query_ball_point(
                    ctx.d_xyz[demand], np.minimum(chord_radius(km), 2.5), return_sorted=False
                )
                counts = np.fromiter(map(len, hits), dtype=np.int64, count=len(hits))
                total = int(counts.sum())
                if not total:
                    continue
                out.tested += total
                hit_s.append(
                    bucket[np.fromiter(chain.from_iterable(hits), dtype=np.int64, count=total)]
                )
                hit_a.append(np.repeat(a_rows[rows], counts))
        if hit_s:
            take(np.concatenate(hit_s), np.concatenate(hit_a))
    if chosen:
        arcs = concatenate_arcs(chosen)
        reduced = np.concatenate(chosen_reduced)
        out.chosen = arcs.take(_best_per_node(arcs, reduced))
    return out


def _best_per_node(arcs: Arcs, reduced: np.ndarray) -> np.ndarray:
    """Rows of the ``ADD_PER_NODE`` arcs of largest reduced saving at each supply and
    at each demand: adding every improving arc at once would bloat the LP with arcs
    the next duals no longer want (partial pricing; the loop ends only when none is
    left, so the optimum is the same)."""
    return np.flatnonzero(_top_per_node(arcs.supply, arcs.demand, reduced, ADD_PER_NODE))


def _top_per_node(supply, demand, reduced, k: int) -> np.ndarray:
    """Mask of the rows among the ``k`` of largest ``reduced`` at their supply or at
    their demand."""
    keep = np.zeros(len(supply), dtype=bool)
    for node in (supply, demand):
        order = np.lexsort((-reduced, node))
        sorted_node = node[order]
        # Each row's rank within its node's run of the sorted rows (linear, where a
        # search per row cost seconds at millions of improving arcs).
        position = np.arange(len(order))
        first = np.ones(len(order), dtype=bool)
        first[1:] = sorted_node[1:] != sorted_node[:-1]
        rank = position - np.maximum.accumulate(np.where(first, position, 0))
        keep[order[rank < k]] = True
    return keep


def _prunable(lp: _Lp, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Columns of the restricted LP to drop after a round: no flow on them, and not
    among the ``KEEP_PER_NODE`` of largest reduced saving at either end. Without them
    the LP's optimum stays optimal for the same duals (they price out), so nothing is
    lost; should the duals move enough to want one back, pricing finds it again. The
    set then holds the optimum's arcs and their near rivals instead of every arc ever
    priced in: at 50,000 x 50,000 the rounds' flows were most of the time."""
    reduced = lp.saving - u[lp.supply] - v[lp.demand]
    idle = lp.tonnes <= 0
    rows = np.flatnonzero(idle)
    near = _top_per_node(lp.supply[rows], lp.demand[rows], reduced[rows], KEEP_PER_NODE)
    drop = np.zeros(lp.columns, dtype=bool)
    drop[rows[~near]] = True
    return drop


class _Lp:
    """The restricted LP: max w.x, supply rows and demand rows <= tonnes left, 0 <= x
    (an arc's capacity min(supply, demand) is implied by its two rows, so the duals
    are all in u and v). Columns are added (and idle ones dropped) between rounds;
    each round solves it by the exact flow and reads the duals off the flow, or asks
    HiGHS (``solve``). Only the connected components of the columns that gained a
    column since the last solve are solved again: the others keep their optimum and
    its duals, which still hold (their columns are the same, or fewer idle ones)."""

    def __init__(
        self,
        n_s: int,
        n_d: int,
        supply_left: np.ndarray,
        demand_left: np.ndarray,
        workers: int = 1,
    ):
        self.n_s, self.n_d = n_s, n_d
        self.workers = workers
        self.pool: ProcessPoolExecutor | None = None
        self.upper = np.concatenate((supply_left, demand_left))
        self.supply = np.zeros(0, np.int64)
        self.demand = np.zeros(0, np.int64)
        self.saving = np.zeros(0)
        self.tonnes = np.zeros(0)  # the last optimum, per column
        self.fresh = np.zeros(0, dtype=bool)  # added since the last solve
        self.u, self.v = np.zeros(n_s), np.zeros(n_d)  # the last duals
        self.h = None
        self.flow_dual_rounds = 0
        self.highs_rounds = 0
        self.resolved_columns = 0  # columns the flows solved, over all rounds
        _swallow_highs_banner()  # the CLI may be writing the solution to stdout

    @property
    def columns(self) -> int:
        return len(self.supply)

    def add(self, supply: np.ndarray, demand: np.ndarray, saving: np.ndarray) -> None:
        if len(supply):
            self.supply = np.concatenate((self.supply, supply))
            self.demand = np.concatenate((self.demand, demand))
            self.saving = np.concatenate((self.saving, saving))
            self.tonnes = np.concatenate((self.tonnes, np.zeros(len(supply))))
            self.fresh = np.concatenate((self.fresh, np.ones(len(supply), dtype=bool)))

    def keep(self, rows: np.ndarray) -> None:
        """Only these columns (a mask or index array) from now on."""
        self.supply, self.demand, self.saving = (
            self.supply[rows],
            self.demand[rows],
            self.saving[rows],
        )
        self.tonnes, self.fresh = self.tonnes[rows], self.fresh[rows]

    def _stale(self) -> list[np.ndarray]:
        """Columns of the connected components with a fresh column, per component
        (small ones batched up to ``FLOW_BATCH_COLUMNS``): separate flows are faster
        than one over all of them (at 10,000 x 10,000, half the time for 5
        components)."""
        n = self.n_s + self.n_d
        graph = coo_matrix(
            (np.ones(self.columns, np.int8), (self.supply, self.n_s + self.demand)), shape=(n, n)
        )
        _, label = connected_components(graph, directed=False)
        column_label = label[self.supply]
        stale = np.zeros(n, dtype=bool)
        stale[column_label[self.fresh]] = True
        rows = np.flatnonzero(stale[column_label])
        rows = rows[np.argsort(column_label[rows], kind="stable")]
        _, starts, sizes = np.unique(column_label[rows], return_index=True, return_counts=True)
        batches, batch, size = [], [], 0
        for start, count in sorted(
            zip(starts.tolist(), sizes.tolist(), strict=True), key=lambda x: x[1]
        ):
            batch.append(rows[start : start + count])
            size += count
            if size >= FLOW_BATCH_COLUMNS:
                batches.append(np.concatenate(batch))
                batch, size = [], 0
        if batch:
            batches.append(np.concatenate(batch))
        return batches

    def _model(self) -> highspy.Highs:
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        rows = self.n_s + self.n_d
        h.addRows(
            rows,
            np.full(rows, -highspy.kHighsInf),
            self.upper,
            0,
            np.zeros(0, np.int32),
            np.zeros(0, np.int32),
            np.zeros(0),
        )
        n = self.columns
        if n:
            index = np.empty(2 * n, dtype=np.int32)
            index[0::2] = self.supply
            index[1::2] = self.n_s + self.demand
            h.addCols(
                n,
                -self.saving,
                np.zeros(n),
                np.full(n, highspy.kHighsInf),
                2 * n,
                np.arange(0, 2 * n, 2, dtype=np.int32),
                index,
                np.ones(2 * n),
            )
        return h

    def _flows(self, batches: list[np.ndarray], supply_left, demand_left):
        """Each batch of columns solved by ``_flow_and_duals``: in ``workers``
        processes when there are several batches (the components are independent)."""
        problems = [self._problem(rows, supply_left, demand_left) for rows in batches]
        if self.workers > 1 and len(problems) > 1:
            if self.pool is None:
                context = multiprocessing.get_context(
                    "forkserver"
                    if "forkserver" in multiprocessing.get_all_start_methods()
                    else "spawn"
                )
                self.pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
            order = sorted(range(len(problems)), key=lambda k: -problems[k][0].n_arcs)
            futures = {k: self.pool.submit(_flow_and_duals, problems[k][0]) for k in order}
            results = [futures[k].result() for k in range(len(problems))]
        else:
            results = [_flow_and_duals(problem) for problem, _, _ in problems]
        return [(*problems[k][1:], results[k]) for k in range(len(problems))]

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()
            self.pool = None

    def _problem(self, rows: np.ndarray, supply_left: np.ndarray, demand_left: np.ndarray):
        """These columns' LP as a flow problem: (problem, its supply and demand nodes)."""
        supply, demand = self.supply[rows], self.demand[rows]
        s_nodes, s_local = np.unique(supply, return_inverse=True)
        d_nodes, d_local = np.unique(demand, return_inverse=True)
        problem = ComponentProblem(
            objective="co2e",
            supply_tonnes=supply_left[s_nodes],
            demand_tonnes=demand_left[d_nodes],
            arc_supply=s_local.astype(np.int64),
            arc_demand=d_local.astype(np.int64),
            arc_capacity_tonnes=np.minimum(supply_left[supply], demand_left[demand]),
            arc_saving_kg_co2e_per_t=self.saving[rows],
            arc_min_lot_tonnes=np.zeros(len(supply)),
            arc_ids=np.arange(len(supply), dtype=np.int64),
        )
        return problem, s_nodes, d_nodes

    def solve(self, supply_left: np.ndarray, demand_left: np.ndarray):
        """Duals (u per supply, v per demand, >= 0) of an optimum of the restricted LP,
        and its saving: from the flow (``flow_duals``) where those hold on every column
        to ``FLOW_DUAL_TOL_SHARE``, else from HiGHS started at the flow's optimum.
        The optimum's tonnes per column are left in ``self.tonnes``."""
        if not self.columns:  # nothing to move yet: every dual is 0
            self.u, self.v = np.zeros(self.n_s), np.zeros(self.n_d)
            return self.u, self.v, 0.0
        t0 = time.perf_counter()
        # The components solved again take their new duals; the others keep theirs,
        # and nodes no column reaches have none (0).
        u, v = np.zeros(self.n_s), np.zeros(self.n_d)
        u[self.supply], v[self.demand] = self.u[self.supply], self.v[self.demand]
        tonnes = self.tonnes.copy()
        batches = self._stale()
        solved = sum(len(rows) for rows in batches)
        self.resolved_columns += solved
        flow_ok = True
        for rows, (s_nodes, d_nodes, result) in zip(
            batches, self._flows(batches, supply_left, demand_left), strict=True
        ):
            if result is None:
                flow_ok = False  # HiGHS solves the whole LP below
                break
            tonnes[rows], u[s_nodes], v[d_nodes] = result
        t1 = time.perf_counter()
        if flow_ok:
            reduced = self.saving - u[self.supply] - v[self.demand]
            worst = float(reduced.max(initial=0.0))
            if _TRACE:
                print(
                    f"  flows and duals {t1 - t0:.2f} s on {solved} of {self.columns} columns, "
                    f"largest reduced saving on the set {worst:.3g}",
                    file=sys.stderr,
                    flush=True,
                )
            tol = FLOW_DUAL_TOL_SHARE * float(np.abs(self.saving).max())
            if worst <= tol:
                self.flow_dual_rounds += 1
                self.u, self.v, self.tonnes = u, v, tonnes
                self.fresh[:] = False
                return u, v, float(self.saving @ tonnes)
        self.h = self._model()
        if flow_ok:
            self.h.setSolution(
                self.columns, np.arange(self.columns, dtype=np.int32), tonnes.astype(float)
            )
        t2 = time.perf_counter()
        self.h.run()
        self.highs_rounds += 1
        if _TRACE:
            print(
                f"  highs {time.perf_counter() - t2:.2f} s, "
                f"{self.h.getInfo().simplex_iteration_count} iterations",
                file=sys.stderr,
                flush=True,
            )
        status = self.h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"pricing LP: HiGHS status {self.h.modelStatusToString(status)}")
        solution = self.h.getSolution()
        self.tonnes = np.asarray(solution.col_value)
        dual = np.maximum(-np.asarray(solution.row_dual), 0.0)
        self.u, self.v = dual[: self.n_s], dual[self.n_s :]
        self.fresh[:] = False
        return self.u, self.v, -self.h.getInfo().objective_function_value


def _flow_and_duals(problem: ComponentProblem):
    """(tonnes, u, v) of an optimum of this transport LP by the exact flow, the duals
    read off it (``flow_duals``), or None where the flow declines. In a worker
    process when ``_Lp`` has several."""
    result = solve_min_cost_flow(problem)
    rounded = rounded_savings(problem) if result is not None else None
    if rounded is None:
        return None
    # Read off for the savings the flow optimised: exact there, and within half a cost
    # unit of the true savings (the caller's check uses the true ones).
    u, v = flow_duals(dataclasses.replace(problem, arc_saving_kg_co2e_per_t=rounded), result.tonnes)
    return result.tonnes, u, v


def flow_duals(problem: ComponentProblem, tonnes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Duals (u, v) of a transport LP read off an optimal flow by complementary
    slackness: u_i = 0 at a supply with tonnes left, v_j = 0 at a demand with room
    left, and u_i + v_j = w_ij on every arc carrying flow, propagated through the
    forest of those arcs from the nodes with slack (breadth first). A tree of flow
    arcs with no slack anywhere has one free constant; it is set so that its
    smallest u is 0 (or its v stay >= 0). Optimal and exact where the trees are
    anchored and the flow is optimal for these savings; the caller checks the
    result on every column (the flow's rounded costs and free constants may leave
    some arcs slightly or truly violated, and HiGHS then decides)."""
    n_s, n_d = len(problem.supply_tonnes), len(problem.demand_tonnes)
    s, d, w = problem.arc_supply, problem.arc_demand, problem.arc_saving_kg_co2e_per_t
    sent = np.bincount(s, weights=tonnes, minlength=n_s)
    got = np.bincount(d, weights=tonnes, minlength=n_d)
    slack = np.concatenate(
        (
            sent < problem.supply_tonnes * (1 - 1e-12) - 1e-9,
            got < problem.demand_tonnes * (1 - 1e-12) - 1e-9,
        )
    )
    flowing = np.flatnonzero(tonnes > 1e-9)
    n = n_s + n_d
    rows, cols = s[flowing], n_s + d[flowing]
    n_trees, tree = connected_components(
        coo_matrix((np.ones(len(rows), np.int8), (rows, cols)), shape=(n, n)), directed=False
    )
    anchored = np.zeros(n_trees, dtype=bool)
    anchored[tree[slack]] = True
    # A root joined to every node with slack, and to one supply of each unanchored tree.
    first = np.full(n_trees, -1, dtype=np.int64)
    supply_nodes = np.arange(n_s)
    first[tree[supply_nodes[::-1]]] = supply_nodes[::-1]  # the lowest supply of each tree
    extra = first[(~anchored) & (first >= 0)]
    starts = np.concatenate((np.flatnonzero(slack), extra))
    root = n
    graph = coo_matrix(
        (
            np.ones(len(rows) + len(starts), np.int8),
            (np.concatenate((rows, np.full(len(starts), root))), np.concatenate((cols, starts))),
        ),
        shape=(n + 1, n + 1),
    )
    order, pred = breadth_first_order(graph, root, directed=False, return_predecessors=True)
    # The saving of the flow arc joining each node to its predecessor.
    keys = s[flowing] * n_d + d[flowing]
    sort = np.argsort(keys)
    keys, w_flow = keys[sort], w[flowing][sort]
    nodes = order[1:].astype(np.int64)  # int32 from scipy: node x n_d overflows it
    parent = pred[nodes].astype(np.int64)
    via_arc = parent != root
    supply_end = np.where(nodes < n_s, nodes, parent)
    demand_end = np.where(nodes < n_s, parent, nodes) - n_s
    edge_key = supply_end * n_d + demand_end
    at = np.minimum(np.searchsorted(keys, edge_key), max(len(keys) - 1, 0))
    w_edge = np.where(via_arc, w_flow[at] if len(keys) else 0.0, 0.0)
    value = np.zeros(n + 1)
    for node, p, weight, arc in zip(
        nodes.tolist(), parent.tolist(), w_edge.tolist(), via_arc.tolist(), strict=True
    ):
        value[node] = weight - value[p] if arc else 0.0
    u, v = value[:n_s], value[n_s:n]
    # Unanchored trees: u = a + theta, v = b - theta, with theta_T in [-min a, min b]
    # (u, v >= 0) and, per arc i -> j between trees, theta_Ti - theta_Tj >= w - a_i - b_j.
    # Difference constraints: Bellman-Ford rounds lowering theta_Tj to theta_Ti - c from
    # the upper bounds (anchored trees stay at 0), then the lower bounds; whatever this
    # leaves unmet (a lower bound, or a free supply tree's arc into an anchored one)
    # shows in the caller's check of every column, which then asks HiGHS.
    free = ~anchored
    if free.any():
        min_u, min_v = np.full(n_trees, np.inf), np.full(n_trees, np.inf)
        np.minimum.at(min_u, tree[:n_s], u)
        np.minimum.at(min_v, tree[n_s:], v)
        theta = np.where(free, min_v, 0.0)
        t_s, t_d = tree[s], tree[n_s + d]
        cross = (t_s != t_d) & (free[t_s] | free[t_d])
        t_s, t_d = t_s[cross], t_d[cross]
        c = w[cross] - u[s[cross]] - v[d[cross]]
        target = free[t_d]
        t_s, t_d, c = t_s[target], t_d[target], c[target]
        # A tenth of what the caller accepts: cycles of roundings cannot run on.
        theta_tol = 0.1 * FLOW_DUAL_TOL_SHARE * float(np.abs(w).max(initial=0.0))
        changed = np.ones(n_trees, dtype=bool)
        rounds = 0
        while rounds < MAX_THETA_ROUNDS:
            # Only arcs out of trees whose theta changed last round can lower another.
            rows = np.flatnonzero(changed[t_s])
            if not len(rows):
                break
            rounds += 1
            before = theta.copy()
            np.minimum.at(theta, t_d[rows], theta[t_s[rows]] - c[rows])
            # A cycle of trees whose costs the flow's rounding leaves a hair below 0
            # would lower theta forever by hairs: changes below the tolerance stop.
            changed = theta < before - theta_tol
        if _TRACE:
            print(
                f"  {int(free.sum())} trees without slack of {n_trees}, "
                f"{len(t_s)} arcs between them, {rounds} rounds",
                file=sys.stderr,
            )
        theta = np.where(free, np.maximum(theta, -min_u), 0.0)
        theta = np.where(np.isfinite(theta), theta, 0.0)
        u += theta[tree[:n_s]]
        v -= theta[tree[n_s:]]
    return np.maximum(u, 0.0), np.maximum(v, 0.0)


def prepare_priced(
    instance: Instance,
    decision: dict | None = None,
    workers: int = 1,
    deadline_epoch_s: float | None = None,
) -> Prepared:
    """``prepare`` on priced arcs: components whose optimum is proven over all arcs.
    ``workers`` processes solve the restricted LP's components in each round. Past
    ``deadline_epoch_s`` no round starts: the last optimum stands, with the bound the
    duals still prove (``stats.pricing.stopped`` says why the proof is missing)."""
    t0 = time.perf_counter()
    decision = dict(decision or {"used": True})
    ctx = _context(instance)
    if ctx is None:
        prepared = prepare(instance)
        prepared.pricing = {**decision, "used": False, "reason": "no supply and demand can match"}
        return prepared
    fate_cost = supply_fate_cost(instance)
    n_s, n_d = len(instance.supplies), len(instance.demands)
    params = instance.parameters
    supply_value = (
        instance.supply_fate_kg_co2e_per_t
        + params.landfill_weight_kg_co2e_per_t * instance.supply_is_landfill
    )
    si, ai = _initial_pairs(ctx, supply_value)
    pin_s, pin_a = _pin_pairs(instance, ctx)
    first = _arcs_of(
        instance, ctx, np.concatenate((si, pin_s)), np.concatenate((ai, pin_a)), fate_cost
    )
    first = presolve(instance, first)
    arc_set = _ArcSet(instance, first.take(np.zeros(0, dtype=np.int64)))
    arc_set.add(first.take(arc_set.new_rows(first)))
    initial = len(arc_set.arcs)

    supply_left, demand_left = instance.supply_tonnes.copy(), instance.demand_tonnes.copy()
    try:
        pinned_rows, _ = _apply_pins(instance, arc_set.arcs, supply_left, demand_left)
    except PinError:
        # prepare_arcs says which pins fail and why; pricing has nothing to add.
        prepared = prepare_arcs(instance, arc_set.arcs, initial, time.perf_counter() - t0)
        prepared.pricing = {**decision, "used": False, "reason": "the pins cannot all hold"}
        return prepared
    pinned_keys = pair_keys(
        instance, arc_set.arcs.supply[pinned_rows], arc_set.arcs.demand[pinned_rows]
    )

    lp = _Lp(n_s, n_d, supply_left, demand_left, workers)
    try:
        return _rounds(
            instance,
            ctx,
            arc_set,
            lp,
            decision,
            initial,
            pinned_keys,
            fate_cost,
            t0,
            deadline_epoch_s,
        )
    finally:
        lp.close()


def _rounds(
    instance, ctx, arc_set, lp, decision, initial, pinned_keys, fate_cost, t0, deadline_epoch_s
):
    """Price and re-solve until no arc improves; the run's Prepared with the bound."""
    supply_left, demand_left = lp.upper[: lp.n_s], lp.upper[lp.n_s :]

    def free(arcs: Arcs) -> np.ndarray:
        """The LP's columns among these arcs: not pinned (constants) and with room at
        both ends."""
        out = ~np.isin(pair_keys(instance, arcs.supply, arcs.demand), pinned_keys)
        return out & (supply_left[arcs.supply] > 0) & (demand_left[arcs.demand] > 0)

    def columns(arcs: Arcs) -> None:
        sub = arcs.take(free(arcs))
        lp.add(sub.supply, sub.demand, objective_saving_per_t(instance, sub))

    columns(arc_set.arcs)
    rounds, tested, added, dropped, lp_s, price_s = 0, 0, 0, 0, 0.0, 0.0
    while True:
        rounds += 1
        t1 = time.perf_counter()
        u, v, lp_saving = lp.solve(supply_left, demand_left)
        t2 = time.perf_counter()
        priced = _price(instance, ctx, arc_set, u, v, supply_left, demand_left, fate_cost)
        price_s += time.perf_counter() - t2
        lp_s += t2 - t1
        tested += priced.tested
        eps_left = priced.eps_left
        out_of_time = deadline_epoch_s is not None and time.time() >= deadline_epoch_s
        if not priced.improving or rounds >= MAX_ROUNDS or out_of_time:
            break
        chosen = priced.chosen
        if rounds <= PRUNE_ROUNDS:
            drop = _prunable(lp, u, v)
            arc_set.remove(lp.supply[drop], lp.demand[drop])
            lp.keep(~drop)
            dropped += int(drop.sum())
        if _TRACE:
            print(
                f"round {rounds}: lp {t2 - t1:.2f} s, pricing {time.perf_counter() - t2:.2f} s, "
                f"{lp.columns} columns kept, {priced.improving} improving, "
                f"{len(chosen)} added",
                file=sys.stderr,
                flush=True,
            )
        added += len(chosen)
        arc_set.add(chosen)
        columns(chosen)

    # The dual bound over all arcs: eps covers what pricing left (<= the tolerance, or
    # more if the rounds ran out) and any arc of the set HiGHS's tolerances left
    # slightly positive; (u + eps, v) is then a feasible dual of the all-arcs LP.
    arcs = arc_set.arcs
    reduced = objective_saving_per_t(instance, arcs) - u[arcs.supply] - v[arcs.demand]
    eps = max(eps_left, float(reduced[free(arcs)].max(initial=0.0)))
    bound = float(supply_left @ u + demand_left @ v) + eps * float(
        min(supply_left.sum(), demand_left.sum())
    )
    proven = not priced.improving
    decision.update(
        {
            "used": True,
            "proven": proven,
            # Why not, when not: the run's time ran out, or MAX_ROUNDS did.
            "stopped": None if proven else ("time_limit" if out_of_time else "feasible"),
            "rounds": rounds,
            "initial_arcs": initial,
            "arcs_added": added,
            "arcs_dropped": dropped,
            "arcs": len(arcs),
            "pairs_priced": tested,
            "reduced_cost_tol": REDUCED_COST_TOL,
            "lp_saving_kg_co2e": lp_saving,
            "dual_bound_kg_co2e": bound,
            "duals": {"from_flow": lp.flow_dual_rounds, "from_highs": lp.highs_rounds},
            "columns_solved": lp.resolved_columns,
            "seconds": {"lp": lp_s, "pricing": price_s},
        }
    )
    prepared = prepare_arcs(instance, arcs, len(arcs), time.perf_counter() - t0)
    prepared.pricing = decision
    # Every tonne from the exact flow (after a HiGHS round, components not solved again
    # since keep HiGHS's tonnes, within its tolerances: those are solved again).
    if lp.highs_rounds == 0 and not prepared.infeasible:
        prepared.solved = [_last_optimum(instance, prepared, lp, lp_saving, bound)]
    decision["last_round_kept"] = prepared.solved is not None
    return prepared


def _last_optimum(instance, prepared, lp, lp_saving: float, bound: float) -> ComponentResult:
    """The last round's optimum as the free arcs' result: the restricted LP on the
    final set is what the components would solve again (the same arcs, capacities
    left after the pins, the exact flow), so solving it twice would only repeat it.
    Arcs the LP left out (a node with nothing left) carry 0 t."""
    arcs = prepared.arcs
    free = np.ones(len(arcs), dtype=bool)
    free[prepared.pinned_rows] = False
    rows = np.flatnonzero(free)
    lp_keys = pair_keys(instance, lp.supply, lp.demand)
    order = np.argsort(lp_keys)
    keys = pair_keys(instance, arcs.supply[rows], arcs.demand[rows])
    found, at = _lookup(lp_keys[order], keys)
    tonnes = np.where(found, lp.tonnes[order][at] if len(order) else 0.0, 0.0)
    return ComponentResult(
        status="optimal",
        arc_ids=rows,
        tonnes=tonnes,
        saving_kg_co2e=lp_saving,
        saving_bound_kg_co2e=max(bound, lp_saving),
        solver="ortools-mcf",
        variables=len(rows),
    )
