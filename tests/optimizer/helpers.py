"""Independent references for the optimizer tests: written here from the issue's
semantics, sharing no code with optimizer/ beyond the Instance parser, so a bug
in the optimizer cannot hide by being repeated in its check."""

from __future__ import annotations

import itertools
import math
import re
from datetime import date

import numpy as np

RADIUS_KM = 6371.0088
LANDFILL = {"landfill", "open_dump"}


def haversine_km(lat1, lon1, lat2, lon2) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _day(text, default):
    return date.fromisoformat(text) if text else default


def reference_arcs(doc: dict) -> dict:
    """(supply id, demand id) -> dict(road_km, net, value, cap) by a plain double loop."""
    p = doc.get("parameters", {})
    road = p.get("road_factor", 1.3)
    transport = p.get("transport_kg_co2e_per_tkm", 0.10163)
    transport_kzt = p.get("transport_kzt_per_tkm", 0.0)
    need_value = p.get("require_economic_value", False)
    forbidden = {(f["supply"], f["demand"]) for f in doc.get("forbidden", [])}
    internal_ok = p.get("allow_internal", False)
    out = {}
    for s in doc.get("supplies", []):
        for d in doc.get("demands", []):
            acc = [a for a in d.get("accepts", []) if a["material"] == s["material"]]
            if not acc or (s["id"], d["id"]) in forbidden:
                continue
            owner = s.get("owner")
            if not internal_ok and owner is not None and str(owner) == str(d.get("owner")):
                continue
            # A hazardous supply only to a demand holding a permit for its code (digits).
            hazard = s.get("hazardous_code")
            if hazard is not None:
                permitted = {re.sub(r"\D", "", c) for c in d.get("permitted_codes") or []}
                if re.sub(r"\D", "", hazard) not in permitted:
                    continue
            a = acc[0]
            km = haversine_km(s["lat"], s["lon"], d["lat"], d["lon"]) * road
            if s.get("max_km") is not None and km > s["max_km"]:
                continue
            if d.get("max_km") is not None and km > d["max_km"]:
                continue
            start = max(
                _day(s.get("available_from"), date.min), _day(d.get("needed_from"), date.min)
            )
            end = min(
                _day(s.get("available_until"), date.max), _day(d.get("needed_until"), date.max)
            )
            if start > end:
                continue
            limits = a.get("quality_limits") or {}
            quality = s.get("quality") or {}
            if any(
                prop not in quality
                or not lim.get("min", -math.inf) <= quality[prop] <= lim.get("max", math.inf)
                for prop, lim in limits.items()
            ):
                continue
            value = (
                s.get("fate_cost_kzt_per_t", 0.0)
                + a.get("value_kzt_per_t", 0.0)
                - transport_kzt * km
            )
            if need_value and value < 0:
                continue
            net = s.get("fate_kg_co2e_per_t", 0.0) + a.get("credit_kg_co2e_per_t", 0.0)
            net -= transport * km
            out[(s["id"], d["id"])] = {
                "road_km": km,
                "net": net,
                "value": value,
                "cap": min(s["tonnes"], d["tonnes"]),
            }
    return out


def weights(doc: dict, arcs: dict) -> dict:
    """Objective saving per tonne per arc: net saving + landfill weight on landfill supplies."""
    w = doc.get("parameters", {}).get("landfill_weight_kg_co2e_per_t", 0.0)
    fate = {s["id"]: s.get("fate", "other") for s in doc["supplies"]}
    return {k: v["net"] + (w if fate[k[0]] in LANDFILL else 0.0) for k, v in arcs.items()}


def baseline(doc: dict) -> float:
    w = doc.get("parameters", {}).get("landfill_weight_kg_co2e_per_t", 0.0)
    return sum(
        (s.get("fate_kg_co2e_per_t", 0.0) + (w if s.get("fate", "other") in LANDFILL else 0.0))
        * s["tonnes"]
        for s in doc["supplies"]
    )


def _lp_arrays(doc, arcs):
    keys = sorted(arcs)
    s_ids = [s["id"] for s in doc["supplies"]]
    d_ids = [d["id"] for d in doc["demands"]]
    n = len(keys)
    a = np.zeros((len(s_ids) + len(d_ids), n))
    for k, (si, dj) in enumerate(keys):
        a[s_ids.index(si), k] = 1.0
        a[len(s_ids) + d_ids.index(dj), k] = 1.0
    b = np.array([s["tonnes"] for s in doc["supplies"]] + [d["tonnes"] for d in doc["demands"]])
    lo = np.zeros(n)
    hi = np.array([arcs[k]["cap"] for k in keys])
    for pin in doc.get("pins", []):
        k = keys.index((pin["supply"], pin["demand"]))
        lo[k] = hi[k] = pin["tonnes"]
    return keys, a, b, lo, hi


