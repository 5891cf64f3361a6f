"""Material groups (optimizer.groups): the instance's all-arcs optimum is the sum of
its groups' optima, checked with scipy (linprog / milp) on the plain double loop of
tests/optimizer/helpers.py, for the instance and for each group on its own; and a
priced run, solved group by group (optimizer.orchestrate.solve_groups), against
that optimum."""

from __future__ import annotations

import math
from unittest import mock

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from optimizer import orchestrate, pricing
from optimizer.groups import material_groups, pair_count
from optimizer.instance import Instance
from optimizer.orchestrate import solve
from tests.optimizer.helpers import (
    baseline,
    check_feasible,
    linprog_saving,
    milp_saving,
    random_doc,
)
from tests.optimizer.test_pricing import HYPOTHESIS, saving_of, sparse_start, with_every_feature
from tests.optimizer.test_processors import linprog_best, random_processor_doc


def close(a: float, b: float, rel: float = 1e-7) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-6)


def several_groups_doc(rng, n_s: int, n_d: int, n_materials: int, **kw) -> dict:
    """A random instance whose demands take materials of one pair only (m0 or m1,
    m2 or m3, ...), so that the materials fall into several groups."""
    doc = random_doc(rng, n_s, n_d, n_materials=n_materials, max_tonnes=80, **kw)

    def pair(accept: dict) -> int:
        return int(accept["material"][1:]) // 2

    for d in doc["demands"]:
        d["accepts"] = [a for a in d["accepts"] if pair(a) == pair(d["accepts"][0])]
    return doc


def ids(items) -> list[str]:
    return [x["id"] for x in items]


def check_partition(doc: dict, groups: list[Instance]) -> None:
    """Every listing in exactly one group, in the instance's order, its pins and
    forbidden pairs with it; no material in two groups' arcs."""
    docs = [g.to_dict() for g in groups]
    for key in ("supplies", "demands"):
        seen = [i for g in docs for i in ids(g[key])]
        assert sorted(seen) == sorted(ids(doc[key]))
        order = {i: k for k, i in enumerate(ids(doc[key]))}
        for g in docs:
            assert [order[i] for i in ids(g[key])] == sorted(order[i] for i in ids(g[key]))
    for key in ("pins", "forbidden"):
        assert sum(len(g[key]) for g in docs) <= len(doc.get(key, []))
        for g in docs:
            mine = set(ids(g["supplies"])) | set(ids(g["demands"]))
            assert all(p["supply"] in mine and p["demand"] in mine for p in g[key])
    for pin in doc.get("pins", []):  # a pin is never lost
        assert sum(pin in g["pins"] for g in docs) == 1
    offered = [{s["material"] for s in g["supplies"]} for g in docs]
    taken = [{a["material"] for d in g["demands"] for a in d["accepts"]} for g in docs]
    for k in range(len(docs)):
        for other in range(len(docs)):
            if k != other:
                assert not offered[k] & taken[other]


@HYPOTHESIS
@given(
    seed=st.integers(0, 2**32 - 1),
    n_s=st.integers(0, 25),
    n_d=st.integers(0, 25),
    n_materials=st.integers(1, 6),
    lots=st.booleans(),
    weight=st.sampled_from([0.0, 250.0]),
    pin=st.booleans(),
)
def test_the_optimum_is_the_sum_of_the_groups_optima(
    seed, n_s, n_d, n_materials, lots, weight, pin
):
    rng = np.random.default_rng(seed)
    doc = several_groups_doc(rng, n_s, n_d, n_materials, lots=lots, landfill_weight=weight)
    doc = with_every_feature(doc, rng, pin)
    groups = material_groups(Instance.from_dict(doc))
    check_partition(doc, groups)
    best = milp_saving if lots else linprog_saving
    docs = [g.to_dict() for g in groups]
    assert close(sum(best(g) for g in docs), best(doc))
    assert close(sum(baseline(g) for g in docs), baseline(doc))


