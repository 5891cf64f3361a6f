"""The benchmark at a small size: reproducible, references agree, greedy is beaten."""

from __future__ import annotations

import io

import pytest

from optimizer.bench import (
    CITIES,
    CITY_LAT,
    CITY_LON,
    GROUPS,
    MATERIALS,
    generate,
    greedy_saving,
    run,
)
from optimizer.candidates import generate_arcs
from optimizer.instance import Instance


def test_generator_is_reproducible_and_city_like():
    a, b = generate(80, 60, seed=3), generate(80, 60, seed=3)
    assert a == b
    assert generate(80, 60, seed=4) != a
    assert len(MATERIALS) == 30 and len(GROUPS) == 5
    instance = Instance.from_dict(a)
    assert len(instance.supplies) == 80 and len(instance.demands) == 60
    for demand in instance.demands:
        assert 2 <= len(demand.accepts) <= 3
        groups = {
            g
            for g, (names, _, _) in GROUPS.items()
            for acc in demand.accepts
            if acc.material in names
        }
        assert len(groups) == 1
    # Around Almaty: within ~1 degree.
    assert all(abs(s.lat - 43.24) < 1 and abs(s.lon - 76.91) < 1.5 for s in instance.supplies)


def test_cities_move_the_almaty_layout_to_each_city_by_population():
    one, five = generate(3000, 2000, seed=3), generate(3000, 2000, seed=3, cities=5)
    shifts = [(lat - CITY_LAT, lon - CITY_LON) for _, lat, lon, _ in CITIES[:5]]
    counts = [0] * 5
    for key in ("supplies", "demands"):
        for a, b in zip(one[key], five[key], strict=True):
            # Everything but the place is the one-city listing's ...
            assert {k: v for k, v in a.items() if k not in ("lat", "lon")} == {
                k: v for k, v in b.items() if k not in ("lat", "lon")
            }
            # ... and the place is its place moved by one city's offset from Almaty.
            moved = [
                k
                for k, (dlat, dlon) in enumerate(shifts)
                if abs(b["lat"] - a["lat"] - dlat) < 2e-6 and abs(b["lon"] - a["lon"] - dlon) < 2e-6
            ]
            assert len(moved) == 1
            counts[moved[0]] += 1
    population = [c[3] for c in CITIES[:5]]
    for count, people in zip(counts, population, strict=True):
        assert count / 5000 == pytest.approx(people / sum(population), abs=0.03)
    assert generate(300, 200, seed=3, cities=1) == generate(300, 200, seed=3)
    with pytest.raises(ValueError):
        generate(10, 10, seed=3, cities=len(CITIES) + 1)


@pytest.mark.parametrize("min_lot", [False, True])
def test_bench_run_agrees_with_references(min_lot):
    out = io.StringIO()
    figures = run(150, 150, seed=2, min_lot=min_lot, time_limit_s=30, out=out)
    assert figures["status"] == "optimal"
    assert figures["arcs"] > 100
    ours = figures["saving_kg_co2e"]
    references = {r["name"]: r["saving_kg_co2e"] for r in figures["references"]}
    assert len(references) == 2
    for value in references.values():
        if min_lot:
            # The references solve the LP relaxation: an upper bound on the MILP.
            assert ours <= value * (1 + 1e-9)
        else:
            assert ours == pytest.approx(value, rel=1e-6)
    assert ours >= figures["greedy_saving_kg_co2e"] * (1 - 1e-9)
    text = out.getvalue()
    for words in ("arcs", "components", "candidates", "greedy", "min-cost flow", "linprog"):
        assert words in text


def test_bench_prices_with_the_references_in_their_own_process():
    out = io.StringIO()
    figures = run(
        150, 150, seed=2, time_limit_s=30, out=out, pricing="on", separate_references=True
    )
    assert figures["status"] == "optimal"
    assert figures["pricing"]["used"] and figures["pricing"]["proven"]
    for reference in figures["references"]:
        assert figures["saving_kg_co2e"] == pytest.approx(reference["saving_kg_co2e"], rel=1e-6)
    assert figures["references_peak_rss_mib"] > 0
    text = out.getvalue()
    assert "pricing" in text and "optimal over all arcs" in text
    assert "references in their own process" in text


def test_greedy_on_a_hand_made_case():
    # s1 (10 t) can go to d1 (saves 10/t) or d2 (9/t); s2 (10 t) only to d1 (8/t).
    # Greedy sends s1 -> d1 (100) and leaves s2 stranded; the optimum is 90 + 80 = 170.
    doc = {
        "parameters": {"transport_kg_co2e_per_tkm": 0.0},
        "supplies": [
            {"id": "s1", "lat": 0, "lon": 0, "material": "a", "tonnes": 10},
            {"id": "s2", "lat": 0, "lon": 0, "material": "b", "tonnes": 10},
        ],
        "demands": [
            {
                "id": "d1",
                "lat": 0,
                "lon": 0,
                "tonnes": 10,
                "accepts": [
                    {"material": "a", "credit_kg_co2e_per_t": 10},
                    {"material": "b", "credit_kg_co2e_per_t": 8},
                ],
            },
            {
                "id": "d2",
                "lat": 0,
                "lon": 0,
                "tonnes": 10,
                "accepts": [{"material": "a", "credit_kg_co2e_per_t": 9}],
            },
        ],
    }
    instance = Instance.from_dict(doc)
    assert greedy_saving(instance, generate_arcs(instance)) == pytest.approx(100.0)
    from optimizer.model import solve

    assert solve(instance).saved_kg_co2e == pytest.approx(170.0)


def test_tree_rss_sampler_counts_a_grandchild_process():
    import subprocess
    import sys

    from optimizer.bench import TreeRssSampler

    # A child that starts its own child holding 300 MiB: getrusage would see neither
    # while they run, nor the grandchild ever.
    holder = "b = bytearray(300 * 2**20); import time; time.sleep(1.5)"
    starter = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {holder!r}])"
    with TreeRssSampler(interval_s=0.05) as sampler:
        subprocess.run([sys.executable, "-c", starter], check=True)
    assert sampler.peak_mib is not None and sampler.peak_mib >= 300
