"""The run comparison page's logic: which two runs (``compare_pair``), and how their
settings differ in words with the pairs the other run's limits kept out
(``compare_context``); ``optimizer.selectors.compare_runs`` gives the pairs' diff."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext as _

from optimizer import labels
from optimizer.models import OptimizationRun
from optimizer.run_pages import organization_names
from symbiosis.numbers import number_text
from symbiosis.views.common import parse_id


def compare_pair(runs, a_param, b_param) -> tuple:
    """The two runs to compare, from the page's ``a`` and ``b``, and a message when
    they cannot be compared. Without ``b``, the latest run; without ``a``, the run
    before ``b``: the page opens on the last change, never on one run twice."""
    ordered = runs.order_by("-created_at", "-pk")
    a_id, b_id = parse_id(a_param), parse_id(b_param)
    b = ordered.filter(pk=b_id).first() if b_id else ordered.first()
    if b_id and b is None:
        return (
            None,
            None,
            _("Run %(id)s has not finished successfully: choose another.") % {"id": b_id},
        )
    if b is None:
        return None, None, _("No run has finished yet.")
    if a_id:
        a = ordered.filter(pk=a_id).first()
        if a is None:
            return (
                None,
                b,
                _("Run %(id)s has not finished successfully: choose another.") % {"id": a_id},
            )
    else:
        a = (
            ordered.filter(
                Q(created_at__lt=b.created_at) | Q(created_at=b.created_at, pk__lt=b.pk)
            ).first()
            or ordered.exclude(pk=b.pk).first()
        )
    if a is None:
        return None, b, _("Only one run has finished: start another one to compare with it.")
    if a.pk == b.pk:
        return a, b, _("These are the same run twice: choose two different runs.")
    return a, b, ""


def _outside(proposal, parameters: dict) -> bool:
    """Whether a run with these settings could not have proposed this pair at all."""
    p = parameters or {}
    supply, demand = proposal.supply, proposal.demand
    if p.get("categories") and proposal.material.category not in p["categories"]:
        return True
    districts = p.get("districts") or []
    if districts and not (supply.site.district in districts and demand.site.district in districts):
        return True
    orgs = p.get("organization_ids") or []
    if orgs and not (supply.organization_id in orgs and demand.organization_id in orgs):
        return True
    if p.get("max_km_cap") and proposal.road_km > p["max_km_cap"]:
        return True
    internal = supply.organization_id == demand.organization_id
    return internal and not p.get("allow_internal")


def compare_context(a: OptimizationRun, b: OptimizationRun, diff: dict) -> dict:
    """How the two runs' settings differ, in words, and how many of the added and
    removed pairs the other run's limits kept out (not a decision, out of reach)."""
    names = organization_names([a, b])
    rows_a = labels.settings_rows(a.parameters, names)
    rows_b = labels.settings_rows(b.parameters, names)
    settings = [
        {"key": key, "label": label, "a": va, "b": vb, "differs": va != vb}
        for (key, label, va), (_k, _l, vb) in zip(rows_a, rows_b, strict=True)
    ]
    differing = [s for s in settings if s["differs"]]
    scope_differs = any(s["key"] in labels.SCOPE_SETTINGS for s in differing)
    out_of_reach = {"added": 0, "removed": 0}
    for row in diff["rows"]:
        if row["change"] == "removed" and _outside(row["before"], b.parameters):
            row["out_of_reach"] = True
            out_of_reach["removed"] += 1
        elif row["change"] == "added" and _outside(row["after"], a.parameters):
            row["out_of_reach"] = True
            out_of_reach["added"] += 1
    return {
        "settings": settings,
        "differing": differing,
        "scope_differs": scope_differs,
        "scope_a_text": ", ".join(labels.scope_phrases(a.parameters, names)) or _("no limits"),
        "scope_b_text": ", ".join(labels.scope_phrases(b.parameters, names)) or _("no limits"),
        "out_of_reach": out_of_reach,
        "listings_changed": not differing and a.input_sha256 != b.input_sha256,
        "saved_delta_t": number_text(diff["saved_delta_kg_co2e"] / 1000, 0),
        "tonnes_delta_t": number_text(diff["tonnes_delta"], 0),
        "quality_a": labels.quality_label(a.solver_status, a.gap),
        "quality_b": labels.quality_label(b.solver_status, b.gap),
    }
