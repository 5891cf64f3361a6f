"""The model's optimum against independent references: brute force on tiny
instances, scipy's linprog / milp on random ones (hypothesis), and the edge
cases that must end in a clear status rather than a crash."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.instance import Instance
from optimizer.model import solve, solve_component
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
    from optimizer.model import solve_prepared

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
