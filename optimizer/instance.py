"""The optimizer's input and output as plain dataclasses (no Django import).

An :class:`Instance` is the public contract documented in ``docs/optimizer.md``
and ``optimizer/schema/instance.schema.json``: parameters, supplies, demands,
pins and forbidden pairs. ``Instance.from_dict`` validates a decoded JSON
document and raises ``ValueError`` naming the offending field, so a bad file is
refused before any arc is generated. Unknown keys are ignored on purpose: the
Django side may carry its own bookkeeping fields along.

:class:`Arcs` holds the candidate arcs as parallel numpy arrays (one row per
supply -> demand pair), because the instances we care about have millions of
them and per-arc Python objects would dominate the run time.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from symbiosis.impact import (
    DEFAULT_ROAD_FACTOR,
    DEFAULT_TRANSPORT_KG_CO2E_PER_TKM,
    is_landfill_fate,
)

OBJECTIVES = ("co2e", "tonnes_then_co2e")
STATUSES = ("optimal", "feasible", "infeasible", "time_limit")

_MISSING = object()


# --------------------------------------------------------------------------- validation helpers


def _field(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _number(
    obj: dict,
    key: str,
    where: str,
    default: Any = _MISSING,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
    nullable: bool = False,
) -> float | None:
    name = _field(where, key)
    value = obj.get(key, _MISSING)
    if value is _MISSING or (value is None and nullable):
        if value is None:
            return None
        if default is _MISSING:
            raise ValueError(f"{name} is required")
        return default
    # bool is an int subclass in Python; true/false are never a quantity here.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if minimum is not None:
        if exclusive_minimum and value <= minimum:
            raise ValueError(f"{name} must be greater than {minimum:g}, got {value:g}")
        if value < minimum:
            raise ValueError(f"{name} must be at least {minimum:g}, got {value:g}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be at most {maximum:g}, got {value:g}")
    return value


def _coordinate(obj: dict, key: str, where: str, limit: float) -> float:
    value = _number(obj, key, where)
    if not -limit <= value <= limit:
        raise ValueError(f"{_field(where, key)}: {value:g} is outside [-{limit:g}, {limit:g}]")
    return value


def _text(obj: dict, key: str, where: str, default: Any = _MISSING) -> str:
    name = _field(where, key)
    value = obj.get(key, _MISSING)
    if value is _MISSING or value is None:
        if default is _MISSING:
            raise ValueError(f"{name} is required")
        return default
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value


def _identifier(obj: dict, key: str, where: str) -> str:
    # Ids may arrive as database integers; pins and forbidden pairs refer to them
    # in either spelling, so both are normalised to text.
    value = obj.get(key, _MISSING)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _text(obj, key, where)


def _date(obj: dict, key: str, where: str) -> date | None:
    value = obj.get(key)
    if value is None:
        return None
    name = _field(where, key)
    if not isinstance(value, str):
        raise ValueError(f"{name} must be an ISO date string (YYYY-MM-DD), got {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name}: {value!r} is not a valid ISO date (YYYY-MM-DD)") from None


def _window(obj: dict, start: str, end: str, where: str) -> tuple[date | None, date | None]:
    first, last = _date(obj, start, where), _date(obj, end, where)
    if first is not None and last is not None and first > last:
        raise ValueError(f"{_field(where, start)} ({first}) is after {_field(where, end)} ({last})")
    return first, last


def _mapping(value: Any, name: str) -> dict:
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be an object, got {type(value).__name__}")
    return value


def _list(obj: dict, key: str, where: str = "") -> list:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{_field(where, key)} must be a list, got {type(value).__name__}")
    return value


def _quality(obj: dict, key: str, where: str) -> dict[str, float]:
    raw = obj.get(key)
    if raw is None:
        return {}
    raw = _mapping(raw, _field(where, key))
    return {str(k): _number(raw, k, _field(where, key)) for k in raw}


def _quality_limits(obj: dict, key: str, where: str) -> dict[str, tuple[float, float]]:
    raw = obj.get(key)
    if raw is None:
        return {}
    name = _field(where, key)
    limits = {}
    for prop, bounds in _mapping(raw, name).items():
        bounds = _mapping(bounds, f"{name}.{prop}")
        low = _number(bounds, "min", f"{name}.{prop}", -math.inf)
        high = _number(bounds, "max", f"{name}.{prop}", math.inf)
        if low > high:
            raise ValueError(f"{name}.{prop}: min {low:g} is above max {high:g}")
        limits[str(prop)] = (low, high)
    return limits


# --------------------------------------------------------------------------- the input


@dataclass(frozen=True)
class Parameters:
    road_factor: float = DEFAULT_ROAD_FACTOR
    transport_kg_co2e_per_tkm: float = DEFAULT_TRANSPORT_KG_CO2E_PER_TKM
    objective: str = "co2e"
    landfill_weight_kg_co2e_per_t: float = 0.0
    time_limit_s: float = 60.0
    mip_gap: float = 1e-4
    transport_kzt_per_tkm: float = 0.0
    require_economic_value: bool = False

    @classmethod
    def from_dict(cls, raw: Any) -> Parameters:
        raw = _mapping(raw if raw is not None else {}, "parameters")
        w = "parameters"
        objective = _text(raw, "objective", w, "co2e")
        if objective not in OBJECTIVES:
            raise ValueError(
                f"{w}.objective: unknown objective {objective!r}; use one of {OBJECTIVES}"
            )
        require = raw.get("require_economic_value", False)
        if not isinstance(require, bool):
            raise ValueError(f"{w}.require_economic_value must be true or false, got {require!r}")
        d = cls()
        return cls(
            road_factor=_number(
                raw, "road_factor", w, d.road_factor, minimum=0, exclusive_minimum=True
            ),
            transport_kg_co2e_per_tkm=_number(
                raw, "transport_kg_co2e_per_tkm", w, d.transport_kg_co2e_per_tkm, minimum=0
            ),
            objective=objective,
            landfill_weight_kg_co2e_per_t=_number(
                raw, "landfill_weight_kg_co2e_per_t", w, 0.0, minimum=0
            ),
            time_limit_s=_number(
                raw, "time_limit_s", w, d.time_limit_s, minimum=0, exclusive_minimum=True
            ),
            mip_gap=_number(raw, "mip_gap", w, d.mip_gap, minimum=0),
            transport_kzt_per_tkm=_number(raw, "transport_kzt_per_tkm", w, 0.0, minimum=0),
            require_economic_value=require,
        )

    def to_dict(self) -> dict:
        return {
            "road_factor": self.road_factor,
            "transport_kg_co2e_per_tkm": self.transport_kg_co2e_per_tkm,
            "objective": self.objective,
            "landfill_weight_kg_co2e_per_t": self.landfill_weight_kg_co2e_per_t,
            "time_limit_s": self.time_limit_s,
            "mip_gap": self.mip_gap,
            "transport_kzt_per_tkm": self.transport_kzt_per_tkm,
            "require_economic_value": self.require_economic_value,
        }


@dataclass(frozen=True)
class Accept:
    """A material a demand takes, with what one tonne of it saves the receiver."""

    material: str
    credit_kg_co2e_per_t: float = 0.0
    value_kzt_per_t: float = 0.0
    # property -> (min, max); a supply lacking a limited property is not accepted.
    quality_limits: dict[str, tuple[float, float]] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, raw: Any, where: str) -> Accept:
        raw = _mapping(raw, where)
        return cls(
            material=_text(raw, "material", where),
            credit_kg_co2e_per_t=_number(raw, "credit_kg_co2e_per_t", where, 0.0),
            value_kzt_per_t=_number(raw, "value_kzt_per_t", where, 0.0),
            quality_limits=_quality_limits(raw, "quality_limits", where),
        )

    def to_dict(self) -> dict:
        out = {
            "material": self.material,
            "credit_kg_co2e_per_t": self.credit_kg_co2e_per_t,
            "value_kzt_per_t": self.value_kzt_per_t,
        }
        if self.quality_limits:
            out["quality_limits"] = {
                k: {"min": lo, "max": hi}
                if math.isfinite(lo) and math.isfinite(hi)
                else ({"min": lo} if math.isfinite(lo) else {"max": hi})
                for k, (lo, hi) in self.quality_limits.items()
            }
        return out


@dataclass(frozen=True)
class Supply:
    id: str
    lat: float
    lon: float
    material: str
    tonnes: float
    fate: str = "other"
    fate_kg_co2e_per_t: float = 0.0
    max_km: float | None = None
    available_from: date | None = None
    available_until: date | None = None
    fate_cost_kzt_per_t: float = 0.0
    quality: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, raw: Any, where: str) -> Supply:
        raw = _mapping(raw, where)
        first, last = _window(raw, "available_from", "available_until", where)
        return cls(
            id=_identifier(raw, "id", where),
            lat=_coordinate(raw, "lat", where, 90.0),
            lon=_coordinate(raw, "lon", where, 180.0),
            material=_text(raw, "material", where),
            tonnes=_number(raw, "tonnes", where, minimum=0),
            fate=_text(raw, "fate", where, "other"),
            fate_kg_co2e_per_t=_number(raw, "fate_kg_co2e_per_t", where, 0.0),
            max_km=_number(raw, "max_km", where, None, minimum=0, nullable=True),
            available_from=first,
            available_until=last,
            fate_cost_kzt_per_t=_number(raw, "fate_cost_kzt_per_t", where, 0.0),
            quality=_quality(raw, "quality", where),
        )

    def to_dict(self) -> dict:
        out = {
            "id": self.id,
            "lat": self.lat,
            "lon": self.lon,
            "material": self.material,
            "tonnes": self.tonnes,
            "fate": self.fate,
            "fate_kg_co2e_per_t": self.fate_kg_co2e_per_t,
            "max_km": self.max_km,
            "available_from": _iso(self.available_from),
            "available_until": _iso(self.available_until),
            "fate_cost_kzt_per_t": self.fate_cost_kzt_per_t,
        }
        if self.quality:
            out["quality"] = dict(self.quality)
        return out


@dataclass(frozen=True)
class Demand:
    id: str
    lat: float
    lon: float
    tonnes: float
    accepts: tuple[Accept, ...]
    max_km: float | None = None
    min_lot_tonnes: float | None = None
    needed_from: date | None = None
    needed_until: date | None = None

    @classmethod
    def from_dict(cls, raw: Any, where: str) -> Demand:
        raw = _mapping(raw, where)
        accepts = tuple(
            Accept.from_dict(a, f"{where}.accepts[{k}]")
            for k, a in enumerate(_list(raw, "accepts", where))
        )
        seen: set[str] = set()
        for k, accept in enumerate(accepts):
            if accept.material in seen:
                raise ValueError(
                    f"{where}.accepts[{k}].material: {accept.material!r} is listed twice"
                )
            seen.add(accept.material)
        first, last = _window(raw, "needed_from", "needed_until", where)
        lot = _number(raw, "min_lot_tonnes", where, None, minimum=0, nullable=True)
        return cls(
            id=_identifier(raw, "id", where),
            lat=_coordinate(raw, "lat", where, 90.0),
            lon=_coordinate(raw, "lon", where, 180.0),
            tonnes=_number(raw, "tonnes", where, minimum=0),
            accepts=accepts,
            max_km=_number(raw, "max_km", where, None, minimum=0, nullable=True),
            # A lot of 0 t constrains nothing; storing None keeps "has a lot" one test.
            min_lot_tonnes=lot if lot else None,
            needed_from=first,
            needed_until=last,
        )

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "lat": self.lat,
            "lon": self.lon,
            "tonnes": self.tonnes,
            "max_km": self.max_km,
            "min_lot_tonnes": self.min_lot_tonnes,
            "needed_from": _iso(self.needed_from),
            "needed_until": _iso(self.needed_until),
            "accepts": [a.to_dict() for a in self.accepts],
        }


@dataclass(frozen=True)
class Pin:
    supply: str
    demand: str
    tonnes: float


@dataclass(frozen=True)
class Forbidden:
    supply: str
    demand: str


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True)
class Instance:
    parameters: Parameters = field(default_factory=Parameters)
    supplies: tuple[Supply, ...] = ()
    demands: tuple[Demand, ...] = ()
    pins: tuple[Pin, ...] = ()
    forbidden: tuple[Forbidden, ...] = ()

    @classmethod
    def from_dict(cls, raw: Any) -> Instance:
        raw = _mapping(raw, "instance")
        parameters = Parameters.from_dict(raw.get("parameters"))
        supplies = tuple(
            Supply.from_dict(s, f"supplies[{k}]") for k, s in enumerate(_list(raw, "supplies"))
        )
        demands = tuple(
            Demand.from_dict(d, f"demands[{k}]") for k, d in enumerate(_list(raw, "demands"))
        )
        supply_ids = _unique_ids(supplies, "supplies")
        demand_ids = _unique_ids(demands, "demands")

        pins = []
        pinned: set[tuple[str, str]] = set()
        for k, p in enumerate(_list(raw, "pins")):
            where = f"pins[{k}]"
            p = _mapping(p, where)
            pair = _pair(p, where, supply_ids, demand_ids)
            if pair in pinned:
                raise ValueError(f"{where}: pair {pair[0]!r} -> {pair[1]!r} is pinned twice")
            pinned.add(pair)
            pins.append(Pin(*pair, tonnes=_number(p, "tonnes", where, minimum=0)))

        forbidden = []
        for k, f in enumerate(_list(raw, "forbidden")):
            where = f"forbidden[{k}]"
            forbidden.append(Forbidden(*_pair(_mapping(f, where), where, supply_ids, demand_ids)))

        return cls(parameters, supplies, demands, tuple(pins), tuple(forbidden))

    def to_dict(self) -> dict:
        return {
            "parameters": self.parameters.to_dict(),
            "supplies": [s.to_dict() for s in self.supplies],
            "demands": [d.to_dict() for d in self.demands],
            "pins": [
                {"supply": p.supply, "demand": p.demand, "tonnes": p.tonnes} for p in self.pins
            ],
            "forbidden": [{"supply": f.supply, "demand": f.demand} for f in self.forbidden],
        }

    # Index lookups and numpy views, computed once per instance.

    @cached_property
    def supply_index(self) -> dict[str, int]:
        return {s.id: k for k, s in enumerate(self.supplies)}

    @cached_property
    def demand_index(self) -> dict[str, int]:
        return {d.id: k for k, d in enumerate(self.demands)}

    @cached_property
    def supply_tonnes(self) -> np.ndarray:
        return np.array([s.tonnes for s in self.supplies], dtype=float)

    @cached_property
    def demand_tonnes(self) -> np.ndarray:
        return np.array([d.tonnes for d in self.demands], dtype=float)

    @cached_property
    def supply_fate_kg_co2e_per_t(self) -> np.ndarray:
        return np.array([s.fate_kg_co2e_per_t for s in self.supplies], dtype=float)

    @cached_property
    def supply_is_landfill(self) -> np.ndarray:
        return np.array([is_landfill_fate(s.fate) for s in self.supplies], dtype=bool)

    @cached_property
    def demand_min_lot_tonnes(self) -> np.ndarray:
        """Minimum lot per demand, 0 where there is none."""
        return np.array([d.min_lot_tonnes or 0.0 for d in self.demands], dtype=float)


def _unique_ids(items, where: str) -> dict[str, int]:
    ids: dict[str, int] = {}
    for k, item in enumerate(items):
        if item.id in ids:
            raise ValueError(
                f"{where}[{k}].id: {item.id!r} is already used by {where}[{ids[item.id]}]"
            )
        ids[item.id] = k
    return ids


def _pair(raw: dict, where: str, supply_ids, demand_ids) -> tuple[str, str]:
    supply = _identifier(raw, "supply", where)
    demand = _identifier(raw, "demand", where)
    if supply not in supply_ids:
        raise ValueError(f"{where}.supply: unknown supply id {supply!r}")
    if demand not in demand_ids:
        raise ValueError(f"{where}.demand: unknown demand id {demand!r}")
    return supply, demand


def load_json(path: str | Path) -> Instance:
    """Read and validate an instance file; every problem surfaces as ValueError."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read instance file {str(path)!r}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ValueError(f"instance file {str(path)!r} is not UTF-8 text") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"instance file {str(path)!r} is not valid JSON: {exc.msg} "
            f"at line {exc.lineno} column {exc.colno}"
        ) from None
    return Instance.from_dict(raw)


