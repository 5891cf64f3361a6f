"""Benchmark: ``python -m optimizer.bench --supplies N --demands N --seed S [--min-lot]``.

Generates a reproducible city-like instance (industrial zones clustered around
Almaty, 30 material families in five groups, 2-3 accepted materials per
demand), runs it through the command-line path (JSON file -> ``optimizer.cli``
-> JSON file) and, in the same process, solves the identical pure LP on the same
arcs with two independent references: OR-Tools' min-cost flow and
``scipy.optimize.linprog(method="highs")``. All objectives must agree; the
ratios of our end-to-end time to each reference's time are printed, and so is a
greedy matcher's saving (best saving per tonne first) beside ours.

With ``--min-lot`` demands get minimum lots, our run solves the MILP, and the
references solve its LP relaxation (which drops the lots), an upper bound on
the saving that our result must not exceed.

``--pricing auto|on|off`` is passed to the CLI and the pricing figures are printed;
``--separate-references`` builds every arc and runs the references (and the greedy
matcher) in a process of their own, so that the printed peak memory of our run is
its own, the references' printed beside it.

Longer than most (about 560 lines): the generator, the references and the printing
of one benchmark, whose figures the docs quote.

With ``--periods N`` the instance gets N months, seasonal profiles and stores, and
``optimizer.bench_periods`` runs it (``--losses``: organic stores lose material).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from optimizer.candidates import generate_arcs
from optimizer.instance import Arcs, Instance

CITY_LAT, CITY_LON = 43.24, 76.91  # Almaty
KM_PER_DEG_LAT = 111.2

# Five groups of six material families; per group: fate emission factor range and
# credit range in kg CO2e per tonne (orders of magnitude from the shared factor table).
GROUPS = {
    "organics": (
        [
            "brewery-spent-grain",
            "bread-waste",
            "fruit-veg-waste",
            "coffee-grounds",
            "chicken-manure",
            "straw",
        ],
        (250.0, 1100.0),
        (50.0, 700.0),
    ),
    "construction": (
        [
            "crushed-concrete",
            "facade-panels",
            "brick-rubble",
            "asphalt-planings",
            "gypsum-board",
            "timber-offcuts",
        ],
        (1.0, 40.0),
        (5.0, 120.0),
    ),
    "metals": (
        [
            "steel-scrap",
            "steel-slag",
            "aluminium-scrap",
            "copper-scrap",
            "cast-iron-swarf",
            "mixed-metal",
        ],
        (1.0, 25.0),
        (300.0, 4000.0),
    ),
    "paper": (
        [
            "corrugated-cardboard",
            "office-paper",
            "newsprint",
            "jute-bags",
            "paper-sludge",
            "beverage-cartons",
        ],
        (80.0, 500.0),
        (200.0, 1300.0),
    ),
    "plastics": (
        ["pet-bottles", "hdpe", "ldpe-film", "pp", "mixed-plastics", "eps-packaging"],
        (20.0, 40.0),
        (800.0, 3000.0),
    ),
}
MATERIALS = [m for names, _, _ in GROUPS.values() for m in names]

# ``--cities N``: a national registry, the listings shared among Kazakhstan's N largest
# cities in proportion to their population (thousands, rounded; the weights are all
# that matters), each city laid out as the Almaty one (its zones moved to the centre).
# The cities are hundreds of km apart, so arcs between them are only those of
# listings with no km limit: at 50,000 x 50,000 five cities give some 34 M arcs where
# one city gives some 125 M.
CITIES = (
    ("Almaty", 43.238, 76.946, 2200),
    ("Astana", 51.169, 71.449, 1350),
    ("Shymkent", 42.342, 69.590, 1200),
    ("Aktobe", 50.283, 57.167, 530),
    ("Karaganda", 49.806, 73.085, 500),
    ("Taraz", 42.900, 71.367, 430),
    ("Pavlodar", 52.287, 76.967, 360),
    ("Semey", 50.411, 80.227, 350),
    ("Ust-Kamenogorsk", 49.948, 82.628, 330),
    ("Atyrau", 47.094, 51.924, 300),
)
GROUP_OF = {m: g for g, (names, _, _) in GROUPS.items() for m in names}


def generate(
    n_supplies: int, n_demands: int, seed: int, min_lot: bool = False, cities: int = 1
) -> dict:
    """A city-like instance as a JSON-ready dict; the same arguments give the same dict.
    ``cities``: the listings shared among that many cities (``CITIES``); 1 is Almaty
    alone, and the same dict as before the option existed."""
    if not 1 <= cities <= len(CITIES):
        raise ValueError(f"cities must be 1 to {len(CITIES)}")
    rng = np.random.default_rng(seed)
    # Its own stream, so that the Almaty layout draws exactly what it always drew.
    city_rng = np.random.default_rng([seed, cities])
    weight = np.array([c[3] for c in CITIES[:cities]], dtype=float)
    n_zones = 14
    zone_lat = CITY_LAT + rng.normal(0, 9.0, n_zones) / KM_PER_DEG_LAT
    km_per_deg_lon = KM_PER_DEG_LAT * np.cos(np.radians(CITY_LAT))
    zone_lon = CITY_LON + rng.normal(0, 12.0, n_zones) / km_per_deg_lon
    zone_weight = rng.dirichlet(np.full(n_zones, 2.0))
    fate_range = {g: GROUPS[g][1] for g in GROUPS}
    credit_range = {g: GROUPS[g][2] for g in GROUPS}

    def places(n):
        zone = rng.choice(n_zones, size=n, p=zone_weight)
        lat = zone_lat[zone] + rng.normal(0, 1.5, n) / KM_PER_DEG_LAT
        lon = zone_lon[zone] + rng.normal(0, 1.5, n) / km_per_deg_lon
        if cities > 1:
            city = city_rng.choice(cities, size=n, p=weight / weight.sum())
            lat = lat + np.array([c[1] - CITY_LAT for c in CITIES[:cities]])[city]
            lon = lon + np.array([c[2] - CITY_LON for c in CITIES[:cities]])[city]
        return np.round(lat, 6), np.round(lon, 6)

    def window(n):
        start = rng.integers(0, 9, n)  # month index in 2027
        length = rng.integers(3, 13, n)
        out = []
        for s, ln, open_ in zip(start, length, rng.random(n) < 0.3, strict=True):
            if open_:
                out.append((None, None))
            else:
                end = min(int(s + ln), 12)
                out.append((f"2027-{s + 1:02d}-01", f"2027-{end:02d}-28"))
        return out

    max_km_choices = np.array([15.0, 25.0, 40.0, 60.0, np.nan])
    s_lat, s_lon = places(n_supplies)
    s_material = rng.choice(len(MATERIALS), size=n_supplies)
    s_tonnes = np.maximum(np.round(rng.lognormal(5.0, 1.0, n_supplies)), 1)
    s_fate = np.where(rng.random(n_supplies) < 0.8, "landfill", "incineration")
    s_max_km = rng.choice(max_km_choices, size=n_supplies)
    s_window = window(n_supplies)
    supplies = []
    for k in range(n_supplies):
        material = MATERIALS[s_material[k]]
        low, high = fate_range[GROUP_OF[material]]
        supplies.append(
            {
                "id": f"s{k}",
                "lat": float(s_lat[k]),
                "lon": float(s_lon[k]),
                "material": material,
                "tonnes": float(s_tonnes[k]),
                "fate": str(s_fate[k]),
                "fate_kg_co2e_per_t": round(float(rng.uniform(low, high)), 1),
                "max_km": None if np.isnan(s_max_km[k]) else float(s_max_km[k]),
                "available_from": s_window[k][0],
                "available_until": s_window[k][1],
                "fate_cost_kzt_per_t": round(float(rng.uniform(0, 4000)), 0),
            }
        )

    d_lat, d_lon = places(n_demands)
    d_group = rng.choice(list(GROUPS), size=n_demands)
    d_tonnes = np.maximum(np.round(rng.lognormal(5.3, 1.0, n_demands)), 1)
    d_max_km = rng.choice(max_km_choices, size=n_demands)
    d_window = window(n_demands)
    demands = []
    for k in range(n_demands):
        names = GROUPS[d_group[k]][0]
        take = rng.choice(len(names), size=int(rng.integers(2, 4)), replace=False)
        low, high = credit_range[d_group[k]]
        lot = None
        if min_lot and rng.random() < 0.6:
            lot = float(rng.choice([5.0, 10.0, 20.0, 50.0]))
        demands.append(
            {
                "id": f"d{k}",
                "lat": float(d_lat[k]),
                "lon": float(d_lon[k]),
                "tonnes": float(d_tonnes[k]),
                "max_km": None if np.isnan(d_max_km[k]) else float(d_max_km[k]),
                "min_lot_tonnes": lot,
                "needed_from": d_window[k][0],
                "needed_until": d_window[k][1],
                "accepts": [
                    {
                        "material": names[t],
                        "credit_kg_co2e_per_t": round(float(rng.uniform(low, high)), 1),
                        "value_kzt_per_t": round(float(rng.uniform(0, 20000)), 0),
                    }
                    for t in take
                ],
            }
        )
    return {
        "parameters": {
            "road_factor": 1.3,
            "transport_kg_co2e_per_tkm": 0.10163,
            "objective": "co2e",
            "time_limit_s": 60,
            "mip_gap": 1e-4,
        },
        "supplies": supplies,
        "demands": demands,
        "pins": [],
        "forbidden": [],
    }


# --------------------------------------------------------------------------- references


@dataclass
class Reference:
    name: str
    saving_kg_co2e: float
    seconds: float


def reference_min_cost_flow(instance: Instance, arcs: Arcs) -> Reference:
    """The transport LP as a textbook min-cost flow: source -> supplies -> demands -> sink,
    plus a source -> sink bypass for what stays at its fate. Costs in milligrams per
    tonne (integers, as OR-Tools wants): the rounding moves its optimum by at most
    0.5 mg per tonne moved, 6 kg or 3e-10 of the 50,000 x 50,000 saving, below the
    1e-9 agreement the figures are held to (in grams that bound was 3e-7, and the
    reference lay 4e-9 below our proven optimum there)."""
    from ortools.graph.python import min_cost_flow

    t0 = time.perf_counter()
    n_s, n_d = len(instance.supplies), len(instance.demands)
    source, sink = n_s + n_d, n_s + n_d + 1
    s_cap = np.round(instance.supply_tonnes).astype(np.int64)
    d_cap = np.round(instance.demand_tonnes).astype(np.int64)
    total = int(s_cap.sum())
    cost_mg = -np.round(arcs.net_kg_co2e_saved_per_t * 1e6).astype(np.int64)
    tails = np.concatenate([np.full(n_s, source), arcs.supply, n_s + np.arange(n_d), [source]])
    heads = np.concatenate([np.arange(n_s), n_s + arcs.demand, np.full(n_d, sink), [sink]])
    caps = np.concatenate([s_cap, np.round(arcs.capacity_tonnes).astype(np.int64), d_cap, [total]])
    costs = np.concatenate([np.zeros(n_s, np.int64), cost_mg, np.zeros(n_d, np.int64), [0]])
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int64), heads.astype(np.int64), caps, costs
    )
    flow.set_node_supply(source, total)
    flow.set_node_supply(sink, -total)
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"reference min-cost flow failed with status {status}")
    x = flow.flows(np.arange(n_s, n_s + len(arcs), dtype=np.int64)).astype(float)
    seconds = time.perf_counter() - t0
    return Reference("ortools min-cost flow", float(arcs.net_kg_co2e_saved_per_t @ x), seconds)


def reference_linprog(instance: Instance, arcs: Arcs) -> Reference:
    """The same LP for scipy's HiGHS: max w.x, supply and demand rows, 0 <= x <= cap."""
    from scipy.optimize import linprog
    from scipy.sparse import csr_matrix, vstack

    t0 = time.perf_counter()
    n_s, n_d, n = len(instance.supplies), len(instance.demands), len(arcs)
    cols = np.arange(n)
    rows_s = csr_matrix((np.ones(n), (arcs.supply, cols)), shape=(n_s, n))
    rows_d = csr_matrix((np.ones(n), (arcs.demand, cols)), shape=(n_d, n))
    result = linprog(
        -arcs.net_kg_co2e_saved_per_t,
        A_ub=vstack([rows_s, rows_d]).tocsr(),
        b_ub=np.concatenate([instance.supply_tonnes, instance.demand_tonnes]),
        bounds=np.column_stack([np.zeros(n), arcs.capacity_tonnes]),
        method="highs",
    )
    if result.status != 0:
        raise RuntimeError(f"reference linprog failed: {result.message}")
    return Reference("scipy linprog (HiGHS)", float(-result.fun), time.perf_counter() - t0)


