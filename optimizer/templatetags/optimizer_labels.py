"""The optimizer's codes in words, for templates (optimizer.labels)."""

from django import template

from optimizer import labels

register = template.Library()


@register.filter
def run_stage(code: str) -> str:
    return labels.stage_label(code)


@register.filter
def run_quality(run) -> str:
    return labels.quality_label(run.solver_status, run.gap)


@register.filter
def run_objective(run) -> str:
    return labels.objective_label(run.parameters.get("objective", ""))


@register.filter
def run_solver(run) -> str:
    return labels.solver_label(run.solver)


@register.filter
def duration(seconds) -> str:
    return labels.duration_text(seconds)


@register.filter
def change_label(code: str) -> str:
    return str(labels.CHANGES.get(code, code))
