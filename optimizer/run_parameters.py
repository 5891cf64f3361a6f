"""A run's parameters: their defaults and the one check every way in (the run form,
the API, ``manage.py optimize``) goes through, naming each bad field."""

from __future__ import annotations

import math

from django.core.exceptions import ValidationError

from optimizer import seasons
from optimizer.instance import OBJECTIVES
from symbiosis.models import MaterialCategory
from symbiosis.models.accounts import District

SOLVER_CHOICES = ("auto", "highs", "cbc")

DEFAULT_PARAMETERS = {
    "objective": "co2e",
    "landfill_weight_kg_co2e_per_t": 0.0,
    "road_factor": 1.3,
    "max_km_cap": None,
    "min_lot_tonnes": None,
    "time_limit_s": 60.0,
    "mip_gap": 1e-4,
    "solver": "auto",
    "categories": [],
    "districts": [],
    "organization_ids": [],
    # Exchanges within one organization are internal reuse, not symbiosis: off unless asked.
    "allow_internal": False,
    # "YYYY-MM": a run by month, 12 months from it (optimizer.seasons); None: one period.
    "periods_start": None,
}

NUMBER_RULES = {
    # name: (minimum, exclusive, maximum, nullable)
    "landfill_weight_kg_co2e_per_t": (0.0, False, 1e6, False),
    "road_factor": (1.0, False, 5.0, False),
    "max_km_cap": (0.0, True, 20_000.0, True),
    "min_lot_tonnes": (0.0, True, 1e9, True),
    "time_limit_s": (0.0, True, 3600.0, False),
    "mip_gap": (0.0, False, 1.0, False),
}


def clean_run_parameters(raw: dict | None) -> dict:
    """Defaults filled in, every value checked; ValidationError names each bad field."""
    raw = dict(raw or {})
    errors: dict[str, str] = {}
    unknown = sorted(set(raw) - set(DEFAULT_PARAMETERS))
    if unknown:
        errors["__all__"] = f"Unknown parameters: {', '.join(unknown)}."
    params = {**DEFAULT_PARAMETERS, **{k: v for k, v in raw.items() if k in DEFAULT_PARAMETERS}}

    if params["objective"] not in OBJECTIVES:
        errors["objective"] = f"Choose one of: {', '.join(OBJECTIVES)}."
    if params["solver"] not in SOLVER_CHOICES:
        errors["solver"] = f"Choose one of: {', '.join(SOLVER_CHOICES)}."
    for name, (low, exclusive, high, nullable) in NUMBER_RULES.items():
        value = params[name]
        if value in (None, "") and nullable:
            params[name] = None
            continue
        try:
            value = float(value)
        except (TypeError, ValueError):
            errors[name] = "Enter a number."
            continue
        if not math.isfinite(value):
            errors[name] = "Enter a finite number."
        elif value < low or (exclusive and value == low) or value > high:
            bound = "more than" if exclusive else "at least"
            errors[name] = f"Must be {bound} {low:g} and at most {high:g}."
        else:
            params[name] = value
    for name, allowed in (
        ("categories", set(MaterialCategory.values)),
        ("districts", set(District.values)),
    ):
        values = params[name] or []
        if not isinstance(values, list) or not set(values) <= allowed:
            errors[name] = f"Choose from: {', '.join(sorted(allowed))}."
    if not isinstance(params["allow_internal"], bool):
        errors["allow_internal"] = "Give true or false."
    ids = params["organization_ids"] or []
    if not isinstance(ids, list) or not all(isinstance(i, int) and i > 0 for i in ids):
        errors["organization_ids"] = "Give a list of organization ids."
    start = params["periods_start"]
    if start not in (None, "") and not seasons.valid_month(start):
        errors["periods_start"] = "Give a month as YYYY-MM, e.g. 2027-01."
    params["periods_start"] = start or None
    if errors:
        raise ValidationError(errors)
    return params
