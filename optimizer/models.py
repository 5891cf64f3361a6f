"""Optimization runs, the exchanges they propose, and facilitators' pair rules."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class OptimizationRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    parameters = models.JSONField(_("parameters"), default=dict, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    stage = models.CharField(_("stage"), max_length=60, blank=True)
    progress_percent = models.PositiveSmallIntegerField(default=0)
    celery_task_id = models.CharField(max_length=64, blank=True)
    error = models.TextField(_("error"), blank=True)
    # Reproducibility: the exact input and the factors it was built from.
    factor_set = models.ForeignKey(
        "symbiosis.FactorSet", on_delete=models.PROTECT, null=True, blank=True
    )
    input_snapshot = models.JSONField(null=True, blank=True)
    input_sha256 = models.CharField(max_length=64, blank=True)
    # Solver figures, as the solver reported them.
    solver = models.CharField(max_length=60, blank=True)
    solver_status = models.CharField(max_length=20, blank=True)
    objective_kg_co2e = models.FloatField(null=True, blank=True)
    baseline_kg_co2e = models.FloatField(null=True, blank=True)
    saved_kg_co2e = models.FloatField(null=True, blank=True)
    bound_kg_co2e = models.FloatField(null=True, blank=True)
    gap = models.FloatField(null=True, blank=True)
    tonnes_moved = models.FloatField(null=True, blank=True)
    landfill_tonnes_avoided = models.FloatField(null=True, blank=True)
    stats = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Run {self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.SUCCEEDED, self.Status.FAILED, self.Status.CANCELLED}


class MatchProposal(models.Model):
    run = models.ForeignKey(OptimizationRun, on_delete=models.CASCADE, related_name="proposals")
    supply = models.ForeignKey("symbiosis.SupplyListing", on_delete=models.CASCADE)
    demand = models.ForeignKey("symbiosis.DemandListing", on_delete=models.CASCADE)
    material = models.ForeignKey("symbiosis.Material", on_delete=models.PROTECT)
    tonnes = models.FloatField()
    road_km = models.FloatField()
    # The symbiosis.impact breakdown of this exchange.
    tonnes_diverted_from_landfill = models.FloatField()
    fate_kg_co2e_avoided = models.FloatField()
    transport_kg_co2e_added = models.FloatField()
    virgin_kg_co2e_avoided = models.FloatField()
    net_kg_co2e_saved = models.FloatField()
    economic_value_kzt = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-net_kg_co2e_saved"]
        constraints = [
            models.UniqueConstraint(fields=["run", "supply", "demand"], name="one_proposal_per_arc")
        ]

    def __str__(self):
        return f"{self.tonnes:.1f} t {self.material} {self.supply_id}->{self.demand_id}"


class PairRule(models.Model):
    """A facilitator's standing decision on a supply-demand pair."""

    class Kind(models.TextChoices):
        PIN = "pin", _("Pin (keep in later runs)")
        FORBID = "forbid", _("Forbid (never propose)")

    supply = models.ForeignKey("symbiosis.SupplyListing", on_delete=models.CASCADE)
    demand = models.ForeignKey("symbiosis.DemandListing", on_delete=models.CASCADE)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    tonnes = models.FloatField(null=True, blank=True, help_text=_("Pinned tonnes"))
    reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["supply", "demand"], name="one_rule_per_pair"),
            models.CheckConstraint(
                condition=~models.Q(kind="pin") | models.Q(tonnes__gt=0),
                name="pin_has_positive_tonnes",
            ),
        ]

    def __str__(self):
        return f"{self.kind} {self.supply_id}->{self.demand_id}"
