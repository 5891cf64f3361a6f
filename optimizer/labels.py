"""The optimizer's codes in plain words: one code -> label table for every run page.

A run stores codes ("co2e", "ortools-mcf+pulp-highs", "time_limit", the stage
"solving (2/5 components)"); the run list, the run page, its status partial and
the comparison of two runs show them through these functions, in the reader's
language. The stored records keep their codes.
"""

from __future__ import annotations

import re

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from optimizer.run_parameters import DEFAULT_PARAMETERS
from symbiosis.models import MaterialCategory
from symbiosis.models.accounts import District

# What the run optimizes, as the facilitator chose it (the run's "objective").
OBJECTIVES = {
    "co2e": gettext_lazy("most CO2e saved"),
    "tonnes_then_co2e": gettext_lazy("most tonnes moved first, then most CO2e saved"),
}

# The solver of each part of the model (optimizer.component / optimizer.flow); a run
# whose parts used several joins them with "+".
SOLVERS = {
    "ortools-mcf": gettext_lazy("network flow solver"),
    "ortools-mcf-lot-repair": gettext_lazy("network flow solver with minimum lots repaired"),
    "pulp-highs": gettext_lazy("linear programming (HiGHS)"),
    "pulp-cbc": gettext_lazy("linear programming (CBC)"),
    "pulp-auto": gettext_lazy("linear programming"),
    "none": gettext_lazy("no solver needed"),
}

# The solver choice of a run's settings (optimizer.run_parameters.SOLVER_CHOICES).
SOLVER_CHOICES = {
    "auto": gettext_lazy("chosen by the optimizer"),
    "highs": gettext_lazy("HiGHS"),
    "cbc": gettext_lazy("CBC"),
}

# A run's stage (optimizer.services): fixed words, and four with counts.
STAGES = {
    "queued": gettext_lazy("waiting for a worker"),
    "snapshot": gettext_lazy("reading the listings"),
    "candidates": gettext_lazy("finding the pairs that could trade"),
    "solving": gettext_lazy("solving"),
    "merging": gettext_lazy("putting the parts together"),
    "done": gettext_lazy("finished"),
    "failed": gettext_lazy("stopped"),
    "cancelled": gettext_lazy("cancelled"),
}
_STAGE_PARTS = re.compile(r"^solving \((\d+)/(\d+) components\)$")
_STAGE_PARALLEL = re.compile(r"^solving (\d+) components in parallel$")
# A priced run (optimizer.groups): its material groups, in turn or as Celery tasks.
_STAGE_GROUPS_DONE = re.compile(r"^solving \((\d+)/(\d+) groups\)$")
_STAGE_GROUPS = re.compile(r"^solving (\d+) groups$")

# How a proposal changed from one run to the next (optimizer.selectors.compare_runs).
CHANGES = {
    "added": gettext_lazy("added"),
    "removed": gettext_lazy("removed"),
    "changed": gettext_lazy("tonnes changed"),
    "kept": gettext_lazy("unchanged"),
}

# A gap below this is "solved exactly": it would print as 0.00 %.
EXACT_GAP = 5e-5


def objective_label(code: str) -> str:
    return str(OBJECTIVES.get(code, code))


def solver_label(code: str) -> str:
    """``"ortools-mcf+pulp-highs"`` -> "network flow solver and linear programming (HiGHS)"."""
    if not code:
        return ""
    parts = [str(SOLVERS.get(part, part)) for part in code.split("+")]
    if len(parts) == 1:
        return parts[0]
    return _("%(first)s and %(last)s") % {"first": ", ".join(parts[:-1]), "last": parts[-1]}


def stage_label(code: str) -> str:
    if not code:
        return ""
    if code in STAGES:
        return str(STAGES[code])
    found = _STAGE_PARTS.match(code)
    if found:
        done, total = (int(n) for n in found.groups())
        return _("solving: part %(done)s of %(total)s done") % {"done": done, "total": total}
    found = _STAGE_PARALLEL.match(code)
    if found:
        n = int(found.group(1))
        return ngettext(
            "solving %(n)s part side by side", "solving %(n)s parts side by side", n
        ) % {"n": n}
    found = _STAGE_GROUPS_DONE.match(code)
    if found:
        done, total = (int(n) for n in found.groups())
        return _("solving: %(done)s of %(total)s material groups done") % {
            "done": done,
            "total": total,
        }
    found = _STAGE_GROUPS.match(code)
    if found:
        n = int(found.group(1))
        return ngettext(
            "solving %(n)s material group side by side",
            "solving %(n)s material groups side by side",
            n,
        ) % {"n": n}
    return code


def percent_text(fraction: float) -> str:
    """0.004 -> "0.4", 0.0002 -> "0.02": one decimal, two below 0.1 % (localized)."""
    percent = fraction * 100
    return number_format(percent, 2 if percent < 0.1 else 1, use_l10n=True)


