"""The instance's JSON contract: ``schema/instance.schema.json``, checked by a
maintained validator, with its errors worded the way the optimizer words them
(``supplies[0].tonnes must be at least 0, got -1``).

One source: whatever the schema can say (types, required fields, minimums and
maximums, the objectives, dates, text that is not blank) is said there and only
there. ``Instance.from_dict`` calls :func:`check_document` first and keeps in
Python only the rules a schema cannot state (unique ids, pins naming existing
ids, from <= until, ...).

The validator is jsonschema-rs (Draft 2020-12, compiled once per process). Measured
on a 50,000-listing instance: 0.07 s with our date check, where the pure-Python
``jsonschema`` takes 11 s, fifteen times the whole hand-written parse it replaced (0.7 s).

Two readings are ours, fixed here rather than in the schema file:

- format ``date`` is asserted, and means what Python's ``date.fromisoformat`` reads;
- a number is finite: JSON has no NaN or Infinity, though Python's json module reads
  them, and jsonschema-rs refuses them as numbers (we word that "must be finite").
"""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema_rs

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "instance.schema.json"
SCHEMA: dict = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))

# The objectives a run may ask for, as the schema lists them.
OBJECTIVES: tuple[str, ...] = tuple(
    value
    for value in SCHEMA["$defs"]["parameters"]["properties"]["objective"]["enum"]
    if value is not None
)

# Where a field has a lower and an upper limit, these name the range instead.
_COORDINATES = ("lat", "lon")

_Kind = jsonschema_rs.ValidationErrorKind


def _is_iso_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


_VALIDATOR = jsonschema_rs.Draft202012Validator(
    SCHEMA, formats={"date": _is_iso_date}, validate_formats=True
)


def check_document(document: Any) -> Any:
    """Validate a decoded instance document; raise ValueError naming the first bad
    field. Returns the document to read: itself, or a plain copy when it holds
    Python objects the validator cannot take."""
    checked = document
    try:
        errors = _errors(checked)
    except ValueError:
        # numpy's float64, a key that is not text, or a lone surrogate (json.loads
        # reads "\\ud800", UTF-8 cannot hold it): all were always taken, so they are
        # checked through a copy the validator can read.
        document = _plain(document, [], _resolved(SCHEMA))
        checked = _encodable(document)
        errors = _errors(checked)
    if errors:
        raise ValueError(_first_message(errors, checked))
    return document


def _errors(document: Any) -> list:
    if _VALIDATOR.is_valid(document):  # the common case, and the fast one
        return []
    return list(_VALIDATOR.iter_errors(document))


# --------------------------------------------------------------------------- wording


# Among several errors at one place, the one that says most about the value.
_PRIORITY = (
    _Kind.Type,
    _Kind.Required,
    _Kind.Pattern,
    _Kind.Format,
    _Kind.Enum,
    _Kind.ExclusiveMinimum,
    _Kind.Minimum,
    _Kind.Maximum,
)


def _rank(error) -> int:
    for rank, kind in enumerate(_PRIORITY):
        if isinstance(error.kind, kind):
            return rank
    return len(_PRIORITY)


def _first_message(errors: list, document: Any) -> str:
    """The message of the error a reader meets first: fields in the schema's order
    (parameters, supplies, demands, ...; a supply's id, lat, lon, ...), items in the
    document's; at one place, the error that says most about the value."""

    def place(error) -> tuple:
        path = list(error.instance_path)
        if isinstance(error.kind, _Kind.Required):
            path.append(error.kind.property)
        return (_position(path), _rank(error))

    return _message(min(errors, key=place), document)


def _position(path: list) -> tuple[int, ...]:
    schema, out = _resolved(SCHEMA), []
    for key in path:
        if isinstance(key, int):
            out.append(key)
        else:
            names = list(schema.get("properties", {}))
            out.append(names.index(key) if key in names else len(names))
        schema = _child(schema, key)
    return tuple(out)


