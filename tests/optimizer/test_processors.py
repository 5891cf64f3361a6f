"""Processors (compost and anaerobic-digestion plants) against references written
here from the documented semantics: the arcs by a plain double loop, the LP by
building its matrices from the instance dict (scipy's linprog / milp), and tiny
instances by enumerating every vertex of the polytope (brute force). Nothing is
read from the optimizer's internals."""

from __future__ import annotations

import copy
import itertools
import json
import math
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.instance import Instance
from optimizer.model import solve, solve_component
from optimizer.problem import ComponentProblem, ComponentResult, assemble, prepare
from symbiosis import impact
from tests.optimizer.helpers import haversine_km

SOLVERS = ["auto", "highs", "cbc"]
HYPOTHESIS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "optimizer" / "schema" / "instance.schema.json"
LANDFILL = {"landfill", "open_dump"}
TOL = 1e-6


def run(doc: dict, solver: str = "auto", **kwargs) -> dict:
    return solve(Instance.from_dict(doc), solver=solver, **kwargs).to_dict()


def close(a: float, b: float, rel: float = 1e-6) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-5)


# --------------------------------------------------------------------------- the reference


def _day(text, default):
    return date.fromisoformat(text) if text else default


def _windows_overlap(a_from, a_until, b_from, b_until) -> bool:
    start = max(_day(a_from, date.min), _day(b_from, date.min))
    return start <= min(_day(a_until, date.max), _day(b_until, date.max))


def _quality_ok(quality: dict, accept: dict) -> bool:
    for prop, lim in (accept.get("quality_limits") or {}).items():
        if prop not in quality:
            return False
        if not lim.get("min", -math.inf) <= quality[prop] <= lim.get("max", math.inf):
            return False
    return True


def nitrogen(quality: dict) -> float | None:
    """t N per wet tonne: measured, else 0.5 (1 - m/100) / (1 + r) (docs/optimizer.md)."""
    if "nitrogen_percent" in quality:
        return quality["nitrogen_percent"] / 100
    if "cn_ratio" in quality and "moisture_percent" in quality:
        return 0.5 * (1 - quality["moisture_percent"] / 100) / (1 + quality["cn_ratio"])
    return None


def reference_arcs(doc: dict) -> dict:
    """(source id, sink id) -> dict(kind, km, net, cap) for every arc, by a double loop."""
    p = doc.get("parameters", {})
    road = p.get("road_factor", 1.3)
    transport = p.get("transport_kg_co2e_per_tkm", 0.10163)
    forbidden = {(f["supply"], f["demand"]) for f in doc.get("forbidden", [])}
    supplies, demands = doc.get("supplies", []), doc.get("demands", [])
    plants = doc.get("processors", [])
    internal_ok = p.get("allow_internal", False)
    out = {}

    def external(a, b):
        owner = a.get("owner")
        return internal_ok or owner is None or str(owner) != str(b.get("owner"))

    def km(a, b):
        return haversine_km(a["lat"], a["lon"], b["lat"], b["lon"]) * road

    def within(x, limit):
        return limit is None or x <= limit

    for s in supplies:
        q = s.get("quality") or {}
        for d in demands:
            acc = [a for a in d.get("accepts", []) if a["material"] == s["material"]]
            dist = km(s, d)
            if (
                acc
                and (s["id"], d["id"]) not in forbidden
                and external(s, d)
                and within(dist, s.get("max_km"))
                and within(dist, d.get("max_km"))
                and _windows_overlap(
                    s.get("available_from"),
                    s.get("available_until"),
                    d.get("needed_from"),
                    d.get("needed_until"),
                )
                and _quality_ok(q, acc[0])
            ):
                net = s.get("fate_kg_co2e_per_t", 0) + acc[0].get("credit_kg_co2e_per_t", 0)
                out[(s["id"], d["id"])] = {
                    "kind": "direct",
                    "km": dist,
                    "net": net - transport * dist,
                    "cap": min(s["tonnes"], d["tonnes"]),
                }
        for k in plants:
            acc = [a for a in k.get("accepts", []) if a["material"] == s["material"]]
            dist = km(s, k)
            blend = k.get("blend") or {}
            needs_cn = blend.get("cn_min") is not None or blend.get("cn_max") is not None
            needs_m = any(
                blend.get(x) is not None for x in ("moisture_min_percent", "moisture_max_percent")
            )
            if not (
                acc
                and (s["id"], k["id"]) not in forbidden
                and external(s, k)
                and within(dist, s.get("max_km"))
                and within(dist, k.get("max_km"))
                and _windows_overlap(
                    s.get("available_from"),
                    s.get("available_until"),
                    k.get("available_from"),
                    k.get("available_until"),
                )
                and _quality_ok(q, acc[0])
                and (not needs_cn or ("cn_ratio" in q and nitrogen(q) is not None))
                and (not needs_m or "moisture_percent" in q)
            ):
                continue
            output = k.get("output") or {}
            net = (
                s.get("fate_kg_co2e_per_t", 0)
                + acc[0].get("credit_kg_co2e_per_t", 0)
                - transport * dist
                - k["treatment_kg_co2e_per_t"]
                - output.get("yield", 0) * output.get("fate_kg_co2e_per_t", 0)
            )
            out[(s["id"], k["id"])] = {
                "kind": "to_processor",
                "km": dist,
                "net": net,
                "cap": min(s["tonnes"], k["capacity_tonnes"]),
            }
    for k in plants:
        output = k.get("output")
        if not output:
            continue
        for d in demands:
            acc = [a for a in d.get("accepts", []) if a["material"] == output["material"]]
            dist = km(k, d)
            if not (
                acc
                and (k["id"], d["id"]) not in forbidden
                and external(k, d)
                and within(dist, output.get("max_km"))
                and within(dist, d.get("max_km"))
                and _windows_overlap(
                    k.get("available_from"),
                    k.get("available_until"),
                    d.get("needed_from"),
                    d.get("needed_until"),
                )
                and _quality_ok(output.get("quality") or {}, acc[0])
            ):
                continue
            net = output.get("fate_kg_co2e_per_t", 0) + acc[0].get("credit_kg_co2e_per_t", 0)
            out[(k["id"], d["id"])] = {
                "kind": "from_processor",
                "km": dist,
                "net": net - transport * dist,
                "cap": min(k["capacity_tonnes"] * output["yield"], d["tonnes"]),
            }
    return out


