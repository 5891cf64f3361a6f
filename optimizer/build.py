"""The PuLP model of one component: flow variables, lot binaries, node rows, the
processors' yield and blend rows, and the CO2e objective.

Building fast in PuLP (see DESIGN.md): each row is an ``LpConstraint`` over an
``LpAffineExpression`` made from (variable, coefficient) pairs, variables come
from ``prob.add_variable``, and the garbage collector is paused while millions of
small objects are made. Never ``lpSum([(x, 3.0)])``: that means x + 3.0.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager

import numpy as np
import pulp

from optimizer.problem import ComponentProblem


@contextmanager
def gc_paused():
    """Pause the garbage collector while millions of small PuLP objects are made."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _node_rows(prob, xs, arc_node, node_tonnes, arc_capacity, prefix: str, skip=None) -> int:
    """One "sum of a node's arcs <= its tonnes" row per node, unless the arcs'
    own upper bounds already imply it, or the node is in ``skip``. Returns the
    number of rows added."""
    n_nodes = len(node_tonnes)
    if skip is not None and len(skip):
        node_tonnes = node_tonnes.copy()
        node_tonnes[skip] = np.inf
    order = np.argsort(arc_node, kind="stable")
    bounds = np.searchsorted(arc_node[order], np.arange(n_nodes + 1))
    reach = np.bincount(arc_node, weights=arc_capacity, minlength=n_nodes)
    added = 0
    for node in np.flatnonzero(reach > node_tonnes * (1 + 1e-12)).tolist():
        members = order[bounds[node] : bounds[node + 1]].tolist()
        expr = pulp.LpAffineExpression([(xs[k], 1.0) for k in members])
        prob.addConstraint(
            pulp.LpConstraint(
                expr, pulp.LpConstraintLE, f"{prefix}{node}", float(node_tonnes[node])
            )
        )
        added += 1
    return added


def build_pulp(problem: ComponentProblem) -> tuple[pulp.LpProblem, list, list]:
    """The component as a PuLP problem with the CO2e objective (minimise -saving).

    Returns the problem, the flow variables (one per arc) and the binaries.
    """
    prob = pulp.LpProblem("exchanges", pulp.LpMinimize)
    capacity = problem.arc_capacity_tonnes
    lot = problem.arc_min_lot_tonnes
    with gc_paused():
        cap_list = capacity.tolist()
        xs = [prob.add_variable(f"x{k}", 0.0, cap_list[k]) for k in range(problem.n_arcs)]
        ys = []
        for k in np.flatnonzero(lot > 0).tolist():
            # x = 0 when y = 0, lot <= x <= capacity when y = 1.
            y = prob.add_variable(f"y{k}", 0, 1, pulp.LpBinary)
            ys.append(y)
            c = cap_list[k]
            prob.addConstraint(
                pulp.LpConstraint(
                    pulp.LpAffineExpression([(xs[k], 1.0), (y, -c)]),
                    pulp.LpConstraintLE,
                    f"u{k}",
                    0.0,
                )
            )
            prob.addConstraint(
                pulp.LpConstraint(
                    pulp.LpAffineExpression([(xs[k], 1.0), (y, -float(lot[k]))]),
                    pulp.LpConstraintGE,
                    f"l{k}",
                    0.0,
                )
            )
        # A plant's output node has the yield row instead of a tonnes row.
        outputs = problem.processor_output_node
        rows = _node_rows(
            prob,
            xs,
            problem.arc_supply,
            problem.supply_tonnes,
            capacity,
            "s",
            outputs[outputs >= 0],
        ) + _node_rows(prob, xs, problem.arc_demand, problem.demand_tonnes, capacity, "d")
        if problem.has_processors:
            rows += _processor_rows(prob, xs, problem)
        if rows == 0 and not ys:
            # Every row was implied by the bounds; CBC still wants one in its MPS file.
            prob.addConstraint(
                pulp.LpConstraint(
                    pulp.LpAffineExpression([(xs[0], 1.0)]), pulp.LpConstraintLE, "t0", cap_list[0]
                )
            )
        prob.setObjective(saving_objective(problem, xs))
    return prob, xs, ys


def _processor_rows(prob, xs, problem: ComponentProblem) -> int:
    """Per plant: output <= yield x input, and its blend limits, linear in the input
    tonnes (see optimizer.problem). Its input capacity is its sink's tonnes row."""
    added = 0
    nitrogen, cn, moisture = (
        problem.arc_nitrogen_t_per_t,
        problem.arc_cn_ratio,
        problem.arc_moisture_percent,
    )
    for p in range(len(problem.processor_input_node)):
        into = np.flatnonzero(problem.arc_demand == problem.processor_input_node[p])
        out_node = int(problem.processor_output_node[p])
        if out_node >= 0:
            out = np.flatnonzero(problem.arc_supply == out_node)
            y = -float(problem.processor_yield[p])
            pairs = [(xs[a], 1.0) for a in out.tolist()]
            pairs += [(xs[a], y) for a in into.tolist() if y != 0.0]
            prob.addConstraint(
                pulp.LpConstraint(
                    pulp.LpAffineExpression(pairs), pulp.LpConstraintLE, f"yield{p}", 0.0
                )
            )
            added += 1
        r, n, m = cn[into], nitrogen[into], moisture[into]
        limits = (
            ("cnmin", problem.processor_cn_min[p], "cn", pulp.LpConstraintGE),
            ("cnmax", problem.processor_cn_max[p], "cn", pulp.LpConstraintLE),
            ("wmin", problem.processor_moisture_min[p], "moisture", pulp.LpConstraintGE),
            ("wmax", problem.processor_moisture_max[p], "moisture", pulp.LpConstraintLE),
        )
        for name, lim, prop, sense in limits:
            if not np.isfinite(lim):
                continue
            # C:N >= lim  <=>  sum C x >= lim sum N x  <=>  sum N (r - lim) x >= 0.
            coef = n * (r - lim) if prop == "cn" else m - lim
            if not np.all(np.isfinite(coef)):
                # Candidates leave out supplies lacking a limited property; never here.
                raise ValueError(f"processor row {name}{p}: an input lacks a blend property")
            pairs = [(xs[a], c) for a, c in zip(into.tolist(), coef.tolist(), strict=True) if c]
            if not pairs:
                continue
            prob.addConstraint(
                pulp.LpConstraint(pulp.LpAffineExpression(pairs), sense, f"{name}{p}", 0.0)
            )
            added += 1
    return added


def saving_objective(problem: ComponentProblem, xs) -> pulp.LpAffineExpression:
    """The CO2e objective over the flow variables: minimise -saving."""
    coef = (-problem.arc_saving_kg_co2e_per_t).tolist()
    return pulp.LpAffineExpression(list(zip(xs, coef, strict=True)))
