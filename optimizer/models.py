"""Optimization runs, the exchanges they propose, and facilitators' pair rules."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from symbiosis.introductions import Answer
from symbiosis.models.factors import EmissionFactor
from symbiosis.validators import (
    HISTORY_MAX_CHARS,
    REASON_MAX_CHARS,
    SOURCE_MAX_CHARS,
    capped_text,
)


class OptimizationRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    class Objective(models.TextChoices):
        # The values are the optimizer's parameter (optimizer.instance.OBJECTIVES).
        CO2E = "co2e", _("Save the most CO2e")
        TONNES_THEN_CO2E = "tonnes_then_co2e", _("Move the most tonnes, then save the most CO2e")

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
    error = models.TextField(_("error"), blank=True, **capped_text(HISTORY_MAX_CHARS))
    # Reproducibility: the exact input and the factors it was built from.
    factor_set = models.ForeignKey(
        "symbiosis.FactorSet", on_delete=models.PROTECT, null=True, blank=True
    )
    input_snapshot = models.JSONField(null=True, blank=True)
    input_sha256 = models.CharField(max_length=64, blank=True)
    # Sum of the snapshot's supply tonnes: what the results page reads the run
    # against, kept so a page view does not parse the snapshot (hundreds of kB).
    input_supply_tonnes = models.FloatField(null=True, blank=True)
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
    def elapsed_s(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.finished_at or timezone.now()
        return (end - self.started_at).total_seconds()

    @property
    def objective_label(self) -> str:
        """The run's objective in words: the parameter is a code ("co2e")."""
        objective = self.parameters.get("objective", "")
        return self.Objective(objective).label if objective in self.Objective.values else objective

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.SUCCEEDED, self.Status.FAILED, self.Status.CANCELLED}


class MatchProposal(models.Model):
    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        APPROVED = "approved", _("Approved (parties introduced)")
        REJECTED = "rejected", _("Rejected")

    # A company's answer to its introduction (the core's, which the marketplace reads).
    Answer = Answer

    run = models.ForeignKey(OptimizationRun, on_delete=models.CASCADE, related_name="proposals")
    supply = models.ForeignKey("symbiosis.SupplyListing", on_delete=models.CASCADE)
    demand = models.ForeignKey("symbiosis.DemandListing", on_delete=models.CASCADE)
    material = models.ForeignKey("symbiosis.Material", on_delete=models.PROTECT)
    tonnes = models.FloatField()
    road_km = models.FloatField()
    # The symbiosis.impact.score_flow breakdown of this exchange. A term whose factor
    # is missing is None (not counted, never 0) and named in terms_not_counted.
    # What the tonnes are (symbiosis.impact.CATEGORIES); blank before the accounting.
    tonnes_category = models.CharField(max_length=30, blank=True)
    # The tonnes "kept out of landfill": only that category (not a banned disposal,
    # not into a landfill operator's site, not a plant's output).
    tonnes_diverted_from_landfill = models.FloatField()
    fate_kg_co2e_avoided = models.FloatField(null=True, blank=True)
    transport_kg_co2e_added = models.FloatField()
    virgin_kg_co2e_avoided = models.FloatField(null=True, blank=True)
    net_kg_co2e_saved = models.FloatField()
    # The net split by the tier of its factors, and its low-high range.
    net_published_kg_co2e = models.FloatField(null=True, blank=True)
    net_proxy_kg_co2e = models.FloatField(null=True, blank=True)
    net_low_kg_co2e = models.FloatField(null=True, blank=True)
    net_high_kg_co2e = models.FloatField(null=True, blank=True)
    terms_not_counted = models.JSONField(default=list, blank=True)
    # The rows behind the counted terms ("ef:<id>", "plant:<id>"): the methodology page.
    factor_refs = models.JSONField(default=list, blank=True)
    economic_value_kzt = models.FloatField(null=True, blank=True)

    class Kind(models.TextChoices):
        # direct: residue to its user; to_processor: residue into a plant's intake
        # (demand = the intake listing); from_processor: a plant's output (supply =
        # the plant's output listing) to its user; chain: a plant's output into
        # another plant's intake (supply = output listing, demand = intake listing).
        DIRECT = "direct", _("residue to its user")
        TO_PROCESSOR = "to_processor", _("residue into a plant")
        FROM_PROCESSOR = "from_processor", _("plant output to its user")
        CHAIN = "chain", _("plant to plant")

    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.DIRECT)
    # A run by month (issue 19, optimizer.seasons): tonnes and net kg CO2e by period
    # label {"2027-01": t}, and the stock at the pair's ends at the end of each period
    # {"supply": {"2027-01": t}, "demand": {...}}; empty for a one-period run.
    tonnes_by_period = models.JSONField(default=dict, blank=True)
    kg_co2e_by_period = models.JSONField(default=dict, blank=True)
    stock_by_period = models.JSONField(default=dict, blank=True)
    # None on a direct exchange (no plant) and where the plant's factor is missing.
    treatment_kg_co2e_added = models.FloatField(null=True, blank=True)
    # The facilitator's decision and the two companies' answers.
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True, **capped_text(REASON_MAX_CHARS))
    supplier_answer = models.CharField(
        max_length=10, choices=Answer.choices, default=Answer.PENDING, blank=True
    )
    supplier_reason = models.TextField(blank=True, **capped_text(REASON_MAX_CHARS))
    receiver_answer = models.CharField(
        max_length=10, choices=Answer.choices, default=Answer.PENDING, blank=True
    )
    receiver_reason = models.TextField(blank=True, **capped_text(REASON_MAX_CHARS))

    class Meta:
        ordering = ["-net_kg_co2e_saved"]
        constraints = [
            models.UniqueConstraint(fields=["run", "supply", "demand"], name="one_proposal_per_arc")
        ]

    def __str__(self):
        return f"{self.tonnes:.1f} t {self.material} {self.supply_id}->{self.demand_id}"

    @property
    def into_plant(self) -> bool:
        return self.kind in INTO_PLANT_KINDS