def lp_matrices(doc: dict):
    """keys, objective weights w (maximise w.x), A_ub, b_ub, upper bounds, lot per arc,
    and the mask of arcs leaving supplies; built from the instance dict alone."""
    arcs = reference_arcs(doc)
    keys = sorted(arcs)
    n = len(keys)
    weight = doc.get("parameters", {}).get("landfill_weight_kg_co2e_per_t", 0)
    fate = {s["id"]: s.get("fate", "other") for s in doc["supplies"]}
    w = np.array([arcs[k]["net"] + (weight if fate.get(k[0]) in LANDFILL else 0) for k in keys])
    rows, rhs = [], []

    def row(coef: dict, bound: float) -> None:
        r = np.zeros(n)
        for k, c in coef.items():
            r[keys.index(k)] = c
        rows.append(r)
        rhs.append(bound)

    for s in doc["supplies"]:
        row({k: 1.0 for k in keys if k[0] == s["id"]}, s["tonnes"])
    for d in doc["demands"]:
        row({k: 1.0 for k in keys if k[1] == d["id"]}, d["tonnes"])
    quality = {s["id"]: s.get("quality") or {} for s in doc["supplies"]}
    for p in doc.get("processors", []):
        into = [k for k in keys if k[1] == p["id"]]
        row({k: 1.0 for k in into}, p["capacity_tonnes"])
        if p.get("output"):
            y = p["output"]["yield"]
            coef = {k: -y for k in into}
            coef.update({k: 1.0 for k in keys if k[0] == p["id"]})
            row(coef, 0.0)
        blend = p.get("blend") or {}
        if blend.get("cn_min") is not None:  # sum N (r - cn_min) x >= 0
            row(
                {
                    k: -nitrogen(quality[k[0]]) * (quality[k[0]]["cn_ratio"] - blend["cn_min"])
                    for k in into
                },
                0.0,
            )
        if blend.get("cn_max") is not None:
            row(
                {
                    k: nitrogen(quality[k[0]]) * (quality[k[0]]["cn_ratio"] - blend["cn_max"])
                    for k in into
                },
                0.0,
            )
        if blend.get("moisture_max_percent") is not None:
            limit = blend["moisture_max_percent"]
            row({k: quality[k[0]]["moisture_percent"] - limit for k in into}, 0.0)
        if blend.get("moisture_min_percent") is not None:
            limit = blend["moisture_min_percent"]
            row({k: limit - quality[k[0]]["moisture_percent"] for k in into}, 0.0)
    a = np.array(rows).reshape(len(rows), n)
    b = np.array(rhs, dtype=float)
    hi = np.array([arcs[k]["cap"] for k in keys])
    lots = {d["id"]: d.get("min_lot_tonnes") or 0.0 for d in doc["demands"]}
    lot = np.array([lots.get(k[1], 0.0) for k in keys])
    supply_ids = {s["id"] for s in doc["supplies"]}
    from_supply = np.array([k[0] in supply_ids for k in keys], dtype=bool)
    return keys, w, a, b, hi, lot, from_supply


def linprog_best(doc: dict, lexicographic: bool = False) -> tuple[float, float]:
    """(tonnes leaving supplies, weighted saving) at the LP optimum, by scipy."""
    from scipy.optimize import linprog

    keys, w, a, b, hi, _, from_supply = lp_matrices(doc)
    if not keys:
        return 0.0, 0.0
    bounds = list(zip(np.zeros(len(keys)), hi, strict=True))
    if lexicographic:
        first = linprog(-from_supply.astype(float), A_ub=a, b_ub=b, bounds=bounds, method="highs")
        assert first.status == 0, first.message
        tonnes = -first.fun
        a = np.vstack([a, -from_supply.astype(float)])
        b = np.append(b, -(tonnes - 1e-9 * max(tonnes, 1.0)))
    result = linprog(-w, A_ub=a, b_ub=b, bounds=bounds, method="highs")
    assert result.status == 0, result.message
    return float(result.x[from_supply].sum()), float(-result.fun)