# --------------------------------------------------------------------------- arcs and results


@dataclass(frozen=True, eq=False)
class Arcs:
    """Candidate arcs as parallel arrays; row k is supply[k] -> demand[k]."""

    supply: np.ndarray  # int64 index into Instance.supplies
    demand: np.ndarray  # int64 index into Instance.demands
    road_km: np.ndarray
    net_kg_co2e_saved_per_t: np.ndarray  # from symbiosis.impact, no landfill weight
    capacity_tonnes: np.ndarray  # min(supply tonnes, demand tonnes)
    economic_value_kzt_per_t: np.ndarray

    def __len__(self) -> int:
        return int(self.supply.shape[0])

    @classmethod
    def empty(cls) -> Arcs:
        i, f = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=float)
        return cls(i, i.copy(), f, f.copy(), f.copy(), f.copy())

    def take(self, rows) -> Arcs:
        """The arcs selected by an index array or boolean mask."""
        return Arcs(
            self.supply[rows],
            self.demand[rows],
            self.road_km[rows],
            self.net_kg_co2e_saved_per_t[rows],
            self.capacity_tonnes[rows],
            self.economic_value_kzt_per_t[rows],
        )


@dataclass(frozen=True)
class Flow:
    supply: str
    demand: str
    tonnes: float
    road_km: float
    net_kg_co2e_saved: float
    economic_value_kzt: float

    def to_dict(self) -> dict:
        return {
            "supply": self.supply,
            "demand": self.demand,
            "tonnes": self.tonnes,
            "road_km": self.road_km,
            "net_kg_co2e_saved": self.net_kg_co2e_saved,
            "economic_value_kzt": self.economic_value_kzt,
        }


@dataclass
class Solution:
    """What a run found. ``objective``/``baseline``/``bound`` are in the objective's
    own terms (kg CO2e plus the landfill weight penalty, which is 0 by default);
    ``saved_kg_co2e`` is the physical net saving summed over the flows."""

    status: str
    objective_kg_co2e: float | None
    baseline_kg_co2e: float
    saved_kg_co2e: float
    tonnes_moved: float
    landfill_tonnes_avoided: float
    bound_kg_co2e: float | None
    gap: float | None
    flows: list[Flow]
    stats: dict
    message: str | None = None

    def to_dict(self) -> dict:
        return {
            "status": self.status,
            "objective_kg_co2e": self.objective_kg_co2e,
            "baseline_kg_co2e": self.baseline_kg_co2e,
            "saved_kg_co2e": self.saved_kg_co2e,
            "tonnes_moved": self.tonnes_moved,
            "landfill_tonnes_avoided": self.landfill_tonnes_avoided,
            "bound_kg_co2e": self.bound_kg_co2e,
            "gap": self.gap,
            "flows": [f.to_dict() for f in self.flows],
            "stats": self.stats,
            "message": self.message,
        }