@HYPOTHESIS
@given(seed=st.integers(0, 2**32 - 1), n_s=st.integers(1, 12), n_d=st.integers(1, 8))
def test_plants_keep_their_inputs_and_outputs_in_one_group(seed, n_s, n_d):
    rng = np.random.default_rng(seed)
    doc = random_processor_doc(rng, n_s, n_d, 2)
    other = several_groups_doc(rng, n_s, n_d, 3)  # materials m0..m2, nobody's input
    doc["supplies"] += [{**s, "id": f"o{s['id']}"} for s in other["supplies"]]
    doc["demands"] += [{**d, "id": f"o{d['id']}"} for d in other["demands"]]
    groups = material_groups(Instance.from_dict(doc))
    check_partition(doc, groups)
    plants = [ids(g.to_dict().get("processors", [])) for g in groups]
    assert sorted(p for ps in plants for p in ps) == sorted(ids(doc["processors"]))
    assert sum(bool(ps) for ps in plants) == 1  # both plants take both residues
    total = sum(linprog_best(g.to_dict())[1] for g in groups)
    assert close(total, linprog_best(doc)[1])


@HYPOTHESIS
@given(
    seed=st.integers(0, 2**32 - 1),
    n_s=st.integers(1, 30),
    n_d=st.integers(1, 30),
    n_materials=st.integers(2, 6),
    pin=st.booleans(),
)
def test_a_priced_run_group_by_group_is_the_all_arcs_optimum(seed, n_s, n_d, n_materials, pin):
    rng = np.random.default_rng(seed)
    doc = several_groups_doc(rng, n_s, n_d, n_materials, landfill_weight=250.0)
    doc = with_every_feature(doc, rng, pin)
    instance = Instance.from_dict(doc)
    with sparse_start():
        one = solve(instance, pricing="on").to_dict()
    assert one["status"] == "optimal", one["message"]
    check_feasible(doc, one)
    assert close(saving_of(one), linprog_saving(doc), 1e-6)
    assert close(one["baseline_kg_co2e"], baseline(doc))
    pricing = one["stats"]["pricing"]
    assert len(pricing["groups"]) == len(material_groups(instance))
    if pricing["used"]:
        assert pricing["proven"]
        assert pricing["rounds"] == max(g.get("rounds", 0) for g in pricing["groups"])
    keys = [(f["supply"], f["demand"]) for f in one["flows"]]
    order_s = {s["id"]: k for k, s in enumerate(doc["supplies"])}
    order_d = {d["id"]: k for k, d in enumerate(doc["demands"])}
    assert keys == sorted(keys, key=lambda k: (order_s[k[0]], order_d[k[1]]))


def test_groups_in_two_processes_give_the_same_solution():
    rng = np.random.default_rng(5)
    doc = several_groups_doc(rng, 40, 40, 5)
    instance = Instance.from_dict(doc)
    # Three groups on two workers: two in the pool, the third after them with both
    # workers on its rounds' flows.
    assert len(material_groups(instance)) == 3
    one, two = (solve(instance, pricing="on", workers=w).to_dict() for w in (1, 2))
    for solution in (one, two):
        solution["stats"] = None  # timings differ
    assert one == two
    assert close(saving_of(one), linprog_saving(doc), 1e-6)


def test_a_pin_that_cannot_hold_makes_the_whole_run_infeasible():
    doc = several_groups_doc(np.random.default_rng(2), 10, 10, 4)
    # The pin's demand does not take the supply's material: no such arc, as a whole
    # run would say; its group keeps both listings and says it.
    supply = doc["supplies"][0]
    demand = next(
        d for d in doc["demands"] if all(a["material"] != supply["material"] for a in d["accepts"])
    )
    doc["pins"] = [{"supply": supply["id"], "demand": demand["id"], "tonnes": 1.0}]
    instance = Instance.from_dict(doc)
    grouped = solve(instance, pricing="on").to_dict()
    whole = solve(instance, pricing="off").to_dict()
    assert grouped["status"] == whole["status"] == "infeasible"
    assert grouped["message"] == whole["message"]
    assert close(grouped["baseline_kg_co2e"], whole["baseline_kg_co2e"])


