"""Periods and storage (issue 19) against a brute force written from the contract in
docs/optimizer.md ("Periods and storage") alone: no optimizer code and no
tests/optimizer/periods_reference.py, so neither can hide a mistake by repeating it.

Tiny instances with integer data: 1-2 supplies, 1-2 demands, 2-3 months, 0-3 t per
month, stores of 0-2 t that lose nothing (at supplies and/or demands, with or without a
holding emission), windows with day offsets, lots on some demands. The brute force tries
every integer schedule (tonnes on each arc in each month, stock at each store at each
month's end) that the rows admit and keeps the best by the contract's objective.

Why integers suffice. Without losses or plants, with the lot on/off choice of every
column fixed, the time-expanded model is a network flow: a node per (supply, month)
fed n_t (its fate an arc to the sink), a node per (demand, month) draining at most d_t
to the sink, store arcs from a month to the next with capacity the store's, and arc
columns with bounds [0, 0] (off) or [lot, M] (on). Every bound is an integer, so the LP
has an integral optimal vertex; the best over the finitely many on/off choices is then
an integral schedule, which the enumeration meets. For `tonnes_then_co2e` the same
holds with each column's weight raised by a large constant (every column leaves a
supply), a network objective whose optimum is the lexicographic one.

How it enumerates. Month by month, over every integer choice of that month's column
tonnes and end-of-month stocks that satisfies the month's rows (ranges taken from the
rows themselves, so no feasible choice is skipped), memoised on the stocks carried in:
what is possible and worth from month t on depends on the past only through them. This
is the full enumeration without listing the product of all months' choices, which is
too large for 3 months. A budget on the choices tried rejects the rare larger instance
(`reject`) to keep the file fast.

Each instance is solved by `optimizer.orchestrate.solve` with `auto` (the exact flow
path when lot-free, else the lot dive / MIP) and `highs` (the PuLP model): the returned
flows and stocks must satisfy the rows, be worth the reported baseline - objective, and
match the brute force's best within 1e-6 (with `tonnes_then_co2e`, the contract's hold
of the tonnes to within 1e-7 of the most). A little over 500 lines: the contract's
reading, the brute force, the schedule check and the generator belong together.
"""

from __future__ import annotations

import calendar
import functools
import itertools
import math
from datetime import date

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from optimizer.instance import Instance
from optimizer.orchestrate import solve
from tests.optimizer.helpers import haversine_km

HYPOTHESIS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
START = (2027, 11)  # the horizon crosses a year's end
LANDFILL = {"landfill", "open_dump"}
BUDGET = 200_000  # month choices tried per instance


class TooLarge(Exception):
    pass