def milp_best(doc: dict) -> float:
    """Weighted saving at the optimum with minimum lots, by scipy's milp."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    keys, w, a, b, hi, lot, _ = lp_matrices(doc)
    if not keys:
        return 0.0
    n = len(keys)
    c = np.concatenate([-w, np.zeros(n)])
    rows = [np.hstack([a, np.zeros_like(a)])]
    upper = [b]
    for k in np.flatnonzero(lot > 0):
        up, low = np.zeros(2 * n), np.zeros(2 * n)
        up[k], up[n + k] = 1.0, -hi[k]  # x <= cap y
        low[k], low[n + k] = -1.0, lot[k]  # x >= lot y
        rows += [up[None, :], low[None, :]]
        upper += [[0.0], [0.0]]
    matrix = np.vstack(rows)
    constraint = LinearConstraint(matrix, -np.inf, np.concatenate(upper))
    result = milp(
        c,
        constraints=constraint,
        integrality=np.concatenate([np.zeros(n), np.ones(n)]),
        bounds=Bounds(np.zeros(2 * n), np.concatenate([hi, np.ones(n)])),
        options={"mip_rel_gap": 0.0},
    )
    assert result.status == 0, result.message
    return float(-result.fun)


def vertex_enumeration_best(doc: dict) -> float:
    """Brute force: the LP's optimum is at a vertex of {A x <= b, 0 <= x <= cap}; try
    every choice of n tight constraints, keep the feasible points, take the best."""
    keys, w, a, b, hi, _, _ = lp_matrices(doc)
    n = len(keys)
    if n == 0:
        return 0.0
    full_a = np.vstack([a, np.eye(n), -np.eye(n)])
    full_b = np.concatenate([b, hi, np.zeros(n)])
    best = 0.0  # x = 0 is feasible
    combos = np.array(list(itertools.combinations(range(len(full_b)), n)), dtype=np.int64)
    for chunk in np.array_split(combos, max(1, len(combos) // 20000)):
        mats, rhs = full_a[chunk], full_b[chunk]
        ok = np.abs(np.linalg.det(mats)) > 1e-10
        if not ok.any():
            continue
        x = np.linalg.solve(mats[ok], rhs[ok][..., None])[..., 0]
        feasible = np.all(x @ full_a.T <= full_b + 1e-7 * (1 + np.abs(full_b)), axis=1)
        if feasible.any():
            best = max(best, float((x[feasible] @ w).max()))
    return best


def saving_of(solution: dict) -> float:
    return solution["baseline_kg_co2e"] - solution["objective_kg_co2e"]


def check_solution(doc: dict, solution: dict, tol: float = TOL) -> None:
    """The flows lie on arcs, respect every row (capacities, yields, blends, lots) and
    the reported figures add up."""
    arcs = reference_arcs(doc)
    flows = {(f["supply"], f["demand"]): f for f in solution["flows"]}
    assert len(flows) == len(solution["flows"]), "a pair appears twice"
    lots = {d["id"]: d.get("min_lot_tonnes") or 0.0 for d in doc["demands"]}
    sent, got = {}, {}
    for key, f in flows.items():
        assert key in arcs, f"flow on a pair that is no arc: {key}"
        arc = arcs[key]
        t = f["tonnes"]
        assert f["kind"] == arc["kind"]
        assert -tol <= t <= arc["cap"] + tol
        assert math.isclose(f["road_km"], arc["km"], rel_tol=1e-9, abs_tol=1e-9)
        assert math.isclose(f["net_kg_co2e_saved"], arc["net"] * t, rel_tol=1e-9, abs_tol=1e-6)
        if t > tol and key[1] in lots:
            assert t >= lots[key[1]] - tol
        sent[key[0]] = sent.get(key[0], 0.0) + t
        got[key[1]] = got.get(key[1], 0.0) + t
    for s in doc["supplies"]:
        assert sent.get(s["id"], 0.0) <= s["tonnes"] + tol
    for d in doc["demands"]:
        assert got.get(d["id"], 0.0) <= d["tonnes"] + tol
    quality = {s["id"]: s.get("quality") or {} for s in doc["supplies"]}
    for p in doc.get("processors", []):
        check_plant(p, flows, quality, tol)
    # Totals.
    supply_ids = {s["id"] for s in doc["supplies"]}
    fate = {s["id"]: s.get("fate", "other") for s in doc["supplies"]}
    residue = sum(f["tonnes"] for k, f in flows.items() if k[0] in supply_ids)
    assert math.isclose(solution["tonnes_moved"], residue, rel_tol=1e-9, abs_tol=1e-9)
    landfill = sum(f["tonnes"] for k, f in flows.items() if fate.get(k[0]) in LANDFILL)
    assert math.isclose(solution["landfill_tonnes_avoided"], landfill, rel_tol=1e-9, abs_tol=1e-9)
    net = sum(f["net_kg_co2e_saved"] for f in flows.values())
    assert math.isclose(solution["saved_kg_co2e"], net, rel_tol=1e-9, abs_tol=1e-6)
    base = sum(s.get("fate_kg_co2e_per_t", 0) * s["tonnes"] for s in doc["supplies"])
    weight = doc.get("parameters", {}).get("landfill_weight_kg_co2e_per_t", 0)
    base += weight * sum(s["tonnes"] for s in doc["supplies"] if fate[s["id"]] in LANDFILL)
    assert math.isclose(solution["baseline_kg_co2e"], base, rel_tol=1e-9, abs_tol=1e-6)
    weighted = net + weight * landfill
    assert math.isclose(solution["objective_kg_co2e"], base - weighted, rel_tol=1e-9, abs_tol=1e-5)
    assert solution["bound_kg_co2e"] <= solution["objective_kg_co2e"] + 1e-6 * max(
        1.0, abs(solution["objective_kg_co2e"])
    )


def check_plant(p: dict, flows: dict, quality: dict, tol: float = TOL) -> None:
    into = {k[0]: f["tonnes"] for k, f in flows.items() if k[1] == p["id"]}
    out = sum(f["tonnes"] for k, f in flows.items() if k[0] == p["id"])
    total = sum(into.values())
    assert total <= p["capacity_tonnes"] + tol, "capacity exceeded"
    y = (p.get("output") or {}).get("yield", 0.0)
    assert out <= y * total + tol, f"output {out} above yield x input {y * total}"
    blend = p.get("blend") or {}
    scale = tol * max(1.0, total)
    if blend.get("cn_min") is not None:
        lhs = sum(
            nitrogen(quality[s]) * (quality[s]["cn_ratio"] - blend["cn_min"]) * t
            for s, t in into.items()
        )
        assert lhs >= -scale, f"C:N below {blend['cn_min']}"
    if blend.get("cn_max") is not None:
        lhs = sum(
            nitrogen(quality[s]) * (quality[s]["cn_ratio"] - blend["cn_max"]) * t
            for s, t in into.items()
        )
        assert lhs <= scale, f"C:N above {blend['cn_max']}"
    if blend.get("moisture_max_percent") is not None:
        lhs = sum(
            (quality[s]["moisture_percent"] - blend["moisture_max_percent"]) * t
            for s, t in into.items()
        )
        assert lhs <= 100 * scale, "moisture above its limit"
    if blend.get("moisture_min_percent") is not None:
        lhs = sum(
            (quality[s]["moisture_percent"] - blend["moisture_min_percent"]) * t
            for s, t in into.items()
        )
        assert lhs >= -100 * scale, "moisture below its limit"


def mix_cn(doc: dict, solution: dict, plant: str) -> float:
    quality = {s["id"]: s.get("quality") or {} for s in doc["supplies"]}
    into = [(f["supply"], f["tonnes"]) for f in solution["flows"] if f["demand"] == plant]
    n = sum(nitrogen(quality[s]) * t for s, t in into)
    c = sum(nitrogen(quality[s]) * quality[s]["cn_ratio"] * t for s, t in into)
    return c / n


# --------------------------------------------------------------------------- instances


def random_processor_doc(
    rng: np.random.Generator,
    n_supplies: int,
    n_demands: int,
    n_processors: int = 1,
    *,
    direct: bool = True,
    lots: bool = False,
    objective: str = "co2e",
    landfill_weight: float = 0.0,
    max_tonnes: int = 60,
    spread_km: float = 30.0,
) -> dict:
    """Residues of two organic materials, plants taking both, demands taking the
    plants' output (and, with ``direct``, the residues themselves)."""
    deg = spread_km / 111.0
    residues = ["manure", "straw"]

    def limit():
        return None if rng.random() < 0.5 else float(rng.uniform(0.5, 2) * spread_km)

    def where():
        return 43.2 + float(rng.uniform(0, deg)), 76.9 + float(rng.uniform(0, deg))

    supplies = []
    for k in range(n_supplies):
        lat, lon = where()
        material = str(rng.choice(residues))
        quality = {
            "cn_ratio": float(rng.uniform(5, 15) if material == "manure" else rng.uniform(40, 120)),
            "moisture_percent": float(
                rng.uniform(55, 85) if material == "manure" else rng.uniform(10, 30)
            ),
        }
        if rng.random() < 0.3:
            quality["nitrogen_percent"] = float(rng.uniform(0.3, 3))
        supplies.append(
            {
                "id": f"s{k}",
                "lat": lat,
                "lon": lon,
                "material": material,
                "tonnes": float(rng.integers(0, max_tonnes + 1)),
                "fate": str(rng.choice(["landfill", "open_dump", "incineration"])),
                "fate_kg_co2e_per_t": float(rng.uniform(-20, 500)),
                "max_km": limit(),
                "quality": quality,
            }
        )
    outputs = ["compost", "digestate"]
    processors = []
    for k in range(n_processors):
        lat, lon = where()
        blend = {}
        if rng.random() < 0.8:
            lo = float(rng.uniform(12, 25))
            blend["cn_min"] = lo
            if rng.random() < 0.6:
                blend["cn_max"] = lo + float(rng.uniform(5, 30))
        if rng.random() < 0.6:
            blend["moisture_max_percent"] = float(rng.uniform(45, 70))
        if rng.random() < 0.3:
            blend["moisture_min_percent"] = float(rng.uniform(20, 40))
            if blend.get("moisture_max_percent", 100) < blend["moisture_min_percent"]:
                del blend["moisture_min_percent"]
        processors.append(
            {
                "id": f"p{k}",
                "lat": lat,
                "lon": lon,
                "max_km": limit(),
                "capacity_tonnes": float(rng.integers(0, 2 * max_tonnes)),
                "accepts": [
                    {"material": m, "credit_kg_co2e_per_t": float(rng.uniform(-20, 20))}
                    for m in residues
                ],
                "treatment_kg_co2e_per_t": float(rng.uniform(-170, 100)),
                "output": {
                    "material": outputs[k % 2],
                    "yield": float(rng.choice([0.3, 0.5, 0.9, 1.0])),
                    "max_km": limit(),
                    "fate_kg_co2e_per_t": float(rng.choice([0.0, 0.0, 30.0])),
                },
                "blend": blend,
            }
        )
    demands = []
    for k in range(n_demands):
        lat, lon = where()
        accepts = [
            {"material": m, "credit_kg_co2e_per_t": float(rng.uniform(0, 400))}
            for m in outputs
            if rng.random() < 0.8
        ]
        if direct and rng.random() < 0.5:
            accepts.append(
                {
                    "material": str(rng.choice(residues)),
                    "credit_kg_co2e_per_t": float(rng.uniform(-50, 300)),
                }
            )
        demands.append(
            {
                "id": f"d{k}",
                "lat": lat,
                "lon": lon,
                "tonnes": float(rng.integers(0, max_tonnes + 1)),
                "max_km": limit(),
                "min_lot_tonnes": float(rng.integers(1, max_tonnes // 3 + 2))
                if lots and rng.random() < 0.6
                else None,
                "accepts": accepts,
            }
        )
    return {
        "parameters": {
            "road_factor": 1.3,
            "transport_kg_co2e_per_tkm": 2.0,  # large, so distance matters
            "objective": objective,
            "landfill_weight_kg_co2e_per_t": landfill_weight,
            "time_limit_s": 30,
            "mip_gap": 0.0,
        },
        "supplies": supplies,
        "demands": demands,
        "processors": processors,
        "pins": [],
        "forbidden": [],
    }


def compost_doc(**blend) -> dict:
    """Manure (C:N 8, wet) saves the most per tonne; straw (C:N 80, dry) little; the
    plant takes 200 t. Without limits it would take manure only."""
    return {
        "parameters": {"transport_kg_co2e_per_tkm": 0.1},
        "supplies": [
            {
                "id": "manure",
                "lat": 43.25,
                "lon": 76.92,
                "material": "chicken-manure",
                "tonnes": 200,
                "fate": "landfill",
                "fate_kg_co2e_per_t": 400,
                "quality": {"cn_ratio": 8, "moisture_percent": 75},
            },
            {
                "id": "straw",
                "lat": 43.26,
                "lon": 76.93,
                "material": "wheat-straw",
                "tonnes": 200,
                "fate": "open_burning",
                "fate_kg_co2e_per_t": 60,
                "quality": {"cn_ratio": 80, "moisture_percent": 15},
            },
        ],
        "demands": [
            {
                "id": "farm",
                "lat": 43.3,
                "lon": 76.9,
                "tonnes": 1000,
                "accepts": [{"material": "compost", "credit_kg_co2e_per_t": 120}],
            }
        ],
        "processors": [
            {
                "id": "plant",
                "lat": 43.27,
                "lon": 76.95,
                "max_km": 60,
                "capacity_tonnes": 200,
                "accepts": [{"material": "chicken-manure"}, {"material": "wheat-straw"}],
                "treatment_kg_co2e_per_t": -50,
                "output": {"material": "compost", "yield": 0.5, "max_km": 80},
                "blend": blend,
            }
        ],
    }


# --------------------------------------------------------------------------- brute force


@HYPOTHESIS
@given(
    seed=st.integers(0, 2**32 - 1),
    n_s=st.integers(1, 3),
    n_d=st.integers(1, 2),
    weight=st.sampled_from([0.0, 200.0]),
)
def test_tiny_instances_match_vertex_enumeration(seed, n_s, n_d, weight):
    doc = random_processor_doc(
        np.random.default_rng(seed), n_s, n_d, direct=False, landfill_weight=weight
    )
    best = vertex_enumeration_best(doc)
    for solver in SOLVERS:
        solution = run(doc, solver)
        assert solution["status"] == "optimal", solution["message"]
        check_solution(doc, solution)
        assert close(saving_of(solution), best), (solver, saving_of(solution), best)


def test_vertex_enumeration_agrees_with_linprog_on_a_worked_instance():
    """The two references agree with each other (and with the hand figures below)."""
    doc = compost_doc(cn_min=20)
    assert close(vertex_enumeration_best(doc), linprog_best(doc)[1])


# --------------------------------------------------------------------------- scipy references


@HYPOTHESIS
@given(
    seed=st.integers(0, 2**32 - 1),
    n_s=st.integers(1, 8),
    n_d=st.integers(1, 6),
    n_p=st.integers(1, 3),
    objective=st.sampled_from(["co2e", "tonnes_then_co2e"]),
    weight=st.sampled_from([0.0, 250.0]),
)
def test_random_instances_match_linprog(seed, n_s, n_d, n_p, objective, weight):
    doc = random_processor_doc(
        np.random.default_rng(seed), n_s, n_d, n_p, objective=objective, landfill_weight=weight
    )
    lexicographic = objective == "tonnes_then_co2e"
    tonnes, best = linprog_best(doc, lexicographic=lexicographic)
    for solver in ("auto", "cbc"):
        solution = run(doc, solver)
        assert solution["status"] == "optimal", solution["message"]
        check_solution(doc, solution)
        if lexicographic:
            assert close(solution["tonnes_moved"], tonnes, rel=1e-6)
            assert close(saving_of(solution), best, rel=1e-5)
        else:
            assert close(saving_of(solution), best), (solver, saving_of(solution), best)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n_s=st.integers(2, 7), n_d=st.integers(1, 5))
def test_lots_with_processors_match_milp(seed, n_s, n_d):
    doc = random_processor_doc(np.random.default_rng(seed), n_s, n_d, 2, lots=True)
    best = milp_best(doc)
    solution = run(doc)
    assert solution["status"] == "optimal", solution["message"]
    check_solution(doc, solution)
    assert close(saving_of(solution), best), (saving_of(solution), best)


def test_a_larger_city_matches_linprog():
    doc = random_processor_doc(np.random.default_rng(7), 60, 40, 5, max_tonnes=400)
    _, best = linprog_best(doc)
    solution = run(doc)
    assert solution["status"] == "optimal"
    check_solution(doc, solution)
    assert close(saving_of(solution), best)
    kinds = {f["kind"] for f in solution["flows"]}
    assert {"to_processor", "from_processor"} <= kinds


# --------------------------------------------------------------------------- blends bind


def test_cn_minimum_binds():
    free = run(compost_doc())
    assert mix_cn(compost_doc(), free, "plant") == pytest.approx(8.0)  # manure only
    doc = compost_doc(cn_min=20, cn_max=40)
    for solver in SOLVERS:
        solution = run(doc, solver)
        assert solution["status"] == "optimal"
        check_solution(doc, solution)
        # The limit is what stops more manure going in: it holds with equality.
        assert mix_cn(doc, solution, "plant") == pytest.approx(20.0, rel=1e-6)
        assert saving_of(solution) < saving_of(free) - 1.0
        assert close(saving_of(solution), linprog_best(doc)[1])
        summary = solution["processors"][0]
        assert summary["cn_ratio"] == pytest.approx(20.0, rel=1e-6)
        assert summary["input_tonnes"] == pytest.approx(200.0)


def test_cn_blend_by_hand():
    """Manure N = 0.5 x 0.25 / 9, straw N = 0.5 x 0.85 / 81 per wet tonne; with
    manure a and straw b t, C:N = 20 and a + b = 200 give a and b in closed form."""
    n_m, n_s = 0.5 * 0.25 / 9, 0.5 * 0.85 / 81
    # a n_m (8 - 20) + b n_s (80 - 20) = 0 and a + b = 200.
    a = 200 * 60 * n_s / (12 * n_m + 60 * n_s)
    solution = run(compost_doc(cn_min=20))
    flows = {(f["supply"], f["demand"]): f["tonnes"] for f in solution["flows"]}
    assert flows[("manure", "plant")] == pytest.approx(a, rel=1e-7)
    assert flows[("straw", "plant")] == pytest.approx(200 - a, rel=1e-7)
    assert flows[("plant", "farm")] == pytest.approx(100.0, rel=1e-7)  # 0.5 x 200


def test_measured_nitrogen_is_used_over_the_estimate():
    doc = compost_doc(cn_min=20)
    doc["supplies"][0]["quality"]["nitrogen_percent"] = 2.0
    doc["supplies"][1]["quality"]["nitrogen_percent"] = 0.5
    solution = run(doc)
    check_solution(doc, solution)
    flows = {(f["supply"], f["demand"]): f["tonnes"] for f in solution["flows"]}
    a = 200 * 60 * 0.005 / (12 * 0.02 + 60 * 0.005)
    assert flows[("manure", "plant")] == pytest.approx(a, rel=1e-7)


def test_cn_maximum_binds():
    doc = compost_doc(cn_max=30)
    # Make straw the better input, so the plant would take straw only.
    doc["supplies"][1]["fate_kg_co2e_per_t"] = 900
    solution = run(doc)
    check_solution(doc, solution)
    assert mix_cn(doc, solution, "plant") == pytest.approx(30.0, rel=1e-6)


def test_moisture_maximum_binds():
    doc = compost_doc(moisture_max_percent=55)
    solution = run(doc)
    check_solution(doc, solution)
    summary = solution["processors"][0]
    assert summary["moisture_percent"] == pytest.approx(55.0, rel=1e-7)
    flows = {(f["supply"], f["demand"]): f["tonnes"] for f in solution["flows"]}
    # 75 a + 15 b = 55 (a + b), a + b = 200: a = 200 x 40 / 60.
    assert flows[("manure", "plant")] == pytest.approx(200 * 40 / 60, rel=1e-7)


def test_infeasible_blend_means_the_plant_stays_idle():
    """Only manure near the plant and C:N >= 20: no mix can meet it, so nothing goes
    there; the run is still optimal (idle is always feasible)."""
    doc = compost_doc(cn_min=20)
    doc["supplies"] = doc["supplies"][:1]
    solution = run(doc)
    assert solution["status"] == "optimal"
    assert solution["flows"] == []
    assert solution["processors"][0]["input_tonnes"] == 0
    assert solution["processors"][0]["cn_ratio"] is None


# --------------------------------------------------------------------------- capacity, yield


def test_capacity_and_yield_hold():
    doc = compost_doc()
    doc["processors"][0]["capacity_tonnes"] = 120
    doc["processors"][0]["output"]["yield"] = 0.4
    solution = run(doc)
    check_solution(doc, solution)
    summary = solution["processors"][0]
    assert summary["input_tonnes"] == pytest.approx(120)
    assert summary["output_tonnes"] == pytest.approx(48)
    # Output is worth sending (credit 120 > transport), so the yield row binds.
    assert summary["output_sent_tonnes"] == pytest.approx(48)


def test_output_is_limited_by_its_demand_and_the_rest_stays():
    doc = compost_doc()
    doc["demands"][0]["tonnes"] = 30
    solution = run(doc)
    check_solution(doc, solution)
    assert solution["processors"][0]["output_sent_tonnes"] == pytest.approx(30)
    assert solution["processors"][0]["output_tonnes"] == pytest.approx(100)


def test_output_fate_counts_against_inputs_and_for_sent_output():
    """Output left at the plant emits its fate factor: with a large one and nowhere
    to send it, processing stops paying."""
    doc = compost_doc()
    doc["processors"][0]["output"]["fate_kg_co2e_per_t"] = 2000  # x 0.5 = 1000 per input t
    doc["demands"] = []
    assert run(doc)["flows"] == []
    doc = compost_doc()
    doc["processors"][0]["output"]["fate_kg_co2e_per_t"] = 2000
    solution = run(doc)
    check_solution(doc, solution)
    assert solution["processors"][0]["output_sent_tonnes"] == pytest.approx(100)


def test_treatment_factor_comes_from_the_instance():
    doc = compost_doc()
    doc["demands"] = []
    base = run(doc)
    doc["processors"][0]["treatment_kg_co2e_per_t"] = -167.7
    stored = run(doc)
    # 200 t of manure, 50 - 167.7 = ... only the treatment differs: 117.7 kg/t more saved.
    assert saving_of(stored) - saving_of(base) == pytest.approx(200 * 117.7, rel=1e-9)


def test_flow_savings_come_from_impact():
    doc = compost_doc(cn_min=20)
    solution = run(doc)
    transport = doc["parameters"]["transport_kg_co2e_per_tkm"]
    supplies = {s["id"]: s for s in doc["supplies"]}
    plant = doc["processors"][0]
    for f in solution["flows"]:
        if f["kind"] == "to_processor":
            s = supplies[f["supply"]]
            b = impact.processing_impact(
                tonnes=f["tonnes"],
                road_km=f["road_km"],
                fate=s["fate"],
                fate_kg_co2e_per_t=s["fate_kg_co2e_per_t"],
                treatment_kg_co2e_per_t=plant["treatment_kg_co2e_per_t"],
                output_yield=0.5,
                transport_kg_co2e_per_tkm=transport,
            )
        else:
            b = impact.exchange_impact(
                tonnes=f["tonnes"],
                road_km=f["road_km"],
                fate="processor_output",
                fate_kg_co2e_per_t=0.0,
                credit_kg_co2e_per_t=120,
                transport_kg_co2e_per_tkm=transport,
            )
        assert f["net_kg_co2e_saved"] == pytest.approx(b.net_kg_co2e_saved, rel=1e-12)


def test_processing_impact_by_hand():
    # 10 t over 20 km at 0.1 kg/tkm; landfill 500 kg/t; composting -167.7 kg/t;
    # yield 0.5 of an output whose own fate is 10 kg/t.
    b = impact.processing_impact(
        tonnes=10,
        road_km=20,
        fate="landfill",
        fate_kg_co2e_per_t=500,
        treatment_kg_co2e_per_t=-167.7,
        output_yield=0.5,
        output_fate_kg_co2e_per_t=10,
        transport_kg_co2e_per_tkm=0.1,
    )
    assert b.tonnes_diverted_from_landfill == 10
    assert b.fate_kg_co2e_avoided == pytest.approx(5000)
    assert b.transport_kg_co2e_added == pytest.approx(20)
    assert b.treatment_kg_co2e_added == pytest.approx(-1677)
    assert b.output_fate_kg_co2e_added == pytest.approx(50)
    assert b.net_kg_co2e_saved == pytest.approx(5000 - 20 + 1677 - 50)
    per_t = impact.processing_net_kg_co2e_saved_per_t(
        road_km=np.array([20.0]),
        fate_kg_co2e_per_t=500,
        treatment_kg_co2e_per_t=-167.7,
        transport_kg_co2e_per_tkm=0.1,
        output_yield=0.5,
        output_fate_kg_co2e_per_t=10,
    )
    assert per_t[0] * 10 == pytest.approx(b.net_kg_co2e_saved)
    with pytest.raises(ValueError, match="output_yield"):
        impact.processing_impact(
            tonnes=1,
            road_km=0,
            fate="x",
            fate_kg_co2e_per_t=0,
            treatment_kg_co2e_per_t=0,
            output_yield=-1,
        )


# --------------------------------------------------------------------------- candidate rules


def test_arcs_follow_the_candidate_rules():
    rng = np.random.default_rng(3)
    doc = random_processor_doc(rng, 25, 15, 4, spread_km=80)
    doc["processors"][0]["available_from"] = "2030-01-01"  # no overlap with d windows below
    for d in doc["demands"][:5]:
        d["needed_until"] = "2029-06-30"
    doc["forbidden"] = [
        {"supply": "s0", "demand": "p1"},
        {"supply": "p2", "demand": "d3"},
        {"supply": "s1", "demand": "d1"},
    ]
    doc["processors"][3]["accepts"][0]["quality_limits"] = {"moisture_percent": {"max": 70}}
    del doc["supplies"][4]["quality"]["cn_ratio"]  # cannot go to a plant with C:N limits
    instance = Instance.from_dict(doc)
    prepared = prepare(instance)
    from optimizer.candidates import generate_arcs

    arcs = generate_arcs(instance)
    got = {
        (instance.source_ids[i], instance.sink_ids[j]): km
        for i, j, km in zip(
            arcs.supply.tolist(), arcs.demand.tolist(), arcs.road_km.tolist(), strict=True
        )
    }
    want = reference_arcs(doc)
    assert set(got) == set(want)
    for key, km in got.items():
        assert km == pytest.approx(want[key]["km"], rel=1e-9)
    assert prepared.candidate_arcs == len(want)


@pytest.mark.parametrize("allow_internal", [False, True])
def test_internal_arcs_follow_the_owner_rule_through_plants(allow_internal):
    rng = np.random.default_rng(11)
    doc = random_processor_doc(rng, 25, 15, 4, spread_km=80)
    for k, item in enumerate(doc["supplies"] + doc["demands"] + doc["processors"]):
        item["owner"] = f"org{k % 3}"
    doc["parameters"]["allow_internal"] = allow_internal
    instance = Instance.from_dict(doc)
    from optimizer.candidates import generate_arcs

    arcs = generate_arcs(instance)
    got = {
        (instance.source_ids[i], instance.sink_ids[j])
        for i, j in zip(arcs.supply.tolist(), arcs.demand.tolist(), strict=True)
    }
    want = reference_arcs(doc)
    assert got == set(want)
    owner = {x["id"]: x["owner"] for x in doc["supplies"] + doc["demands"] + doc["processors"]}
    internal = {key for key in want if owner[key[0]] == owner[key[1]]}
    # The rule must have something to do in both directions of the test.
    assert bool(internal) == allow_internal
    assert {k for k in want if k[0].startswith("p")} and {k for k in want if k[1].startswith("p")}


def test_processor_outputs_do_not_feed_processors():
    doc = compost_doc()
    doc["processors"].append(
        {
            "id": "plant2",
            "lat": 43.3,
            "lon": 76.9,
            "capacity_tonnes": 500,
            "accepts": [{"material": "compost", "credit_kg_co2e_per_t": 500}],
            "treatment_kg_co2e_per_t": -100,
        }
    )
    solution = run(doc)
    assert all(f["demand"] != "plant2" for f in solution["flows"])
    assert solution["processors"][1] == {
        "id": "plant2",
        "input_tonnes": 0.0,
        "capacity_tonnes": 500.0,
        "output_material": None,
        "output_tonnes": 0.0,
        "output_sent_tonnes": 0.0,
        "cn_ratio": None,
        "moisture_percent": None,
    }


def test_forbidden_pairs_naming_a_processor():
    doc = compost_doc()
    doc["forbidden"] = [{"supply": "plant", "demand": "farm"}]
    solution = run(doc)
    assert all(f["kind"] == "to_processor" for f in solution["flows"])
    doc["forbidden"] = [{"supply": "manure", "demand": "plant"}]
    solution = run(doc)
    assert all(f["supply"] != "manure" for f in solution["flows"])


def test_a_processor_joins_its_input_and_output_components():
    doc = compost_doc()
    # A direct exchange far away is its own component.
    doc["supplies"].append(
        {
            "id": "far",
            "lat": 50.0,
            "lon": 70.0,
            "material": "slag",
            "tonnes": 5,
            "fate_kg_co2e_per_t": 10,
        }
    )
    doc["demands"].append(
        {"id": "far-d", "lat": 50.0, "lon": 70.01, "tonnes": 5, "accepts": [{"material": "slag"}]}
    )
    prepared = prepare(Instance.from_dict(doc))
    assert prepared.components == 2
    with_plant = [p for p in prepared.problems if p.has_processors]
    assert len(with_plant) == 1 and with_plant[0].n_arcs == 3
    solution = run(doc)
    assert "ortools-mcf" in solution["stats"]["solver"]
    assert "pulp-highs" in solution["stats"]["solver"]


def test_processor_components_round_trip_as_json():
    doc = random_processor_doc(np.random.default_rng(5), 12, 8, 3)
    instance = Instance.from_dict(doc)
    prepared = prepare(instance)
    results = []
    for problem in prepared.problems:
        shipped = ComponentProblem.from_dict(json.loads(json.dumps(problem.to_dict())))
        local = solve_component(problem)
        remote = ComponentResult.from_dict(
            json.loads(json.dumps(solve_component(shipped).to_dict()))
        )
        assert remote.saving_kg_co2e == pytest.approx(local.saving_kg_co2e, rel=1e-9)
        results.append(remote)
    assembled = assemble(prepared, results).to_dict()
    check_solution(doc, assembled)
    assert close(saving_of(assembled), linprog_best(doc)[1])


def test_materials_table_supplies_blend_properties():
    doc = compost_doc(cn_min=20)
    doc["materials"] = {
        "chicken-manure": {"cn_ratio": 8, "moisture_percent": 75},
        "wheat-straw": {"cn_ratio": 80, "moisture_percent": 15},
        "compost": {},
    }
    for s in doc["supplies"]:
        del s["quality"]
    by_table = run(doc)
    by_quality = run(compost_doc(cn_min=20))
    assert by_table["flows"] == by_quality["flows"]


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["processors"][0]["output"].update({"yield": -0.1}),
            r"processors\[0\]\.output\.yield must be at least 0",
        ),
        (
            lambda d: d["processors"][0]["output"].update({"yield": 50}),
            r"processors\[0\]\.output\.yield must be at most 1",
        ),
        (
            lambda d: d["processors"][0]["output"].pop("yield"),
            r"processors\[0\]\.output\.yield is required",
        ),
        (
            lambda d: d["processors"][0]["blend"].update({"cn_min": 40, "cn_max": 20}),
            r"processors\[0\]\.blend\.cn_min \(40\) is above processors\[0\]\.blend\.cn_max \(20\)",
        ),
        (
            lambda d: d["processors"][0]["blend"].update({"cn_min": 0}),
            r"processors\[0\]\.blend\.cn_min must be greater than 0",
        ),
        (
            lambda d: d["processors"][0]["blend"].update({"moisture_max_percent": 120}),
            r"processors\[0\]\.blend\.moisture_max_percent must be at most 100",
        ),
        (
            lambda d: d["processors"][0]["blend"].update(
                {"moisture_min_percent": 70, "moisture_max_percent": 60}
            ),
            r"moisture_min_percent \(70\) is above",
        ),
        (
            lambda d: d["processors"][0].pop("capacity_tonnes"),
            r"processors\[0\]\.capacity_tonnes is required",
        ),
        (
            lambda d: d["processors"][0].update({"capacity_tonnes": -5}),
            r"processors\[0\]\.capacity_tonnes must be at least 0",
        ),
        (
            lambda d: d["processors"][0].pop("treatment_kg_co2e_per_t"),
            r"processors\[0\]\.treatment_kg_co2e_per_t is required",
        ),
        (lambda d: d["processors"][0].update({"lat": 91}), r"processors\[0\]\.lat: 91 is outside"),
        (
            lambda d: d["processors"][0].update({"id": "manure"}),
            r"processors\[0\]\.id: 'manure' is already a supply id",
        ),
        (
            lambda d: d["processors"][0].update({"id": "farm"}),
            r"processors\[0\]\.id: 'farm' is already a demand id",
        ),
        (
            lambda d: d["processors"][0]["accepts"].append({"material": "wheat-straw"}),
            r"processors\[0\]\.accepts\[2\]\.material: 'wheat-straw' is listed twice",
        ),
        (
            lambda d: d["supplies"][0]["quality"].update({"cn_ratio": 0}),
            r"supplies\[0\]\.quality\.cn_ratio must be greater than 0",
        ),
        (
            lambda d: d["supplies"][0]["quality"].update({"moisture_percent": 140}),
            r"supplies\[0\]\.quality\.moisture_percent must be at most 100",
        ),
        (
            lambda d: d.update({"pins": [{"supply": "manure", "demand": "plant", "tonnes": 5}]}),
            r"pins\[0\]\.demand: 'plant' is a processor",
        ),
        (
            lambda d: d.update({"forbidden": [{"supply": "plant", "demand": "plant"}]}),
            r"forbidden\[0\]: 'plant' -> 'plant' joins two processors",
        ),
        (
            lambda d: d.update({"forbidden": [{"supply": "nope", "demand": "plant"}]}),
            r"forbidden\[0\]\.supply: unknown supply or processor id 'nope'",
        ),
        (
            lambda d: d.update({"materials": {"chicken-manure": {}, "wheat-straw": {}}}),
            r"demands\[0\]\.accepts\[0\]\.material: unknown material 'compost'",
        ),
        (
            lambda d: (
                d.update({"materials": {"chicken-manure": {}, "wheat-straw": {}, "compost": {}}})
                or d["processors"][0]["output"].update({"material": "compst"})
            ),
            r"processors\[0\]\.output\.material: unknown material 'compst'",
        ),
        (
            lambda d: d.update({"materials": {"chicken-manure": {"cn_ratio": -1}}}),
            r"materials\.chicken-manure\.cn_ratio must be greater than 0",
        ),
        (lambda d: d.update({"processors": {"id": "x"}}), r"processors must be a list"),
    ],
)
def test_bad_processor_input_names_the_field(change, message):
    doc = compost_doc(cn_min=20)
    change(doc)
    with pytest.raises(ValueError, match=message):
        Instance.from_dict(doc)


