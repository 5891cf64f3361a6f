"""Arc generation against a plain double loop with its own haversine, plus
presolve and components against independent reasoning."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.candidates import (
    EARTH_RADIUS_KM,
    arc_components,
    generate_arcs,
    great_circle_km,
    presolve,
    unit_vectors,
)
from optimizer.instance import Instance
from tests.optimizer.helpers import haversine_km, random_doc, reference_arcs


def arcs_by_pair(doc: dict) -> dict:
    instance = Instance.from_dict(doc)
    arcs = generate_arcs(instance)
    out = {}
    for k in range(len(arcs)):
        key = (instance.supplies[arcs.supply[k]].id, instance.demands[arcs.demand[k]].id)
        assert key not in out
        out[key] = {
            "road_km": arcs.road_km[k],
            "net": arcs.net_kg_co2e_saved_per_t[k],
            "value": arcs.economic_value_kzt_per_t[k],
            "cap": arcs.capacity_tonnes[k],
        }
    return out


def near_a_limit(doc: dict, key, km: float) -> bool:
    """Pairs within a hair of a km limit may fall either way by rounding."""
    s = next(s for s in doc["supplies"] if s["id"] == key[0])
    d = next(d for d in doc["demands"] if d["id"] == key[1])
    limits = [x for x in (s.get("max_km"), d.get("max_km")) if x is not None]
    return any(abs(km - x) <= 1e-7 * max(1.0, x) for x in limits)


def assert_same_arcs(doc: dict) -> None:
    got, want = arcs_by_pair(doc), reference_arcs(doc)
    for key in set(got) ^ set(want):
        km = (got.get(key) or want.get(key))["road_km"]
        assert near_a_limit(doc, key, km), f"arc {key} differs (in ours: {key in got})"
    for key in set(got) & set(want):
        assert got[key]["road_km"] == pytest.approx(want[key]["road_km"], rel=1e-9, abs=1e-9)
        assert got[key]["net"] == pytest.approx(want[key]["net"], rel=1e-9, abs=1e-9)
        assert got[key]["value"] == pytest.approx(want[key]["value"], rel=1e-9, abs=1e-9)
        assert got[key]["cap"] == want[key]["cap"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n_s=st.integers(0, 40),
    n_d=st.integers(0, 40),
    n_materials=st.integers(1, 4),
    spread_km=st.sampled_from([2.0, 30.0, 400.0]),
    road_factor=st.sampled_from([1.0, 1.3, 2.0]),
)
def test_arcs_match_a_double_loop(seed, n_s, n_d, n_materials, spread_km, road_factor):
    rng = np.random.default_rng(seed)
    doc = random_doc(rng, n_s, n_d, n_materials=n_materials, spread_km=spread_km)
    doc["parameters"]["road_factor"] = road_factor
    doc["parameters"]["transport_kzt_per_tkm"] = 40.0
    # Windows, forbidden pairs and economics on a random part of the listings.
    months = ["2027-01-01", "2027-04-01", "2027-07-01", "2027-10-01", "2027-12-31"]
    for item, (start, end) in zip(
        doc["supplies"] + doc["demands"],
        [("available_from", "available_until")] * n_s + [("needed_from", "needed_until")] * n_d,
        strict=True,
    ):
        if rng.random() < 0.5:
            a, b = sorted(rng.choice(len(months), size=2))
            item[start], item[end] = months[a], months[b]
        if start == "available_from":
            item["fate_cost_kzt_per_t"] = float(rng.uniform(-500, 3000))
        else:
            for accept in item["accepts"]:
                accept["value_kzt_per_t"] = float(rng.uniform(-500, 3000))
    if n_s and n_d:
        doc["forbidden"] = [
            {"supply": f"s{rng.integers(n_s)}", "demand": f"d{rng.integers(n_d)}"} for _ in range(3)
        ]
        doc["forbidden"] = [dict(t) for t in {tuple(f.items()) for f in doc["forbidden"]}]
    assert_same_arcs(doc)
    doc["parameters"]["require_economic_value"] = True
    assert_same_arcs(doc)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n_s=st.integers(1, 30),
    n_d=st.integers(1, 30),
    n_owners=st.integers(1, 4),
    allow_internal=st.booleans(),
)
def test_internal_pairs_follow_the_owner_rule(seed, n_s, n_d, n_owners, allow_internal):
    doc = random_doc(np.random.default_rng(seed), n_s, n_d, n_materials=1, n_owners=n_owners)
    doc["parameters"]["allow_internal"] = allow_internal
    # Some listings of unknown owner: never internal.
    doc["supplies"][0].pop("owner")
    assert_same_arcs(doc)
    if not allow_internal:
        owner = {x["id"]: x.get("owner") for x in doc["supplies"] + doc["demands"]}
        assert all(owner[s] is None or owner[s] != owner[d] for s, d in arcs_by_pair(doc))


def test_one_owner_on_both_ends_is_not_an_arc_unless_allowed():
    doc = random_doc(np.random.default_rng(0), 1, 1, n_materials=1, spread_km=1)
    doc["supplies"][0].update(owner=7, tonnes=10, max_km=None)
    doc["demands"][0].update(owner="7", tonnes=10, max_km=None)
    assert arcs_by_pair(doc) == {}
    doc["parameters"]["allow_internal"] = True
    assert set(arcs_by_pair(doc)) == {("s0", "d0")}


def test_quality_limits():
    doc = {
        "supplies": [
            {
                "id": "wet",
                "lat": 43.2,
                "lon": 76.9,
                "material": "manure",
                "tonnes": 5,
                "quality": {"moisture_percent": 80},
            },
            {
                "id": "dry",
                "lat": 43.2,
                "lon": 76.9,
                "material": "manure",
                "tonnes": 5,
                "quality": {"moisture_percent": 40},
            },
            {"id": "unknown", "lat": 43.2, "lon": 76.9, "material": "manure", "tonnes": 5},
        ],
        "demands": [
            {
                "id": "picky",
                "lat": 43.21,
                "lon": 76.9,
                "tonnes": 5,
                "accepts": [
                    {"material": "manure", "quality_limits": {"moisture_percent": {"max": 60}}}
                ],
            },
            {
                "id": "easy",
                "lat": 43.21,
                "lon": 76.9,
                "tonnes": 5,
                "accepts": [{"material": "manure"}],
            },
        ],
    }
    assert set(arcs_by_pair(doc)) == {
        ("dry", "picky"),
        ("wet", "easy"),
        ("dry", "easy"),
        ("unknown", "easy"),
    }
    assert_same_arcs(doc)


def test_open_and_closed_windows():
    base = {"id": "s", "lat": 43.2, "lon": 76.9, "material": "m", "tonnes": 5}
    demand = {"id": "d", "lat": 43.2, "lon": 76.9, "tonnes": 5, "accepts": [{"material": "m"}]}
    cases = [
        ({}, {}, True),
        ({"available_until": "2027-03-01"}, {"needed_from": "2027-03-01"}, True),  # one day
        ({"available_until": "2027-03-01"}, {"needed_from": "2027-03-02"}, False),
        ({"available_from": "2027-06-01"}, {"needed_until": "2027-05-31"}, False),
        ({"available_from": "2027-06-01"}, {"needed_until": "2027-06-01"}, True),
    ]
    for s_extra, d_extra, expected in cases:
        doc = {"supplies": [base | s_extra], "demands": [demand | d_extra]}
        assert (("s", "d") in arcs_by_pair(doc)) is expected, (s_extra, d_extra)


def test_great_circle_distance_known_values():
    xyz = unit_vectors([0, 0, 90, 43.2], [0, 90, 0, 76.9])
    quarter = great_circle_km(xyz[[0]], xyz[[1]])[0]
    assert quarter == pytest.approx(EARTH_RADIUS_KM * math.pi / 2, rel=1e-12)
    assert great_circle_km(xyz[[0]], xyz[[2]])[0] == pytest.approx(quarter, rel=1e-12)
    antipode = unit_vectors([-43.2], [76.9 - 180])
    assert great_circle_km(xyz[[3]], antipode)[0] == pytest.approx(
        EARTH_RADIUS_KM * math.pi, rel=1e-9
    )
    rng = np.random.default_rng(0)
    lat = rng.uniform(-90, 90, (200, 2))
    lon = rng.uniform(-180, 180, (200, 2))
    ours = great_circle_km(unit_vectors(lat[:, 0], lon[:, 0]), unit_vectors(lat[:, 1], lon[:, 1]))
    theirs = [haversine_km(a, b, c, d) for (a, c), (b, d) in zip(lat, lon, strict=True)]
    assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-6)


def test_no_limits_means_every_compatible_pair():
    rng = np.random.default_rng(5)
    doc = random_doc(rng, 15, 12, n_materials=1, spread_km=5000.0)
    for item in doc["supplies"] + doc["demands"]:
        item["max_km"] = None
    got = arcs_by_pair(doc)
    assert len(got) == 15 * 12
    assert_same_arcs(doc)


def _instance_and_arcs(doc):
    instance = Instance.from_dict(doc)
    return instance, generate_arcs(instance)


def test_presolve_drops_what_cannot_help_and_keeps_pins():
    doc = random_doc(np.random.default_rng(2), 30, 30, n_materials=1, lots=True)
    doc["parameters"]["landfill_weight_kg_co2e_per_t"] = 100.0
    pairs = reference_arcs(doc)
    fate = {s["id"]: s["fate"] for s in doc["supplies"]}
    lot = {d["id"]: d.get("min_lot_tonnes") or 0 for d in doc["demands"]}

    def weighted(key):
        return pairs[key]["net"] + (100.0 if fate[key[0]] in ("landfill", "open_dump") else 0)

    losing = sorted(k for k in pairs if weighted(k) <= 0)
    assert losing, "the random instance should have some losing arcs"
    doc["pins"] = [{"supply": losing[0][0], "demand": losing[0][1], "tonnes": 0}]
    instance, arcs = _instance_and_arcs(doc)
    kept = presolve(instance, arcs)
    names = {
        (instance.supplies[i].id, instance.demands[j].id)
        for i, j in zip(kept.supply, kept.demand, strict=True)
    }
    expected = {
        k for k in pairs if weighted(k) > 0 and pairs[k]["cap"] > 0 and pairs[k]["cap"] >= lot[k[1]]
    } | {losing[0]}
    assert names == expected

    doc["parameters"]["objective"] = "tonnes_then_co2e"
    instance, arcs = _instance_and_arcs(doc)
    kept = presolve(instance, arcs)
    assert len(kept) == sum(
        1 for k in pairs if (pairs[k]["cap"] > 0 and pairs[k]["cap"] >= lot[k[1]]) or k == losing[0]
    )


def test_components_match_union_find():
    doc = random_doc(np.random.default_rng(9), 60, 60, n_materials=6, spread_km=80.0)
    instance, arcs = _instance_and_arcs(doc)
    n_s = len(instance.supplies)
    parent = list(range(n_s + len(instance.demands)))

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for i, j in zip(arcs.supply.tolist(), arcs.demand.tolist(), strict=True):
        parent[find(i)] = find(n_s + j)
    roots = [find(i) for i in arcs.supply.tolist()]
    count, label = arc_components(n_s, len(instance.demands), arcs)
    assert count == len(set(roots))
    # Same partition: two arcs share a label exactly when they share a root.
    for a in range(len(arcs)):
        for b in range(a + 1, min(a + 40, len(arcs))):
            assert (label[a] == label[b]) == (roots[a] == roots[b])
    sizes = np.bincount(label)
    assert list(sizes) == sorted(sizes, reverse=True)


def test_empty_sides_give_no_arcs():
    for doc in ({}, {"supplies": [{"id": "s", "lat": 0, "lon": 0, "material": "m", "tonnes": 1}]}):
        instance, arcs = _instance_and_arcs(doc)
        assert len(arcs) == 0
        assert arc_components(len(instance.supplies), len(instance.demands), arcs)[0] == 0
