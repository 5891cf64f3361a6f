"""The model's optimum against independent references: brute force on tiny
instances, scipy's linprog / milp on random ones (hypothesis), and the edge
cases that must end in a clear status rather than a crash."""

from __future__ import annotations

import functools
import math
import sys

import numpy as np
import pulp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.component import solve_component
from optimizer.instance import Instance
from optimizer.orchestrate import solve
from optimizer.problem import ComponentProblem, ComponentResult, prepare
from tests.optimizer.helpers import (
    baseline,
    brute_force,
    check_feasible,
    linprog_saving,
    milp_saving,
    random_doc,
)

SOLVERS = ["auto", "highs", "cbc"]
HYPOTHESIS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run(doc: dict, solver: str = "auto", **kwargs) -> dict:
    return solve(Instance.from_dict(doc), solver=solver, **kwargs).to_dict()


def saving_of(solution: dict) -> float:
    """Weighted saving the model achieved: baseline - objective."""
    return solution["baseline_kg_co2e"] - solution["objective_kg_co2e"]


def close(a: float, b: float, rel: float = 1e-6) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-6)


# --------------------------------------------------------------------------- brute force


@HYPOTHESIS
@given(
    seed=st.integers(0, 2**32 - 1),
    n_s=st.integers(1, 3),
    n_d=st.integers(1, 3),
    lots=st.booleans(),
    objective=st.sampled_from(["co2e", "tonnes_then_co2e"]),
    weight=st.sampled_from([0.0, 300.0]),
)
def test_tiny_instances_match_brute_force(seed, n_s, n_d, lots, objective, weight):
    rng = np.random.default_rng(seed)
    doc = random_doc(
        rng,
        n_s,
        n_d,
        n_materials=1,
        max_tonnes=3,
        lots=lots,
        objective=objective,
        landfill_weight=weight,
    )
    lexicographic = objective == "tonnes_then_co2e"
    tonnes, best = brute_force(doc, lexicographic=lexicographic)
    for solver in SOLVERS:
        solution = run(doc, solver)
        assert solution["status"] == "optimal", solution["message"]
        check_feasible(doc, solution)
        if lexicographic:
            assert close(solution["tonnes_moved"], tonnes)
        assert close(saving_of(solution), best), (solver, saving_of(solution), best)


def test_hand_made_instance():
    """Two supplies, two demands, worked out by hand.

    Savings per tonne (transport 0): s1->d1 10, s1->d2 8, s2->d1 9 (s2->d2 not accepted).
    s1 has 5 t, s2 4 t, d1 6 t, d2 3 t. Best: s2->d1 4 (36), s1->d1 2 (20), s1->d2 3 (24)
    = 80, against s1->d1 5 + s1... (any other plan is worse).
    """
    doc = {
        "parameters": {"transport_kg_co2e_per_tkm": 0.0},
        "supplies": [
            {
                "id": "s1",
                "lat": 43.2,
                "lon": 76.9,
                "material": "a",
                "tonnes": 5,
                "fate": "landfill",
                "fate_kg_co2e_per_t": 4,
            },
            {
                "id": "s2",
                "lat": 43.21,
                "lon": 76.9,
                "material": "b",
                "tonnes": 4,
                "fate": "landfill",
                "fate_kg_co2e_per_t": 4,
            },
        ],
        "demands": [
            {
                "id": "d1",
                "lat": 43.3,
                "lon": 76.9,
                "tonnes": 6,
                "accepts": [
                    {"material": "a", "credit_kg_co2e_per_t": 6},
                    {"material": "b", "credit_kg_co2e_per_t": 5},
                ],
            },
            {
                "id": "d2",
                "lat": 43.3,
                "lon": 77.0,
                "tonnes": 3,
                "accepts": [{"material": "a", "credit_kg_co2e_per_t": 4}],
            },
        ],
    }
    for solver in SOLVERS:
        solution = run(doc, solver)
        assert solution["status"] == "optimal"
        assert close(solution["baseline_kg_co2e"], 36.0)
        assert close(solution["saved_kg_co2e"], 80.0)
        assert close(solution["objective_kg_co2e"], 36.0 - 80.0)
        flows = {(f["supply"], f["demand"]): f["tonnes"] for f in solution["flows"]}
        assert flows == pytest.approx({("s2", "d1"): 4, ("s1", "d1"): 2, ("s1", "d2"): 3})
        assert close(solution["landfill_tonnes_avoided"], 9.0)