def months(count: int) -> list[tuple[date, date]]:
    out = []
    year, month = START
    for _ in range(count):
        out.append((date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _day(text: str | None, default: date) -> date:
    return date.fromisoformat(text) if text else default


class Contract:
    """The instance read by the contract: amounts per month, who may send and receive
    when, base arcs with their weights, stores."""

    def __init__(self, doc: dict):
        p = doc.get("parameters", {})
        self.lexicographic = p.get("objective", "co2e") == "tonnes_then_co2e"
        self.months = months(doc["periods"]["count"])
        self.labels = [f"{first.year:04d}-{first.month:02d}" for first, _ in self.months]
        T = len(self.months)
        self.supplies = [
            self._node(s, "available_from", "available_until") for s in doc["supplies"]
        ]
        self.demands = [self._node(d, "needed_from", "needed_until") for d in doc["demands"]]
        weight = p.get("landfill_weight_kg_co2e_per_t", 0.0)
        transport = p.get("transport_kg_co2e_per_tkm", 0.10163)
        road = p.get("road_factor", 1.3)
        self.baseline = sum(
            (
                s.get("fate_kg_co2e_per_t", 0.0)
                + (weight if s.get("fate", "other") in LANDFILL else 0)
            )
            * sum(node["amount"])
            for s, node in zip(doc["supplies"], self.supplies, strict=True)
        )
        # A supply sends in its active months and, with a store, every month after its
        # first active one; a demand receives in its active months and, with a store,
        # every month before its last active one.
        for node in self.supplies:
            act = node["active"]
            node["moves"] = {
                t for t in range(T) if t in act or (node["store"] and act and t > min(act))
            }
        for node in self.demands:
            act = node["active"]
            node["moves"] = {
                t for t in range(T) if t in act or (node["store"] and act and t < max(act))
            }
        self.w = {}  # (supply index, demand index) -> weighted saving per tonne
        for i, s in enumerate(doc["supplies"]):
            for j, d in enumerate(doc["demands"]):
                accept = [a for a in d["accepts"] if a["material"] == s["material"]]
                if not accept:
                    continue
                km = haversine_km(s["lat"], s["lon"], d["lat"], d["lon"]) * road
                if any(n.get("max_km") is not None and km > n["max_km"] for n in (s, d)):
                    continue
                # Windows widened on the side a store reaches: a supply's store opens
                # its end, a demand's store its start.
                s_from = _day(s.get("available_from"), date.min)
                s_until = date.max if s.get("storage") else _day(s.get("available_until"), date.max)
                d_from = date.min if d.get("storage") else _day(d.get("needed_from"), date.min)
                d_until = _day(d.get("needed_until"), date.max)
                if max(s_from, d_from) > min(s_until, d_until):
                    continue
                net = s.get("fate_kg_co2e_per_t", 0.0) + accept[0].get("credit_kg_co2e_per_t", 0.0)
                net -= transport * km
                self.w[(i, j)] = net + (weight if s.get("fate", "other") in LANDFILL else 0.0)
        self.columns = [
            sorted(
                (i, j)
                for (i, j) in self.w
                if t in self.supplies[i]["moves"] and t in self.demands[j]["moves"]
            )
            for t in range(T)
        ]
        self.lot = [d.get("min_lot_tonnes") or 0 for d in doc["demands"]]

    def _node(self, item: dict, start_key: str, end_key: str) -> dict:
        start, end = _day(item.get(start_key), date.min), _day(item.get(end_key), date.max)
        active = [
            t for t, (first, last) in enumerate(self.months) if start <= last and first <= end
        ]
        if item.get("tonnes_per_period") is not None:
            amount = list(item["tonnes_per_period"])
        else:
            # Spread evenly over the active months.
            amount = [
                item["tonnes"] / len(active) if t in active else 0 for t in range(len(self.months))
            ]
        store = item.get("storage")
        assert not store or not store.get("loss_fraction_per_period"), "lossless stores only"
        return {
            "id": item["id"],
            "amount": amount,
            "active": set(active),
            "store": store is not None,
            "cap": int(store["capacity_tonnes"]) if store else 0,
            "h": store.get("kg_co2e_per_t_period", 0.0) if store else 0.0,
        }

    def score(self, tonnes: float, saving: float) -> tuple:
        return (tonnes, saving) if self.lexicographic else (saving,)


def brute_force(doc: dict) -> tuple[float, float]:
    """(tonnes moved, weighted saving) of the best integer schedule."""
    c = Contract(doc)
    T = len(c.months)
    ns, nd = len(c.supplies), len(c.demands)
    tried = [0]

    def columns_of(t, room_s, room_d):
        """Every integer tonnage vector of month t's columns within the rooms."""
        cols = c.columns[t]

        def rec(k, room_s, room_d):
            if k == len(cols):
                yield ()
                return
            i, j = cols[k]
            for x in range(min(room_s[i], room_d[j]) + 1):
                if 0 < x < c.lot[j]:
                    continue
                room_s[i] -= x
                room_d[j] -= x
                for rest in rec(k + 1, room_s, room_d):
                    yield (x, *rest)
                room_s[i] += x
                room_d[j] += x

        yield from rec(0, list(room_s), list(room_d))

    @functools.cache
    def best(t: int, held_s: tuple, held_d: tuple):
        if t == T:
            return (0, 0.0)
        last = t == T - 1
        n = [int(round(s["amount"][t])) for s in c.supplies]
        d = [int(round(dm["amount"][t])) for dm in c.demands]
        # Rows: out(i,t) + S_i,t - S_i,t-1 <= n_i,t, so out <= n + S_prev; and
        # in(j,t) + S_j,t-1 - S_j,t <= d_j,t, so in <= d + cap - S_prev (S_T-1 = 0).
        room_s = [n[i] + held_s[i] for i in range(ns)]
        room_d = [d[j] + (0 if last else c.demands[j]["cap"]) - held_d[j] for j in range(nd)]
        if any(r < 0 for r in room_d):
            return None
        result = None
        for x in columns_of(t, room_s, room_d):
            out, got = [0] * ns, [0] * nd
            for (i, j), tonnes in zip(c.columns[t], x, strict=True):
                out[i] += tonnes
                got[j] += tonnes
            saving = sum(c.w[col] * tonnes for col, tonnes in zip(c.columns[t], x, strict=True))
            # Stocks at the month's end: what a supply keeps is at most what it has
            # unsent; a demand uses in + S_prev - S in [0, d].
            ranges_s = [
                range(1) if last else range(min(c.supplies[i]["cap"], room_s[i] - out[i]) + 1)
                for i in range(ns)
            ]
            ranges_d = []
            for j in range(nd):
                have = got[j] + held_d[j]
                top = 0 if last else min(c.demands[j]["cap"], have)
                ranges_d.append(range(max(0, have - d[j]), top + 1))
            for keep_s in itertools.product(*ranges_s):
                for keep_d in itertools.product(*ranges_d):
                    tried[0] += 1
                    if tried[0] > BUDGET:
                        raise TooLarge
                    rest = best(t + 1, keep_s, keep_d)
                    if rest is None:
                        continue
                    cost = sum(c.supplies[i]["h"] * keep_s[i] for i in range(ns))
                    cost += sum(c.demands[j]["h"] * keep_d[j] for j in range(nd))
                    here = (sum(x) + rest[0], saving - cost + rest[1])
                    if result is None or c.score(*here) > c.score(*result):
                        result = here
        return result

    found = best(0, (0,) * ns, (0,) * nd)
    assert found is not None  # nothing moving is always a schedule
    return found


def check_schedule(doc: dict, out: dict, tol: float = 1e-6) -> None:
    """The solver's flows and stocks satisfy the contract's rows, and their value is
    the reported baseline - objective."""
    c = Contract(doc)
    T = len(c.months)
    s_of = {s["id"]: i for i, s in enumerate(c.supplies)}
    d_of = {d["id"]: j for j, d in enumerate(c.demands)}
    t_of = {label: t for t, label in enumerate(c.labels)}
    x = {}
    for f in out["flows"]:
        key = (s_of[f["supply"]], d_of[f["demand"]], t_of[f["period"]])
        assert key[:2] in c.w and key[:2] in c.columns[key[2]], f"no column for {f}"
        assert f["tonnes"] >= -tol
        if f["tonnes"] > tol:
            assert f["tonnes"] >= c.lot[key[1]] - tol, f"below the lot: {f}"
        x[key] = x.get(key, 0.0) + f["tonnes"]
    stock = {}
    for s in out["stock"]:
        t = t_of[s["period"]]
        assert t < T - 1, "stock at the horizon's end"
        node = c.supplies[s_of[s["node"]]] if s["kind"] == "supply" else c.demands[d_of[s["node"]]]
        assert node["store"] and -tol <= s["tonnes"] <= node["cap"] + tol, s
        stock[(s["kind"], s["node"], t)] = s["tonnes"]

    def held(kind, node_id, t):
        return stock.get((kind, node_id, t), 0.0) if t >= 0 else 0.0

    for i, s in enumerate(c.supplies):
        for t in range(T):
            sent = sum(v for (a, _, u), v in x.items() if a == i and u == t)
            kept = held("supply", s["id"], t) - held("supply", s["id"], t - 1)
            assert sent + kept <= s["amount"][t] + tol, (s["id"], t)
    for j, d in enumerate(c.demands):
        for t in range(T):
            got = sum(v for (_, b, u), v in x.items() if b == j and u == t)
            used = got + held("demand", d["id"], t - 1) - held("demand", d["id"], t)
            assert -tol <= used <= d["amount"][t] + tol, (d["id"], t, used)
    saving = sum(c.w[(i, j)] * v for (i, j, _), v in x.items())
    for (kind, node_id, _), v in stock.items():
        nodes = c.supplies if kind == "supply" else c.demands
        saving -= next(n for n in nodes if n["id"] == node_id)["h"] * v
    assert math.isclose(out["baseline_kg_co2e"], c.baseline, rel_tol=1e-9, abs_tol=1e-6)
    reported = out["baseline_kg_co2e"] - out["objective_kg_co2e"]
    assert math.isclose(saving, reported, rel_tol=1e-6, abs_tol=1e-6), (saving, reported)
    assert math.isclose(out["tonnes_moved"], sum(x.values()), rel_tol=1e-9, abs_tol=1e-6)


def solve_both_paths(doc: dict) -> None:
    """Brute force against orchestrate.solve by the paths the instance can take."""
    tonnes, best = brute_force(doc)
    has_lots = any(d.get("min_lot_tonnes") for d in doc["demands"])
    lexicographic = doc["parameters"].get("objective") == "tonnes_then_co2e"
    # Stage two may give up 1e-7 of the tonnes (the contract's hold), moving the saving
    # by at most that many tonnes times the largest |w| (under 1,200 kg here).
    slack = 2e-7 * max(tonnes, 1.0) * 1200 if lexicographic else 0.0
    for solver in ("auto", "highs"):
        out = solve(Instance.from_dict(doc), solver=solver).to_dict()
        assert out["status"] == "optimal", out["message"]
        if out["stats"]["arcs"] and solver == "auto" and not has_lots:
            assert set(out["stats"]["solver"].split("+")) == {"ortools-mcf"}, out["stats"]
        if out["stats"]["arcs"] and solver == "highs":
            assert "pulp-highs" in out["stats"]["solver"], out["stats"]
        check_schedule(doc, out)
        saving = out["baseline_kg_co2e"] - out["objective_kg_co2e"]
        assert math.isclose(saving, best, rel_tol=1e-6, abs_tol=1e-6 + slack), (
            solver,
            out["stats"]["solver"],
            saving,
            best,
        )
        if lexicographic:
            # The contract's hold: within 1e-7 of the most tonnes, at least 1e-7 t.
            hold = 1e-7 * max(tonnes, 1.0) + 1e-9
            assert tonnes - hold <= out["tonnes_moved"] <= tonnes + 1e-6, (solver, tonnes)


# --------------------------------------------------------------------------- random tiny


@st.composite
def tiny_docs(
    draw, lots: bool, most: int = 2, months_most: int = 3, tonnes_most: int = 3, store_most: int = 2
):
    """Instances of 1 to ``most`` supplies and demands, 2 to ``months_most`` months, up
    to ``tonnes_most`` t a month and stores of up to ``store_most`` t (the defaults are the tests'
    sizes; larger ones are for hunting by hand)."""
    count = draw(st.integers(2, months_most))
    spans = months(count)

    def window():
        if draw(st.booleans()):
            return None, None
        a = draw(st.integers(0, count - 1))
        b = draw(st.integers(a, count - 1))
        # Day offsets: two windows in one month may still miss each other.
        first = spans[a][0].replace(day=1 + draw(st.sampled_from([0, 14])))
        last = spans[b][1].replace(day=spans[b][1].day - draw(st.sampled_from([0, 14])))
        return (first.isoformat(), last.isoformat()) if first <= last else (None, None)

    def listing(node: dict, keys: tuple[str, str]) -> None:
        first, last = window()
        node[keys[0]], node[keys[1]] = first, last
        start, end = _day(first, date.min), _day(last, date.max)
        active = [t for t, (a, b) in enumerate(spans) if start <= b and a <= end]
        if draw(st.booleans()):
            profile = [
                draw(st.integers(0, tonnes_most)) if t in active else 0 for t in range(count)
            ]
            node["tonnes_per_period"], node["tonnes"] = profile, sum(profile)
        else:
            # Spread evenly over the active months: a multiple of their number.
            node["tonnes"] = len(active) * draw(st.integers(1, tonnes_most))
        if draw(st.integers(0, 2)):
            node["storage"] = {
                "capacity_tonnes": draw(st.integers(0, store_most)),
                "kg_co2e_per_t_period": draw(st.sampled_from([0, 5, 40])),
                "kg_co2e_tier": "estimate",
            }

    def where():
        return 43.2 + draw(st.integers(0, 10)) / 100, 76.9 + draw(st.integers(0, 10)) / 100

    supplies = []
    for k in range(draw(st.integers(1, most))):
        lat, lon = where()
        s = {
            "id": f"s{k}",
            "lat": lat,
            "lon": lon,
            "material": draw(st.sampled_from(["a", "a", "a", "b"])),
            "fate": draw(st.sampled_from(["landfill", "other"])),
            "fate_kg_co2e_per_t": draw(st.integers(0, 600)),
            "max_km": draw(st.sampled_from([None, None, 8])),
        }
        listing(s, ("available_from", "available_until"))
        supplies.append(s)
    demands = []
    for k in range(draw(st.integers(1, most))):
        lat, lon = where()
        wanted = draw(st.sampled_from([["a"], ["a"], ["a", "b"], ["b"]]))
        d = {
            "id": f"d{k}",
            "lat": lat,
            "lon": lon,
            "accepts": [
                {"material": m, "credit_kg_co2e_per_t": draw(st.integers(0, 400))} for m in wanted
            ],
            "max_km": draw(st.sampled_from([None, None, 10])),
            "min_lot_tonnes": draw(st.sampled_from([None, 1, 2, 3])) if lots else None,
        }
        listing(d, ("needed_from", "needed_until"))
        demands.append(d)
    return {
        "parameters": {
            "objective": draw(st.sampled_from(["co2e", "tonnes_then_co2e"])),
            "landfill_weight_kg_co2e_per_t": draw(st.sampled_from([0, 100])),
            # 10 kg/tkm makes some arcs lose CO2e (up to 1.3 x 14 km apart).
            "transport_kg_co2e_per_tkm": draw(st.sampled_from([0.1, 0.1, 10.0])),
            "mip_gap": 0.0,
            "time_limit_s": 30,
        },
        "periods": {"start": f"{START[0]}-{START[1]:02d}", "count": count},
        "supplies": supplies,
        "demands": demands,
    }


@HYPOTHESIS
@given(doc=tiny_docs(lots=False))
def test_lot_free_tiny_instances_match_brute_force(doc):
    try:
        brute_force(doc)
    except TooLarge:
        reject()
    solve_both_paths(doc)


@HYPOTHESIS
@given(doc=tiny_docs(lots=True))
def test_tiny_instances_with_lots_match_brute_force(doc):
    try:
        brute_force(doc)
    except TooLarge:
        reject()
    solve_both_paths(doc)


# --------------------------------------------------------------------------- by hand


def _doc(supply: dict, demand: dict, count: int = 3, objective: str = "co2e") -> dict:
    """One supply of grain 5.5 km from one demand; transport 0, so w = fate + credit."""
    return {
        "parameters": {"objective": objective, "transport_kg_co2e_per_tkm": 0.0, "mip_gap": 0.0},
        "periods": {"start": "2027-11", "count": count},
        "supplies": [
            {
                "id": "s",
                "lat": 43.25,
                "lon": 76.92,
                "material": "g",
                "fate": "other",
                "fate_kg_co2e_per_t": 100,
                **supply,
            }
        ],
        "demands": [
            {
                "id": "d",
                "lat": 43.30,
                "lon": 76.92,
                "accepts": [{"material": "g", "credit_kg_co2e_per_t": 50}],
                **demand,
            }
        ],
    }


def _store(cap: int, h: float = 0.0) -> dict:
    return {"capacity_tonnes": cap, "kg_co2e_per_t_period": h}


@pytest.mark.parametrize("objective", ["co2e", "tonnes_then_co2e"])
def test_storage_that_binds(objective):
    # 3 t made in November, 3 t needed in January; the supply holds at most 2 t, at
    # 5 kg a tonne and month: 2 t kept over two month ends, 2 x 150 - 5 x 2 x 2.
    doc = _doc(
        {"tonnes": 3, "tonnes_per_period": [3, 0, 0], "storage": _store(2, 5)},
        {"tonnes": 3, "tonnes_per_period": [0, 0, 3]},
        objective=objective,
    )
    assert brute_force(doc) == (2, pytest.approx(2 * 150 - 5 * 2 * 2))
    solve_both_paths(doc)


def test_seasonal_demand_only_storage_can_meet():
    # Made 1-15 November, needed 16-31 January: no arc without a store.
    supply = {"tonnes": 3, "available_from": "2027-11-01", "available_until": "2027-11-15"}
    demand = {"tonnes": 3, "needed_from": "2028-01-16", "needed_until": "2028-01-31"}
    doc = _doc(supply, demand)
    assert brute_force(doc) == (0, 0.0)
    solve_both_paths(doc)
    # Either store alone, 2 t: 2 x 150 less 2 t over two month ends.
    for side in ("supplies", "demands"):
        doc = _doc(supply, demand)
        doc[side][0]["storage"] = _store(2, 1)
        assert brute_force(doc) == (2, pytest.approx(2 * 150 - 1 * 2 * 2))
        solve_both_paths(doc)
    # Both: the demand's store takes 2 t in November, the supply's keeps 1 t to January.
    doc = _doc({**supply, "storage": _store(1, 3)}, {**demand, "storage": _store(2, 1)})
    assert brute_force(doc) == (3, pytest.approx(3 * 150 - 3 * 1 * 2 - 1 * 2 * 2))
    solve_both_paths(doc)


def test_a_lot_above_each_month_s_need_met_through_the_store():
    # 1 t needed in each of November and December, lot 2: nothing without a store;
    # with 1 t of store at the demand, 2 t arrive in November and 1 t is kept.
    supply = {"tonnes": 2, "tonnes_per_period": [2, 0]}
    demand = {"tonnes": 2, "tonnes_per_period": [1, 1], "min_lot_tonnes": 2}
    doc = _doc(supply, demand, count=2)
    assert brute_force(doc) == (0, 0.0)
    solve_both_paths(doc)
    doc["demands"][0]["storage"] = _store(1, 7)
    assert brute_force(doc) == (2, pytest.approx(2 * 150 - 7))
    solve_both_paths(doc)