def linprog_saving(doc: dict, lexicographic: bool = False) -> float:
    """Optimal weighted saving of the pure LP by scipy's HiGHS (lots ignored)."""
    from scipy.optimize import linprog

    arcs = reference_arcs(doc)
    if not arcs:
        return 0.0
    keys, a, b, lo, hi = _lp_arrays(doc, arcs)
    w = weights(doc, arcs)
    c = -np.array([w[k] for k in keys])
    bounds = list(zip(lo, hi, strict=True))
    if lexicographic:
        first = linprog(-np.ones(len(keys)), A_ub=a, b_ub=b, bounds=bounds, method="highs")
        assert first.status == 0
        tonnes = -first.fun
        a = np.vstack([a, -np.ones(len(keys))])
        b = np.append(b, -(tonnes - 1e-9 * max(tonnes, 1.0)))
    result = linprog(c, A_ub=a, b_ub=b, bounds=bounds, method="highs")
    assert result.status == 0, result.message
    return -result.fun


def milp_saving(doc: dict) -> float:
    """Optimal weighted saving with minimum lots, by scipy.optimize.milp."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    arcs = reference_arcs(doc)
    if not arcs:
        return 0.0
    keys, a, b, lo, hi = _lp_arrays(doc, arcs)
    w = weights(doc, arcs)
    lot_of = {d["id"]: d.get("min_lot_tonnes") or 0.0 for d in doc["demands"]}
    n = len(keys)
    # Variables: x (n), then y (n); y only matters on arcs into a demand with a lot.
    c = np.concatenate([-np.array([w[k] for k in keys]), np.zeros(n)])
    rows = [np.hstack([a, np.zeros_like(a)])]
    lower = [np.full(len(b), -np.inf)]
    upper = [b]
    for k, key in enumerate(keys):
        lot = lot_of[key[1]]
        if lot <= 0:
            continue
        up = np.zeros(2 * n)
        up[k], up[n + k] = 1.0, -hi[k]  # x <= cap y
        low = np.zeros(2 * n)
        low[k], low[n + k] = 1.0, -lot  # x >= lot y
        rows += [up[None, :], low[None, :]]
        lower += [[-np.inf], [0.0]]
        upper += [[0.0], [np.inf]]
    constraints = LinearConstraint(np.vstack(rows), np.concatenate(lower), np.concatenate(upper))
    integrality = np.concatenate([np.zeros(n), np.ones(n)])
    bounds = Bounds(np.concatenate([lo, np.zeros(n)]), np.concatenate([hi, np.ones(n)]))
    result = milp(
        c,
        constraints=constraints,
        integrality=integrality,
        bounds=bounds,
        options={"mip_rel_gap": 0.0},
    )
    assert result.status == 0, result.message
    return -result.fun


def brute_force(doc: dict, lexicographic: bool = False):
    """Best (weighted saving) over every integer flow; with ``lexicographic`` the best
    (tonnes, saving). Returns (tonnes, saving). Tiny instances only."""
    arcs = reference_arcs(doc)
    keys = sorted(arcs)
    w = weights(doc, arcs)
    supply_t = {s["id"]: s["tonnes"] for s in doc["supplies"]}
    demand_t = {d["id"]: d["tonnes"] for d in doc["demands"]}
    lot = {d["id"]: d.get("min_lot_tonnes") or 0 for d in doc["demands"]}
    pins = {(p["supply"], p["demand"]): p["tonnes"] for p in doc.get("pins", [])}
    choices = []
    for k in keys:
        if k in pins:
            choices.append([pins[k]])
        else:
            cap = int(arcs[k]["cap"])
            choices.append([t for t in range(cap + 1) if t == 0 or t >= lot[k[1]]])
    best = None
    for x in itertools.product(*choices):
        sent, got = {}, {}
        for (si, dj), t in zip(keys, x, strict=True):
            sent[si] = sent.get(si, 0) + t
            got[dj] = got.get(dj, 0) + t
        if any(v > supply_t[k] + 1e-9 for k, v in sent.items()):
            continue
        if any(v > demand_t[k] + 1e-9 for k, v in got.items()):
            continue
        saving = sum(w[k] * t for k, t in zip(keys, x, strict=True))
        score = (sum(x), saving) if lexicographic else (saving,)
        if best is None or score > best:
            best = score
    if best is None:
        return None
    return (best[0], best[1]) if lexicographic else (None, best[0])


def check_feasible(doc: dict, solution: dict, tol: float = 1e-6) -> None:
    """Assert that the solution's flows respect arcs, capacities, lots and pins, and
    that its reported totals add up."""
    arcs = reference_arcs(doc)
    supply_t = {s["id"]: s["tonnes"] for s in doc["supplies"]}
    demand_t = {d["id"]: d["tonnes"] for d in doc["demands"]}
    lot = {d["id"]: d.get("min_lot_tonnes") or 0 for d in doc["demands"]}
    sent, got = {}, {}
    flows = {(f["supply"], f["demand"]): f for f in solution["flows"]}
    assert len(flows) == len(solution["flows"]), "a pair appears twice"
    for key, f in flows.items():
        assert key in arcs, f"flow on a pair that is no arc: {key}"
        t = f["tonnes"]
        assert t >= -tol
        assert t <= arcs[key]["cap"] + tol
        if t > tol:
            assert t >= lot[key[1]] - tol, f"flow {key} of {t} t is below the lot"
        assert math.isclose(f["road_km"], arcs[key]["road_km"], rel_tol=1e-9, abs_tol=1e-9)
        assert math.isclose(
            f["net_kg_co2e_saved"], arcs[key]["net"] * t, rel_tol=1e-9, abs_tol=1e-6
        )
        sent[key[0]] = sent.get(key[0], 0) + t
        got[key[1]] = got.get(key[1], 0) + t
    for k, v in sent.items():
        assert v <= supply_t[k] * (1 + 1e-9) + tol
    for k, v in got.items():
        assert v <= demand_t[k] * (1 + 1e-9) + tol
    for pin in doc.get("pins", []):
        t = flows.get((pin["supply"], pin["demand"]), {"tonnes": 0.0})["tonnes"]
        assert math.isclose(t, pin["tonnes"], abs_tol=tol)
    w = weights(doc, arcs)
    weighted = sum(w[k] * f["tonnes"] for k, f in flows.items())
    base = baseline(doc)
    assert math.isclose(solution["baseline_kg_co2e"], base, rel_tol=1e-9, abs_tol=1e-6)
    assert math.isclose(solution["objective_kg_co2e"], base - weighted, rel_tol=1e-9, abs_tol=1e-5)
    total = sum(f["tonnes"] for f in flows.values())
    assert math.isclose(solution["tonnes_moved"], total, rel_tol=1e-9, abs_tol=1e-9)
    fate = {s["id"]: s.get("fate", "other") for s in doc["supplies"]}
    landfill = sum(f["tonnes"] for k, f in flows.items() if fate[k[0]] in LANDFILL)
    assert math.isclose(solution["landfill_tonnes_avoided"], landfill, rel_tol=1e-9, abs_tol=1e-9)
    assert solution["bound_kg_co2e"] <= solution["objective_kg_co2e"] + 1e-6 * max(
        1.0, abs(solution["objective_kg_co2e"])
    )


def random_doc(
    rng: np.random.Generator,
    n_supplies: int,
    n_demands: int,
    *,
    n_materials: int = 2,
    max_tonnes: int = 50,
    lots: bool = False,
    objective: str = "co2e",
    landfill_weight: float = 0.0,
    spread_km: float = 30.0,
    n_owners: int = 0,
) -> dict:
    """A random instance in a box of ``spread_km`` around Almaty, integer tonnes;
    with ``n_owners``, each listing belongs to one of that many organizations."""
    materials = [f"m{k}" for k in range(n_materials)]
    deg = spread_km / 111.0

    def limit():
        return None if rng.random() < 0.4 else float(rng.uniform(0.2, 2) * spread_km)

    supplies = [
        {
            "id": f"s{k}",
            "lat": 43.2 + float(rng.uniform(0, deg)),
            "lon": 76.9 + float(rng.uniform(0, deg)),
            "material": str(rng.choice(materials)),
            "tonnes": float(rng.integers(0, max_tonnes + 1)),
            "fate": str(rng.choice(["landfill", "incineration", "open_dump"])),
            "fate_kg_co2e_per_t": float(rng.uniform(-50, 800)),
            "max_km": limit(),
        }
        for k in range(n_supplies)
    ]
    demands = []
    for k in range(n_demands):
        take = rng.choice(materials, size=int(rng.integers(1, n_materials + 1)), replace=False)
        demands.append(
            {
                "id": f"d{k}",
                "lat": 43.2 + float(rng.uniform(0, deg)),
                "lon": 76.9 + float(rng.uniform(0, deg)),
                "tonnes": float(rng.integers(0, max_tonnes + 1)),
                "max_km": limit(),
                "min_lot_tonnes": float(rng.integers(1, max_tonnes // 2 + 2))
                if lots and rng.random() < 0.7
                else None,
                "accepts": [
                    {"material": str(m), "credit_kg_co2e_per_t": float(rng.uniform(-100, 900))}
                    for m in take
                ],
            }
        )
    if n_owners:
        # Drawn after everything else, so a seed gives the same listings with or without.
        for item in supplies + demands:
            item["owner"] = f"org{int(rng.integers(n_owners))}"
    return {
        "parameters": {
            "road_factor": 1.3,
            "transport_kg_co2e_per_tkm": 3.0,  # large, so some arcs save nothing
            "objective": objective,
            "landfill_weight_kg_co2e_per_t": landfill_weight,
            "time_limit_s": 30,
            "mip_gap": 0.0,
        },
        "supplies": supplies,
        "demands": demands,
        "pins": [],
        "forbidden": [],
    }