# --------------------------------------------------------------------------- scipy references


@HYPOTHESIS
@given(
    seed=st.integers(0, 2**32 - 1),
    n_s=st.integers(1, 45),
    n_d=st.integers(1, 45),
    n_materials=st.integers(1, 3),
    objective=st.sampled_from(["co2e", "tonnes_then_co2e"]),
    weight=st.sampled_from([0.0, 250.0]),
)
def test_lp_matches_linprog(seed, n_s, n_d, n_materials, objective, weight):
    rng = np.random.default_rng(seed)
    doc = random_doc(
        rng,
        n_s,
        n_d,
        n_materials=n_materials,
        max_tonnes=200,
        objective=objective,
        landfill_weight=weight,
    )
    expected = linprog_saving(doc, lexicographic=objective == "tonnes_then_co2e")
    for solver in ("auto", "highs"):
        solution = run(doc, solver)
        assert solution["status"] == "optimal"
        check_feasible(doc, solution)
        assert close(saving_of(solution), expected), (solver, saving_of(solution), expected)
        if solver == "auto" and solution["stats"]["components"]:
            # Integer tonnes and no lots: the exact flow path must have done it, not a fallback.
            assert solution["stats"]["solver"] == "ortools-mcf"


@HYPOTHESIS
@given(seed=st.integers(0, 2**32 - 1), n_s=st.integers(1, 12), n_d=st.integers(1, 12))
def test_min_lot_milp_matches_scipy_milp(seed, n_s, n_d):
    rng = np.random.default_rng(seed)
    doc = random_doc(rng, n_s, n_d, n_materials=2, max_tonnes=60, lots=True)
    expected = milp_saving(doc)
    solution = run(doc, "auto", mip_gap=0.0)
    assert solution["status"] == "optimal"
    check_feasible(doc, solution)
    assert close(saving_of(solution), expected), (saving_of(solution), expected)


def test_min_lot_milp_with_cbc_matches_scipy_milp():
    for seed in range(4):
        doc = random_doc(np.random.default_rng(seed), 8, 8, n_materials=2, lots=True)
        solution = run(doc, "cbc", mip_gap=0.0)
        assert solution["status"] == "optimal"
        check_feasible(doc, solution)
        assert close(saving_of(solution), milp_saving(doc))


def test_fractional_tonnes_fall_back_to_the_lp_and_stay_exact():
    # Thirds cannot be scaled to integers, so the flow path must decline.
    doc = random_doc(np.random.default_rng(7), 20, 20, n_materials=1)
    for s in doc["supplies"]:
        s["tonnes"] = s["tonnes"] / 3
    solution = run(doc, "auto")
    assert solution["stats"]["solver"] == "pulp-highs"
    check_feasible(doc, solution)
    assert close(saving_of(solution), linprog_saving(doc))


def test_decimal_tonnes_use_the_flow_path_exactly():
    doc = random_doc(np.random.default_rng(8), 20, 20, n_materials=1)
    for s in doc["supplies"]:
        s["tonnes"] = s["tonnes"] + 0.25
    solution = run(doc, "auto")
    assert solution["stats"]["solver"] == "ortools-mcf"
    check_feasible(doc, solution)
    assert close(saving_of(solution), linprog_saving(doc))


# --------------------------------------------------------------------------- pins


def _pair_doc():
    return {
        "parameters": {"transport_kg_co2e_per_tkm": 0.1},
        "supplies": [
            {
                "id": "s1",
                "lat": 43.25,
                "lon": 76.92,
                "material": "grain",
                "tonnes": 100,
                "fate": "landfill",
                "fate_kg_co2e_per_t": 600,
                "max_km": 50,
            },
            {
                "id": "s2",
                "lat": 43.26,
                "lon": 76.93,
                "material": "slag",
                "tonnes": 50,
                "fate": "other",
                "fate_kg_co2e_per_t": 0,
            },
        ],
        "demands": [
            {
                "id": "d1",
                "lat": 43.30,
                "lon": 76.85,
                "tonnes": 80,
                "min_lot_tonnes": 20,
                "accepts": [{"material": "grain", "credit_kg_co2e_per_t": 350}],
            },
            {
                "id": "d2",
                "lat": 43.30,
                "lon": 76.95,
                "tonnes": 80,
                "accepts": [
                    {"material": "grain", "credit_kg_co2e_per_t": 100},
                    {"material": "slag", "credit_kg_co2e_per_t": -20},
                ],
            },
            {
                "id": "far",
                "lat": 45.0,
                "lon": 76.9,
                "tonnes": 80,
                "accepts": [{"material": "grain", "credit_kg_co2e_per_t": 350}],
            },
        ],
    }