def _message(error, document: Any) -> str:
    path = list(error.instance_path)
    kind = error.kind
    name = _name(path)
    if isinstance(kind, _Kind.Required):
        return f"{_name([*path, kind.property])} is required"
    value = _value_at(document, path)
    schema = _schema_at(path)
    if isinstance(kind, _Kind.Type):
        return _type_message(name, value, set(kind.types), schema)
    if isinstance(kind, _Kind.Pattern):
        return f"{name} must be a non-empty string, got {value!r}"
    if isinstance(kind, _Kind.Format):
        return f"{name}: {value!r} is not a valid ISO date (YYYY-MM-DD)"
    if isinstance(kind, _Kind.Enum):
        options = tuple(v for v in schema["enum"] if v is not None)
        return f"{name}: unknown {path[-1]} {value!r}; use one of {options}"
    if isinstance(kind, _Kind.Minimum | _Kind.Maximum) and path[-1] in _COORDINATES:
        low, high = schema["minimum"], schema["maximum"]
        return f"{name}: {float(value):g} is outside [{low:g}, {high:g}]"
    if isinstance(kind, _Kind.ExclusiveMinimum):
        return f"{name} must be greater than {schema['exclusiveMinimum']:g}, got {float(value):g}"
    if isinstance(kind, _Kind.Minimum):
        return f"{name} must be at least {schema['minimum']:g}, got {float(value):g}"
    if isinstance(kind, _Kind.Maximum):
        return f"{name} must be at most {schema['maximum']:g}, got {float(value):g}"
    return f"{name}: {error.message}"  # a keyword the schema does not use today


def _type_message(name: str, value: Any, types: set[str], schema: dict) -> str:
    if "string" in types:
        # A required text field set to null reads as missing, as it always has.
        if value is None:
            return f"{name} is required"
        if schema.get("format") == "date":
            return f"{name} must be an ISO date string (YYYY-MM-DD), got {value!r}"
        return f"{name} must be a non-empty string, got {value!r}"
    if types & {"number", "integer"}:
        if isinstance(value, float) and not math.isfinite(value):
            return f"{name} must be finite, got {value!r}"
        return f"{name} must be a number, got {value!r}"
    if "boolean" in types:
        return f"{name} must be true or false, got {value!r}"
    if "object" in types:
        return f"{name} must be an object, got {type(value).__name__}"
    if "array" in types:
        return f"{name} must be a list, got {type(value).__name__}"
    return f"{name} has the wrong type, got {value!r}"


def _name(path: list) -> str:
    """``["supplies", 0, "tonnes"]`` -> ``supplies[0].tonnes``; the root is ``instance``."""
    out = ""
    for key in path:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out or "instance"


def _value_at(document: Any, path: list) -> Any:
    for key in path:
        document = document[key]
    return document


def _resolved(schema: dict) -> dict:
    """A subschema with its local ``$ref`` merged in (its own keywords win)."""
    ref = schema.get("$ref")
    if ref is None:
        return schema
    target: Any = SCHEMA
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return {**_resolved(target), **{k: v for k, v in schema.items() if k != "$ref"}}


def _schema_at(path: list) -> dict:
    """The subschema that describes the value at ``path``."""
    schema = _resolved(SCHEMA)
    for key in path:
        schema = _child(schema, key)
    return schema


def _child(schema: dict, key: str | int) -> dict:
    if isinstance(key, int):
        child = schema.get("items", {})
    elif key in schema.get("properties", {}):
        child = schema["properties"][key]
    else:
        child = schema.get("additionalProperties", {})
    # additionalProperties: true (any value) reads as the empty schema.
    return _resolved(child) if isinstance(child, dict) else {}


# --------------------------------------------------------------------------- plain copies


def _plain(value: Any, path: list, schema: dict) -> Any:
    """A copy made of the types json.loads returns, from a document whose dicts,
    lists, text and numbers may be subclasses of them, as ``Instance.from_dict`` has
    always taken. Anything else (a set, a date, numpy's int64) is refused
    with the message its field's type calls for; under a field the schema leaves
    open (extra keys, which are ignored) it becomes null."""
    if value is None or type(value) in (str, int, float, bool):
        return value
    if isinstance(value, dict):
        return {
            str(k): _plain(v, [*path, str(k)], _child(schema, str(k))) for k, v in value.items()
        }
    if isinstance(value, list | tuple):  # the validator reads a tuple as a list too
        return [_plain(v, [*path, k], _child(schema, k)) for k, v in enumerate(value)]
    for kind in (str, int, float):
        if isinstance(value, kind):
            return kind(value)
    if not schema:
        return None
    types = schema.get("type", [])
    types = {types} if isinstance(types, str) else set(types)
    raise ValueError(_type_message(_name(path), value, types, schema))


def _encodable(value: Any) -> Any:
    """A plain document with every text UTF-8 can encode (a lone surrogate becomes
    "?", which is as far from blank, a date or an objective as the surrogate was)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "replace").decode("utf-8")
        return value
    if isinstance(value, dict):
        return {_encodable(k): _encodable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encodable(v) for v in value]
    return value
