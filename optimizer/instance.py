"""The optimizer's input and output as plain dataclasses (no Django import).

An :class:`Instance` is the public contract documented in ``docs/optimizer.md``
and ``optimizer/schema/instance.schema.json``: parameters, supplies, demands,
processors (compost and anaerobic-digestion plants), an optional material
property table, pins and forbidden pairs. ``Instance.from_dict`` validates a
decoded JSON document against that schema (``optimizer.contract``), then reads
it, checking here only the rules a schema cannot state (unique ids, pins and
forbidden pairs naming existing ids, from <= until, min <= max, the materials
table); every problem is a ``ValueError`` naming the offending field, so a bad
file is refused before any arc is generated. Unknown keys are ignored on
purpose: the Django side may carry its own bookkeeping fields along.

:class:`Arcs` holds the candidate arcs as parallel numpy arrays (one row per
source -> sink pair), because the instances we care about have millions of
them and per-arc Python objects would dominate the run time.

This module is about 980 lines because it is the whole contract in one place:
each input dataclass with its reader and its ``to_dict`` side by side (a field
added to one must be added to the other), the instance's numpy views, and the
output (``Flow``, ``Solution``) whose JSON keys the contract also fixes.

Longer than most (about 980 lines): the JSON contract's dataclasses with their
readers and writers side by side, one place to change when the contract
changes; the schema validation itself is in optimizer/contract.py.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from optimizer.chains import check_chains
from optimizer.contract import OBJECTIVES as OBJECTIVES  # the schema's, re-exported
from optimizer.contract import check_document
from optimizer.periods import Seasons, read_seasons
from symbiosis.impact import (
    DEFAULT_ROAD_FACTOR,
    DEFAULT_TRANSPORT_KG_CO2E_PER_TKM,
    is_landfill_fate,
)

STATUSES = ("optimal", "feasible", "infeasible", "time_limit")

# Material properties a processor's blend limits read (supply ``quality``, else the
# instance's ``materials`` table). Percentages are of the wet mass.
CN_RATIO = "cn_ratio"
MOISTURE_PERCENT = "moisture_percent"
NITROGEN_PERCENT = "nitrogen_percent"
# Where only the C:N ratio r and the moisture m are known, nitrogen per wet tonne is
# estimated by assuming carbon plus nitrogen make up this fraction of the dry matter:
# N = f (1 - m/100) / (1 + r), C = r N. Typical organic residues have 40-55 % carbon
# and 0.5-6 % nitrogen in their dry matter. The fraction cancels out of a blend whose
# inputs are all estimated; it matters only when measured and estimated inputs mix.
DRY_MATTER_CARBON_PLUS_NITROGEN = 0.5

# Flow kinds in a solution.
DIRECT, TO_PROCESSOR, FROM_PROCESSOR = "direct", "to_processor", "from_processor"


# --------------------------------------------------------------------------- reading
# The readers below take a document the schema has passed (optimizer.contract): the
# types, required fields and ranges hold, so they only convert, fill defaults, and
# check what a schema cannot state.


def _field(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _get(raw: dict, key: str, default: Any) -> Any:
    """An optional field's value; null reads as missing."""
    value = raw.get(key)
    return default if value is None else value


def _optional(raw: dict, key: str) -> float | None:
    value = raw.get(key)
    return None if value is None else float(value)


def _id(value: Any, name: str) -> str:
    # Ids may arrive as database integers; pins and forbidden pairs refer to them
    # in either spelling, so both are read as text. JSON Schema calls 3.0 an
    # integer as well, but as an id it would read "3.0" and match no 3.
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    raise ValueError(f"{name} must be a non-empty string, got {value!r}")


def _owner(raw: dict, where: str) -> str | None:
    value = raw.get("owner")
    return None if value is None else _id(value, _field(where, "owner"))


def _code(value: str | None) -> str | None:
    """A waste code as the permit rule compares it: its six digits (spaces and "*"
    ignored), so "13 02 05*" and "130205" are one code."""
    if value is None:
        return None
    return "".join(ch for ch in value if ch.isdigit()) or value.strip()


def _codes(raw: dict) -> frozenset[str]:
    return frozenset(_code(c) for c in (raw.get("permitted_codes") or ()))