def test_pin_fixes_the_arc_even_when_it_loses_co2e():
    doc = _pair_doc()
    # s2 -> d2 saves 0 - 20 - transport < 0: presolve would drop it, the pin keeps it.
    doc["pins"] = [
        {"supply": "s2", "demand": "d2", "tonnes": 10},
        {"supply": "s1", "demand": "d2", "tonnes": 30},
    ]
    for solver in SOLVERS:
        solution = run(doc, solver)
        assert solution["status"] == "optimal"
        check_feasible(doc, solution)
        flows = {(f["supply"], f["demand"]): f["tonnes"] for f in solution["flows"]}
        assert flows[("s2", "d2")] == pytest.approx(10)
        assert flows[("s1", "d2")] == pytest.approx(30)
        # The rest of s1 (70 t) goes to d1, which saves most per tonne.
        assert flows[("s1", "d1")] == pytest.approx(70)
        assert close(saving_of(solution), brute_force(doc)[1])


@pytest.mark.parametrize(
    ("pin", "words"),
    [
        ({"supply": "s2", "demand": "d1", "tonnes": 5}, "does not accept"),
        ({"supply": "s1", "demand": "far", "tonnes": 5}, "max_km"),
        ({"supply": "s1", "demand": "d1", "tonnes": 90}, "exceeds the arc capacity"),
        ({"supply": "s1", "demand": "d1", "tonnes": 5}, "minimum lot"),
    ],
)
def test_impossible_pin_gives_infeasible_status_with_reason(pin, words):
    doc = _pair_doc()
    doc["pins"] = [pin]
    solution = run(doc)
    assert solution["status"] == "infeasible"
    assert f"{pin['supply']} -> {pin['demand']}" in solution["message"]
    assert words in solution["message"]
    assert solution["flows"] == []
    assert solution["objective_kg_co2e"] is None


def test_forbidden_pin_and_overfull_pins_are_infeasible():
    doc = _pair_doc()
    doc["forbidden"] = [{"supply": "s1", "demand": "d2"}]
    doc["pins"] = [{"supply": "s1", "demand": "d2", "tonnes": 1}]
    assert "forbidden" in run(doc)["message"]

    doc = _pair_doc()
    doc["pins"] = [
        {"supply": "s1", "demand": "d1", "tonnes": 80},
        {"supply": "s1", "demand": "d2", "tonnes": 30},
    ]
    solution = run(doc)
    assert solution["status"] == "infeasible"
    assert "supply s1" in solution["message"]


# --------------------------------------------------------------------------- edge cases


def test_empty_instance():
    for doc in ({}, {"supplies": [], "demands": []}):
        solution = run(doc)
        assert solution["status"] == "optimal"
        assert solution["flows"] == []
        assert solution["objective_kg_co2e"] == 0
        assert solution["stats"]["arcs"] == 0
        assert solution["stats"]["components"] == 0


def test_supplies_only_and_no_compatible_demand():
    doc = _pair_doc()
    only = dict(doc, demands=[])
    solution = run(only)
    assert solution["status"] == "optimal"
    assert solution["objective_kg_co2e"] == pytest.approx(baseline(only))
    doc["demands"] = [dict(doc["demands"][0], accepts=[{"material": "paper"}])]
    solution = run(doc)
    assert solution["status"] == "optimal"
    assert solution["flows"] == []
    assert solution["saved_kg_co2e"] == 0


def test_zero_tonnes_everywhere():
    doc = random_doc(np.random.default_rng(3), 5, 5, n_materials=1)
    for item in doc["supplies"] + doc["demands"]:
        item["tonnes"] = 0
    for solver in SOLVERS:
        solution = run(doc, solver)
        assert solution["status"] == "optimal"
        assert solution["flows"] == []
        assert solution["tonnes_moved"] == 0


