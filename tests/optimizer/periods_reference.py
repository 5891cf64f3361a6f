"""An independent reference for instances with periods: the time-expanded LP/MILP
written here from docs/optimizer.md ("Periods and storage") and the instance dict
alone, solved by scipy's HiGHS (linprog / milp). It shares no code with optimizer/.

Handles supplies, demands and processors (yield, capacity, chains, no blend limits),
stores with loss and emissions, lots, both objectives and the landfill weight; no
owners, permits, quality limits or forbidden pairs (the tests' instances have none).
"""

from __future__ import annotations

import calendar
import math
from datetime import date

import numpy as np
from scipy.optimize import LinearConstraint, linprog, milp
from scipy.sparse import csr_matrix

from tests.optimizer.helpers import LANDFILL, haversine_km

LEX_TOL = 1e-7


def months(start: str, count: int) -> list[tuple[date, date]]:
    year, month = int(start[:4]), int(start[5:7])
    out = []
    for _ in range(count):
        out.append((date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _day(text, default):
    return date.fromisoformat(text) if text else default


def _active(frm, until, periods) -> list[bool]:
    lo, hi = _day(frm, date.min), _day(until, date.max)
    return [lo <= last and hi >= first for first, last in periods]


def _tonnes(node: dict, total_key: str, profile_key: str, active: list[bool]) -> list[float]:
    if node.get(profile_key) is not None:
        return [float(v) for v in node[profile_key]]
    n = sum(active)
    return [node[total_key] / n if a else 0.0 for a in active] if n else [0.0] * len(active)


class Reference:
    """Columns: ("x", source id, sink id, t) and ("s", kind, node id, t < T-1)."""

    def __init__(self, doc: dict):
        p = doc.get("parameters", {})
        road = p.get("road_factor", 1.3)
        tr = p.get("transport_kg_co2e_per_tkm", 0.10163)
        weight = p.get("landfill_weight_kg_co2e_per_t", 0.0)
        self.objective = p.get("objective", "co2e")
        periods = months(doc["periods"]["start"], doc["periods"]["count"])
        count = self.count = len(periods)
        self.labels = [f"{a.year:04d}-{a.month:02d}" for a, _ in periods]

        # Nodes: (kind, id, raw, active, tonnes per period, store)
        sources, sinks = [], []
        self.baseline = 0.0
        for s in doc.get("supplies", []):
            act = _active(s.get("available_from"), s.get("available_until"), periods)
            tonnes = _tonnes(s, "tonnes", "tonnes_per_period", act)
            landfill = s.get("fate", "other") in LANDFILL
            per_t = s.get("fate_kg_co2e_per_t", 0.0) + (weight if landfill else 0.0)
            self.baseline += per_t * sum(tonnes)
            store = s.get("storage")
            ship = list(act)
            if store and any(act):
                first = act.index(True)
                ship = [t >= first for t in range(count)]
            frm, until = s.get("available_from"), None if store else s.get("available_until")
            sources.append(
                dict(
                    kind="supply",
                    raw=s,
                    tonnes=tonnes,
                    store=store,
                    ok=ship,
                    window=(frm, until),
                    material=s["material"],
                    max_km=s.get("max_km"),
                    fate=s.get("fate_kg_co2e_per_t", 0.0),
                    weight=weight if landfill else 0.0,
                )
            )
        for d in doc.get("demands", []):
            act = _active(d.get("needed_from"), d.get("needed_until"), periods)
            store = d.get("storage")
            recv = list(act)
            if store and any(act):
                last = count - 1 - act[::-1].index(True)
                recv = [t <= last for t in range(count)]
            sinks.append(
                dict(
                    kind="demand",
                    raw=d,
                    tonnes=_tonnes(d, "tonnes", "tonnes_per_period", act),
                    store=store,
                    ok=recv,
                    window=(None if store else d.get("needed_from"), d.get("needed_until")),
                    accepts={a["material"]: a for a in d["accepts"]},
                    max_km=d.get("max_km"),
                    lot=d.get("min_lot_tonnes") or 0.0,
                )
            )
        for k in doc.get("processors", []):
            act = _active(k.get("available_from"), k.get("available_until"), periods)
            store = k.get("storage")
            recv = list(act)
            if store and any(act):
                last = count - 1 - act[::-1].index(True)
                recv = [t <= last for t in range(count)]
            cap = _tonnes(k, "capacity_tonnes", "capacity_tonnes_per_period", act)
            sinks.append(
                dict(
                    kind="processor",
                    raw=k,
                    tonnes=cap,
                    store=store,
                    ok=recv,
                    window=(None if store else k.get("available_from"), k.get("available_until")),
                    accepts={a["material"]: a for a in k.get("accepts", [])},
                    max_km=k.get("max_km"),
                    lot=0.0,
                )
            )
            out = k.get("output")
            if out:
                sources.append(
                    dict(
                        kind="plant_output",
                        raw=k,
                        tonnes=None,
                        store=None,
                        ok=act,
                        window=(k.get("available_from"), k.get("available_until")),
                        material=out["material"],
                        max_km=out.get("max_km"),
                        fate=out.get("fate_kg_co2e_per_t", 0.0),
                        weight=0.0,
                    )
                )

        # Base pairs and their saving per tonne (objective and physical).
        pairs = []
        for u in sources:
            for v in sinks:
                # A chain: only from a plant offering its output to plants, never to itself.
                chain = u["kind"] == "plant_output" and v["kind"] == "processor"
                if chain and (not u["raw"]["output"].get("to_processors") or u["raw"] is v["raw"]):
                    continue
                accept = v["accepts"].get(u["material"])
                if accept is None:
                    continue
                a, b = u["raw"], v["raw"]
                km = haversine_km(a["lat"], a["lon"], b["lat"], b["lon"]) * road
                if any(m is not None and km > m for m in (u["max_km"], v["max_km"])):
                    continue
                lo = max(_day(u["window"][0], date.min), _day(v["window"][0], date.min))
                if lo > min(_day(u["window"][1], date.max), _day(v["window"][1], date.max)):
                    continue
                net = u["fate"] + accept.get("credit_kg_co2e_per_t", 0.0) - tr * km
                if v["kind"] == "processor":
                    out = v["raw"].get("output") or {}
                    net -= v["raw"]["treatment_kg_co2e_per_t"]
                    net -= out.get("yield", 0.0) * out.get("fate_kg_co2e_per_t", 0.0)
                pairs.append((u, v, net + u["weight"], net, tr * km))
        # What a lost tonne in a sink's store takes back (largest saving + transport, >= 0).
        lost = {}
        for _, v, w, net, trans in pairs:
            key = (v["kind"], v["raw"]["id"])
            old = lost.get(key, (0.0, 0.0))
            lost[key] = (max(old[0], w + trans), max(old[1], net + trans))

        cols, c, c_net, upper, lots = [], [], [], [], []
        from_supply = []
        for u, v, w, net, _ in pairs:
            for t in range(count):
                if u["ok"][t] and v["ok"][t]:
                    cols.append(("x", u["raw"]["id"], v["raw"]["id"], t, u["kind"], v["kind"]))
                    c.append(w)
                    c_net.append(net)
                    upper.append(math.inf)
                    lots.append(v["lot"])
                    from_supply.append(u["kind"] == "supply")
        stores = []
        for node in sources + sinks:
            store = node["store"]
            if not store or node["kind"] == "plant_output":
                continue
            loss = store.get("loss_fraction_per_period", 0.0)
            e = store.get("kg_co2e_per_t_period", 0.0)
            back = (
                (0.0, 0.0)
                if node["kind"] == "supply"
                else lost.get((node["kind"], node["raw"]["id"]), (0.0, 0.0))
            )
            stores.append((node, loss))
            for t in range(count - 1):
                cols.append(("s", node["kind"], node["raw"]["id"], t))
                c.append(-(e + loss * back[0]))
                c_net.append(-(e + loss * back[1]))
                upper.append(store["capacity_tonnes"])
                lots.append(0.0)
                from_supply.append(False)
        self.cols, self.index = cols, {col: k for k, col in enumerate(cols)}
        self.c, self.c_net = np.array(c), np.array(c_net)
        self.upper, self.lots = np.array(upper), np.array(lots)
        self.from_supply = np.array(from_supply, dtype=bool)
        n = len(cols)

        rows, lo, hi = [], [], []

        def row(coefs: dict, low: float, high: float):
            if coefs:
                rows.append(coefs)
                lo.append(low)
                hi.append(high)

        def stock(kind, node_id, t, sign, loss) -> dict:
            out = {}
            if t >= 1 and ("s", kind, node_id, t - 1) in self.index:
                out[self.index["s", kind, node_id, t - 1]] = sign * (1 - loss)
            if ("s", kind, node_id, t) in self.index:
                out[self.index["s", kind, node_id, t]] = -sign
            return out

        loss_of = {(nd["kind"], nd["raw"]["id"]): ls for nd, ls in stores}
        for u in sources:
            for t in range(count):
                sent = {
                    k: 1.0
                    for k, col in enumerate(cols)
                    if col[0] == "x"
                    and col[1] == u["raw"]["id"]
                    and col[4] == u["kind"]
                    and col[3] == t
                }
                if u["kind"] == "supply":
                    key = ("supply", u["raw"]["id"])
                    coefs = dict(sent)
                    if key in loss_of:
                        coefs.update(stock("supply", u["raw"]["id"], t, -1.0, loss_of[key]))
                    row(coefs, -math.inf, u["tonnes"][t])
        for v in sinks:
            vid, kind = v["raw"]["id"], v["kind"]
            for t in range(count):
                got = {
                    k: 1.0
                    for k, col in enumerate(cols)
                    if col[0] == "x" and col[2] == vid and col[5] == kind and col[3] == t
                }
                coefs = dict(got)
                stored = (kind, vid) in loss_of
                if stored:
                    coefs.update(stock(kind, vid, t, 1.0, loss_of[kind, vid]))
                row(coefs, 0.0 if stored else -math.inf, v["tonnes"][t])
                if kind == "processor" and v["raw"].get("output"):
                    y = v["raw"]["output"]["yield"]
                    out = {
                        k: 1.0
                        for k, col in enumerate(cols)
                        if col[0] == "x"
                        and col[1] == vid
                        and col[4] == "plant_output"
                        and col[3] == t
                    }
                    if out:
                        for k, a in coefs.items():
                            out[k] = out.get(k, 0.0) - y * a
                        row(out, -math.inf, 0.0)
        self.A = csr_matrix(
            (
                [a for r in rows for a in r.values()],
                ([i for i, r in enumerate(rows) for _ in r], [k for r in rows for k in r]),
            ),
            shape=(len(rows), n),
        )
        self.lo, self.hi = np.array(lo), np.array(hi)
        self.big_m = sum(sum(s["tonnes"]) for s in sources if s["kind"] == "supply") + 1.0

    # ------------------------------------------------------------------ solving

    def _solve(self, c: np.ndarray, extra: list) -> np.ndarray:
        """Minimise c.v subject to the rows (plus ``extra`` rows) with scipy's HiGHS."""
        n = len(self.cols)
        if n == 0:
            return np.zeros(0)
        A, lo, hi = self.A, self.lo, self.hi
        for coefs, low in extra:
            A = csr_matrix(np.vstack([A.toarray(), coefs]))
            lo, hi = np.append(lo, low), np.append(hi, math.inf)
        if not np.any(self.lots > 0):
            dense, up, down = A.toarray(), np.isfinite(hi), np.isfinite(lo)
            res = linprog(
                c,
                A_ub=np.vstack([dense[up], -dense[down]]),
                b_ub=np.concatenate([hi[up], -lo[down]]),
                bounds=list(zip(np.zeros(n), self.upper, strict=True)),
                method="highs",
            )
            assert res.status == 0, res.message
            return res.x
        # Lots: x = 0 or lot <= x, one binary per such column.
        lotted = np.flatnonzero(self.lots > 0)
        m = len(lotted)
        full = np.hstack([A.toarray(), np.zeros((A.shape[0], m))])
        link = np.zeros((2 * m, n + m))
        for r, k in enumerate(lotted):
            link[2 * r, k], link[2 * r, n + r] = 1.0, -self.big_m  # x <= M y
            link[2 * r + 1, k], link[2 * r + 1, n + r] = 1.0, -self.lots[k]  # x >= lot y
        cons = [
            LinearConstraint(full, lo, hi),
            LinearConstraint(link[0::2], -np.inf, 0.0),
            LinearConstraint(link[1::2], 0.0, np.inf),
        ]
        upper = np.concatenate([self.upper, np.ones(m)])
        integrality = np.concatenate([np.zeros(n), np.ones(m)])
        res = milp(
            np.concatenate([c, np.zeros(m)]),
            constraints=cons,
            integrality=integrality,
            bounds=(np.zeros(n + m), upper),
            options={"mip_rel_gap": 1e-9},
        )
        assert res.status == 0, res.message
        return res.x[:n]

    def best_saving(self) -> float:
        """The optimal objective saving (kg CO2e, landfill weight included)."""
        extra = []
        if self.objective == "tonnes_then_co2e":
            moving = self.from_supply.astype(float)
            tonnes = float(moving @ self._solve(-moving, []))
            extra = [(moving, tonnes - LEX_TOL * max(tonnes, 1.0))]
        v = self._solve(-self.c, extra)
        return float(self.c @ v)

    # ------------------------------------------------------------------ checking a solution

    def vector(self, solution: dict) -> np.ndarray:
        """A solution's flows and stock as a column vector (every one must be a column)."""
        v = np.zeros(len(self.cols))
        for f in solution["flows"]:
            u_kind = "plant_output" if f["kind"] in ("from_processor", "chain") else "supply"
            v_kind = "processor" if f["kind"] in ("to_processor", "chain") else "demand"
            t = self.labels.index(f["period"])
            key = ("x", f["supply"], f["demand"], t, u_kind, v_kind)
            assert key in self.index, f"flow {key} is no column of the reference"
            v[self.index[key]] += f["tonnes"]
        for s in solution["stock"]:
            t = self.labels.index(s["period"])
            if t == self.count - 1:
                raise AssertionError(f"stock at the end of the horizon: {s}")
            v[self.index["s", s["kind"], s["node"], t]] += s["tonnes"]
        return v

    def check_feasible(self, v: np.ndarray, tol: float = 1e-6) -> None:
        act = self.A @ v
        scale = 1.0 + np.abs(self.hi[np.isfinite(self.hi)]).max(initial=0.0)
        assert np.all(v >= -tol * scale)
        assert np.all(v <= self.upper + tol * scale)
        assert np.all(act <= self.hi + tol * scale), "a row's upper side is broken"
        assert np.all(act >= self.lo - tol * scale), "a row's lower side is broken"
        x = v > 1e-9
        assert np.all(~x | (v >= self.lots * (1 - 1e-7))), "a flow below its lot"