def test_edge_instances_give_a_clear_status():
    # A plant with no capacity, one with no output, a plant nobody can reach.
    doc = compost_doc(cn_min=20)
    doc["processors"][0]["capacity_tonnes"] = 0
    solution = run(doc)
    assert solution["status"] == "optimal" and solution["flows"] == []
    doc = compost_doc()
    del doc["processors"][0]["output"]
    solution = run(doc)
    assert solution["status"] == "optimal"
    check_solution(doc, solution)
    assert all(f["kind"] == "to_processor" for f in solution["flows"])
    doc = compost_doc()
    doc["processors"][0]["max_km"] = 0.1
    solution = run(doc)
    assert solution["status"] == "optimal" and solution["flows"] == []
    # Yield 0: inputs may still pay on their own (treatment and fate), nothing goes out.
    doc = compost_doc()
    doc["processors"][0]["output"]["yield"] = 0
    solution = run(doc)
    check_solution(doc, solution)
    assert solution["processors"][0]["output_sent_tonnes"] == 0
    # Pins on direct arcs still work beside a plant.
    doc = compost_doc()
    doc["demands"].append(
        {
            "id": "feed",
            "lat": 43.25,
            "lon": 76.92,
            "tonnes": 50,
            "accepts": [{"material": "wheat-straw"}],
        }
    )
    doc["pins"] = [{"supply": "straw", "demand": "feed", "tonnes": 50}]
    solution = run(doc)
    assert solution["status"] == "optimal"
    check_solution(doc, solution)
    doc["pins"][0]["tonnes"] = 500
    solution = run(doc)
    assert solution["status"] == "infeasible" and "pin straw -> feed" in solution["message"]