def test_under_auto_the_groups_are_priced_but_the_smallest():
    rng = np.random.default_rng(7)
    doc = several_groups_doc(rng, 30, 30, 4)
    instance = Instance.from_dict(doc)
    groups = material_groups(instance)
    assert len(groups) >= 2
    pairs = sorted(pair_count(g) for g in groups)
    # Between the smallest and the largest group's pairs: those below are enumerated.
    with (
        mock.patch.object(pricing, "PRICING_MIN_ARCS", 10),
        mock.patch.object(orchestrate, "GROUP_PRICING_MIN_PAIRS", pairs[-1]),
    ):
        solution = solve(instance, pricing="auto").to_dict()
    used = [g["used"] for g in solution["stats"]["pricing"]["groups"]]
    assert used[0] and not any(used[1:])  # largest first
    assert close(saving_of(solution), linprog_saving(doc), 1e-6)


@HYPOTHESIS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(6, 30))
def test_groups_with_lots_are_enumerated_and_the_others_priced(seed, n):
    rng = np.random.default_rng(seed)
    doc = several_groups_doc(rng, n, n, 6)
    # Lots on the demands of the first material pair only: one group is a MILP.
    for d in doc["demands"]:
        if int(d["accepts"][0]["material"][1:]) // 2 == 0:
            d["min_lot_tonnes"] = float(rng.choice([5.0, 20.0]))
    instance = Instance.from_dict(doc)
    groups = material_groups(instance)
    with_lots = [g for g in groups if orchestrate.takes_a_time_share(g)]
    if not with_lots or len(groups) < 2:
        return
    whole, decision = pricing.use_pricing(instance, "on")
    assert not whole and "minimum lots" in decision["reason"]
    assert orchestrate.priced_in_parts(instance, decision)
    with sparse_start():
        solution = solve(instance, pricing="on").to_dict()
    check_feasible(doc, solution)
    expected = milp_saving(doc)  # scipy's milp over every arc of the whole instance
    gap = instance.parameters.mip_gap
    assert saving_of(solution) <= expected + 1e-6 * max(1.0, expected)
    assert saving_of(solution) >= expected * (1 - gap) - 1e-6
    entries = solution["stats"]["pricing"]["groups"]
    assert len(entries) == len(groups)
    for entry in entries:
        if entry["used"]:
            assert entry["proven"]
        else:
            # Each group says why it was enumerated: its lots, too small to price, or
            # nothing in it can match.
            assert any(
                why in entry["reason"]
                for why in ("minimum lots", "small group", "no supply and demand can match")
            ), entry["reason"]
    assert sum("minimum lots" in e.get("reason", "") for e in entries) == len(with_lots)


def test_time_limits_side_by_side_share_only_among_groups_with_lots():
    doc = several_groups_doc(np.random.default_rng(3), 30, 30, 6)
    for d in doc["demands"]:
        if int(d["accepts"][0]["material"][1:]) // 2 < 2:
            d["min_lot_tonnes"] = 5.0
    groups = material_groups(Instance.from_dict(doc))
    shared = [g for g in groups if orchestrate.takes_a_time_share(g)]
    assert len(shared) == 2 and len(groups) == 3
    limits = orchestrate.group_time_limits(groups, 60.0)
    pairs = sum(pair_count(g) for g in shared)
    for group, limit in zip(groups, limits, strict=True):
        if orchestrate.takes_a_time_share(group):
            assert limit == max(60.0 * pair_count(group) / pairs, 1.0)
        else:
            assert limit == 60.0  # a transport LP group keeps the whole limit
