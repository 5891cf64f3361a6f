"""Processor chains (issue 19, phase B): a plant's output feeding another plant, opt-in
with ``output.to_processors``, in instances with periods. Checked against the
independent time-expanded LP of tests/optimizer/periods_reference.py and by hand."""

from __future__ import annotations

import copy

import pytest

from optimizer.instance import Instance
from optimizer.model import solve
from tests.optimizer.test_periods import check_against_reference, close


def run(doc: dict, solver: str = "auto") -> dict:
    return solve(Instance.from_dict(doc), solver=solver).to_dict()


def _plant(pid, accepts, output, capacity, lon, to_processors=True):
    return {
        "id": pid,
        "lat": 43.25,
        "lon": lon,
        "capacity_tonnes": capacity,
        "treatment_kg_co2e_per_t": 0,
        "accepts": [{"material": m} for m in accepts],
        "output": {"material": output[0], "yield": output[1], "to_processors": to_processors},
    }


def three_stages(middle_capacity=120) -> dict:
    """Demolition panels -> shredder (yield 0.9) -> board plant (0.8) -> finisher (0.5)
    -> a demand for finished boards. Only the last step earns (credit 500 kg/t); the
    board plant's capacity is the bottleneck."""
    return {
        "parameters": {"transport_kg_co2e_per_tkm": 0.1, "mip_gap": 1e-9},
        "periods": {"start": "2027-01", "count": 3},
        "supplies": [{"id": "s", "lat": 43.25, "lon": 76.90, "material": "panels", "tonnes": 900}],
        "processors": [
            _plant("shredder", ["panels"], ("chips", 0.9), 3000, 76.91),
            _plant("boards", ["chips"], ("board", 0.8), middle_capacity, 76.92),
            _plant("finisher", ["board"], ("finished", 0.5), 3000, 76.93, to_processors=False),
        ],
        "demands": [
            {
                "id": "d",
                "lat": 43.25,
                "lon": 76.94,
                "tonnes": 3000,
                "accepts": [{"material": "finished", "credit_kg_co2e_per_t": 500}],
            }
        ],
    }


def test_chain_whose_middle_stage_is_the_bottleneck():
    doc = three_stages()
    out = run(doc)
    check_against_reference(doc, out)
    plants = {p["id"]: p for p in out["processors"]}
    # 120 t a horizon through the board plant (40 t a month, spread evenly), so the
    # shredder takes 120 / 0.9 t and no more (more would only cost transport), the
    # finisher 0.8 x 120 t, and the demand receives 0.5 x 0.8 x 120 t.
    assert close(plants["boards"]["input_tonnes"], 120)
    assert close(plants["shredder"]["input_tonnes"], 120 / 0.9)
    assert close(plants["finisher"]["input_tonnes"], 0.8 * 120)
    received = sum(f["tonnes"] for f in out["flows"] if f["demand"] == "d")
    assert close(received, 0.5 * 0.8 * 120)
    kinds = {(f["supply"], f["demand"]): f["kind"] for f in out["flows"]}
    assert kinds[("shredder", "boards")] == kinds[("boards", "finisher")] == "chain"
    assert kinds[("s", "shredder")] == "to_processor"
    assert kinds[("finisher", "d")] == "from_processor"
    # Residue moved counts what left the supply once, not again at each stage.
    assert close(out["tonnes_moved"], 120 / 0.9)
    # More board capacity moves more, through every stage.
    wider = run(three_stages(middle_capacity=300))
    assert wider["tonnes_moved"] > out["tonnes_moved"]


def test_chain_with_stores_and_both_solvers():
    doc = three_stages()
    doc["processors"][1]["capacity_tonnes_per_period"] = [0, 60, 60]
    doc["processors"][1]["storage"] = {"capacity_tonnes": 50, "loss_fraction_per_period": 0.1}
    for solver in ("auto", "highs", "cbc"):
        check_against_reference(doc, run(doc, solver))


def test_without_opt_in_plants_do_not_feed_plants():
    doc = three_stages()
    for plant in doc["processors"]:
        plant["output"]["to_processors"] = False
    out = run(doc)
    assert all(f["kind"] != "chain" for f in out["flows"])
    assert out["flows"] == []  # nothing earns without the chain
    check_against_reference(doc, out)
    # Without the key at all, the same.
    bare = copy.deepcopy(doc)
    for plant in bare["processors"]:
        del plant["output"]["to_processors"]
    assert run(bare)["objective_kg_co2e"] == out["objective_kg_co2e"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: (
                d["processors"][2].update(accepts=[{"material": "board"}, {"material": "chips"}])
                or d["processors"][2]["output"].update(to_processors=True, material="panels")
            ),
            "processors: the chain shredder -> boards -> finisher -> shredder is a cycle",
        ),
        (
            lambda d: d["processors"][0].update(accepts=[{"material": "chips"}]),
            "processors: the chain shredder -> shredder is a cycle",
        ),
        (
            lambda d: d.pop("periods"),
            "processors[0].output.to_processors: chains are solved in an instance with periods",
        ),
        (
            lambda d: d["processors"][0]["output"].update(to_processors="yes"),
            "processors[0].output.to_processors must be true or false, got 'yes'",
        ),
    ],
)
def test_refused_chains_name_the_plants(change, message):
    doc = three_stages()
    change(doc)
    with pytest.raises(ValueError) as caught:
        Instance.from_dict(doc)
    assert str(caught.value).startswith(message), str(caught.value)


def test_round_trip_keeps_the_flag():
    instance = Instance.from_dict(three_stages())
    again = Instance.from_dict(instance.to_dict())
    assert [p.output.to_processors for p in again.processors] == [True, True, False]
