"""An instance's periods: the horizon as calendar months, each listing's tonnes per
period, and its storage (docs/optimizer.md, "Periods and storage").

Read by ``Instance.from_dict`` after the schema check: the schema states types and
ranges; here are the rules it cannot state (a list with one number per period,
``tonnes`` equal to the sum of ``tonnes_per_period``, nothing outside the window,
storage and profiles only where there are periods). An instance without
``periods`` has no :class:`Seasons` and is solved exactly as before.

A listing's ``tonnes`` without a profile is spread evenly over the periods its
window overlaps (shares at least one day with, the rule arcs use for windows);
none overlapped: it has no tonnes in the horizon. Even, not prorated by days:
flat rates stay integral (1,200 t a year is 100 t a month, where days would give
101.9 t in January), and the exact min-cost flow needs integral tonnes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Storage:
    """A store at a node: what it holds at the end of a period is at most
    ``capacity_tonnes``; a fraction ``loss_fraction_per_period`` of what it held is
    lost during the next period; each tonne held emits ``kg_co2e_per_t_period``."""

    capacity_tonnes: float
    loss_fraction_per_period: float = 0.0
    kg_co2e_per_t_period: float = 0.0
    kg_co2e_tier: str | None = None

    @classmethod
    def read(cls, raw: dict | None, where: str) -> Storage | None:
        if raw is None:
            return None
        loss = float(raw.get("loss_fraction_per_period") or 0.0)
        if loss >= 1:
            # All of it gone every period: no store (the schema allows up to 1).
            raise ValueError(f"{where}.loss_fraction_per_period must be below 1, got {loss:g}")
        return cls(
            capacity_tonnes=float(raw["capacity_tonnes"]),
            loss_fraction_per_period=loss,
            kg_co2e_per_t_period=float(raw.get("kg_co2e_per_t_period") or 0.0),
            kg_co2e_tier=raw.get("kg_co2e_tier"),
        )

    def to_dict(self) -> dict:
        out = {
            "capacity_tonnes": self.capacity_tonnes,
            "loss_fraction_per_period": self.loss_fraction_per_period,
            "kg_co2e_per_t_period": self.kg_co2e_per_t_period,
        }
        if self.kg_co2e_tier is not None:
            out["kg_co2e_tier"] = self.kg_co2e_tier
        return out


@dataclass(frozen=True, eq=False)
class Seasons:
    """The periods of an instance and every node's part in them; arrays are
    (nodes, periods). ``*_active[n, t]``: the node's window overlaps period t."""

    start: str
    labels: tuple[str, ...]
    firsts: tuple[date, ...]
    lasts: tuple[date, ...]
    supply_tonnes: np.ndarray
    demand_tonnes: np.ndarray
    processor_capacity: np.ndarray
    supply_active: np.ndarray
    demand_active: np.ndarray
    processor_active: np.ndarray
    supply_storage: tuple[Storage | None, ...]
    demand_storage: tuple[Storage | None, ...]
    processor_storage: tuple[Storage | None, ...]
    # The profiles as given (None where the listing has none), written back by to_dict.
    supply_profiles: tuple[tuple[float, ...] | None, ...]
    demand_profiles: tuple[tuple[float, ...] | None, ...]
    processor_profiles: tuple[tuple[float, ...] | None, ...]

    @property
    def count(self) -> int:
        return len(self.labels)

    def periods_dict(self) -> dict:
        return {"start": self.start, "count": self.count, "unit": "month"}

    def patch(self, out: dict) -> None:
        """Add the period fields to an ``Instance.to_dict`` document."""
        out["periods"] = self.periods_dict()
        sides = (
            ("supplies", "tonnes_per_period", self.supply_profiles, self.supply_storage),
            ("demands", "tonnes_per_period", self.demand_profiles, self.demand_storage),
            (
                "processors",
                "capacity_tonnes_per_period",
                self.processor_profiles,
                self.processor_storage,
            ),
        )
        for key, profile_key, profiles, stores in sides:
            for node, profile, store in zip(out.get(key, []), profiles, stores, strict=True):
                if profile is not None:
                    node[profile_key] = list(profile)
                if store is not None:
                    node["storage"] = store.to_dict()


def month_periods(start: str, count: int) -> tuple[list[str], list[date], list[date]]:
    """Labels, first days and last days of ``count`` months from ``start`` (YYYY-MM)."""
    match = _MONTH.match(start)
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise ValueError(f"periods.start: {start!r} is not a month (YYYY-MM)")
    year, month = int(match.group(1)), int(match.group(2))
    labels, firsts, lasts = [], [], []
    for _ in range(count):
        first = date(year, month, 1)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        if year > 9999:
            raise ValueError(f"periods: {count} months from {start} run past the year 9999")
        labels.append(f"{first.year:04d}-{first.month:02d}")
        firsts.append(first)
        lasts.append(date(year, month, 1) - timedelta(days=1))
    return labels, firsts, lasts


