"""The permit rule in the optimizer's pure core (issue 21): a hazardous supply goes
only to a demand or plant whose ``permitted_codes`` hold its code. No database mark:
any ORM access fails these tests."""

from __future__ import annotations

import copy
import math

import pytest

from optimizer.candidates import generate_arcs
from optimizer.instance import Instance
from optimizer.orchestrate import solve
from tests.optimizer.helpers import brute_force, check_feasible, reference_arcs

OIL = "13 02 05*"


def _doc(*, permitted_d1=None, hazardous=True) -> dict:
    """One waste-oil supply (10 t), two re-refiners: d1 near (better), d2 far."""
    supply = {
        "id": "s1",
        "lat": 43.30,
        "lon": 76.93,
        "material": "oil",
        "tonnes": 10,
        "fate": "landfill",
        "fate_kg_co2e_per_t": 50,
        "owner": "bus-park",
    }
    if hazardous:
        supply["hazardous_code"] = OIL
    d1 = {
        "id": "d1",
        "lat": 43.30,
        "lon": 76.85,
        "tonnes": 10,
        "owner": "near",
        "accepts": [{"material": "oil", "credit_kg_co2e_per_t": 100}],
    }
    if permitted_d1 is not None:
        d1["permitted_codes"] = permitted_d1
    d2 = {
        "id": "d2",
        "lat": 43.60,
        "lon": 76.60,
        "tonnes": 4,
        "owner": "far",
        "permitted_codes": ["130205"],  # the same code without spaces or "*"
        "accepts": [{"material": "oil", "credit_kg_co2e_per_t": 100}],
    }
    return {"supplies": [supply], "demands": [d1, d2]}


def _pairs(doc: dict) -> set[tuple[str, str]]:
    instance = Instance.from_dict(doc)
    arcs = generate_arcs(instance)
    return {
        (instance.source_ids[i], instance.sink_ids[j])
        for i, j in zip(arcs.supply.tolist(), arcs.demand.tolist(), strict=True)
    }


def _flows(solution: dict) -> dict[tuple[str, str], float]:
    return {(f["supply"], f["demand"]): f["tonnes"] for f in solution["flows"] if f["tonnes"] > 0}


def test_no_arc_to_a_demand_without_a_permit():
    doc = _doc()
    assert _pairs(doc) == {("s1", "d2")} == set(reference_arcs(doc))


def test_a_permit_for_another_code_does_not_count():
    doc = _doc(permitted_d1=["13 02 08*"])
    assert _pairs(doc) == {("s1", "d2")}


def test_the_permit_opens_the_arc():
    doc = _doc(permitted_d1=[OIL])
    assert _pairs(doc) == {("s1", "d1"), ("s1", "d2")} == set(reference_arcs(doc))


@pytest.mark.parametrize("solver", ["cbc", "highs", "auto"])
def test_pulp_proposes_the_pair_only_with_the_permit(solver):
    """A real solve: without d1's permit the oil goes to the far d2 (4 t) only; with it,
    all 10 t go to the nearer d1. Each optimum is checked by brute force."""
    for doc, expected in (
        (_doc(), {("s1", "d2"): 4.0}),
        (_doc(permitted_d1=[OIL]), {("s1", "d1"): 10.0}),
    ):
        solution = solve(Instance.from_dict(doc), solver=solver).to_dict()
        assert solution["status"] == "optimal", solution["message"]
        check_feasible(doc, solution)
        assert _flows(solution) == pytest.approx(expected)
        _tonnes, best = brute_force(doc)
        saved = solution["baseline_kg_co2e"] - solution["objective_kg_co2e"]
        assert math.isclose(saved, best, rel_tol=1e-6, abs_tol=1e-6)


def test_an_instance_without_the_fields_gives_todays_arcs_and_document():
    """No hazardous_code: permitted_codes change nothing, and the document round-trips
    without the new keys (an old instance reads and writes as before)."""
    plain = _doc(hazardous=False)
    with_permits = copy.deepcopy(plain)
    with_permits["demands"][0]["permitted_codes"] = ["17 01 01"]
    assert _pairs(plain) == _pairs(with_permits) == {("s1", "d1"), ("s1", "d2")}
    written = Instance.from_dict(plain).to_dict()
    assert "hazardous_code" not in written["supplies"][0]
    assert "permitted_codes" not in written["demands"][0]
    assert (
        solve(Instance.from_dict(plain)).to_dict()["flows"]
        == (solve(Instance.from_dict(with_permits)).to_dict()["flows"])
    )


def test_a_plant_needs_the_permit_too():
    doc = _doc(permitted_d1=[OIL])
    doc["demands"] = doc["demands"][:1]
    plant = {
        "id": "p1",
        "lat": 43.30,
        "lon": 76.90,
        "capacity_tonnes": 10,
        "treatment_kg_co2e_per_t": 0,
        "accepts": [{"material": "oil", "credit_kg_co2e_per_t": 0}],
    }
    doc["processors"] = [plant]
    assert ("s1", "p1") not in _pairs(doc)
    plant["permitted_codes"] = [OIL]
    assert ("s1", "p1") in _pairs(doc)
    assert Instance.from_dict(doc).to_dict()["processors"][0]["permitted_codes"] == ["130205"]


def test_the_schema_refuses_a_bad_permitted_codes():
    doc = _doc()
    doc["demands"][0]["permitted_codes"] = "13 02 05*"
    with pytest.raises(ValueError, match="permitted_codes"):
        Instance.from_dict(doc)