def test_instance_round_trips_with_processors():
    doc = compost_doc(cn_min=20, cn_max=40, moisture_max_percent=60)
    doc["materials"] = {"chicken-manure": {"cn_ratio": 8}, "wheat-straw": {}, "compost": {}}
    instance = Instance.from_dict(doc)
    assert Instance.from_dict(instance.to_dict()) == instance
    assert "processors" not in Instance.from_dict({"supplies": []}).to_dict()


def test_cli_solves_a_processor_instance(tmp_path):
    from optimizer.cli import main

    path = tmp_path / "instance.json"
    path.write_text(json.dumps(compost_doc(cn_min=20)), encoding="utf-8")
    out = tmp_path / "solution.json"
    assert main(["solve", str(path), "-o", str(out)]) == 0
    solution = json.loads(out.read_text(encoding="utf-8"))
    assert solution["status"] == "optimal"
    assert {f["kind"] for f in solution["flows"]} == {"to_processor", "from_processor"}


# --------------------------------------------------------------------------- JSON Schema


def test_schema_accepts_processors_and_refuses_what_the_parser_refuses():
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    doc = compost_doc(cn_min=20, cn_max=40, moisture_max_percent=60)
    doc["materials"] = {"chicken-manure": {"cn_ratio": 8}, "wheat-straw": {}, "compost": {}}
    assert not list(validator.iter_errors(doc))
    for change in (
        lambda d: d["processors"][0]["output"].update({"yield": -0.1}),
        lambda d: d["processors"][0]["output"].update({"yield": 2}),
        lambda d: d["processors"][0].pop("capacity_tonnes"),
        lambda d: d["processors"][0].pop("treatment_kg_co2e_per_t"),
        lambda d: d["processors"][0]["blend"].update({"cn_min": 0}),
        lambda d: d["processors"][0]["blend"].update({"moisture_max_percent": 101}),
        lambda d: d["supplies"][0]["quality"].update({"cn_ratio": -3}),
        lambda d: d["supplies"][0]["quality"].update({"moisture_percent": 101}),
    ):
        bad = copy.deepcopy(doc)
        change(bad)
        assert list(validator.iter_errors(bad)), bad
        with pytest.raises(ValueError):
            Instance.from_dict(bad)
