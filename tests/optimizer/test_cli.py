"""The command line: a solved file, and bad input ending in a message and exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from optimizer import cli
from tests.optimizer.test_instance import EXAMPLE

ROOT = Path(__file__).resolve().parents[2]


def python_m_optimizer(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "optimizer", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def test_solve_writes_the_solution_file(tmp_path):
    instance = tmp_path / "instance.json"
    instance.write_text(json.dumps(EXAMPLE), encoding="utf-8")
    out = tmp_path / "solution.json"
    result = python_m_optimizer("solve", str(instance), "-o", str(out), "--solver", "highs")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    solution = json.loads(out.read_text(encoding="utf-8"))
    assert solution["status"] == "optimal"
    assert set(solution) >= {
        "status",
        "objective_kg_co2e",
        "baseline_kg_co2e",
        "saved_kg_co2e",
        "tonnes_moved",
        "landfill_tonnes_avoided",
        "bound_kg_co2e",
        "gap",
        "flows",
        "stats",
    }
    assert set(solution["stats"]) >= {
        "arcs",
        "components",
        "variables",
        "binaries",
        "seconds",
        "solver",
    }
    assert set(solution["stats"]["seconds"]) >= {"candidates", "build", "solve", "total"}
    # s2 -> d1 is forbidden and s1 -> d1 is pinned: a pin fixes the tonnes, so exactly 100 t.
    assert [(f["supply"], f["demand"]) for f in solution["flows"]] == [("s1", "d1")]
    assert solution["flows"][0]["tonnes"] == 100


def test_stdout_is_pure_json_even_with_highs(tmp_path):
    # highspy prints a banner on first use; it must not end up in the JSON on stdout.
    instance = tmp_path / "instance.json"
    instance.write_text(json.dumps(EXAMPLE), encoding="utf-8")
    result = python_m_optimizer("solve", str(instance), "--solver", "highs")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "optimal"


def test_bad_input_exits_2_without_traceback(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"supplies": [{"id": "a", "lat": 95, "lon": 0, "material": "m", "tonnes": 1}]}),
        encoding="utf-8",
    )
    result = python_m_optimizer("solve", str(bad), "-o", str(tmp_path / "out.json"))
    assert result.returncode == 2
    assert "supplies[0].lat" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out.json").exists()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "instance must be an object"),
        (json.dumps({"parameters": {"objective": "money"}}), "unknown objective"),
        (json.dumps({"pins": [{"supply": "x", "demand": "y", "tonnes": 1}]}), "unknown supply"),
    ],
)
def test_bad_files_in_process(tmp_path, capsys, content, words):
    path = tmp_path / "instance.json"
    path.write_text(content, encoding="utf-8")
    assert cli.main(["solve", str(path)]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


@pytest.mark.parametrize(
    "args",
    [
        ["solve"],
        ["solve", "x.json", "--solver", "gurobi"],
        ["solve", "x.json", "--time-limit", "-1"],
        ["solve", "x.json", "--time-limit", "soon"],
        ["solve", "x.json", "--gap", "2"],
        ["optimise", "x.json"],
    ],
)
def test_bad_arguments_exit_2(capsys, args):
    with pytest.raises(SystemExit) as stop:
        cli.main(args)
    assert stop.value.code == 2
    assert "error" in capsys.readouterr().err


def test_missing_file_and_unwritable_output(tmp_path, capsys):
    assert cli.main(["solve", str(tmp_path / "nope.json")]) == 2
    assert "cannot read instance file" in capsys.readouterr().err
    path = tmp_path / "instance.json"
    path.write_text(json.dumps(EXAMPLE), encoding="utf-8")
    assert cli.main(["solve", str(path), "-o", str(tmp_path / "no" / "dir" / "s.json")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_infeasible_pin_is_a_status_not_an_error(tmp_path, capsys):
    doc = json.loads(json.dumps(EXAMPLE))
    doc["pins"] = [{"supply": "s1", "demand": "d1", "tonnes": 600}]  # d1 takes 500 t
    path, out = tmp_path / "instance.json", tmp_path / "solution.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert cli.main(["solve", str(path), "-o", str(out), "--time-limit", "5", "--gap", "0"]) == 0
    solution = json.loads(out.read_text(encoding="utf-8"))
    assert solution["status"] == "infeasible"
    assert "exceeds the arc capacity" in solution["message"]
    assert "infeasible" in capsys.readouterr().err
