from django.contrib import admin

from optimizer import models


class MatchProposalInline(admin.TabularInline):
    model = models.MatchProposal
    extra = 0
    can_delete = False
    fields = ["supply", "demand", "material", "tonnes", "road_km", "net_kg_co2e_saved"]
    readonly_fields = fields


@admin.register(models.OptimizationRun)
class OptimizationRunAdmin(admin.ModelAdmin):
    list_display = ["id", "status", "created_by", "created_at", "solver_status", "saved_kg_co2e"]
    list_filter = ["status", "solver_status"]
    readonly_fields = ["input_sha256", "created_at", "started_at", "finished_at"]
    inlines = [MatchProposalInline]


@admin.register(models.MatchProposal)
class MatchProposalAdmin(admin.ModelAdmin):
    list_display = ["id", "run", "material", "tonnes", "road_km", "net_kg_co2e_saved"]
    list_filter = ["run"]
    raw_id_fields = ["supply", "demand"]


@admin.register(models.PairRule)
class PairRuleAdmin(admin.ModelAdmin):
    list_display = ["supply", "demand", "kind", "tonnes", "created_by", "created_at"]
    list_filter = ["kind"]
    raw_id_fields = ["supply", "demand"]


@admin.register(models.AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the audit log is written by the services, never edited."""

    list_display = ["at", "actor", "action", "run", "proposal", "reason"]
    list_filter = ["action"]
    search_fields = ["reason", "actor__email"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(models.ProcessingPlant)
class ProcessingPlantAdmin(admin.ModelAdmin):
    list_display = [
        "intake",
        "output",
        "output_yield",
        "treatment_kg_co2e_per_t",
        "cn_min",
        "cn_max",
        "send_output_to_processors",
    ]
    raw_id_fields = ["intake", "output"]
