"""A time-expanded problem as plain arrays, and its split into independent pieces.

The connected components of the base arc graph (supplies, demands and plants;
a plant's input and output joined; chain arcs are arcs) are independent across
time as well: a store links a node to itself in the next period, never two
nodes. ``split`` cuts an instance's :class:`optimizer.timeline.Timeline` into one
:class:`PeriodProblem` per component, and batches small lot-free ones into
problems of about ``SMALL_BATCH_COLUMNS`` columns (as ``optimizer.orchestrate``
does for one period: many tiny solves each pay the per-call overhead, while one
huge flow problem is slower than its parts). A batch holds only network-shaped
components or only others, so a network batch still goes to the exact flow.

Each problem is self-contained (local node numbering, ``to_dict``/``from_dict``),
so a Celery chord can ship one per worker; ``column_ids`` and ``store_ids`` map its
columns and stores back to the Timeline's for ``optimizer.solve_periods``.

Local numbering: sources are the problem's supplies then its plants' outputs
(``n_supplies + p``), sinks its demands then its plants' inputs (``n_demands + p``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimizer.candidates import arc_components
from optimizer.timeline import DEMAND, PROCESSOR, SUPPLY, Timeline

# Lot-free components with fewer columns than this are batched to about this size.
SMALL_BATCH_COLUMNS = 200_000

_KINDS = (SUPPLY, DEMAND, PROCESSOR)
_INTS = ("source", "sink", "period", "column_ids", "store_node", "store_ids", "processor_ids")
_NAN_FIELDS = (
    "processor_cn_min",
    "processor_cn_max",
    "processor_moisture_min",
    "processor_moisture_max",
    "nitrogen",
    "cn",
    "moisture",
)


@dataclass(eq=False)
class PeriodProblem:
    """Columns (one per base arc and period) and stores of one independent piece.
    Arrays per node are (nodes, periods); per column and per store, parallel."""

    objective: str
    count: int
    supply_tonnes: np.ndarray
    demand_tonnes: np.ndarray
    processor_capacity: np.ndarray
    processor_ids: np.ndarray  # index in Instance.processors
    processor_yield: np.ndarray
    processor_cn_min: np.ndarray  # NaN = no limit
    processor_cn_max: np.ndarray
    processor_moisture_min: np.ndarray
    processor_moisture_max: np.ndarray
    source: np.ndarray
    sink: np.ndarray
    period: np.ndarray
    upper: np.ndarray
    lot: np.ndarray
    saving: np.ndarray
    # Blend properties of what a column into a plant carries (NaN elsewhere or
    # unknown); empty arrays when the problem has no plant.
    nitrogen: np.ndarray
    cn: np.ndarray
    moisture: np.ndarray
    column_ids: np.ndarray
    store_kind: list[str]
    store_node: np.ndarray  # local index among supplies, demands or plants
    store_capacity: np.ndarray
    store_loss: np.ndarray
    store_cost: np.ndarray
    store_ids: np.ndarray
    components: int = 1

    @property
    def n_x(self) -> int:
        return len(self.source)

    @property
    def n_arcs(self) -> int:
        """Columns (the size ``optimizer.orchestrate`` shares time and workers by)."""
        return self.n_x

    @property
    def is_pure_lp(self) -> bool:
        """No binaries: solved to optimality in one go (run first, with all the time)."""
        return not self.has_lots

    @property
    def n_supplies(self) -> int:
        return len(self.supply_tonnes)

    @property
    def n_demands(self) -> int:
        return len(self.demand_tonnes)

    @property
    def n_processors(self) -> int:
        return len(self.processor_capacity)

    @property
    def has_lots(self) -> bool:
        return bool(np.any(self.lot > 0))

    @property
    def is_network(self) -> bool:
        """No lot, no plant, no store that loses: a min-cost flow is the exact problem."""
        lossy = bool(np.any(self.store_loss > 0))
        return not self.has_lots and self.n_processors == 0 and not lossy

    def to_dict(self) -> dict:
        out = {"objective": self.objective, "count": self.count, "components": self.components}
        for name in _ARRAYS:
            values = getattr(self, name).tolist()
            if name in _NAN_FIELDS:
                # NaN (no limit, unknown) as null: plain JSON has no NaN.
                values = [None if v != v else v for v in values]
            out[name] = values
        out["store_kind"] = list(self.store_kind)
        return out

    @classmethod
    def from_dict(cls, raw: dict) -> PeriodProblem:
        count = int(raw["count"])
        arrays = {}
        for name in _ARRAYS:
            values = raw[name]
            if name in _NAN_FIELDS:
                values = [np.nan if v is None else v for v in values]
            dtype = np.int64 if name in _INTS else float
            arrays[name] = np.asarray(values, dtype=dtype)
        for name in ("supply_tonnes", "demand_tonnes", "processor_capacity"):
            arrays[name] = arrays[name].reshape(-1, count)
        return cls(
            objective=raw["objective"],
            count=count,
            components=int(raw.get("components", 1)),
            store_kind=list(raw["store_kind"]),
            **arrays,
        )


_ARRAYS = tuple(
    name
    for name in PeriodProblem.__dataclass_fields__
    if name not in ("objective", "count", "store_kind", "components")
)


def split(
    tl: Timeline, batch_columns: int = SMALL_BATCH_COLUMNS, whole: bool = False
) -> list[PeriodProblem]:
    """The Timeline's independent pieces, small lot-free ones batched; largest first.
    ``batch_columns=0`` batches nothing (one problem per component); ``whole``: one
    problem for everything (the unsplit model, for comparison)."""
    inst = tl.instance
    n_s, n_d, n_p = len(inst.supplies), len(inst.demands), len(inst.processors)
    if tl.n_x == 0:
        return []
    used = np.zeros(len(tl.arcs), dtype=bool)
    used[tl.arc] = True
    used_rows = np.flatnonzero(used)
    links = (n_s + np.arange(n_p), n_d + np.arange(n_p)) if n_p else None
    n_comp, label_of_used = arc_components(
        inst.n_sources, inst.n_sinks, tl.arcs.take(used_rows), links
    )
    arc_label = np.full(len(tl.arcs), -1, dtype=np.int64)
    arc_label[used_rows] = label_of_used
    col_label = arc_label[tl.arc]

    # Per component: columns, lots, plants, lossy stores (network or not).
    src, snk = tl.source, tl.sink
    size = np.bincount(col_label, minlength=n_comp)
    lots = np.bincount(col_label, weights=(tl.lot > 0), minlength=n_comp) > 0
    plant = np.bincount(col_label, weights=(src >= n_s) | (snk >= n_d), minlength=n_comp) > 0
    source_label = np.full(inst.n_sources, -1, dtype=np.int64)
    sink_label = np.full(inst.n_sinks, -1, dtype=np.int64)
    source_label[src] = col_label
    sink_label[snk] = col_label
    store_label = _store_labels(tl, source_label, sink_label, n_d)
    lossy = np.zeros(n_comp, dtype=bool)
    has_store = store_label >= 0
    lossy[store_label[has_store & (tl.store_loss > 0)]] = True
    network = ~lots & ~plant & ~lossy

    if whole:
        group = np.zeros(n_comp, dtype=np.int64)
    else:
        group = _batches(size, lots, network, batch_columns)
    n_groups = int(group.max()) + 1
    col_group = group[col_label]
    order = np.argsort(col_group, kind="stable")
    bounds = np.searchsorted(col_group[order], np.arange(n_groups + 1))
    store_group = np.where(has_store, group[np.maximum(store_label, 0)], -1)
    store_order = np.argsort(store_group, kind="stable")
    store_bounds = np.searchsorted(store_group[store_order], np.arange(n_groups + 1))
    components = np.bincount(group, minlength=n_groups)
    # Stable sorts: each group's columns and stores stay ascending.
    problems = [
        _problem(
            tl,
            order[bounds[g] : bounds[g + 1]],
            store_order[store_bounds[g] : store_bounds[g + 1]],
            src,
            snk,
        )
        for g in range(n_groups)
    ]
    for g, p in enumerate(problems):
        p.components = int(components[g])
    problems.sort(key=lambda p: -p.n_x)
    return problems


def _store_labels(tl: Timeline, source_label, sink_label, n_d: int) -> np.ndarray:
    """The component of each store's node (-1: the node has no column)."""
    out = np.full(len(tl.store_kind), -1, dtype=np.int64)
    n_s = len(tl.instance.supplies)
    for k, (kind, node) in enumerate(zip(tl.store_kind, tl.store_node.tolist(), strict=True)):
        if kind == SUPPLY:
            out[k] = source_label[node]
        elif kind == DEMAND:
            out[k] = sink_label[node]
        else:
            out[k] = max(sink_label[n_d + node], source_label[n_s + node])
    return out