def _window(raw: dict, start: str, end: str, where: str) -> tuple[date | None, date | None]:
    first, last = (None if raw.get(k) is None else date.fromisoformat(raw[k]) for k in (start, end))
    if first is not None and last is not None and first > last:
        raise ValueError(f"{_field(where, start)} ({first}) is after {_field(where, end)} ({last})")
    return first, last


def _quality(raw: dict | None) -> dict[str, float]:
    return {} if raw is None else {k: float(v) for k, v in raw.items()}


def _quality_limits(raw: dict | None, name: str) -> dict[str, tuple[float, float]]:
    limits = {}
    for prop, bounds in (raw or {}).items():
        low = float(bounds.get("min", -math.inf))
        high = float(bounds.get("max", math.inf))
        if low > high:
            raise ValueError(f"{name}.{prop}: min {low:g} is above max {high:g}")
        limits[prop] = (low, high)
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
    # Exchanges between listings of one owner are internal reuse, not symbiosis:
    # never proposed unless a run asks for them.
    allow_internal: bool = False

    @classmethod
    def _read(cls, raw: dict) -> Parameters:
        d = cls()
        return cls(
            road_factor=float(_get(raw, "road_factor", d.road_factor)),
            transport_kg_co2e_per_tkm=float(
                _get(raw, "transport_kg_co2e_per_tkm", d.transport_kg_co2e_per_tkm)
            ),
            objective=_get(raw, "objective", d.objective),
            landfill_weight_kg_co2e_per_t=float(_get(raw, "landfill_weight_kg_co2e_per_t", 0.0)),
            time_limit_s=float(_get(raw, "time_limit_s", d.time_limit_s)),
            mip_gap=float(_get(raw, "mip_gap", d.mip_gap)),
            transport_kzt_per_tkm=float(_get(raw, "transport_kzt_per_tkm", 0.0)),
            require_economic_value=raw.get("require_economic_value", False),
            allow_internal=raw.get("allow_internal", False),
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
            "allow_internal": self.allow_internal,
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
    def _read(cls, raw: dict, where: str) -> Accept:
        return cls(
            material=raw["material"],
            credit_kg_co2e_per_t=float(_get(raw, "credit_kg_co2e_per_t", 0.0)),
            value_kzt_per_t=float(_get(raw, "value_kzt_per_t", 0.0)),
            quality_limits=_quality_limits(
                raw.get("quality_limits"), _field(where, "quality_limits")
            ),
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
    owner: str | None = None  # the organization; None: unknown, never internal
    # Hazardous: only sinks whose ``permitted_codes`` hold this code receive it.
    hazardous_code: str | None = None

    @classmethod
    def _read(cls, raw: dict, where: str) -> Supply:
        first, last = _window(raw, "available_from", "available_until", where)
        return cls(
            id=_id(raw["id"], _field(where, "id")),
            lat=float(raw["lat"]),
            lon=float(raw["lon"]),
            material=raw["material"],
            tonnes=float(raw["tonnes"]),
            fate=_get(raw, "fate", "other"),
            fate_kg_co2e_per_t=float(_get(raw, "fate_kg_co2e_per_t", 0.0)),
            max_km=_optional(raw, "max_km"),
            available_from=first,
            available_until=last,
            fate_cost_kzt_per_t=float(_get(raw, "fate_cost_kzt_per_t", 0.0)),
            quality=_quality(raw.get("quality")),
            owner=_owner(raw, where),
            hazardous_code=_code(raw.get("hazardous_code")),
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
        if self.owner is not None:
            out["owner"] = self.owner
        if self.hazardous_code is not None:
            out["hazardous_code"] = self.hazardous_code
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
    owner: str | None = None  # the organization; None: unknown, never internal
    # Hazardous codes (digits) the owner holds a valid permit for.
    permitted_codes: frozenset[str] = frozenset()

    @classmethod
    def _read(cls, raw: dict, where: str) -> Demand:
        accepts = _accepts(raw, where)
        first, last = _window(raw, "needed_from", "needed_until", where)
        lot = _optional(raw, "min_lot_tonnes")
        return cls(
            id=_id(raw["id"], _field(where, "id")),
            lat=float(raw["lat"]),
            lon=float(raw["lon"]),
            tonnes=float(raw["tonnes"]),
            accepts=accepts,
            max_km=_optional(raw, "max_km"),
            # A lot of 0 t constrains nothing; storing None keeps "has a lot" one test.
            min_lot_tonnes=lot if lot else None,
            needed_from=first,
            needed_until=last,
            owner=_owner(raw, where),
            permitted_codes=_codes(raw),
        )

    def to_dict(self) -> dict:
        out = {
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
        if self.owner is not None:
            out["owner"] = self.owner
        if self.permitted_codes:
            out["permitted_codes"] = sorted(self.permitted_codes)
        return out


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


def _accepts(raw: dict, where: str) -> tuple[Accept, ...]:
    accepts = tuple(
        Accept._read(a, f"{where}.accepts[{k}]") for k, a in enumerate(raw.get("accepts") or [])
    )
    seen: set[str] = set()
    for k, accept in enumerate(accepts):
        if accept.material in seen:
            raise ValueError(f"{where}.accepts[{k}].material: {accept.material!r} is listed twice")
        seen.add(accept.material)
    return accepts


@dataclass(frozen=True)
class ProcessorOutput:
    """What a processor makes: ``yield_t_per_t`` tonnes of ``material`` per input tonne
    (JSON key ``yield``), offered to demands within ``max_km`` like a supply."""

    material: str
    yield_t_per_t: float
    max_km: float | None = None
    # What an output tonne emits where it stays when no demand takes it.
    fate_kg_co2e_per_t: float = 0.0
    fate_cost_kzt_per_t: float = 0.0
    quality: dict[str, float] = field(default_factory=dict)
    # Offered to other processors too (a chain; instances with periods only).
    to_processors: bool = False

    @classmethod
    def _read(cls, raw: dict, where: str) -> ProcessorOutput:
        return cls(
            material=raw["material"],
            # Mass is lost (water, CO2, CH4), never gained: the schema refuses a yield
            # above 1, almost always a percentage typed as a fraction.
            yield_t_per_t=float(raw["yield"]),
            max_km=_optional(raw, "max_km"),
            fate_kg_co2e_per_t=float(_get(raw, "fate_kg_co2e_per_t", 0.0)),
            fate_cost_kzt_per_t=float(_get(raw, "fate_cost_kzt_per_t", 0.0)),
            quality=_quality(raw.get("quality")),
            to_processors=bool(raw.get("to_processors") or False),
        )

    def to_dict(self) -> dict:
        out = {
            "material": self.material,
            "yield": self.yield_t_per_t,
            "max_km": self.max_km,
            "fate_kg_co2e_per_t": self.fate_kg_co2e_per_t,
            "fate_cost_kzt_per_t": self.fate_cost_kzt_per_t,
        }
        if self.quality:
            out["quality"] = dict(self.quality)
        if self.to_processors:
            out["to_processors"] = True
        return out


@dataclass(frozen=True)
class Blend:
    """Limits on a processor's input mix, each None when absent.

    C:N is the mix's carbon over its nitrogen, moisture its water over its wet mass;
    both are linear in the input tonnes once written as
    sum_i N_i (r_i - cn_min) x_i >= 0 and sum_i (m_i - moisture_max) x_i <= 0.
    """

    cn_min: float | None = None
    cn_max: float | None = None
    moisture_min_percent: float | None = None
    moisture_max_percent: float | None = None

    @classmethod
    def _read(cls, raw: dict | None, where: str) -> Blend:
        if raw is None:
            return cls()
        cn_min, cn_max = _optional(raw, "cn_min"), _optional(raw, "cn_max")
        m_min = _optional(raw, "moisture_min_percent")
        m_max = _optional(raw, "moisture_max_percent")
        if cn_min is not None and cn_max is not None and cn_min > cn_max:
            raise ValueError(f"{where}.cn_min ({cn_min:g}) is above {where}.cn_max ({cn_max:g})")
        if m_min is not None and m_max is not None and m_min > m_max:
            raise ValueError(
                f"{where}.moisture_min_percent ({m_min:g}) is above "
                f"{where}.moisture_max_percent ({m_max:g})"
            )
        return cls(cn_min, cn_max, m_min, m_max)

    @property
    def limits_cn(self) -> bool:
        return self.cn_min is not None or self.cn_max is not None

    @property
    def limits_moisture(self) -> bool:
        return self.moisture_min_percent is not None or self.moisture_max_percent is not None

    def to_dict(self) -> dict:
        return {
            k: v
            for k, v in (
                ("cn_min", self.cn_min),
                ("cn_max", self.cn_max),
                ("moisture_min_percent", self.moisture_min_percent),
                ("moisture_max_percent", self.moisture_max_percent),
            )
            if v is not None
        }


@dataclass(frozen=True)
class Processor:
    """A compost or anaerobic-digestion plant: takes residues like a demand (up to
    ``capacity_tonnes`` of input in the horizon, within its blend limits), treats
    them (``treatment_kg_co2e_per_t`` per input tonne) and offers its output to
    demands like a supply."""

    id: str
    lat: float
    lon: float
    capacity_tonnes: float
    treatment_kg_co2e_per_t: float
    accepts: tuple[Accept, ...]
    max_km: float | None = None  # road km the plant takes inputs from
    available_from: date | None = None  # operating window, for inputs and output
    available_until: date | None = None
    output: ProcessorOutput | None = None
    blend: Blend = field(default_factory=Blend)
    owner: str | None = None  # the plant's organization, for inputs and output
    permitted_codes: frozenset[str] = frozenset()  # as a demand's

    @classmethod
    def _read(cls, raw: dict, where: str) -> Processor:
        first, last = _window(raw, "available_from", "available_until", where)
        output = raw.get("output")
        return cls(
            id=_id(raw["id"], _field(where, "id")),
            lat=float(raw["lat"]),
            lon=float(raw["lon"]),
            capacity_tonnes=float(raw["capacity_tonnes"]),
            treatment_kg_co2e_per_t=float(raw["treatment_kg_co2e_per_t"]),
            accepts=_accepts(raw, where),
            max_km=_optional(raw, "max_km"),
            available_from=first,
            available_until=last,
            output=None if output is None else ProcessorOutput._read(output, f"{where}.output"),
            blend=Blend._read(raw.get("blend"), f"{where}.blend"),
            owner=_owner(raw, where),
            permitted_codes=_codes(raw),
        )

    @property
    def output_capacity_tonnes(self) -> float:
        return self.capacity_tonnes * self.output.yield_t_per_t if self.output else 0.0

    def to_dict(self) -> dict:
        out = {
            "id": self.id,
            "lat": self.lat,
            "lon": self.lon,
            "capacity_tonnes": self.capacity_tonnes,
            "treatment_kg_co2e_per_t": self.treatment_kg_co2e_per_t,
            "max_km": self.max_km,
            "available_from": _iso(self.available_from),
            "available_until": _iso(self.available_until),
            "accepts": [a.to_dict() for a in self.accepts],
            "output": self.output.to_dict() if self.output else None,
            "blend": self.blend.to_dict(),
        }
        if self.owner is not None:
            out["owner"] = self.owner
        if self.permitted_codes:
            out["permitted_codes"] = sorted(self.permitted_codes)
        return out

    def as_sink(self) -> Demand:
        """The plant's input side, in the shape of a demand (for arc generation)."""
        return Demand(
            id=self.id,
            lat=self.lat,
            lon=self.lon,
            tonnes=self.capacity_tonnes,
            accepts=self.accepts,
            max_km=self.max_km,
            needed_from=self.available_from,
            needed_until=self.available_until,
            owner=self.owner,
            permitted_codes=self.permitted_codes,
        )

    def as_source(self) -> Supply | None:
        """The plant's output side, in the shape of a supply; None without an output."""
        if self.output is None:
            return None
        out = self.output
        return Supply(
            id=self.id,
            lat=self.lat,
            lon=self.lon,
            material=out.material,
            tonnes=self.output_capacity_tonnes,
            fate="processor_output",
            fate_kg_co2e_per_t=out.fate_kg_co2e_per_t,
            max_km=out.max_km,
            available_from=self.available_from,
            available_until=self.available_until,
            fate_cost_kzt_per_t=out.fate_cost_kzt_per_t,
            quality=out.quality,
            owner=self.owner,
        )


def nitrogen_t_per_t(cn_ratio, moisture_percent, nitrogen_percent):
    """Nitrogen per wet tonne: measured (``nitrogen_percent`` / 100) where known, else
    estimated from C:N and moisture (see DRY_MATTER_CARBON_PLUS_NITROGEN); NaN where
    neither is possible. Element-wise on numpy arrays (NaN = unknown)."""
    cn = np.asarray(cn_ratio, dtype=float)
    moisture = np.asarray(moisture_percent, dtype=float)
    measured = np.asarray(nitrogen_percent, dtype=float) / 100.0
    estimated = DRY_MATTER_CARBON_PLUS_NITROGEN * (1.0 - moisture / 100.0) / (1.0 + cn)
    return np.where(np.isnan(measured), estimated, measured)


@dataclass(frozen=True)
class Instance:
    parameters: Parameters = field(default_factory=Parameters)
    supplies: tuple[Supply, ...] = ()
    demands: tuple[Demand, ...] = ()
    pins: tuple[Pin, ...] = ()
    forbidden: tuple[Forbidden, ...] = ()
    processors: tuple[Processor, ...] = ()
    # material -> default properties (cn_ratio, moisture_percent, ...) for supplies
    # that do not state their own; when given, every material named must be in it.
    materials: dict[str, dict[str, float]] = field(default_factory=dict)
    # The periods, profiles and stores (optimizer.periods); None: one period, as before.
    seasons: Seasons | None = None

    @classmethod
    def from_dict(cls, raw: Any) -> Instance:
        """Validate a decoded JSON document against the schema, then read it; every
        problem is a ValueError naming the field (``supplies[0].tonnes must be ...``)."""
        raw = check_document(raw)
        parameters = Parameters._read(raw.get("parameters") or {})
        supplies = tuple(
            Supply._read(s, f"supplies[{k}]") for k, s in enumerate(raw.get("supplies") or [])
        )
        demands = tuple(
            Demand._read(d, f"demands[{k}]") for k, d in enumerate(raw.get("demands") or [])
        )
        processors = tuple(
            Processor._read(p, f"processors[{k}]")
            for k, p in enumerate(raw.get("processors") or [])
        )
        materials = {m: _quality(q) for m, q in (raw.get("materials") or {}).items()}
        if materials:
            _check_materials(materials, supplies, demands, processors)
        supply_ids = _unique_ids(supplies, "supplies")
        demand_ids = _unique_ids(demands, "demands")
        processor_ids = _unique_ids(processors, "processors")
        for k, p in enumerate(processors):
            # A flow names its two ends by id, so a plant's id must say which node it is.
            for ids, kind in ((supply_ids, "supply"), (demand_ids, "demand")):
                if p.id in ids:
                    raise ValueError(f"processors[{k}].id: {p.id!r} is already a {kind} id")

        pins = []
        pinned: set[tuple[str, str]] = set()
        for k, p in enumerate(raw.get("pins") or []):
            where = f"pins[{k}]"
            for key in ("supply", "demand"):
                if (named := _id(p[key], f"{where}.{key}")) in processor_ids:
                    raise ValueError(
                        f"{where}.{key}: {named!r} is a processor; "
                        "pins on processor arcs are not supported"
                    )
            pair = _pair(p, where, supply_ids, demand_ids)
            if pair in pinned:
                raise ValueError(f"{where}: pair {pair[0]!r} -> {pair[1]!r} is pinned twice")
            pinned.add(pair)
            pins.append(Pin(*pair, tonnes=float(p["tonnes"])))

        forbidden = []
        for k, f in enumerate(raw.get("forbidden") or []):
            where = f"forbidden[{k}]"
            # Either end may be a processor: supply -> plant, or plant -> demand.
            pair = _pair(
                f,
                where,
                supply_ids | processor_ids,
                demand_ids | processor_ids,
                or_processor=bool(processor_ids),
            )
            if pair[0] in processor_ids and pair[1] in processor_ids:
                raise ValueError(
                    f"{where}: {pair[0]!r} -> {pair[1]!r} joins two processors, never an arc"
                )
            forbidden.append(Forbidden(*pair))

        seasons = read_seasons(raw, supplies, demands, processors)
        check_chains(processors, with_periods=seasons is not None)
        return cls(
            parameters,
            supplies,
            demands,
            tuple(pins),
            tuple(forbidden),
            processors,
            materials,
            seasons,
        )

    def to_dict(self) -> dict:
        out = {
            "parameters": self.parameters.to_dict(),
            "supplies": [s.to_dict() for s in self.supplies],
            "demands": [d.to_dict() for d in self.demands],
            "pins": [
                {"supply": p.supply, "demand": p.demand, "tonnes": p.tonnes} for p in self.pins
            ],
            "forbidden": [{"supply": f.supply, "demand": f.demand} for f in self.forbidden],
        }
        if self.processors:
            out["processors"] = [p.to_dict() for p in self.processors]
        if self.materials:
            out["materials"] = {m: dict(v) for m, v in self.materials.items()}
        if self.seasons is not None:
            self.seasons.patch(out)
        return out

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

    # Sources and sinks: the arc graph's two sides. Sources are the supplies, then
    # one per processor (its output); sinks are the demands, then one per processor
    # (its input). Without processors they are exactly the supplies and the demands.

    @cached_property
    def processor_index(self) -> dict[str, int]:
        return {p.id: k for k, p in enumerate(self.processors)}

    @property
    def n_sources(self) -> int:
        return len(self.supplies) + len(self.processors)

    @property
    def n_sinks(self) -> int:
        return len(self.demands) + len(self.processors)

    @cached_property
    def source_index(self) -> dict[str, int]:
        out = dict(self.supply_index)
        out.update({p.id: len(self.supplies) + k for k, p in enumerate(self.processors)})
        return out

    @cached_property
    def sink_index(self) -> dict[str, int]:
        out = dict(self.demand_index)
        out.update({p.id: len(self.demands) + k for k, p in enumerate(self.processors)})
        return out

    @cached_property
    def source_ids(self) -> list[str]:
        return [s.id for s in self.supplies] + [p.id for p in self.processors]

    @cached_property
    def source_materials(self) -> list[str | None]:
        """What leaves each source: a supply's material, a plant's output (None: no output)."""
        return [s.material for s in self.supplies] + [
            p.output.material if p.output else None for p in self.processors
        ]

    @cached_property
    def sink_ids(self) -> list[str]:
        return [d.id for d in self.demands] + [p.id for p in self.processors]

    @cached_property
    def source_tonnes(self) -> np.ndarray:
        """Supply tonnes, then each processor's most output (capacity x yield)."""
        out = [p.output_capacity_tonnes for p in self.processors]
        return np.concatenate((self.supply_tonnes, np.array(out, dtype=float)))

    @cached_property
    def sink_tonnes(self) -> np.ndarray:
        """Demand tonnes, then each processor's input capacity."""
        cap = [p.capacity_tonnes for p in self.processors]
        return np.concatenate((self.demand_tonnes, np.array(cap, dtype=float)))

    @cached_property
    def source_is_landfill(self) -> np.ndarray:
        return np.concatenate((self.supply_is_landfill, np.zeros(len(self.processors), bool)))

    @cached_property
    def sink_min_lot_tonnes(self) -> np.ndarray:
        return np.concatenate((self.demand_min_lot_tonnes, np.zeros(len(self.processors))))

    def supply_property(self, prop: str) -> np.ndarray:
        """A property per supply: its own ``quality`` value, else its material's in the
        ``materials`` table, else NaN (unknown)."""
        return np.array(
            [
                s.quality.get(prop, self.materials.get(s.material, {}).get(prop, math.nan))
                for s in self.supplies
            ],
            dtype=float,
        )

    @cached_property
    def supply_blend_properties(self) -> dict[str, np.ndarray]:
        """Per supply, NaN where unknown: ``cn`` (C:N), ``moisture`` (% of wet mass) and
        ``nitrogen`` (t N per wet tonne, measured or estimated)."""
        cn = self.supply_property(CN_RATIO)
        moisture = self.supply_property(MOISTURE_PERCENT)
        nitrogen = nitrogen_t_per_t(cn, moisture, self.supply_property(NITROGEN_PERCENT))
        return {"cn": cn, "moisture": moisture, "nitrogen": nitrogen}


def _unique_ids(items, where: str) -> dict[str, int]:
    ids: dict[str, int] = {}
    for k, item in enumerate(items):
        if item.id in ids:
            raise ValueError(
                f"{where}[{k}].id: {item.id!r} is already used by {where}[{ids[item.id]}]"
            )
        ids[item.id] = k
    return ids


def _check_materials(materials, supplies, demands, processors) -> None:
    """With a material table, every material named must be in it (catches typos)."""

    def check(material: str, name: str) -> None:
        if material not in materials:
            raise ValueError(f"{name}: unknown material {material!r} (not in materials)")

    for k, s in enumerate(supplies):
        check(s.material, f"supplies[{k}].material")
    for where, items in (("demands", demands), ("processors", processors)):
        for k, item in enumerate(items):
            for a, accept in enumerate(item.accepts):
                check(accept.material, f"{where}[{k}].accepts[{a}].material")
    for k, p in enumerate(processors):
        if p.output is not None:
            check(p.output.material, f"processors[{k}].output.material")


def _pair(
    raw: dict, where: str, supply_ids, demand_ids, or_processor: bool = False
) -> tuple[str, str]:
    supply = _id(raw["supply"], f"{where}.supply")
    demand = _id(raw["demand"], f"{where}.demand")
    also = " or processor" if or_processor else ""
    if supply not in supply_ids:
        raise ValueError(f"{where}.supply: unknown supply{also} id {supply!r}")
    if demand not in demand_ids:
        raise ValueError(f"{where}.demand: unknown demand{also} id {demand!r}")
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
    """Tonnes on one arc. ``kind`` says which: ``direct`` (supply -> demand),
    ``to_processor`` (supply -> processor: ``demand`` is the processor's id) or
    ``from_processor`` (processor -> demand: ``supply`` is the processor's id and
    ``material`` its output)."""

    supply: str
    demand: str
    tonnes: float
    road_km: float
    net_kg_co2e_saved: float
    economic_value_kzt: float
    kind: str = DIRECT
    material: str | None = None
    period: str | None = None  # its period's label, in an instance with periods

    @classmethod
    def from_dict(cls, raw: dict) -> Flow:
        return cls(**{f.name: raw[f.name] for f in fields(cls) if f.name in raw})

    def to_dict(self) -> dict:
        out = {
            "supply": self.supply,
            "demand": self.demand,
            "tonnes": self.tonnes,
            "road_km": self.road_km,
            "net_kg_co2e_saved": self.net_kg_co2e_saved,
            "economic_value_kzt": self.economic_value_kzt,
            "kind": self.kind,
            "material": self.material,
        }
        if self.period is not None:
            out["period"] = self.period
        return out


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
    # One summary per processor (input, output, blend achieved); None, and no key in
    # the JSON, when the instance has no processors.
    processors: list[dict] | None = None
    # With periods only (no keys otherwise): stock per node and period, and totals
    # per period (optimizer.solve_periods).
    stock: list[dict] | None = None
    periods: list[dict] | None = None

    @classmethod
    def infeasible(cls, *, baseline_kg_co2e: float, stats: dict, message, **extra) -> Solution:
        """No flows: the pins (or a piece's model) cannot all hold; ``message`` says why."""
        return cls(
            status="infeasible",
            objective_kg_co2e=None,
            baseline_kg_co2e=baseline_kg_co2e,
            saved_kg_co2e=0.0,
            tonnes_moved=0.0,
            landfill_tonnes_avoided=0.0,
            bound_kg_co2e=None,
            gap=None,
            flows=[],
            stats=stats,
            message=message,
            **extra,
        )

    @classmethod
    def from_dict(cls, raw: dict) -> Solution:
        """What ``to_dict`` wrote (a group's solution back from a Celery task)."""
        values = {f.name: raw.get(f.name) for f in fields(cls)}
        return cls(**{**values, "flows": [Flow.from_dict(f) for f in raw["flows"]]})

    def to_dict(self) -> dict:
        out = {
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
        if self.processors is not None:
            out["processors"] = self.processors
        if self.stock is not None:
            out["stock"] = self.stock
        if self.periods is not None:
            out["periods"] = self.periods
        return out
