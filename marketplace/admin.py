"""Admin pages: for reading and for fixing data; states change through the services only."""

from django.contrib import admin

from marketplace import models


class DealEventInline(admin.TabularInline):
    model = models.DealEvent
    extra = 0
    can_delete = False
    fields = [
        "at",
        "actor",
        "action",
        "from_state",
        "to_state",
        "terms_version",
        "note",
        "details",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class DealAmendmentInline(admin.TabularInline):
    """New terms proposed for an active deal: answered on the deal page, read here."""

    model = models.DealAmendment
    fk_name = "deal"
    extra = 0
    can_delete = False
    fields = [
        "terms_version",
        "status",
        "proposed_as",
        "proposed_at",
        "tonnes_per_period",
        "period",
        "price_kzt_per_t",
        "transport_by",
        "start_date",
        "end_date",
        "answered_at",
        "reason",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class DeliveryInline(admin.TabularInline):
    model = models.Delivery
    extra = 0
    can_delete = False
    fields = ["date", "kind", "tonnes", "loads", "ticket_number", "vehicle", "status", "corrects"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(models.Deal)
class DealAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "material",
        "supplier",
        "receiver",
        "tonnes_per_period",
        "period",
        "state",
        "start_date",
        "end_date",
    ]
    list_filter = ["state", "period", "transport_by"]
    search_fields = ["supplier__name", "receiver__name", "material__name_en"]
    raw_id_fields = ["supply", "demand", "receiver_site", "proposal", "created_by"]
    readonly_fields = [
        "state",
        "initiator",
        "terms_version",
        "supplier_accepted_at",
        "receiver_accepted_at",
        "deliveries_from",
        "closed_reason",
        "created_at",
        "updated_at",
    ]
    inlines = [DealEventInline, DealAmendmentInline, DeliveryInline]
    date_hierarchy = "start_date"


@admin.register(models.DealEvent)
class DealEventAdmin(admin.ModelAdmin):
    list_display = ["deal", "at", "actor", "action", "from_state", "to_state"]
    list_filter = ["action", "to_state"]
    raw_id_fields = ["deal", "actor"]


@admin.register(models.Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """Read-only: deliveries are an append-only record. A mistake in a confirmed one is
    corrected on the deal page (a reversal and a replacement), never edited here."""

    list_display = ["deal", "date", "kind", "tonnes", "loads", "ticket_number", "status"]
    list_filter = ["status", "kind"]
    search_fields = ["ticket_number", "vehicle"]
    date_hierarchy = "date"

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(models.DealAmendment)
class DealAmendmentAdmin(admin.ModelAdmin):
    """Read-only: new terms are proposed and answered on the deal page (the services)."""

    list_display = ["deal", "terms_version", "status", "proposed_as", "proposed_at"]
    list_filter = ["status"]
    raw_id_fields = ["deal"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(models.DealMessage)
class DealMessageAdmin(admin.ModelAdmin):
    list_display = ["deal", "author", "at"]
    raw_id_fields = ["deal", "author"]
    search_fields = ["body"]
