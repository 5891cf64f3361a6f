"""The JSON contract has one source: optimizer/schema/instance.schema.json. The
parser validates every document with it (optimizer.contract) and words its errors
with the field's path; the schema says what the parser takes (null where a field is
optional, text that is not blank), so any Draft 2020-12 validator agrees with it."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from optimizer import contract
from optimizer.instance import OBJECTIVES, Instance
from tests.optimizer.test_instance import EXAMPLE, SCHEMA_PATH, _broken

jsonschema = pytest.importorskip("jsonschema")
SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
# The reference validator, with "date" read as the parser reads it.
FORMATS = jsonschema.FormatChecker(formats=())
FORMATS.checks("date", raises=ValueError)(lambda text: contract._is_iso_date(text))
STANDARD = jsonschema.Draft202012Validator(SCHEMA, format_checker=FORMATS)

# Keywords that only describe (no error can come of them) and the ones worded.
DESCRIBING = {"$schema", "$id", "$defs", "$ref", "title", "description", "default"}
APPLYING = {"properties", "items", "additionalProperties"}
WORDED = {"type", "required", "pattern", "format", "enum", "minimum", "maximum"}
WORDED |= {"exclusiveMinimum"}


def keywords(schema) -> set[str]:
    found = set()
    if isinstance(schema, dict):
        for key, value in schema.items():
            found.add(key)
            if key in ("properties", "$defs"):
                for sub in value.values():
                    found |= keywords(sub)
            elif key in ("items", "additionalProperties"):
                found |= keywords(value)
    return found


def test_every_keyword_the_schema_uses_is_worded():
    used = keywords(SCHEMA)
    assert used <= DESCRIBING | APPLYING | WORDED, used - (DESCRIBING | APPLYING | WORDED)


def test_the_objectives_are_the_schema_s():
    assert OBJECTIVES == contract.OBJECTIVES == ("co2e", "tonnes_then_co2e")
    for objective in OBJECTIVES:
        doc = _broken(["parameters", "objective"], objective)
        assert Instance.from_dict(doc).parameters.objective == objective


@pytest.mark.parametrize(
    "path",
    [
        ["parameters"],
        ["parameters", "objective"],
        ["pins"],
        ["supplies", 0, "fate"],
        ["supplies", 0, "quality"],
        ["supplies", 0, "owner"],
        ["supplies", 0, "max_km"],
        ["demands", 0, "accepts", 0, "quality_limits"],
        ["demands", 0, "min_lot_tonnes"],
    ],
)
def test_null_reads_as_missing_for_the_schema_and_the_parser(path):
    missing = _broken(path, None)
    target = missing
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    null = _broken(path, None)
    assert not list(STANDARD.iter_errors(null))
    assert Instance.from_dict(null) == Instance.from_dict(missing)


@pytest.mark.parametrize(
    ("path", "value", "words"),
    [
        (["supplies", 0, "id"], "  ", "supplies[0].id must be a non-empty string, got '  '"),
        (["supplies", 0, "material"], "\t\u3000", "supplies[0].material must be a non-empty"),
        (["supplies", 0, "fate"], "\x1c", "supplies[0].fate must be a non-empty string"),
        (["demands", 0, "owner"], " ", "demands[0].owner must be a non-empty string"),
        (["parameters", "objective"], "", "parameters.objective must be a non-empty string"),
    ],
)
def test_blank_text_is_refused_by_the_schema_and_the_parser(path, value, words):
    doc = _broken(path, value)
    assert list(STANDARD.iter_errors(doc))
    with pytest.raises(ValueError) as error:
        Instance.from_dict(doc)
    assert words in str(error.value)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            ["demands", 0, "accepts", 0, "quality_limits"],
            {"moisture_percent": None},
            "accepts[0].quality_limits.moisture_percent must be an object, got NoneType",
        ),
        (
            ["demands", 0, "accepts", 0, "quality_limits"],
            {"moisture_percent": {"max": "80"}},
            "accepts[0].quality_limits.moisture_percent.max must be a number, got '80'",
        ),
        (["supplies", 1, "id"], None, "supplies[1].id is required"),
        (["supplies", 1, "id"], 3.0, "supplies[1].id must be a non-empty string, got 3.0"),
        (["pins", 0, "supply"], 7.0, "pins[0].supply must be a non-empty string, got 7.0"),
        (["supplies", 0, "quality"], {"x": None}, "supplies[0].quality.x must be a number"),
        (["supplies", 0, "max_km"], float("inf"), "supplies[0].max_km must be finite, got inf"),
        (["materials"], {"m": []}, "materials.m must be an object, got list"),
        (["parameters", "time_limit_s"], 0, "parameters.time_limit_s must be greater than 0"),
        (["supplies", 0, "available_until"], "2027-02-30", "'2027-02-30' is not a valid ISO"),
        (["demands", 0, "accepts", 0], "grain", "demands[0].accepts[0] must be an object"),
    ],
)
def test_errors_name_the_field_as_the_parser_always_did(path, value, message):
    with pytest.raises(ValueError) as error:
        Instance.from_dict(_broken(path, value))
    assert message in str(error.value)


def test_an_integer_id_reads_as_text():
    doc = _broken(["supplies", 1, "id"], 3)
    doc["forbidden"] = [{"supply": "3", "demand": "d1"}]
    instance = Instance.from_dict(doc)
    assert instance.supplies[1].id == "3" and instance.forbidden[0].supply == "3"


def test_python_objects_that_json_never_holds():
    """Instance.from_dict has always taken numpy's float64 (a float) and text with
    a lone surrogate (json.loads reads "\\ud800"), refused numpy's int64 (no int),
    and ignored whatever an extra key holds; the validator takes none of these
    directly, so they go through a plain copy."""
    plain = Instance.from_dict(EXAMPLE)
    assert Instance.from_dict(_broken(["supplies", 0, "tonnes"], np.float64(1200))) == plain
    with pytest.raises(ValueError, match=r"supplies\[0\]\.tonnes must be a number, got np"):
        Instance.from_dict(_broken(["supplies", 0, "tonnes"], np.int64(1200)))
    doc = _broken(["supplies", 0, "listing_pk"], {1, 2})
    assert Instance.from_dict(doc) == plain
    doc = _broken(["supplies", 1, "material"], "grain\ud800")
    assert Instance.from_dict(doc).supplies[1].material == "grain\ud800"
    with pytest.raises(ValueError, match=r"supplies\[1\]\.material must be a non-empty string"):
        Instance.from_dict(_broken(["supplies", 1, "material"], " "))


def test_a_valid_document_is_read_as_given():
    doc = copy.deepcopy(EXAMPLE)
    assert contract.check_document(doc) is doc
