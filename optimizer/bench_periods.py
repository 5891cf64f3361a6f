"""Seasonal benchmark: ``python -m optimizer.bench --periods 12 --supplies N --demands N``.

The city-like instance of ``optimizer.bench`` given months: every listing gets a
profile of whole tonnes per month (organics peak in late summer and autumn, heating
demand in winter, the rest flat, some listings in a few months only), 30 % of
supplies and 20 % of demands a store (capacity of two average months, 0.5 to 5 kg
CO2e per tonne and month), and with ``--losses`` organic stores lose 5-20 % a month.
It is solved through the command line (file in, file out) and, where the time-expanded
problem is a network (no lots, no losses), in the same process by a textbook OR-Tools
min-cost flow on the same time-expanded arcs (source -> supply-months -> demand-months
-> sink, store arcs between months, a bypass for the fate; costs in grams), which must
agree with ours; the ratio of our end-to-end time to it is printed.

``--plants N`` adds N processors (compost plants under C:N and moisture limits, organics
given their quality; shredder -> board plant chains for facade panels and timber) with a
buyer each, a third of them a store; with ``--min-lot`` (lots) that is the issue's
"processors, blend limits and lots" instance. ``--workers`` and ``--gap`` go to the CLI.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from optimizer.bench import GROUP_OF, generate
from optimizer.instance import Instance
from optimizer.timeline import SUPPLY, Timeline, expand

# Monthly weights, January first.
SEASONS = {
    "flat": [1] * 12,
    "harvest": [0, 0, 0, 0, 0, 1, 2, 4, 4, 3, 1, 0],  # fruit and vegetable waste
    "heating": [4, 4, 3, 1, 0, 0, 0, 0, 0, 1, 3, 4],  # straw and fuel demand in winter
    "spring": [0, 1, 3, 4, 3, 1, 0, 0, 0, 0, 0, 0],  # compost and feed for the fields
}


def _profile(tonnes: float, weights: list[int], count: int) -> list[float]:
    """Whole tonnes per period, in proportion to the weights (largest remainder)."""
    w = np.array([weights[t % 12] for t in range(count)], dtype=float)
    if w.sum() == 0:
        w[:] = 1.0
    share = tonnes * w / w.sum()
    whole = np.floor(share)
    left = int(round(tonnes - whole.sum()))
    whole[np.argsort(-(share - whole), kind="stable")[:left]] += 1
    return [float(v) for v in whole]


# C:N and moisture (%) of the organics compost plants take (orders of magnitude).
ORGANIC_QUALITY = {
    "fruit-veg-waste": (18.0, 85.0),
    "chicken-manure": (8.0, 55.0),
    "straw": (80.0, 12.0),
    "bread-waste": (30.0, 35.0),
    "brewery-spent-grain": (12.0, 78.0),
    "coffee-grounds": (22.0, 60.0),
}


def generate_seasonal(
    n_supplies: int,
    n_demands: int,
    seed: int,
    periods: int = 12,
    *,
    min_lot=False,
    losses=False,
    plants: int = 0,
) -> dict:
    rng = np.random.default_rng(seed + 7919)
    doc = generate(n_supplies, n_demands, seed, min_lot=min_lot)
    doc["periods"] = {"start": "2027-01", "count": periods}
    for side, seasonal in (("supplies", ("harvest", "flat")), ("demands", ("heating", "spring"))):
        for node in doc[side]:
            group = GROUP_OF[node["material"]] if side == "supplies" else None
            pick = rng.random()
            season = seasonal[0] if pick < 0.25 else seasonal[1] if pick < 0.4 else "flat"
            if side == "supplies" and group != "organics":
                season = "flat"
            profile = _profile(node["tonnes"], SEASONS[season], periods)
            node["tonnes_per_period"], node["tonnes"] = profile, float(sum(profile))
            # Windows are carried by the profile here.
            for key in ("available_from", "available_until", "needed_from", "needed_until"):
                node.pop(key, None)
            if rng.random() < (0.3 if side == "supplies" else 0.2):
                lossy = losses and group == "organics"
                node["storage"] = {
                    "capacity_tonnes": float(np.ceil(2 * node["tonnes"] / periods)),
                    "loss_fraction_per_period": round(float(rng.uniform(0.05, 0.2)), 2)
                    if lossy
                    else 0.0,
                    "kg_co2e_per_t_period": round(float(rng.uniform(0.5, 5.0)), 1),
                    "kg_co2e_tier": "proxy",
                }
    if plants:
        _add_plants(doc, plants, periods, np.random.default_rng(seed + 104729))
    return doc


def _add_plants(doc: dict, n_plants: int, periods: int, rng) -> None:
    """``n_plants`` processors among the listings, with their buyers: compost plants
    taking organics under C:N and moisture limits (so organics get their quality), and
    two-stage chains facade panels -> shredder -> chips -> board plant -> boards; a
    third of the plants a store. Demands for compost and boards are added (one per
    plant, as lot-bearing as the others' with ``--min-lot``)."""
    lots = any(d.get("min_lot_tonnes") for d in doc["demands"])
    for s in doc["supplies"]:
        if s["material"] in ORGANIC_QUALITY:
            cn, moisture = ORGANIC_QUALITY[s["material"]]
            s["quality"] = {
                "cn_ratio": round(cn * float(rng.uniform(0.8, 1.2)), 1),
                "moisture_percent": round(min(moisture * float(rng.uniform(0.9, 1.1)), 95), 1),
            }
    anchors = [(s["lat"], s["lon"]) for s in doc["supplies"]]
    processors, demands = [], []
    for k in range(n_plants):
        lat, lon = anchors[int(rng.integers(len(anchors)))]
        lat, lon = (
            round(lat + float(rng.normal(0, 0.01)), 6),
            round(lon + float(rng.normal(0, 0.01)), 6),
        )
        capacity = float(rng.integers(200, 2000)) * periods
        kind = k % 3  # compost, shredder, board plant
        if kind == 0:
            accepts, output = sorted(ORGANIC_QUALITY), ("compost", 0.45, False)
            blend = {
                "cn_min": 20,
                "cn_max": 40,
                "moisture_min_percent": 40,
                "moisture_max_percent": 65,
            }
        elif kind == 1:
            accepts, output, blend = ["facade-panels", "timber-offcuts"], ("chips", 0.9, True), None
        else:
            accepts, output, blend = ["chips"], ("board", 0.8, False), None
        plant = {
            "id": f"p{k}",
            "lat": lat,
            "lon": lon,
            "capacity_tonnes": capacity,
            "treatment_kg_co2e_per_t": round(float(rng.uniform(5, 40)), 1),
            "max_km": 40.0,
            "accepts": [
                {"material": m, "credit_kg_co2e_per_t": round(float(rng.uniform(0, 50)), 1)}
                for m in accepts
            ],
            "output": {
                "material": output[0],
                "yield": output[1],
                "fate_kg_co2e_per_t": 20.0,
                "to_processors": output[2],
            },
        }
        if blend:
            plant["blend"] = blend
        if rng.random() < 1 / 3:
            plant["storage"] = {
                "capacity_tonnes": float(np.ceil(capacity / periods)),
                "kg_co2e_per_t_period": round(float(rng.uniform(0.5, 5.0)), 1),
                "kg_co2e_tier": "proxy",
            }
        processors.append(plant)
        if kind == 1:
            continue  # chips go to board plants, not to demands
        buyer_lat = round(lat + float(rng.normal(0, 0.05)), 6)
        buyer_lon = round(lon + float(rng.normal(0, 0.05)), 6)
        demands.append(
            {
                "id": f"dp{k}",
                "lat": buyer_lat,
                "lon": buyer_lon,
                "tonnes": float(np.round(capacity * output[1] * 0.8)),
                "max_km": 60.0,
                "min_lot_tonnes": 20.0 if lots and rng.random() < 0.6 else None,
                "accepts": [
                    {
                        "material": output[0],
                        "credit_kg_co2e_per_t": round(float(rng.uniform(100, 600)), 1),
                    }
                ],
            }
        )
    doc["processors"] = processors
    doc["demands"] += demands


def reference_flow(tl: Timeline) -> tuple[float, float]:
    """A textbook min-cost flow on the time-expanded arcs; (saving kg CO2e, seconds)."""
    from ortools.graph.python import min_cost_flow

    t0 = time.perf_counter()
    inst, seasons, count = tl.instance, tl.seasons, tl.count
    n_s, n_d = len(inst.supplies), len(inst.demands)
    source, sink = (n_s + n_d) * count, (n_s + n_d) * count + 1
    made = np.round(seasons.supply_tonnes).astype(np.int64)
    total = int(made.sum())
    sup = np.arange(n_s * count).reshape(n_s, count)
    dem = n_s * count + np.arange(n_d * count).reshape(n_d, count)
    tails = [np.full(n_s * count, source), sup[tl.source, tl.period], dem.ravel(), [source]]
    heads = [sup.ravel(), dem[tl.sink, tl.period], np.full(n_d * count, sink), [sink]]
    caps = [
        made.ravel(),
        np.round(tl.upper).astype(np.int64),
        np.round(seasons.demand_tonnes).astype(np.int64).ravel(),
        [total],
    ]
    costs = [
        np.zeros(n_s * count, np.int64),
        -np.round(tl.saving * 1000).astype(np.int64),
        np.zeros(n_d * count, np.int64),
        [0],
    ]
    # What a supply-month does not send goes to the fate: to the sink at no cost.
    tails.append(sup.ravel())
    heads.append(np.full(n_s * count, sink))
    caps.append(np.full(n_s * count, total))
    costs.append(np.zeros(n_s * count, np.int64))
    for k, (kind, node) in enumerate(zip(tl.store_kind, tl.store_node.tolist(), strict=True)):
        grid = sup if kind == SUPPLY else dem
        tails.append(grid[node, :-1])
        heads.append(grid[node, 1:])
        caps.append(np.full(count - 1, int(round(tl.store_capacity[k]))))
        costs.append(np.full(count - 1, int(round(tl.store_cost[k] * 1000))))
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        np.concatenate(tails).astype(np.int64),
        np.concatenate(heads).astype(np.int64),
        np.concatenate(caps).astype(np.int64),
        np.concatenate(costs).astype(np.int64),
    )
    flow.set_node_supply(source, total)
    flow.set_node_supply(sink, -total)
    if flow.solve() != flow.OPTIMAL:
        raise RuntimeError("reference min-cost flow failed")
    x = flow.flows(np.arange(n_s * count, n_s * count + tl.n_x, dtype=np.int64)).astype(float)
    first = n_s * count + tl.n_x + n_d * count + 1 + n_s * count
    held = flow.flows(np.arange(first, first + len(tl.store_kind) * (count - 1), dtype=np.int64))
    held = held.reshape(len(tl.store_kind), count - 1).astype(float)
    saving = float(tl.saving @ x - (tl.store_cost[:, None] * held).sum())
    return saving, time.perf_counter() - t0


