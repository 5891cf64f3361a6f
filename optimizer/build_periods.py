"""The time-expanded PuLP model of an instance with periods, and its solve.

Columns and rows are those of docs/optimizer.md, "Periods and storage": per period
each node's tonnes row, a store's balance (stock at the end of period t =
(1 - loss) x stock at the end of t-1 + what came in - what went out), a plant's
yield and blend rows, lots per arc and period; the objective is today's summed over
the periods minus what the stores cost. Solved by HiGHS or CBC through the same
adapters as one period (``optimizer.solvers``), statuses read from the solver.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pulp

from optimizer.build import gc_paused
from optimizer.component import LEXICOGRAPHIC_TOL, MIN_COMPONENT_TIME_S
from optimizer.problem import STATUS_RANK
from optimizer.solvers import Outcome, run_cbc, run_highs
from optimizer.timeline import DEMAND, PROCESSOR, SUPPLY

if TYPE_CHECKING:
    from optimizer.period_problem import PeriodProblem


@dataclass(eq=False)
class PeriodResult:
    """A solved ``PeriodProblem``: its columns' tonnes and its stores' stock, with the
    Timeline's numbers of both (``column_ids``, ``store_ids``) to merge them back."""

    status: str
    column_ids: np.ndarray
    store_ids: np.ndarray
    tonnes: np.ndarray  # per x column
    stock: np.ndarray  # (stores, periods): stock at the end of each period (last = 0)
    saving_kg_co2e: float  # objective saving: saving . x - store costs . stock
    saving_bound_kg_co2e: float
    solver: str
    variables: int = 0
    binaries: int = 0
    build_s: float = 0.0
    solve_s: float = 0.0
    message: str | None = None

    def to_dict(self) -> dict:
        out = {name: getattr(self, name) for name in _SCALARS}
        for name in ("column_ids", "store_ids", "tonnes", "stock"):
            out[name] = getattr(self, name).tolist()
        out["count"] = int(self.stock.shape[1]) if self.stock.ndim == 2 else 0
        return out

    @classmethod
    def from_dict(cls, raw: dict) -> PeriodResult:
        ids = {k: np.asarray(raw[k], dtype=np.int64) for k in ("column_ids", "store_ids")}
        stock = np.asarray(raw["stock"], dtype=float).reshape(len(ids["store_ids"]), raw["count"])
        return cls(
            tonnes=np.asarray(raw["tonnes"], dtype=float),
            stock=stock,
            **ids,
            **{name: raw[name] for name in _SCALARS},
        )


_SCALARS = (
    "status",
    "saving_kg_co2e",
    "saving_bound_kg_co2e",
    "solver",
    "variables",
    "binaries",
    "build_s",
    "solve_s",
    "message",
)


def _run_highs(prob, columns, time_limit_s, mip_gap, is_mip, start=None):
    """HiGHS with its integrality tolerance at 1e-9: at the default 1e-6 a lot's binary
    may sit at 1 - 1e-6 and its column just under the lot, and a column under its lot
    is cut to 0 (``PeriodModel.unpack``), which with stores can lose a whole lot's
    tonnes (a run reported 66 t moved where 91 t were optimal)."""
    options = {"mip_feasibility_tolerance": 1e-9}
    return run_highs(prob, columns, time_limit_s, mip_gap, is_mip, start, options)


def achieved_saving(tl: PeriodProblem, tonnes: np.ndarray, stock: np.ndarray) -> float:
    return float(tl.saving @ tonnes - (tl.store_cost[:, None] * stock).sum())


def weak_bound(tl: PeriodProblem) -> float:
    """Every column at its upper bound where it saves, no store costs: a valid bound."""
    return float(np.maximum(tl.saving, 0.0) @ tl.upper)


