"""Instance parsing: defaults, validation messages naming the field, the JSON
Schema agreeing with the parser, and the exact shape of a Solution."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path

import pytest

from optimizer.instance import Instance, Parameters, Solution, load_json

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "optimizer" / "schema" / "instance.schema.json"

# The example of issue 3, verbatim.
EXAMPLE = {
    "parameters": {
        "road_factor": 1.3,
        "transport_kg_co2e_per_tkm": 0.1,
        "objective": "co2e",
        "landfill_weight_kg_co2e_per_t": 0,
        "time_limit_s": 60,
        "mip_gap": 0.0001,
    },
    "supplies": [
        {
            "id": "s1",
            "lat": 43.25,
            "lon": 76.92,
            "material": "brewery-spent-grain",
            "tonnes": 1200,
            "fate": "landfill",
            "fate_kg_co2e_per_t": 600,
            "max_km": 100,
            "available_from": "2027-01-01",
            "available_until": "2027-12-31",
        },
        {"id": "s2", "lat": 43.2, "lon": 76.9, "material": "brewery-spent-grain", "tonnes": 10},
    ],
    "demands": [
        {
            "id": "d1",
            "lat": 43.30,
            "lon": 76.85,
            "tonnes": 500,
            "max_km": 80,
            "min_lot_tonnes": 20,
            "needed_from": "2027-03-01",
            "needed_until": "2027-12-31",
            "accepts": [{"material": "brewery-spent-grain", "credit_kg_co2e_per_t": 350}],
        }
    ],
    "pins": [{"supply": "s1", "demand": "d1", "tonnes": 100}],
    "forbidden": [{"supply": "s2", "demand": "d1"}],
}


def test_example_parses_with_its_values():
    instance = Instance.from_dict(EXAMPLE)
    s1 = instance.supplies[0]
    assert s1.available_from == date(2027, 1, 1)
    assert s1.max_km == 100 and s1.fate == "landfill"
    assert instance.demands[0].min_lot_tonnes == 20
    assert instance.demands[0].accepts[0].credit_kg_co2e_per_t == 350
    assert instance.pins[0].tonnes == 100
    assert instance.forbidden[0].supply == "s2"
    assert instance.parameters.transport_kg_co2e_per_tkm == 0.1


def test_defaults_and_round_trip():
    instance = Instance.from_dict(
        {
            "supplies": [{"id": 7, "lat": 0, "lon": 0, "material": "m", "tonnes": 1}],
            "demands": [
                {
                    "id": 8,
                    "lat": 0,
                    "lon": 0,
                    "tonnes": 1,
                    "min_lot_tonnes": 0,
                    "accepts": [{"material": "m"}],
                }
            ],
            "pins": [{"supply": 7, "demand": "8", "tonnes": 1}],
        }
    )
    assert instance.parameters == Parameters()
    assert instance.parameters.road_factor == 1.3
    assert instance.parameters.objective == "co2e"
    assert instance.supplies[0].id == "7"  # numeric ids become text, pins match either way
    assert instance.supplies[0].max_km is None and instance.supplies[0].fate == "other"
    assert instance.demands[0].min_lot_tonnes is None  # a 0 t lot constrains nothing
    assert Instance.from_dict(instance.to_dict()) == instance
    assert Instance.from_dict(Instance.from_dict(EXAMPLE).to_dict()) == Instance.from_dict(EXAMPLE)


def test_owners_round_trip_and_default_to_unknown():
    doc = copy.deepcopy(EXAMPLE)
    assert Instance.from_dict(doc).supplies[0].owner is None
    assert Instance.from_dict(doc).parameters.allow_internal is False
    doc["supplies"][0]["owner"] = 12  # a database id reads as text, like listing ids
    doc["demands"][0]["owner"] = "12"
    doc["parameters"]["allow_internal"] = True
    instance = Instance.from_dict(doc)
    assert instance.supplies[0].owner == instance.demands[0].owner == "12"
    assert Instance.from_dict(instance.to_dict()) == instance


def test_extra_fields_are_ignored():
    doc = copy.deepcopy(EXAMPLE)
    doc["run_by"] = "facilitator"
    doc["supplies"][0]["listing_pk"] = 12
    doc["demands"][0]["accepts"][0]["note"] = "wet"
    doc["parameters"]["ui_colour"] = "green"
    assert Instance.from_dict(doc) == Instance.from_dict(EXAMPLE)


def _broken(path: list, value):
    doc = copy.deepcopy(EXAMPLE)
    target = doc
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value", "words"),
    [
        (["supplies", 0, "tonnes"], -1, "supplies[0].tonnes must be at least 0"),
        (["supplies", 0, "tonnes"], "12", "supplies[0].tonnes must be a number"),
        (["supplies", 0, "tonnes"], True, "supplies[0].tonnes must be a number"),
        (["supplies", 0, "tonnes"], float("nan"), "supplies[0].tonnes must be finite"),
        (["supplies", 0, "tonnes"], KeyError, "supplies[0].tonnes is required"),
        (["supplies", 0, "lat"], 90.5, "supplies[0].lat: 90.5 is outside [-90, 90]"),
        (["demands", 0, "lon"], -180.01, "demands[0].lon: -180.01 is outside [-180, 180]"),
        (["supplies", 1, "material"], "", "supplies[1].material must be a non-empty string"),
        (["supplies", 0, "available_from"], "2027-13-01", "supplies[0].available_from"),
        (["supplies", 0, "available_from"], 20270101, "ISO date"),
        (["demands", 0, "needed_from"], "2028-01-01", "is after demands[0].needed_until"),
        (["demands", 0, "max_km"], -5, "demands[0].max_km must be at least 0"),
        (["demands", 0, "min_lot_tonnes"], -1, "demands[0].min_lot_tonnes"),
        (["demands", 0, "accepts"], "grain", "demands[0].accepts must be a list"),
        (["demands", 0, "accepts", 0, "material"], None, "demands[0].accepts[0].material"),
        (["parameters", "objective"], "profit", "unknown objective 'profit'"),
        (["parameters", "road_factor"], 0, "parameters.road_factor must be greater than 0"),
        (["parameters", "mip_gap"], -0.1, "parameters.mip_gap"),
        (["parameters", "time_limit_s"], 0, "parameters.time_limit_s"),
        (["parameters", "require_economic_value"], "yes", "require_economic_value"),
        (["parameters", "allow_internal"], 1, "parameters.allow_internal must be true or false"),
        (["supplies", 0, "owner"], "", "supplies[0].owner must be a non-empty string"),
        (["demands", 0, "owner"], 3.5, "demands[0].owner must be a non-empty string"),
        (["parameters"], [], "parameters must be an object"),
        (["pins", 0, "supply"], "s9", "pins[0].supply: unknown supply id 's9'"),
        (["pins", 0, "demand"], "d9", "pins[0].demand: unknown demand id 'd9'"),
        (["pins", 0, "tonnes"], -3, "pins[0].tonnes must be at least 0"),
        (["forbidden", 0, "demand"], "nope", "forbidden[0].demand: unknown demand id"),
        (["supplies", 1, "id"], "s1", "supplies[1].id: 's1' is already used by supplies[0]"),
        (["supplies"], {"id": "s1"}, "supplies must be a list"),
    ],
)
def test_bad_fields_are_named(path, value, words):
    with pytest.raises(ValueError) as error:
        Instance.from_dict(_broken(path, value))
    assert words in str(error.value)


def test_duplicate_accept_and_duplicate_pin():
    doc = copy.deepcopy(EXAMPLE)
    doc["demands"][0]["accepts"].append({"material": "brewery-spent-grain"})
    with pytest.raises(ValueError, match=r"accepts\[1\].material.*listed twice"):
        Instance.from_dict(doc)
    doc = copy.deepcopy(EXAMPLE)
    doc["pins"].append({"supply": "s1", "demand": "d1", "tonnes": 1})
    with pytest.raises(ValueError, match=r"pins\[1\].*pinned twice"):
        Instance.from_dict(doc)


def test_top_level_must_be_an_object():
    with pytest.raises(ValueError, match="instance must be an object"):
        Instance.from_dict([1, 2])


def test_load_json_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"supplies": [}', encoding="utf-8")
    with pytest.raises(ValueError, match="not valid JSON.*line 1"):
        load_json(bad)
    with pytest.raises(ValueError, match="cannot read instance file"):
        load_json(tmp_path / "missing.json")
    good = tmp_path / "good.json"
    good.write_text(json.dumps(EXAMPLE), encoding="utf-8")
    assert load_json(good) == Instance.from_dict(EXAMPLE)


def test_solution_keys_are_the_issue_contract():
    solution = Solution("optimal", 1.0, 2.0, 1.0, 3.0, 3.0, 1.0, 0.0, [], {"arcs": 0})
    assert list(solution.to_dict()) == [
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
        "message",
    ]


# --------------------------------------------------------------------------- JSON Schema


def test_schema_is_valid_and_accepts_the_example():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert not list(validator.iter_errors(EXAMPLE))
    extra = copy.deepcopy(EXAMPLE)
    extra["supplies"][0]["listing_pk"] = 3
    assert not list(validator.iter_errors(extra))


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (["supplies", 0, "lat"], 91),
        (["demands", 0, "lon"], 181),
        (["supplies", 0, "tonnes"], -1),
        (["parameters", "objective"], "profit"),
        (["supplies", 0, "tonnes"], KeyError),
        (["pins", 0, "tonnes"], -1),
    ],
)
def test_schema_and_parser_refuse_the_same_things(path, value):
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    doc = _broken(path, value)
    assert list(validator.iter_errors(doc))
    with pytest.raises(ValueError):
        Instance.from_dict(doc)


def test_schema_ships_as_package_data():
    import tomllib

    pyproject = tomllib.loads(
        (SCHEMA_PATH.parents[2] / "pyproject.toml").read_text(encoding="utf-8")
    )
    assert "schema/*.json" in pyproject["tool"]["setuptools"]["package-data"]["optimizer"]