def run(
    n_supplies: int,
    n_demands: int,
    seed: int,
    periods: int,
    *,
    min_lot: bool = False,
    losses: bool = False,
    plants: int = 0,
    workers: int = 1,
    mip_gap: float | None = None,
    solver: str = "auto",
    time_limit_s: float = 60.0,
    references: bool = True,
    out=sys.stdout,
) -> dict:
    from optimizer import cli

    t0 = time.perf_counter()
    document = generate_seasonal(
        n_supplies, n_demands, seed, periods, min_lot=min_lot, losses=losses, plants=plants
    )
    generate_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        instance_path, solution_path = Path(tmp, "instance.json"), Path(tmp, "solution.json")
        instance_path.write_text(json.dumps(document), encoding="utf-8")
        t1 = time.perf_counter()
        argv = ["solve", str(instance_path), "-o", str(solution_path), "--solver", solver]
        argv += ["--workers", str(workers)]
        if mip_gap is not None:
            argv += ["--gap", str(mip_gap)]
        code = cli.main([*argv, "--time-limit", str(time_limit_s)])
        end_to_end_s = time.perf_counter() - t1
        if code != 0:
            raise RuntimeError(f"the CLI failed with exit code {code}")
        solution = json.loads(solution_path.read_text(encoding="utf-8"))
    stats = solution["stats"]
    objective_saving = solution["baseline_kg_co2e"] - solution["objective_kg_co2e"]
    figures = {
        "supplies": n_supplies,
        "demands": n_demands,
        "periods": periods,
        "seed": seed,
        "status": solution["status"],
        "gap": solution["gap"],
        "solver": stats["solver"],
        "base_arcs": stats["candidate_arcs"],
        "model_arcs": stats["arcs"],
        "binaries": stats["binaries"],
        "components": stats["components"],
        "problems": stats.get("problems"),
        "workers": workers,
        "stock_entries": len(solution["stock"]),
        "seconds": {"generate": generate_s, **stats["seconds"], "end_to_end": end_to_end_s},
        "saving_kg_co2e": objective_saving,
        "reference": None,
    }
    tl = expand(Instance.from_dict(document))
    if references and tl.is_network:
        saving, seconds = reference_flow(tl)
        figures["reference"] = {"saving_kg_co2e": saving, "seconds": seconds}
    _print(figures, out)
    return figures


