"""The benchmark at a small size: reproducible, references agree, greedy is beaten."""

from __future__ import annotations

import io

import pytest

from optimizer.bench import GROUPS, MATERIALS, generate, greedy_saving, run
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