def greedy_saving(instance: Instance, arcs: Arcs) -> float:
    """The obvious baseline: best saving per tonne first, as much as fits, lots respected."""
    supply_left = instance.supply_tonnes.copy()
    demand_left = instance.demand_tonnes.copy()
    lot = instance.demand_min_lot_tonnes
    total = 0.0
    order = np.argsort(-arcs.net_kg_co2e_saved_per_t, kind="stable")
    for k in order.tolist():
        w = arcs.net_kg_co2e_saved_per_t[k]
        if w <= 0:
            break
        i, j = arcs.supply[k], arcs.demand[k]
        t = min(supply_left[i], demand_left[j])
        if t <= 0 or t < lot[j]:
            continue
        supply_left[i] -= t
        demand_left[j] -= t
        total += w * t
    return total


# --------------------------------------------------------------------------- the run


def _peak_rss_mib() -> dict | None:
    """Peak resident memory of this process and of the largest worker process."""
    try:
        import resource
    except ImportError:  # not on Windows
        return None
    return {
        "main": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "largest_worker": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0,
    }


class TreeRssSampler:
    """The largest resident memory of this process and all its descendants together,
    sampled from /proc every ``interval_s`` while in use (``with``). Worker processes
    started by a forkserver are not our children for ``getrusage``, so their memory
    is read here; a sample can miss a peak shorter than the interval. ``peak_mib`` is
    None where /proc is not there."""

    def __init__(self, interval_s: float = 0.25):
        self.interval_s = interval_s
        self.peak_mib: float | None = None
        self._stop = None

    @staticmethod
    def _tree_rss_kib(root: int) -> int:
        parent, rss = {}, {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue  # gone meanwhile
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            pid = int(entry.name)
            parent[pid] = int(fields.get("PPid", "0"))
            rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0])
        total = 0
        for pid in rss:
            up = pid
            while up and up != root:
                up = parent.get(up, 0)
            if up == root:
                total += rss[pid]
        return total

    def __enter__(self):
        import os
        import threading

        if not Path("/proc/self/status").exists():
            return self
        self.peak_mib = 0.0
        self._stop = threading.Event()
        root = os.getpid()

        def sample():
            while not self._stop.is_set():
                self.peak_mib = max(self.peak_mib, self._tree_rss_kib(root) / 1024.0)
                self._stop.wait(self.interval_s)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        if self._stop is not None:
            self._stop.set()
            self._thread.join()