def test_identical_coordinates_and_range_edges():
    doc = {
        "parameters": {"transport_kg_co2e_per_tkm": 0.1},
        "supplies": [
            {
                "id": "same",
                "lat": 43.2,
                "lon": 76.9,
                "material": "m",
                "tonnes": 10,
                "fate_kg_co2e_per_t": 100,
            },
            {
                "id": "pole",
                "lat": 90,
                "lon": 180,
                "material": "m",
                "tonnes": 10,
                "fate_kg_co2e_per_t": 100,
            },
            {
                "id": "south",
                "lat": -90,
                "lon": -180,
                "material": "m",
                "tonnes": 10,
                "fate_kg_co2e_per_t": 100,
                "max_km": 1,
            },
            {
                "id": "east",
                "lat": 0,
                "lon": 180,
                "material": "m",
                "tonnes": 10,
                "fate_kg_co2e_per_t": 100,
                "max_km": 50,
            },
        ],
        "demands": [
            {"id": "here", "lat": 43.2, "lon": 76.9, "tonnes": 5, "accepts": [{"material": "m"}]},
            {"id": "pole2", "lat": 90, "lon": -180, "tonnes": 5, "accepts": [{"material": "m"}]},
            {"id": "south2", "lat": -90, "lon": 0, "tonnes": 5, "accepts": [{"material": "m"}]},
            {
                "id": "west",
                "lat": 0,
                "lon": -179.9,
                "tonnes": 5,
                "max_km": 20,
                "accepts": [{"material": "m"}],
            },
        ],
    }
    for solver in SOLVERS:
        solution = run(doc, solver)
        assert solution["status"] == "optimal"
        check_feasible(doc, solution)
        flows = {(f["supply"], f["demand"]): f for f in solution["flows"]}
        assert flows[("same", "here")]["road_km"] == 0
        assert flows[("pole", "pole2")]["road_km"] == pytest.approx(0, abs=1e-6)
        assert flows[("south", "south2")]["road_km"] == pytest.approx(0, abs=1e-6)
        # 0.1 degree of longitude across the antimeridian at the equator, times 1.3.
        assert flows[("east", "west")]["road_km"] == pytest.approx(
            6371.0088 * math.radians(0.1) * 1.3, rel=1e-9
        )


# --------------------------------------------------------------------------- honesty and parts


def test_time_limit_is_reported_honestly():
    from optimizer.bench import generate

    doc = generate(400, 400, seed=5, min_lot=True)
    solution = run(doc, "highs", time_limit_s=0.05, mip_gap=0.0)
    # With 50 ms for a few thousand binaries, HiGHS cannot prove optimality.
    assert solution["status"] == "time_limit"
    assert solution["bound_kg_co2e"] < solution["objective_kg_co2e"]
    assert solution["gap"] > 0
    check_feasible(doc, solution)


def test_time_limit_is_reported_honestly_by_cbc():
    """PuLP calls this CBC run "Optimal" (status 1); the component must not."""
    from optimizer.bench import generate

    prepared = prepare(Instance.from_dict(generate(800, 800, seed=5, min_lot=True)))
    problem = max(prepared.problems, key=lambda p: p.n_arcs)
    result = solve_component(problem, "cbc", time_limit_s=0.3, mip_gap=0.0)
    assert result.status == "time_limit"
    assert result.saving_bound_kg_co2e > result.saving_kg_co2e
    x = result.tonnes
    assert np.all(x >= 0) and np.all(x <= problem.arc_capacity_tonnes + 1e-9)
    lot = problem.arc_min_lot_tonnes
    assert np.all((x == 0) | (x >= lot - 1e-6))
    assert np.all(np.bincount(problem.arc_supply, x) <= problem.supply_tonnes + 1e-6)
    assert np.all(np.bincount(problem.arc_demand, x) <= problem.demand_tonnes + 1e-6)
    assert result.saving_kg_co2e == pytest.approx(float(problem.arc_saving_kg_co2e_per_t @ x))


# CBC 2.10.3 (PuLP's bundled binary) when its time limit fires early, as logged here:
# stopped in preprocessing it calls a model whose start is feasible infeasible.
_CBC_PREPROCESS_STOPPED = """\
Continuous objective value is -7.20066e+07 - 0.02 seconds
Cgl0000I Cut generators found to be infeasible! (or unbounded)
Pre-processing says infeasible or unbounded
Option for printingOptions changed from normal to all
Total time (CPU seconds):       0.05   (Wallclock seconds):       {wall}
"""
# Its "Lower bound" is min(best possible, incumbent): the incumbent when none recorded.
_CBC_STOPPED_BOUND_IS_INCUMBENT = """\
Result - Stopped on time limit

Objective value:                -100.00000000
Lower bound:                    -100.000
Gap:                            0.00
Total time (CPU seconds):       0.30   (Wallclock seconds):       {wall}
"""
# A root LP cut short by the limit counts as an "infeasible" root in CBC's source,
# which it then reports as optimal when it holds a start.
_CBC_OPTIMAL_AT_LIMIT = """\
Result - Optimal solution found

Objective value:                -100.00000000
Total time (CPU seconds):       0.30   (Wallclock seconds):       {wall}
"""
_CBC_LP_STOPPED = """\
Stopped - objective value -46303362
Result - Stopped on time limit

Total time (CPU seconds):       0.04   (Wallclock seconds):       {wall}
"""

