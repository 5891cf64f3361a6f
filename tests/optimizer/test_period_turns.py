"""How a period run shares its time among pieces (optimizer.period_turns), and the
lot dive's held-open columns (optimizer.lots_periods).

The time sharing is checked as pure functions and with a fake clock (no timed
tests): the dives and MIPs are stand-ins that report what they were given and
advance the clock by what they "used".
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from optimizer import orchestrate, period_turns
from optimizer.component import MIN_COMPONENT_TIME_S
from optimizer.instance import Instance
from optimizer.lots_periods import lot_dive
from optimizer.period_turns import Piece, dive_budget, improvement_plan
from optimizer.solve_periods import prepare_periods
from tests.optimizer.periods_reference import Reference
from tests.optimizer.test_periods import check_against_reference


def test_no_mip_when_the_summed_gap_is_within_the_mip_gap():
    # The sum's gap (10 + 10) / 1,100 = 1.8 %: piece 1 (10 %) goes to the MIP, not
    # piece 0 (1 %, within its gap).
    pieces = [Piece(100, 1000.0, 1010.0), Piece(100, 100.0, 110.0)]
    assert [k for k, _ in improvement_plan(pieces, 30.0, 0.01)] == [1]
    # Piece 1's own gap is 2 %, the sum's (1 + 2) / 1,100 = 0.27 %: no MIP, however
    # much time is left.
    pieces = [Piece(100, 1000.0, 1001.0), Piece(100, 100.0, 102.0)]
    assert improvement_plan(pieces, 30.0, 0.01) == []


def test_the_largest_absolute_gap_goes_first_with_time_in_proportion():
    pieces = [
        Piece(10, 100.0, 110.0),  # 10 % but 10 kg
        Piece(50, 10_000.0, 10_300.0),  # 3 %, 300 kg
        Piece(20, 1_000.0, 1_090.0),  # 9 %, 90 kg
        Piece(90, 5_000.0, 5_001.0),  # within its own gap: not taken
        Piece(70, 1_000.0, 2_000.0, done=True),  # already improved
    ]
    plan = improvement_plan(pieces, 40.0, 0.01)
    assert [k for k, _ in plan] == [1, 2, 0]
    budgets = dict(plan)
    assert budgets[1] == pytest.approx(40.0 * 300 / 400)
    assert budgets[2] == pytest.approx(40.0 * 90 / 400)
    assert budgets[0] == pytest.approx(40.0 * 10 / 400)


def test_pieces_without_a_schedule_come_first_even_out_of_time():
    pieces = [
        Piece(100, 1000.0, 1100.0),
        Piece(300, 0.0, 0.0, scheduled=False),
        Piece(100, 0.0, 0.0, scheduled=False),
    ]
    plan = improvement_plan(pieces, 50.0, 0.01)
    assert [k for k, _ in plan] == [1, 2, 0]
    assert plan[0][1] == pytest.approx(50.0 * 300 / 500)
    # No time left: they still get the least a piece is given; the gap one does not.
    assert improvement_plan(pieces, 0.0, 0.01) == [
        (1, MIN_COMPONENT_TIME_S),
        (2, MIN_COMPONENT_TIME_S),
    ]


def test_workers_share_their_time_never_more_than_what_is_left_each():
    pieces = [Piece(10, 100.0, 190.0), Piece(10, 100.0, 110.0)]
    assert improvement_plan(pieces, 10.0, 0.01, workers=2) == [
        (0, pytest.approx(10.0)),  # 2 x 10 x 90 / 100 = 18, capped at the 10 left
        (1, pytest.approx(2.0)),
    ]


def test_a_dive_gets_its_size_share_of_the_time_left():
    assert dive_budget(60.0, 25, 100) == pytest.approx(15.0)
    assert dive_budget(60.0, 100, 100) == pytest.approx(60.0)


class _Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _run_with_stand_ins(monkeypatch, problems, dives, mips, time_limit_s=60.0, mip_gap=0.01):
    """solve_in_turn with stand-ins: ``dives[name] = (seconds used, saving, bound)``,
    ``mips[name] = (seconds used, saving, bound)``; returns the calls and results."""
    clock, calls = _Clock(), []

    def fake_dive(problem, budget):
        used, saving, bound = dives[problem.name]
        calls.append(("dive", problem.name, budget))
        clock.now += min(used, budget)
        return SimpleNamespace(
            tonnes=np.zeros(1), stock=None, saving_kg_co2e=saving, saving_bound_kg_co2e=bound
        )

    def fake_improve(problem, dive, solver, budget, gap):
        used, saving, bound = mips[problem.name]
        calls.append(("mip", problem.name, budget))
        clock.now += min(used, budget)
        return SimpleNamespace(status="optimal", saving_kg_co2e=saving, saving_bound_kg_co2e=bound)

    def fake_dive_result(problem, dive, gap, status):
        return SimpleNamespace(
            status=status,
            saving_kg_co2e=dive.saving_kg_co2e,
            saving_bound_kg_co2e=dive.saving_bound_kg_co2e,
        )

    monkeypatch.setattr(period_turns, "lot_dive", fake_dive)
    monkeypatch.setattr(period_turns, "improve_dive", fake_improve)
    monkeypatch.setattr(period_turns, "dive_result", fake_dive_result)
    results = period_turns.solve_in_turn(
        problems, "auto", clock.now + time_limit_s, mip_gap, clock=clock
    )
    return calls, results


def _lot_piece(name: str, n_x: int):
    return SimpleNamespace(name=name, n_x=n_x, has_lots=True, objective="co2e")


def test_all_dives_first_smallest_first_and_a_short_dive_passes_its_time_on(monkeypatch):
    problems = [_lot_piece("big", 300), _lot_piece("small", 100)]
    dives = {"small": (2.0, 1000.0, 1100.0), "big": (99.0, 10_000.0, 10_050.0)}
    mips = {"small": (1.0, 1050.0, 1100.0), "big": (1.0, 10_000.0, 10_050.0)}
    calls, _ = _run_with_stand_ins(monkeypatch, problems, dives, mips)
    assert [c[:2] for c in calls[:2]] == [("dive", "small"), ("dive", "big")]
    assert calls[0][2] == pytest.approx(60.0 * 100 / 400)
    # The small dive used 2 s of its 15: the big one gets all 58 left.
    assert calls[1][2] == pytest.approx(58.0)


def test_the_mip_time_goes_to_the_largest_absolute_gap_until_the_sum_is_proven(monkeypatch):
    problems = [_lot_piece("a", 100), _lot_piece("b", 100), _lot_piece("c", 100)]
    # Dives: 10 s each; gaps 10 kg (a, 10 %), 300 kg (b, 3 %), 100 kg (c, 1 %: within
    # its own gap, so never a MIP's); the sum's 2 %.
    dives = {
        "a": (10.0, 100.0, 110.0),
        "b": (10.0, 10_000.0, 10_300.0),
        "c": (10.0, 10_000.0, 10_100.0),
    }
    # b's MIP closes most of its gap in 5 s: the sum, 10 + 20 + 100 over 20,380, is
    # then within 1 %, so neither a nor c gets a MIP.
    mips = {"a": (1.0, 100.0, 110.0), "b": (5.0, 10_280.0, 10_300.0), "c": (1.0, 0.0, 0.0)}
    calls, results = _run_with_stand_ins(monkeypatch, problems, dives, mips)
    mip_calls = [c for c in calls if c[0] == "mip"]
    assert [c[1] for c in mip_calls] == ["b"]
    assert mip_calls[0][2] == pytest.approx(30.0 * 300 / 310)
    assert [r.status for r in results] == ["feasible", "optimal", "feasible"]


def test_out_of_time_the_dive_schedules_are_kept_as_time_limit(monkeypatch):
    problems = [_lot_piece("a", 100), _lot_piece("b", 100)]
    dives = {"a": (30.0, 100.0, 150.0), "b": (30.0, 100.0, 150.0)}
    calls, results = _run_with_stand_ins(monkeypatch, problems, dives, mips={})
    assert [c[0] for c in calls] == ["dive", "dive"]
    assert [r.status for r in results] == ["time_limit", "time_limit"]


# A demand whose need (10 t a month) is below its lot (20 t) every month: served only
# by a lot every other month, stored at both ends. The LP without lots ships 10 t a
# month; the dive that only closed columns under their lot served it once (2,969 kg
# of the 5,939 kg possible).
EVERY_OTHER_MONTH = {
    "parameters": {
        "objective": "co2e",
        "transport_kg_co2e_per_tkm": 0.1,
        "mip_gap": 1e-9,
        "time_limit_s": 30,
    },
    "periods": {"start": "2027-01", "count": 6},
    "supplies": [
        {
            "id": "s0",
            "lat": 43.2,
            "lon": 76.9,
            "material": "a",
            "fate": "landfill",
            "fate_kg_co2e_per_t": 100,
            "storage": {
                "capacity_tonnes": 10,
                "loss_fraction_per_period": 0,
                "kg_co2e_per_t_period": 1,
            },
            "tonnes_per_period": [10, 10, 10, 10, 10, 10],
            "tonnes": 60,
        }
    ],
    "demands": [
        {
            "id": "d0",
            "lat": 43.2,
            "lon": 76.95,
            "accepts": [{"material": "a", "credit_kg_co2e_per_t": 50}],
            "min_lot_tonnes": 20,
            "storage": {
                "capacity_tonnes": 10,
                "loss_fraction_per_period": 0,
                "kg_co2e_per_t_period": 1,
            },
            "tonnes_per_period": [10, 10, 10, 10, 10, 10],
            "tonnes": 60,
        }
    ],
}


def test_the_dive_holds_lots_open_and_stores_to_serve_every_other_month():
    best = Reference(EVERY_OTHER_MONTH).best_saving()
    (problem,) = prepare_periods(Instance.from_dict(EVERY_OTHER_MONTH)).problems
    dive = lot_dive(problem, 30.0)
    assert dive is not None and dive.tonnes is not None
    x = dive.tonnes
    assert not ((x > 1e-9) & (x < problem.lot * (1 - 1e-7))).any()
    assert dive.saving_kg_co2e == pytest.approx(best, rel=1e-7)
    assert dive.saving_bound_kg_co2e >= best - 1e-6
    out = orchestrate.solve(Instance.from_dict(EVERY_OTHER_MONTH)).to_dict()
    check_against_reference(EVERY_OTHER_MONTH, out)