# Kinds whose tonnes are a plant's output: counted once, on the way into the first
# plant, never again (run totals, the city's potential).
PLANT_OUTPUT_KINDS = (MatchProposal.Kind.FROM_PROCESSOR, MatchProposal.Kind.CHAIN)
# Kinds that end in a plant's intake (treatment, yield and output fate apply).
INTO_PLANT_KINDS = (MatchProposal.Kind.TO_PROCESSOR, MatchProposal.Kind.CHAIN)


class ProcessingPlant(models.Model):
    """A compost or digestion plant: its intake demand listing becomes a processor
    node in the optimizer, and its output supply listing the node's output."""

    intake = models.OneToOneField(
        "symbiosis.DemandListing", on_delete=models.CASCADE, related_name="plant"
    )
    output = models.OneToOneField(
        "symbiosis.SupplyListing",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="producing_plant",
    )
    output_yield = models.FloatField(
        _("output tonnes per input tonne"),
        default=0.0,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
    )
    treatment_kg_co2e_per_t = models.FloatField(_("treatment kg CO2e per input tonne"))
    treatment_source = models.TextField(
        _("source of the treatment factor"), **capped_text(SOURCE_MAX_CHARS)
    )
    # Its quality, as a factor set's factors have (symbiosis.impact.Factor): one factor
    # applied to every feedstock is a proxy for all but the one it was measured on.
    treatment_tier = models.CharField(
        _("tier of the treatment factor"),
        max_length=10,
        choices=EmissionFactor.Tier.choices,
        default=EmissionFactor.Tier.PROXY,
    )
    treatment_low_kg_co2e_per_t = models.FloatField(
        _("treatment factor, low end"), null=True, blank=True
    )
    treatment_high_kg_co2e_per_t = models.FloatField(
        _("treatment factor, high end"), null=True, blank=True
    )
    cn_min = models.FloatField(_("minimum C:N of the blend"), null=True, blank=True)
    cn_max = models.FloatField(_("maximum C:N of the blend"), null=True, blank=True)
    moisture_max_percent = models.FloatField(
        # xgettext:no-python-format
        _("maximum moisture % of the blend"),
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    # Chains (issue 19): in a run by month the optimizer may send this plant's output
    # into another plant that accepts its material (optimizer.seasons.add_periods).
    send_output_to_processors = models.BooleanField(
        _("send our output to other processors too"),
        default=False,
        help_text=_(
            "In runs by month, the output may also go to another plant that accepts it "
            "(for example compost into a substrate plant)."
        ),
    )

    def __str__(self):
        return f"Plant of {self.intake.organization}"

    def clean(self):
        if self.cn_min is not None and self.cn_max is not None and self.cn_min > self.cn_max:
            raise ValidationError({"cn_max": _("The maximum C:N is below the minimum.")})
        if self.output_id and self.output.organization_id != self.intake.organization_id:
            raise ValidationError({"output": _("The output must be the same organization's.")})


class PairRule(models.Model):
    """A facilitator's standing decision on a supply-demand pair."""

    class Kind(models.TextChoices):
        PIN = "pin", _("Pin (keep in later runs)")
        FORBID = "forbid", _("Forbid (never propose)")

    supply = models.ForeignKey("symbiosis.SupplyListing", on_delete=models.CASCADE)
    demand = models.ForeignKey("symbiosis.DemandListing", on_delete=models.CASCADE)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    tonnes = models.FloatField(null=True, blank=True, help_text=_("Pinned tonnes"))
    reason = models.TextField(blank=True, **capped_text(REASON_MAX_CHARS))
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


class AuditEntry(models.Model):
    """An append-only record of every facilitator decision and company answer."""

    class Action(models.TextChoices):
        RUN_STARTED = "run_started", _("Run started")
        RUN_CANCELLED = "run_cancelled", _("Run cancelled")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        ADJUSTED = "adjusted", _("Tonnes adjusted")
        PINNED = "pinned", _("Pair pinned")
        FORBIDDEN = "forbidden", _("Pair forbidden")
        ACCEPTED = "accepted", _("Accepted by a company")
        DECLINED = "declined", _("Declined by a company")

    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    reason = models.TextField(blank=True, **capped_text(REASON_MAX_CHARS))
    details = models.JSONField(default=dict, blank=True)
    run = models.ForeignKey(OptimizationRun, on_delete=models.CASCADE, related_name="audit")
    proposal = models.ForeignKey(
        MatchProposal, on_delete=models.SET_NULL, null=True, blank=True, related_name="audit"
    )
    supply = models.ForeignKey(
        "symbiosis.SupplyListing",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    demand = models.ForeignKey(
        "symbiosis.DemandListing",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action}"