class PeriodModel:
    """The PuLP problem with its columns: ``xs`` per x column, ``ss[k][t]`` the stock
    of store k at the end of period t (t < last; the last is 0), ``ys`` lot binaries."""

    def __init__(self, tl: PeriodProblem):
        self.tl = tl
        count = tl.count
        self.prob = prob = pulp.LpProblem("periods", pulp.LpMinimize)
        n_s, n_d = tl.n_supplies, tl.n_demands
        upper = tl.upper.tolist()
        self.xs = [prob.add_variable(f"x{c}", 0.0, upper[c]) for c in range(tl.n_x)]
        self.ss = [
            [prob.add_variable(f"s{k}_{t}", 0.0, cap) for t in range(count - 1)] if cap > 0 else []
            for k, cap in enumerate(tl.store_capacity.tolist())
        ]
        self.ys = []
        for c in np.flatnonzero(tl.lot > 0).tolist():
            y = prob.add_variable(f"y{c}", 0, 1, pulp.LpBinary)
            self.ys.append((c, y))
            self._row([(self.xs[c], 1.0), (y, -upper[c])], pulp.LpConstraintLE, 0.0)
            self._row([(self.xs[c], 1.0), (y, -float(tl.lot[c]))], pulp.LpConstraintGE, 0.0)

        out_of, into = defaultdict(list), defaultdict(list)
        for c, (u, v, t) in enumerate(
            zip(tl.source.tolist(), tl.sink.tolist(), tl.period.tolist(), strict=True)
        ):
            out_of[u, t].append(c)
            into[v, t].append(c)
        self.out_of, self.into = out_of, into
        store_of = {
            (kind, n): k
            for k, (kind, n) in enumerate(zip(tl.store_kind, tl.store_node.tolist(), strict=True))
        }

        for i in range(n_s):
            k = store_of.get((SUPPLY, i))
            for t in range(count):
                # sent + stock_t - (1 - loss) stock_{t-1} <= produced (the rest meets its fate)
                pairs = [(self.xs[c], 1.0) for c in out_of[i, t]] + self._stock(k, t, -1.0)
                self._row(pairs, pulp.LpConstraintLE, float(tl.supply_tonnes[i, t]))
        for j in range(n_d):
            k = store_of.get((DEMAND, j))
            for t in range(count):
                # used = received + (1 - loss) stock_{t-1} - stock_t, 0 <= used <= need
                pairs = [(self.xs[c], 1.0) for c in into[j, t]] + self._stock(k, t, 1.0)
                self._row(pairs, pulp.LpConstraintLE, float(tl.demand_tonnes[j, t]))
                if k is not None:
                    self._row(pairs, pulp.LpConstraintGE, 0.0)
        for p in range(tl.n_processors):
            k = store_of.get((PROCESSOR, p))
            yield_ = float(tl.processor_yield[p])
            for t in range(count):
                arrived = into[n_d + p, t]
                treated = [(self.xs[c], 1.0) for c in arrived] + self._stock(k, t, 1.0)
                self._row(treated, pulp.LpConstraintLE, float(tl.processor_capacity[p, t]))
                if k is not None:
                    self._row(treated, pulp.LpConstraintGE, 0.0)
                sent = out_of[n_s + p, t]
                if sent:
                    pairs = [(self.xs[c], 1.0) for c in sent]
                    pairs += [(v, -yield_ * a) for v, a in treated if yield_ * a]
                    self._row(pairs, pulp.LpConstraintLE, 0.0)
                self._blend_rows(p, arrived)

    def _stock(self, k: int | None, t: int, sign: float) -> list:
        """sign x ((1 - loss) stock_{t-1} - stock_t), as (variable, coefficient) pairs."""
        if k is None or not self.ss[k]:
            return []
        pairs, keep = [], 1.0 - float(self.tl.store_loss[k])
        if t >= 1:
            pairs.append((self.ss[k][t - 1], sign * keep))
        if t < self.tl.count - 1:
            pairs.append((self.ss[k][t], -sign))
        return pairs

    def _blend_rows(self, p: int, arrived: list) -> None:
        """The blend limits on what arrives in a period (docs: a mix of compliant
        arrivals is compliant, so stock drawn from them is too)."""
        if not arrived:
            return
        tl = self.tl
        n, r, m = tl.nitrogen[arrived], tl.cn[arrived], tl.moisture[arrived]
        limits = (
            (tl.processor_cn_min[p], "cn", pulp.LpConstraintGE),
            (tl.processor_cn_max[p], "cn", pulp.LpConstraintLE),
            (tl.processor_moisture_min[p], "m", pulp.LpConstraintGE),
            (tl.processor_moisture_max[p], "m", pulp.LpConstraintLE),
        )
        for lim, prop, sense in limits:
            if np.isnan(lim):
                continue
            lim = float(lim)
            coef = n * (r - lim) if prop == "cn" else m - lim
            pairs = [(self.xs[c], v) for c, v in zip(arrived, coef.tolist(), strict=True) if v]
            if pairs:
                self._row(pairs, sense, 0.0)

    def _row(self, pairs: list, sense, rhs: float) -> None:
        if not pairs:
            return
        name = f"r{len(self.prob.constraints)}"
        self.prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(pairs), sense, name, rhs))

    def start_values(self, start) -> dict | None:
        """A schedule as {variable: value} for the solver's warm start."""
        if start is None:
            return None
        tonnes, stock = start
        out = dict(zip(self.xs, tonnes.tolist(), strict=True))
        for k, row in enumerate(self.ss):
            out.update(zip(row, stock[k, : len(row)].tolist(), strict=False))
        out.update({y: float(tonnes[c] > 0) for c, y in self.ys})
        return out

    @property
    def stock_vars(self) -> list:
        return [v for row in self.ss for v in row]

    def co2e_objective(self) -> pulp.LpAffineExpression:
        pairs = list(zip(self.xs, (-self.tl.saving).tolist(), strict=True))
        for k, row in enumerate(self.ss):
            cost = float(self.tl.store_cost[k])
            pairs += [(v, cost) for v in row if cost]
        return pulp.LpAffineExpression(pairs)

    def unpack(self, values: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Solver values, clipped to their bounds: tonnes per x column and stock per
        store and period (the last period's 0)."""
        tl = self.tl
        stock = np.zeros((len(tl.store_kind), tl.count))
        if values is None:
            return np.zeros(tl.n_x), stock
        x = np.clip(values[: tl.n_x], 0.0, tl.upper)
        x[x < 1e-9] = 0.0
        at = tl.n_x
        for k, row in enumerate(self.ss):
            stock[k, : len(row)] = values[at : at + len(row)]
            at += len(row)
        stock = np.clip(stock, 0.0, tl.store_capacity[:, None])
        stock[stock < 1e-9] = 0.0
        lot = tl.lot
        x[(lot > 0) & (x < lot * (1 - 1e-7))] = 0.0
        return x, stock


def solve_with_pulp(
    tl: PeriodProblem,
    solver: str,
    time_limit_s: float,
    mip_gap: float,
    start: tuple[np.ndarray, np.ndarray] | None = None,
) -> PeriodResult:
    """Build the time-expanded model and solve it (both objectives); ``start``
    (tonnes per column, stock per store and period), a lot-feasible schedule, is the
    MIP solver's first incumbent (objective ``co2e`` only)."""
    run = {"highs": _run_highs, "cbc": run_cbc}[solver]
    t0 = time.perf_counter()
    with gc_paused():
        model = PeriodModel(tl)
        prob = model.prob
        columns = model.xs + model.stock_vars
        if not prob.constraints and columns:
            # CBC wants one row in its MPS file.
            model._row([(columns[0], 1.0)], pulp.LpConstraintLE, float(tl.upper.max(initial=0)))
    build_s = time.perf_counter() - t0
    is_mip = bool(model.ys)
    deadline = t0 + time_limit_s
    name = f"pulp-{solver}"
    if not columns:
        stock = np.zeros((len(tl.store_kind), tl.count))
        return PeriodResult(
            "optimal",
            tl.column_ids,
            tl.store_ids,
            np.zeros(0),
            stock,
            0.0,
            0.0,
            "none",
            build_s=build_s,
        )
    statuses = []
    if tl.objective == "tonnes_then_co2e":
        from_supply = tl.source < tl.n_supplies
        moving = [x for x, f in zip(model.xs, from_supply.tolist(), strict=True) if f]
        prob.setObjective(pulp.LpAffineExpression([(x, -1.0) for x in moving]))
        left = max(deadline - time.perf_counter(), MIN_COMPONENT_TIME_S)
        first = run(prob, columns, left, mip_gap, is_mip)
        if first.status == "infeasible":
            return _infeasible(tl, name, "stage 1 (most tonnes) infeasible", build_s, t0)
        statuses.append(first.status)
        x1, s1 = model.unpack(first.values)
        moved = float(x1[from_supply].sum())
        if moving:
            model._row(
                [(x, 1.0) for x in moving],
                pulp.LpConstraintGE,
                max(moved - LEXICOGRAPHIC_TOL * max(moved, 1.0), 0.0),
            )
        prob.setObjective(model.co2e_objective())
        left = deadline - time.perf_counter()
        second = (
            run(prob, columns, left, mip_gap, is_mip) if left > 0 else Outcome("time_limit", None)
        )
        statuses.append(second.status if second.status != "infeasible" else "feasible")
        if second.values is not None and second.status != "infeasible":
            (x, stock), bound = model.unpack(second.values), second.objective_bound
        else:
            x, stock, bound = x1, s1, None
    else:
        prob.setObjective(model.co2e_objective())
        left = max(deadline - time.perf_counter(), MIN_COMPONENT_TIME_S)
        outcome = run(prob, columns, left, mip_gap, is_mip, model.start_values(start))
        if outcome.status == "infeasible":
            return _infeasible(tl, name, "the solver reports the model infeasible", build_s, t0)
        statuses.append(outcome.status)
        (x, stock), bound = model.unpack(outcome.values), outcome.objective_bound
    achieved = achieved_saving(tl, x, stock)
    saving_bound = -bound if bound is not None else weak_bound(tl)
    return PeriodResult(
        status=max(statuses, key=STATUS_RANK.__getitem__),
        column_ids=tl.column_ids,
        store_ids=tl.store_ids,
        tonnes=x,
        stock=stock,
        saving_kg_co2e=achieved,
        saving_bound_kg_co2e=max(saving_bound, achieved),
        solver=name,
        variables=len(columns) + len(model.ys),
        binaries=len(model.ys),
        build_s=build_s,
        solve_s=time.perf_counter() - t0 - build_s,
    )


def _infeasible(
    tl: PeriodProblem, name: str, message: str, build_s: float, t0: float
) -> PeriodResult:
    return PeriodResult(
        status="infeasible",
        column_ids=tl.column_ids,
        store_ids=tl.store_ids,
        tonnes=np.zeros(tl.n_x),
        stock=np.zeros((len(tl.store_kind), tl.count)),
        saving_kg_co2e=0.0,
        saving_bound_kg_co2e=0.0,
        solver=name,
        build_s=build_s,
        solve_s=time.perf_counter() - t0 - build_s,
        message=message,
    )
