"""The time-expanded problem of an instance with periods, as plain arrays.

One arc of today's rules (``optimizer.candidates.generate_arcs``) becomes one
column per period in which it may carry material; each node gets a row per period
and, with a store, a stock column per period but the last (the stock at the end
of the horizon is 0). ``optimizer.build_periods`` turns this into a PuLP model,
``optimizer.flow_periods`` into a min-cost flow; both read the same arrays, so the
two paths solve one problem. docs/optimizer.md, "Periods and storage", states it.

Node numbering is the instance's: sources are supplies then processor outputs,
sinks are demands then processor inputs (``Instance.source_ids``/``sink_ids``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from optimizer.candidates import (
    concatenate_arcs,
    generate_arcs,
    objective_saving_per_t,
    processor_chain_arcs,
)
from optimizer.instance import Arcs, Instance, nitrogen_t_per_t
from optimizer.periods import Seasons, Storage
from symbiosis.impact import storage_kg_co2e_per_t_period, transport_kg_co2e_per_t

SUPPLY, DEMAND, PROCESSOR = "supply", "demand", "processor"


@dataclass(eq=False)
class Timeline:
    """Columns: ``x`` one per (base arc, period) that may carry material, ``s`` one
    per (store, period < last). All arrays are parallel within their group."""

    instance: Instance
    seasons: Seasons
    arcs: Arcs  # the base arcs (today's rules, windows of stores widened)
    candidate_arcs: int
    # x columns
    arc: np.ndarray  # row of ``arcs``
    period: np.ndarray
    upper: np.ndarray  # most tonnes it can carry (also the lot's big M)
    lot: np.ndarray  # 0 = no lot
    saving: np.ndarray  # objective saving per tonne (net + landfill weight)
    net: np.ndarray  # physical net saving per tonne
    # stores: one entry per node with storage
    store_kind: list[str]
    store_node: np.ndarray  # index among supplies, demands or processors
    store_capacity: np.ndarray
    store_loss: np.ndarray
    store_cost: np.ndarray  # objective kg CO2e per tonne held at a period's end (impact.py)
    store_cost_net: np.ndarray  # the same without the landfill weight (physical)
    # Per base arc into a plant, the blend properties of what it carries (a supply's,
    # or in a chain the sending plant's output's); NaN elsewhere or where unknown.
    arc_nitrogen: np.ndarray
    arc_cn: np.ndarray
    arc_moisture: np.ndarray

    @property
    def count(self) -> int:
        return self.seasons.count

    @property
    def n_x(self) -> int:
        return len(self.arc)

    @property
    def source(self) -> np.ndarray:
        return self.arcs.supply[self.arc]

    @property
    def sink(self) -> np.ndarray:
        return self.arcs.demand[self.arc]

    @property
    def has_lots(self) -> bool:
        return bool(np.any(self.lot > 0))

    @property
    def is_network(self) -> bool:
        """No lot, no processor arc, no storage loss: a min-cost flow on the
        time-expanded graph is the exact problem."""
        n_s, n_d = len(self.instance.supplies), len(self.instance.demands)
        plant = bool(np.any(self.source >= n_s) or np.any(self.sink >= n_d))
        return not self.has_lots and not plant and not np.any(self.store_loss > 0)

    def store_index(self, kind: str, node: int) -> int:
        for k, (knd, n) in enumerate(zip(self.store_kind, self.store_node.tolist(), strict=True)):
            if knd == kind and n == node:
                return k
        return -1


def _widened(instance: Instance) -> Instance:
    """The instance whose windows today's arc rules read: a supply with a store may
    ship after its window, a demand or plant with a store receive before it; the
    periods (below) then say in which periods each arc exists."""
    seasons = instance.seasons
    supplies = tuple(
        dataclasses.replace(s, available_until=None) if store else s
        for s, store in zip(instance.supplies, seasons.supply_storage, strict=True)
    )
    demands = tuple(
        dataclasses.replace(d, needed_from=None) if store else d
        for d, store in zip(instance.demands, seasons.demand_storage, strict=True)
    )
    processors = tuple(
        dataclasses.replace(p, available_from=None) if store else p
        for p, store in zip(instance.processors, seasons.processor_storage, strict=True)
    )
    return dataclasses.replace(instance, supplies=supplies, demands=demands, processors=processors)


def _output_windows_overlap(instance: Instance, widened: Instance, arcs: Arcs, n_s: int):
    """Per arc: not from a plant, or the plant's own window meets the receiver's."""
    keep = np.ones(len(arcs), dtype=bool)
    n_d = len(instance.demands)
    for row in np.flatnonzero(arcs.supply >= n_s).tolist():
        plant = instance.processors[int(arcs.supply[row]) - n_s]
        sink = int(arcs.demand[row])
        receiver = widened.demands[sink] if sink < n_d else widened.processors[sink - n_d]
        first = receiver.needed_from if sink < n_d else receiver.available_from
        last = receiver.needed_until if sink < n_d else receiver.available_until
        starts = [d for d in (plant.available_from, first) if d is not None]
        ends = [d for d in (plant.available_until, last) if d is not None]
        keep[row] = not (starts and ends and max(starts) > min(ends))
    return keep


def _blend_of_arcs(instance: Instance, arcs: Arcs) -> tuple[np.ndarray, ...]:
    """Nitrogen (t/t), C:N and moisture (%) of what each arc into a plant carries."""
    blend = instance.supply_blend_properties

    def output(prop: str) -> np.ndarray:
        return np.array(
            [
                p.output.quality.get(
                    prop, instance.materials.get(p.output.material, {}).get(prop, np.nan)
                )
                if p.output
                else np.nan
                for p in instance.processors
            ],
            dtype=float,
        )

    cn, moisture = output("cn_ratio"), output("moisture_percent")
    per_source = {
        "nitrogen": np.concatenate(
            (blend["nitrogen"], nitrogen_t_per_t(cn, moisture, output("nitrogen_percent")))
        ),
        "cn": np.concatenate((blend["cn"], cn)),
        "moisture": np.concatenate((blend["moisture"], moisture)),
    }
    into = arcs.demand >= len(instance.demands)
    return tuple(
        np.where(into, per_source[key][arcs.supply], np.nan)
        for key in ("nitrogen", "cn", "moisture")
    )


def _ship_periods(active: np.ndarray, stores) -> np.ndarray:
    """Periods a node may send in: its own, and with a store every later one."""
    out = active.copy()
    for n, store in enumerate(stores):
        if store is not None and active[n].any():
            out[n, int(np.argmax(active[n])) :] = True
    return out


def _receive_periods(active: np.ndarray, stores) -> np.ndarray:
    """Periods a node may receive in: its own, and with a store every earlier one."""
    out = active.copy()
    for n, store in enumerate(stores):
        if store is not None and active[n].any():
            last = len(active[n]) - 1 - int(np.argmax(active[n][::-1]))
            out[n, : last + 1] = True
    return out


def _with_store(values: np.ndarray, stores, sending: bool) -> np.ndarray:
    """Most a node can pass in a period: its own tonnes plus a full store, and never
    more than it has had so far (sending) or, with a store that loses nothing, still
    needs (receiving: a lossy store may take in what it will lose)."""
    out = values.copy()
    for n, store in enumerate(stores):
        if store is None:
            continue
        out[n] = values[n] + store.capacity_tonnes
        if sending:
            out[n] = np.minimum(out[n], np.cumsum(values[n]))
        elif store.loss_fraction_per_period == 0:
            out[n] = np.minimum(out[n], np.cumsum(values[n][::-1])[::-1])
    return out


def expand(instance: Instance) -> Timeline:
    """The time-expanded problem of an instance with periods."""
    seasons = instance.seasons
    if seasons is None:
        raise ValueError("expand: the instance has no periods")
    n_s, n_d = len(instance.supplies), len(instance.demands)
    widened = _widened(instance)
    arcs = generate_arcs(widened)
    if any(p.output and p.output.to_processors for p in instance.processors):
        chain = processor_chain_arcs(widened)
        if instance.parameters.require_economic_value:
            chain = chain.take(chain.economic_value_kzt_per_t >= 0)
        arcs = concatenate_arcs([arcs, chain])
    if any(store is not None for store in seasons.processor_storage):
        # A plant's store widens its input window only; its output keeps the plant's.
        arcs = arcs.take(_output_windows_overlap(instance, widened, arcs, n_s))
    candidate_arcs = len(arcs)

    # Per source and sink (instance numbering), per period: may it send/receive, how much.
    yields = np.array(
        [p.output.yield_t_per_t if p.output else 0.0 for p in instance.processors], dtype=float
    )
    plant_cap = seasons.processor_capacity
    send_ok = np.vstack(
        [_ship_periods(seasons.supply_active, seasons.supply_storage), seasons.processor_active]
    )
    send_most = np.vstack(
        [
            _with_store(seasons.supply_tonnes, seasons.supply_storage, sending=True),
            yields[:, None] * plant_cap,
        ]
    )
    take_ok = np.vstack(
        [
            _receive_periods(seasons.demand_active, seasons.demand_storage),
            _receive_periods(seasons.processor_active, seasons.processor_storage),
        ]
    )
    take_most = np.vstack(
        [
            _with_store(seasons.demand_tonnes, seasons.demand_storage, sending=False),
            _with_store(plant_cap, seasons.processor_storage, sending=False),
        ]
    )
    # (base arcs, periods) at once, rows gathered whole; nonzero keeps the order
    # arc-major, period-minor.
    upper = np.minimum(send_most[arcs.supply], take_most[arcs.demand])
    arc_lot = instance.sink_min_lot_tonnes[arcs.demand]
    keep = send_ok[arcs.supply] & take_ok[arcs.demand] & (upper > 0) & (upper >= arc_lot[:, None])
    arc, period = np.nonzero(keep)
    upper = upper[keep]
    lot = arc_lot[arc]
    del keep

    saving = objective_saving_per_t(instance, arcs)
    transport = transport_kg_co2e_per_t(
        road_km=arcs.road_km,
        transport_kg_co2e_per_tkm=instance.parameters.transport_kg_co2e_per_tkm,
    )
    # What a tonne lost in a sink's store takes back: the largest saving per tonne,
    # transport left out (it was spent), of any arc into that sink (the stock's mix
    # is not tracked, so the largest is the one that never overstates the saving).
    lost = np.zeros(instance.n_sinks)
    lost_net = np.zeros(instance.n_sinks)
    np.maximum.at(lost, arcs.demand, saving + transport)
    np.maximum.at(lost_net, arcs.demand, arcs.net_kg_co2e_saved_per_t + transport)
    stores: list[tuple[str, int, Storage, float, float]] = []
    for kind, nodes in (
        (SUPPLY, seasons.supply_storage),
        (DEMAND, seasons.demand_storage),
        (PROCESSOR, seasons.processor_storage),
    ):
        for n, store in enumerate(nodes):
            if store is None:
                continue
            # A supply's lost tonnes stay at its fate (never sent): nothing to take back.
            sink = None if kind == SUPPLY else (n if kind == DEMAND else n_d + n)
            costs = [
                float(
                    storage_kg_co2e_per_t_period(
                        kg_co2e_per_t_period=store.kg_co2e_per_t_period,
                        loss_fraction_per_period=store.loss_fraction_per_period,
                        lost_saving_kg_co2e_per_t=0.0 if sink is None else per_t[sink],
                    )
                )
                for per_t in (lost, lost_net)
            ]
            stores.append((kind, n, store, *costs))

    arc_nitrogen, arc_cn, arc_moisture = _blend_of_arcs(instance, arcs)
    return Timeline(
        instance=instance,
        seasons=seasons,
        arcs=arcs,
        candidate_arcs=candidate_arcs,
        arc=arc,
        period=period,
        upper=upper,
        lot=lot,
        saving=saving[arc],
        net=arcs.net_kg_co2e_saved_per_t[arc],
        store_kind=[s[0] for s in stores],
        store_node=np.array([s[1] for s in stores], dtype=np.int64),
        store_capacity=np.array([s[2].capacity_tonnes for s in stores], dtype=float),
        store_loss=np.array([s[2].loss_fraction_per_period for s in stores], dtype=float),
        store_cost=np.array([s[3] for s in stores], dtype=float),
        store_cost_net=np.array([s[4] for s in stores], dtype=float),
        arc_nitrogen=arc_nitrogen,
        arc_cn=arc_cn,
        arc_moisture=arc_moisture,
    )
