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