_FAKE_CBC = """\
import os, signal, sys, time
args = sys.argv[1:]
sec = float(args[args.index("-sec") + 1])
solution = args[args.index("-solution") + 1]
time.sleep(sec * {sleep_factor})
if {crash}:
    os.kill(os.getpid(), signal.SIGSEGV)
with open(solution, "w") as f:
    f.write({first_line!r} + "\\n")
    for k in range({columns}):  # PuLP's MPS names its columns X0000000, X0000001, ...
        f.write(f"{{k:>7}} X{{k:07d}} {{1e6:>15}} {{0:>23}}\\n")
wall = {wall!r} if {wall!r} is not None else round(sec + 0.07, 2)
sys.stdout.write({log!r}.format(wall=wall))
"""


@functools.cache
def _cbc_lot_component() -> ComponentProblem:
    """A min-lot component (2349 arcs, 1323 binaries) the heuristic cannot close at
    gap 0, whose MILP CBC proves in about a second."""
    from optimizer.bench import generate

    prepared = prepare(Instance.from_dict(generate(400, 400, seed=5, min_lot=True)))
    return max(prepared.problems, key=lambda p: p.n_arcs)


def _component_milp_saving(problem: ComponentProblem) -> float:
    """The component's optimum by scipy.optimize.milp, independently of PuLP and CBC."""
    from scipy import sparse
    from scipy.optimize import Bounds, LinearConstraint, milp

    n, cap, lot = problem.n_arcs, problem.arc_capacity_tonnes, problem.arc_min_lot_tonnes
    lots = np.flatnonzero(lot > 0)
    m, r = len(lots), np.arange(len(lots))
    shape = (m, n + m)

    def node_rows(node, count):
        return sparse.csr_matrix((np.ones(n), (node, np.arange(n))), shape=(count, n + m))

    def lot_rows(coef):  # x_k + coef_k y_k
        return sparse.csr_matrix(
            (np.r_[np.ones(m), coef], (np.r_[r, r], np.r_[lots, n + r])), shape
        )

    constraints = [
        LinearConstraint(
            node_rows(problem.arc_supply, len(problem.supply_tonnes)),
            -np.inf,
            problem.supply_tonnes,
        ),
        LinearConstraint(
            node_rows(problem.arc_demand, len(problem.demand_tonnes)),
            -np.inf,
            problem.demand_tonnes,
        ),
        LinearConstraint(lot_rows(-cap[lots]), -np.inf, 0.0),  # x <= cap y
        LinearConstraint(lot_rows(-lot[lots]), 0.0, np.inf),  # x >= lot y
    ]
    result = milp(
        np.r_[-problem.arc_saving_kg_co2e_per_t, np.zeros(m)],
        constraints=constraints,
        integrality=np.r_[np.zeros(n), np.ones(m)],
        bounds=Bounds(np.zeros(n + m), np.r_[cap, np.ones(m)]),
        options={"mip_rel_gap": 0.0},
    )
    assert result.status == 0, result.message
    return -result.fun


def _assert_feasible_in_component(problem: ComponentProblem, result) -> None:
    x = result.tonnes
    assert np.all(x >= 0) and np.all(x <= problem.arc_capacity_tonnes + 1e-9)
    lot = problem.arc_min_lot_tonnes
    assert np.all((x == 0) | (x >= lot - 1e-6))
    assert np.all(np.bincount(problem.arc_supply, x) <= problem.supply_tonnes + 1e-6)
    assert np.all(np.bincount(problem.arc_demand, x) <= problem.demand_tonnes + 1e-6)
    assert result.saving_kg_co2e == pytest.approx(float(problem.arc_saving_kg_co2e_per_t @ x))