def _print(f: dict, out) -> None:
    p = lambda *a: print(*a, file=out)  # noqa: E731
    s = f["seconds"]
    p(
        f"instance        {f['supplies']} supplies x {f['demands']} demands x {f['periods']} "
        f"periods, seed {f['seed']}"
    )
    p(
        f"arcs            {f['base_arcs']} base, {f['model_arcs']} time-expanded, "
        f"{f['binaries']} binaries, {f['stock_entries']} stock entries"
    )
    p(
        f"pieces          {f['components']} components in {f['problems']} problems, "
        f"{f['workers']} worker(s)"
    )
    p(
        f"seconds         generate {s['generate']:.2f} | candidates {s['candidates']:.2f} | "
        f"build {s['build']:.2f} | solve {s['solve']:.2f} | run {s['total']:.2f} | "
        f"CLI end to end {s['end_to_end']:.2f}"
    )
    p(
        f"ours            {f['saving_kg_co2e']:.3f} kg CO2e objective saving  "
        f"[{f['status']}, gap {f['gap']:.2e}, {f['solver']}]"
    )
    r = f["reference"]
    if r is None:
        p("reference       none (not a network: lots or losses), or skipped")
        return
    rel = (f["saving_kg_co2e"] - r["saving_kg_co2e"]) / max(abs(r["saving_kg_co2e"]), 1.0)
    p(
        f"ortools mcf     {r['saving_kg_co2e']:.3f} kg CO2e (ours - ref: {rel:+.2e} rel, costs "
        f"in grams) in {r['seconds']:.2f} s; our end to end / ref = "
        f"{s['end_to_end'] / r['seconds']:.2f}"
    )