def _batches(size, lots, network, batch_columns: int) -> np.ndarray:
    """A group per component: a component alone, or small lot-free ones of one kind
    (network or not) together up to about ``batch_columns`` columns."""
    group = np.empty(len(size), dtype=np.int64)
    n = 0
    open_group: dict[bool, tuple[int, int]] = {}  # kind -> (group, columns so far)
    for c in range(len(size)):
        if lots[c] or size[c] >= batch_columns:
            group[c], n = n, n + 1
            continue
        kind = bool(network[c])
        g, filled = open_group.get(kind, (-1, batch_columns))
        if filled >= batch_columns:
            g, filled, n = n, 0, n + 1
        group[c] = g
        open_group[kind] = (g, filled + int(size[c]))
    return group


def _distinct(nodes: np.ndarray, n: int) -> np.ndarray:
    """The distinct nodes, ascending: by sorting when few (thousands of tiny pieces
    must not each pay for all n nodes), else by marking, O(n + entries)."""
    if len(nodes) * 8 < n:
        return np.unique(nodes)
    used = np.zeros(n, dtype=bool)
    used[nodes] = True
    return np.flatnonzero(used)


def _renumber(nodes: np.ndarray, n_first: int, first, second, offset: int) -> np.ndarray:
    """Global node numbers (listings, then plants from ``n_first``) as local ones:
    the position among ``first`` (listings), else ``offset`` + among ``second``."""
    out = np.empty(len(nodes), dtype=np.int64)
    listing = nodes < n_first
    out[listing] = np.searchsorted(first, nodes[listing])
    out[~listing] = offset + np.searchsorted(second, nodes[~listing] - n_first)
    return out