def test_cbc_stopped_at_any_point_by_its_time_limit_is_never_called_optimal(monkeypatch):
    """Time limits from far below CBC's reading of the model to past its proof: each
    stops CBC somewhere (preprocessing, root, search) or lets it finish, depending on
    the machine's load. Whatever happened, "optimal" must come with a closed gap and
    the scipy optimum, and any other status with a bound at or above that optimum."""
    import optimizer.component as model

    problem = _cbc_lot_component()
    best = _component_milp_saving(problem)
    monkeypatch.setattr(model, "MIN_COMPONENT_TIME_S", 0.01)
    for limit in (0.01, 0.05, 0.1, 0.15, 0.25, 3.0):
        result = solve_component(problem, "cbc", time_limit_s=limit, mip_gap=0.0)
        _assert_feasible_in_component(problem, result)
        saving, bound = result.saving_kg_co2e, result.saving_bound_kg_co2e
        if result.status == "optimal":
            assert bound <= saving, limit  # gap 0 <= mip_gap, from proven bounds
            assert close(saving, best), limit
        else:
            assert result.status == "time_limit", limit
            assert bound > saving, limit
            assert saving <= best * (1 + 1e-9) and bound >= best * (1 - 1e-9), limit


def _use_fake_cbc(
    tmp_path, monkeypatch, *, log="", first_line="", sleep=1, wall=None, crash=0, columns=0
):
    """Put a stand-in for CBC's binary where PuLP looks for it: it sleeps ``sleep``
    times its -sec, then crashes, or writes ``first_line`` (and 1e6 t for ``columns``
    columns) as its solution file and ``log`` as its output, with a closing total of
    ``wall`` seconds (default: past its limit)."""
    fake = tmp_path / "cbc"
    fake.write_text(
        f"#!{sys.executable}\n"
        + _FAKE_CBC.format(
            sleep_factor=sleep,
            crash=crash,
            first_line=first_line,
            wall=wall,
            log=log,
            columns=columns,
        )
    )
    fake.chmod(0o755)
    monkeypatch.setattr(pulp, "PULP_CBC_CMD", lambda **kw: pulp.COIN_CMD(path=str(fake), **kw))


@pytest.mark.parametrize(
    "fake, status",
    [
        # Stopped in preprocessing, CBC says infeasible (read before as "optimal").
        (
            dict(log=_CBC_PREPROCESS_STOPPED, first_line="Integer infeasible - objective value 1"),
            "time_limit",
        ),
        # The same verdict before its limit: contradicted by the start, so "feasible".
        (
            dict(
                log=_CBC_PREPROCESS_STOPPED,
                first_line="Integer infeasible - objective value 1",
                sleep=0,
                wall="0.01",
            ),
            "feasible",
        ),
        (
            dict(
                log=_CBC_STOPPED_BOUND_IS_INCUMBENT,
                first_line="Stopped on time - objective value -100",
            ),
            "time_limit",
        ),
        (
            dict(log=_CBC_OPTIMAL_AT_LIMIT, first_line="Optimal - objective value -100"),
            "time_limit",
        ),
        # Crashed after a time-limited search: no answer from CBC at all.
        (dict(crash=1), "time_limit"),
    ],
    ids=[
        "preprocess-stopped",
        "infeasible-early",
        "bound-is-incumbent",
        "optimal-at-limit",
        "crash-after-limit",
    ],
)
def test_cbc_misreports_at_its_time_limit_are_no_proof(tmp_path, monkeypatch, fake, status):
    """CBC's outputs when its time limit fires early, replayed by a stand-in binary
    (so without the timing that makes the real one print them): the component keeps
    the heuristic's start and its LP bound, and is not called optimal."""
    from optimizer.heuristic import lot_heuristic

    _use_fake_cbc(tmp_path, monkeypatch, **fake)
    problem = _cbc_lot_component()
    start = lot_heuristic(problem)
    result = solve_component(problem, "cbc", time_limit_s=0.3, mip_gap=0.0)
    assert result.status == status
    assert result.saving_kg_co2e == pytest.approx(start.saving_kg_co2e)
    assert result.saving_bound_kg_co2e == pytest.approx(start.saving_bound_kg_co2e)
    assert result.saving_bound_kg_co2e > result.saving_kg_co2e
    _assert_feasible_in_component(problem, result)