def quality_label(solver_status: str, gap: float | None) -> str:
    """How good the plan is, from the solver's status and its gap to the best possible."""
    if not solver_status:
        return ""
    if solver_status == "infeasible":
        return _("no plan satisfies every limit")
    if gap is not None and gap <= EXACT_GAP:
        return _("solved exactly")
    if gap is not None:
        text = _("within %(percent)s %% of the best possible") % {"percent": percent_text(gap)}
        if solver_status == "time_limit":
            text = _("%(quality)s (the time limit was reached)") % {"quality": text}
        return text
    if solver_status == "optimal":
        return _("solved exactly")
    return _("the best plan found in the time allowed; how close it is to the best is unknown")


def duration_text(seconds: float | None) -> str:
    """12.34 -> "12.3 s"; 95 -> "1 min 35 s" (translated units)."""
    if seconds is None:
        return ""
    if seconds < 60:
        return _("%(seconds)s s") % {"seconds": number_format(seconds, 1, use_l10n=True)}
    minutes, rest = divmod(round(seconds), 60)
    if not rest:
        return _("%(minutes)s min") % {"minutes": minutes}
    return _("%(minutes)s min %(seconds)s s") % {"minutes": minutes, "seconds": rest}


# --- a run's settings, in words ------------------------------------------------------------

_CATEGORIES = dict(MaterialCategory.choices)
_DISTRICTS = dict(District.choices)


def _number(value, places: int = 1) -> str:
    text = number_format(value, places, use_l10n=True, force_grouping=True)
    # "50.0" -> "50": whole numbers without decimals.
    decimal = number_format(0.5, 1, use_l10n=True)[1]
    return text.rstrip("0").rstrip(decimal) if decimal in text else text


def settings_rows(parameters: dict, organization_names: dict[int, str] | None = None) -> list:
    """Every setting a facilitator can choose, as (key, label, value in words).

    ``organization_names`` maps the ids of an "only these organizations" filter
    to names; an id without a name is shown as its number.
    """
    p = {**DEFAULT_PARAMETERS, **(parameters or {})}
    names = organization_names or {}
    every = _("all")
    rows = [
        ("objective", _("Objective"), objective_label(p["objective"])),
        (
            "categories",
            _("Material categories"),
            ", ".join(str(_CATEGORIES.get(c, c)) for c in p["categories"]) or every,
        ),
        (
            "districts",
            _("Districts"),
            ", ".join(str(_DISTRICTS.get(d, d)) for d in p["districts"]) or every,
        ),
        (
            "organization_ids",
            _("Organizations"),
            ", ".join(names.get(i, f"#{i}") for i in p["organization_ids"]) or every,
        ),
        (
            "max_km_cap",
            _("Longest distance"),
            _("%(km)s km") % {"km": _number(p["max_km_cap"])} if p["max_km_cap"] else _("no cap"),
        ),
        (
            "min_lot_tonnes",
            _("Smallest lot where a demand names none"),
            _("%(t)s t") % {"t": _number(p["min_lot_tonnes"])}
            if p["min_lot_tonnes"]
            else _("none"),
        ),
        (
            "allow_internal",
            _("Internal reuse (within one organization)"),
            _("proposed, counted apart") if p["allow_internal"] else _("not proposed"),
        ),
        (
            "landfill_weight_kg_co2e_per_t",
            _("Extra weight on landfill"),
            _("%(kg)s kg CO2e per tonne") % {"kg": _number(p["landfill_weight_kg_co2e_per_t"])}
            if p["landfill_weight_kg_co2e_per_t"]
            else _("none"),
        ),
        ("road_factor", _("Road km per straight-line km"), _number(p["road_factor"], 2)),
        ("time_limit_s", _("Time limit"), duration_text(p["time_limit_s"])),
        (
            "mip_gap",
            _("Accepted distance from the best possible"),
            _("%(percent)s %%") % {"percent": percent_text(p["mip_gap"])},
        ),
        ("solver", _("Solver"), str(SOLVER_CHOICES.get(p["solver"], p["solver"]))),
    ]
    return rows


# What narrows the listings a run looks at: a difference here changes which
# proposals can appear at all.
SCOPE_SETTINGS = ("categories", "districts", "organization_ids", "max_km_cap", "allow_internal")


def scope_phrases(parameters: dict, organization_names: dict[int, str] | None = None) -> list:
    """The run's limits that differ from the defaults, as "biomass only" phrases."""
    p = {**DEFAULT_PARAMETERS, **(parameters or {})}
    names = organization_names or {}
    phrases = []
    if p["categories"]:
        cats = ", ".join(str(_CATEGORIES.get(c, c)).lower() for c in p["categories"])
        phrases.append(_("%(categories)s only") % {"categories": cats})
    if p["districts"]:
        districts = ", ".join(str(_DISTRICTS.get(d, d)) for d in p["districts"])
        phrases.append(_("listings in %(districts)s only") % {"districts": districts})
    if p["organization_ids"]:
        orgs = ", ".join(names.get(i, f"#{i}") for i in p["organization_ids"])
        phrases.append(_("listings of %(organizations)s only") % {"organizations": orgs})
    if p["max_km_cap"]:
        phrases.append(_("at most %(km)s km") % {"km": _number(p["max_km_cap"])})
    if p["min_lot_tonnes"]:
        phrases.append(_("lots of at least %(t)s t") % {"t": _number(p["min_lot_tonnes"])})
    if p["allow_internal"]:
        phrases.append(_("internal reuse proposed"))
    return phrases