def overlaps(first: date | None, last: date | None, firsts, lasts) -> np.ndarray:
    """Which periods a window [first, last] (None = open) shares at least one day with."""
    return np.array(
        [
            (first is None or first <= p_last) and (last is None or last >= p_first)
            for p_first, p_last in zip(firsts, lasts, strict=True)
        ],
        dtype=bool,
    )


def _profile(
    raw: dict, key: str, total: float, active: np.ndarray, where: str, total_key: str, labels
) -> tuple[np.ndarray, tuple[float, ...] | None]:
    """Tonnes per period: the given profile (checked), else ``total`` evenly over the
    active periods."""
    given = raw.get(key)
    count = len(active)
    if given is None:
        n_active = int(active.sum())
        per = total / n_active if n_active else 0.0
        return np.where(active, per, 0.0), None
    values = np.array([float(v) for v in given], dtype=float)
    if len(values) != count:
        raise ValueError(f"{where}.{key} has {len(values)} numbers; periods.count is {count}")
    outside = np.flatnonzero((values > 0) & ~active)
    if len(outside):
        t = int(outside[0])
        raise ValueError(
            f"{where}.{key}[{t}] is {values[t]:g} t in {labels[t]}, outside {where}'s window"
        )
    if abs(values.sum() - total) > 1e-9 * max(1.0, abs(total)):
        raise ValueError(
            f"{where}.{total_key} ({total:g}) is not the sum of {where}.{key} ({values.sum():g})"
        )
    return values, tuple(values.tolist())


def read_seasons(raw: dict, supplies, demands, processors) -> Seasons | None:
    """The document's periods, or None without them (then no listing may use
    profiles or storage). ``raw`` has passed the schema; the nodes are read."""
    sides = (
        ("supplies", supplies, "tonnes_per_period", "tonnes"),
        ("demands", demands, "tonnes_per_period", "tonnes"),
        ("processors", processors, "capacity_tonnes_per_period", "capacity_tonnes"),
    )
    spec = raw.get("periods")
    if spec is None:
        for key, _, profile_key, _ in sides:
            for k, node in enumerate(raw.get(key) or []):
                for name in (profile_key, "storage"):
                    if node.get(name) is not None:
                        raise ValueError(f"{key}[{k}].{name} needs the top-level periods")
        return None
    if raw.get("pins"):
        raise ValueError("pins: pins are not supported in an instance with periods")
    labels, firsts, lasts = month_periods(spec["start"], int(spec["count"]))
    parts: dict[str, tuple] = {}
    for key, nodes, profile_key, total_key in sides:
        tonnes, active, stores, profiles = [], [], [], []
        for k, (node_raw, node) in enumerate(zip(raw.get(key) or [], nodes, strict=True)):
            where = f"{key}[{k}]"
            first, last = _window_of(node)
            on = overlaps(first, last, firsts, lasts)
            total = float(getattr(node, total_key))
            values, profile = _profile(node_raw, profile_key, total, on, where, total_key, labels)
            tonnes.append(values)
            active.append(on)
            profiles.append(profile)
            stores.append(Storage.read(node_raw.get("storage"), f"{where}.storage"))
        shape = (len(nodes), len(labels))
        parts[key] = (
            np.array(tonnes, dtype=float).reshape(shape),
            np.array(active, dtype=bool).reshape(shape),
            tuple(stores),
            tuple(profiles),
        )
    (st, sa, ss, sp), (dt, da, ds, dp), (pt, pa, ps, pp) = (
        parts["supplies"],
        parts["demands"],
        parts["processors"],
    )
    return Seasons(
        start=spec["start"],
        labels=tuple(labels),
        firsts=tuple(firsts),
        lasts=tuple(lasts),
        supply_tonnes=st,
        demand_tonnes=dt,
        processor_capacity=pt,
        supply_active=sa,
        demand_active=da,
        processor_active=pa,
        supply_storage=ss,
        demand_storage=ds,
        processor_storage=ps,
        supply_profiles=sp,
        demand_profiles=dp,
        processor_profiles=pp,
    )


def _window_of(node) -> tuple[date | None, date | None]:
    if hasattr(node, "needed_from"):
        return node.needed_from, node.needed_until
    return node.available_from, node.available_until