def test_cbc_crash_before_its_time_limit_is_an_error(tmp_path, monkeypatch):
    _use_fake_cbc(tmp_path, monkeypatch, sleep=0, crash=1)
    with pytest.raises(pulp.PulpSolverError):
        solve_component(_cbc_lot_component(), "cbc", time_limit_s=30, mip_gap=0.0)


def test_an_lp_cbc_stopped_on_time_gives_no_flows_that_break_its_rows(tmp_path, monkeypatch):
    """Clp stopped mid-simplex hands back a point over its supplies' and demands'
    tonnes; PuLP reads it as a solution. Without a proven point, none is reported."""
    from optimizer.component import solve_with_pulp

    doc = random_doc(np.random.default_rng(3), 12, 12, n_materials=1)
    (problem,) = prepare(Instance.from_dict(doc)).problems
    assert problem.is_pure_lp
    _use_fake_cbc(
        tmp_path,
        monkeypatch,
        log=_CBC_LP_STOPPED,
        first_line="Stopped on time - objective value -46303362",
        columns=problem.n_arcs,
    )
    result = solve_with_pulp(problem, "cbc", time_limit_s=0.2, mip_gap=0.0)
    assert result.status == "time_limit"
    _assert_feasible_in_component(problem, result)
    assert not result.tonnes.any()
    assert result.saving_bound_kg_co2e >= linprog_saving(doc) * (1 - 1e-9)


def test_components_solve_separately_and_round_trip_as_json():
    doc = random_doc(np.random.default_rng(11), 30, 30, n_materials=3, lots=True)
    instance = Instance.from_dict(doc)
    prepared = prepare(instance)
    assert len(prepared.problems) == prepared.components
    total = 0.0
    for problem in prepared.problems:
        shipped = ComponentProblem.from_dict(problem.to_dict())
        result = ComponentResult.from_dict(solve_component(shipped, "highs", mip_gap=0).to_dict())
        assert result.status == "optimal"
        total += result.saving_kg_co2e
    assert close(total, milp_saving(doc))


def test_lot_heuristic_is_feasible_and_brackets_the_milp_optimum():
    from optimizer.heuristic import lot_heuristic

    for seed in range(6):
        doc = random_doc(np.random.default_rng(seed), 14, 14, n_materials=2, lots=True)
        low = high = 0.0
        for problem in prepare(Instance.from_dict(doc)).problems:
            found = lot_heuristic(problem)
            x, lot = found.tonnes, problem.arc_min_lot_tonnes
            assert np.all((x >= 0) & (x <= problem.arc_capacity_tonnes + 1e-9))
            assert np.all((x == 0) | (x >= lot - 1e-9))
            assert np.all(np.bincount(problem.arc_supply, x) <= problem.supply_tonnes + 1e-9)
            assert np.all(np.bincount(problem.arc_demand, x) <= problem.demand_tonnes + 1e-9)
            assert found.saving_kg_co2e == pytest.approx(problem.arc_saving_kg_co2e_per_t @ x)
            low += found.saving_kg_co2e
            high += found.saving_bound_kg_co2e
        best = milp_saving(doc)
        assert low <= best + 1e-6 * max(1.0, abs(best))
        assert best <= high + 1e-6 * max(1.0, abs(best))


def test_a_loose_gap_is_proven_by_the_heuristic_alone():
    from optimizer.bench import generate

    doc = generate(300, 300, seed=4, min_lot=True)
    solution = run(doc, "auto", mip_gap=0.05)
    assert solution["status"] == "optimal"
    assert solution["gap"] <= 0.05
    check_feasible(doc, solution)
    # The bound is the LP relaxation (lots dropped), computed here independently.
    assert saving_of(solution) <= linprog_saving(doc) * (1 + 1e-9)
    assert saving_of(solution) >= linprog_saving(doc) * (1 - 0.05)


def test_parallel_workers_give_the_same_optimum_and_report_progress():
    from optimizer.orchestrate import solve_prepared

    doc = random_doc(np.random.default_rng(21), 40, 40, n_materials=4, lots=True)
    expected = milp_saving(doc)
    calls = []
    prepared = prepare(Instance.from_dict(doc))
    solution = solve_prepared(
        prepared, "auto", mip_gap=0.0, workers=2, on_component=lambda d, t: calls.append((d, t))
    ).to_dict()
    assert solution["status"] == "optimal"
    check_feasible(doc, solution)
    assert close(saving_of(solution), expected)
    assert calls and calls[-1][0] == calls[-1][1]