def _all_arcs_figures(document: dict, references: bool, linprog: bool) -> dict:
    """Every arc generated, the greedy matcher and the references on them: what the
    bench compares our run with."""
    instance = Instance.from_dict(document)
    arcs = generate_arcs(instance)
    out = {"greedy_saving_kg_co2e": greedy_saving(instance, arcs), "references": []}
    if references:
        chosen = [reference_min_cost_flow] + ([reference_linprog] if linprog else [])
        for reference in chosen:
            out["references"].append(reference(instance, arcs).__dict__)
    return out


def _all_arcs_in_a_process(
    n_supplies: int,
    n_demands: int,
    seed: int,
    min_lot: bool,
    references: bool,
    linprog: bool,
    cities: int = 1,
) -> dict:
    """``_all_arcs_figures`` in a process of its own, with that process's peak memory:
    our run's peak is then its own, not the all-arcs references'."""
    figures = _all_arcs_figures(
        generate(n_supplies, n_demands, seed, min_lot=min_lot, cities=cities), references, linprog
    )
    figures["peak_rss_mib"] = _peak_rss_mib()["main"]
    return figures


def stats_priced(solution: dict) -> bool:
    pricing = solution["stats"].get("pricing")
    return bool(pricing and pricing["used"])


def run(
    n_supplies: int,
    n_demands: int,
    seed: int,
    min_lot: bool = False,
    solver: str = "auto",
    time_limit_s: float = 60.0,
    references: bool = True,
    linprog: bool = True,
    workers: int = 1,
    mip_gap: float | None = None,
    out=sys.stdout,
    pricing: str = "auto",
    separate_references: bool = False,
    cities: int = 1,
) -> dict:
    """Generate, solve through the CLI path, solve the references, print, return figures."""
    from optimizer import cli

    t0 = time.perf_counter()
    document = generate(n_supplies, n_demands, seed, min_lot=min_lot, cities=cities)
    generate_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        instance_path, solution_path = Path(tmp, "instance.json"), Path(tmp, "solution.json")
        instance_path.write_text(json.dumps(document), encoding="utf-8")
        t1 = time.perf_counter()
        with TreeRssSampler() as sampler:
            code = cli.main(
                [
                    "solve",
                    str(instance_path),
                    "-o",
                    str(solution_path),
                    "--solver",
                    solver,
                    "--time-limit",
                    str(time_limit_s),
                    "--workers",
                    str(workers),
                    *(["--gap", str(mip_gap)] if mip_gap is not None else []),
                    "--pricing",
                    pricing,
                ]
            )
        end_to_end_s = time.perf_counter() - t1
        if code != 0:
            raise RuntimeError(f"the CLI failed with exit code {code}")
        solution = json.loads(solution_path.read_text(encoding="utf-8"))

    # Our peak before anything else runs here: the references' arcs are not ours.
    our_peak = _peak_rss_mib()
    # The instance read again in this process: the JSON contract's parse time on its own.
    t2 = time.perf_counter()
    Instance.from_dict(document)
    parse_s = time.perf_counter() - t2
    if not references and stats_priced(solution):
        # Every arc is what a priced run avoids; without references nothing needs them.
        all_arcs = {"greedy_saving_kg_co2e": None, "references": []}
    elif separate_references:
        import multiprocessing

        del document  # the child makes its own
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            all_arcs = pool.apply(
                _all_arcs_in_a_process,
                (n_supplies, n_demands, seed, min_lot, references, linprog, cities),
            )
    else:
        all_arcs = _all_arcs_figures(document, references, linprog)
    stats = solution["stats"]
    ours = float(sum(f["net_kg_co2e_saved"] for f in solution["flows"]))
    figures = {
        "supplies": n_supplies,
        "demands": n_demands,
        "seed": seed,
        "cities": cities,
        "min_lot": min_lot,
        "workers": workers,
        "mip_gap": mip_gap,
        "status": solution["status"],
        "gap": solution["gap"],
        "arcs": stats["candidate_arcs"],
        "model_arcs": stats["arcs"],
        "components": stats["components"],
        "binaries": stats["binaries"],
        "solver": stats["solver"],
        "seconds": {
            "generate": generate_s,
            "parse": parse_s,
            **stats["seconds"],
            "end_to_end": end_to_end_s,
        },
        "saving_kg_co2e": ours,
        "greedy_saving_kg_co2e": all_arcs["greedy_saving_kg_co2e"],
        "references": all_arcs["references"],
        "pricing": stats.get("pricing"),
        # Our run's processes together (main and workers, sampled), the figure the
        # memory goals are about.
        "peak_tree_rss_mib": sampler.peak_mib,
    }
    if separate_references and "peak_rss_mib" in all_arcs:
        figures["peak_rss_mib"] = our_peak
        figures["references_peak_rss_mib"] = all_arcs["peak_rss_mib"]
    else:
        figures["peak_rss_mib"] = _peak_rss_mib()
    _print(figures, out)
    return figures