def _problem(
    tl: Timeline, cols: np.ndarray, stores: np.ndarray, all_src: np.ndarray, all_snk: np.ndarray
) -> PeriodProblem:
    """The piece with these columns (ascending) and stores; ``all_src``/``all_snk``
    are the Timeline's sources and sinks per column, computed once by the caller."""
    inst, seasons = tl.instance, tl.seasons
    n_s, n_d, n_p = len(inst.supplies), len(inst.demands), len(inst.processors)
    src, snk = all_src[cols], all_snk[cols]
    supplies = _distinct(src[src < n_s], n_s)
    demands = _distinct(snk[snk < n_d], n_d)
    plants = _distinct(np.concatenate((src[src >= n_s] - n_s, snk[snk >= n_d] - n_d)), n_p)
    source = _renumber(src, n_s, supplies, plants, len(supplies))
    sink = _renumber(snk, n_d, demands, plants, len(demands))
    kinds = [tl.store_kind[k] for k in stores.tolist()]
    at = {SUPPLY: supplies, DEMAND: demands, PROCESSOR: plants}
    store_node = np.array(
        [
            np.searchsorted(at[kind], node)
            for kind, node in zip(kinds, tl.store_node[stores].tolist(), strict=True)
        ],
        dtype=np.int64,
    )
    blend = (tl.arc_nitrogen, tl.arc_cn, tl.arc_moisture)
    base = tl.arc[cols]
    nitrogen, cn, moisture = (b[base] if len(plants) else np.zeros(0) for b in blend)
    processors = [inst.processors[k] for k in plants.tolist()]

    def limit(name: str) -> np.ndarray:
        return np.array(
            [
                np.nan if getattr(p.blend, name) is None else getattr(p.blend, name)
                for p in processors
            ],
            dtype=float,
        )

    return PeriodProblem(
        objective=inst.parameters.objective,
        count=tl.count,
        supply_tonnes=seasons.supply_tonnes[supplies],
        demand_tonnes=seasons.demand_tonnes[demands],
        processor_capacity=seasons.processor_capacity[plants],
        processor_ids=plants.astype(np.int64),
        processor_yield=np.array(
            [p.output.yield_t_per_t if p.output else 0.0 for p in processors], dtype=float
        ),
        processor_cn_min=limit("cn_min"),
        processor_cn_max=limit("cn_max"),
        processor_moisture_min=limit("moisture_min_percent"),
        processor_moisture_max=limit("moisture_max_percent"),
        source=source.astype(np.int64),
        sink=sink.astype(np.int64),
        period=tl.period[cols],
        upper=tl.upper[cols],
        lot=tl.lot[cols],
        saving=tl.saving[cols],
        nitrogen=nitrogen,
        cn=cn,
        moisture=moisture,
        column_ids=cols.astype(np.int64),
        store_kind=kinds,
        store_node=store_node,
        store_capacity=tl.store_capacity[stores],
        store_loss=tl.store_loss[stores],
        store_cost=tl.store_cost[stores],
        store_ids=stores.astype(np.int64),
    )