def _print(f: dict, out) -> None:
    p = lambda *a: print(*a, file=out)  # noqa: E731
    p(
        f"instance        {f['supplies']} supplies x {f['demands']} demands, seed {f['seed']}"
        f"{', ' + str(f['cities']) + ' cities' if f.get('cities', 1) > 1 else ''}"
        f"{', min lots' if f['min_lot'] else ''}, {f['workers']} worker(s)"
    )
    p(
        f"arcs            {f['arcs']} candidate, {f['model_arcs']} after presolve, "
        f"{f['components']} components, {f['binaries']} binaries"
    )
    s = f["seconds"]
    p(
        f"seconds         generate {s['generate']:.2f} | parse {s['parse']:.2f} | "
        f"candidates {s['candidates']:.2f} | "
        f"build {s['build']:.2f} | solve {s['solve']:.2f} | run {s['total']:.2f} | "
        f"CLI end to end {s['end_to_end']:.2f}"
    )
    p(
        f"ours            {f['saving_kg_co2e']:.6f} kg CO2e saved  "
        f"[{f['status']}, gap {f['gap']:.2e}, {f['solver']}]"
    )
    for r in f["references"]:
        rel = (f["saving_kg_co2e"] - r["saving_kg_co2e"]) / max(abs(r["saving_kg_co2e"]), 1.0)
        label = "LP relaxation" if f["min_lot"] else "objective"
        p(
            f"{r['name']:<22}  {label} {r['saving_kg_co2e']:.6f} kg CO2e "
            f"(ours - ref: {rel:+.2e} rel)"
            f" in {r['seconds']:.2f} s; our end to end / ref = {s['end_to_end'] / r['seconds']:.2f}"
        )
    pr = f.get("pricing")
    if pr is not None and pr["used"]:
        p(
            f"pricing         {pr['rounds']} rounds, {pr['pairs_priced']} pairs priced, "
            f"{pr['initial_arcs']} first + {pr['arcs_added']} added - "
            f"{pr.get('arcs_dropped', 0)} idle dropped = {pr['arcs']} arcs "
            f"(about {pr['estimated_arcs']:.3g} candidates); LP {pr['seconds']['lp']:.2f} s, "
            f"pricing {pr['seconds']['pricing']:.2f} s; "
            f"{'optimal over all arcs (no improving arc left)' if pr['proven'] else 'NOT proven'}"
        )
    elif pr is not None:
        p(f"pricing         not used: {pr['reason']}")
    g = f["greedy_saving_kg_co2e"]
    if g is None:
        p("greedy          skipped (priced run without references: no arc enumeration)")
    else:
        p(
            f"greedy          {g:.6f} kg CO2e saved; ours - greedy = {f['saving_kg_co2e'] - g:.3f} "
            f"kg ({(f['saving_kg_co2e'] - g) / max(abs(g), 1.0):+.2%})"
        )
    if f["peak_rss_mib"] is not None:
        rss = f["peak_rss_mib"]
        p(
            f"peak RSS        {rss['main']:.0f} MiB main, "
            f"{rss['largest_worker']:.0f} MiB largest worker"
            + (
                f"; our processes together (sampled) {f['peak_tree_rss_mib']:.0f} MiB"
                if f.get("peak_tree_rss_mib") is not None
                else ""
            )
            + (
                f"; all-arcs references in their own process: "
                f"{f['references_peak_rss_mib']:.0f} MiB"
                if "references_peak_rss_mib" in f
                else ""
            )
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m optimizer.bench", description=__doc__)
    parser.add_argument("--supplies", type=int, default=1000)
    parser.add_argument("--demands", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--min-lot", action="store_true", help="give 60%% of demands a min lot")
    parser.add_argument("--solver", default="auto", choices=("auto", "highs", "cbc", "mcf"))
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=1, help="processes for components")
    parser.add_argument("--gap", type=float, help="relative MIP gap (default: the instance's)")
    parser.add_argument("--no-references", action="store_true", help="skip the reference solves")
    parser.add_argument(
        "--no-linprog", action="store_true", help="skip the scipy reference (slow past 1 M arcs)"
    )
    parser.add_argument(
        "--pricing",
        default="auto",
        choices=("auto", "on", "off"),
        help="price the arcs instead of enumerating them (passed to the CLI)",
    )
    parser.add_argument(
        "--separate-references",
        action="store_true",
        help="build all arcs and run the references in a process of their own, so that "
        "our peak memory is ours alone (each peak is printed)",
    )
    parser.add_argument(
        "--cities",
        type=int,
        default=1,
        help=f"share the listings among the N largest cities of Kazakhstan (1-{len(CITIES)}; "
        "1: Almaty alone)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--periods", type=int, help="months: a seasonal instance with stores")
    parser.add_argument("--losses", action="store_true", help="with --periods: lossy stores")
    parser.add_argument(
        "--plants", type=int, default=0, help="with --periods: processors, blend limits, chains"
    )
    args = parser.parse_args(argv)
    if args.periods:
        from optimizer import bench_periods

        figures = bench_periods.run(
            args.supplies,
            args.demands,
            args.seed,
            args.periods,
            min_lot=args.min_lot,
            losses=args.losses,
            plants=args.plants,
            workers=args.workers,
            mip_gap=args.gap,
            solver=args.solver,
            time_limit_s=args.time_limit,
            references=not args.no_references,
        )
        if args.json:
            args.json.write_text(json.dumps(figures, indent=1), encoding="utf-8")
        return 0
    figures = run(
        args.supplies,
        args.demands,
        args.seed,
        min_lot=args.min_lot,
        solver=args.solver,
        time_limit_s=args.time_limit,
        references=not args.no_references,
        linprog=not args.no_linprog,
        workers=args.workers,
        mip_gap=args.gap,
        pricing=args.pricing,
        separate_references=args.separate_references,
        cities=args.cities,
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
