from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from symbiosis import models


@admin.register(models.User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_staff", "is_active"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


class ReadOnlyRecordAdmin(admin.ModelAdmin):
    """Rows the platform writes (with a token only its link holds); the admin reads them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(models.Invitation)
class InvitationAdmin(ReadOnlyRecordAdmin):
    list_display = ["email", "organization", "role", "invited_by", "created_at", "expires_at"]
    list_filter = ["role"]
    search_fields = ["email", "organization__name"]
    list_select_related = ["organization", "invited_by"]
    exclude = ["token_hash"]

    def has_delete_permission(self, request, obj=None):
        return False  # who invited whom, and what became of it, stays on record


@admin.register(models.SignupRequest)
class SignupRequestAdmin(ReadOnlyRecordAdmin):
    list_display = ["email", "organization_name", "bin", "created_at", "expires_at"]
    search_fields = ["email", "organization_name", "bin"]
    exclude = ["token_hash", "password"]


@admin.register(models.ListingImport)
class ListingImportAdmin(ReadOnlyRecordAdmin):
    """A company's file import and its report; the worker writes it, nobody edits it."""

    list_display = ["pk", "organization", "owner", "kind", "status", "total_rows", "created_at"]
    list_filter = ["status", "kind"]
    list_select_related = ["organization", "owner"]
    # The uploaded bytes and parsed rows are the company's data, not an admin's to read.
    exclude = ["content", "rows"]


@admin.register(models.Notification)
class NotificationAdmin(ReadOnlyRecordAdmin):
    """What users were told and whether the e-mail went out (attempts, last error):
    the services write these, the admin reads them to see what is stuck."""

    list_display = ["pk", "kind", "recipient", "email", "email_status", "email_attempts"]
    list_display += ["created_at", "read_at"]
    list_filter = ["email_status", "kind"]
    search_fields = ["recipient__email", "email", "kind"]
    list_select_related = ["recipient"]
    # A sign-up or invitation link, kept only until its e-mail is sent: no one's to read.
    exclude = ["private_params"]


class MembershipInline(admin.TabularInline):
    model = models.Membership
    extra = 0
    autocomplete_fields = ["user"]


class SiteInline(admin.TabularInline):
    model = models.Site
    extra = 0


@admin.register(models.Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "bin", "sector", "kind", "agrees_to_be_named"]
    list_filter = ["kind", "sector"]
    search_fields = ["name", "bin"]
    inlines = [MembershipInline, SiteInline]


@admin.register(models.Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role"]
    list_filter = ["role"]
    search_fields = ["user__email", "organization__name"]
    autocomplete_fields = ["user", "organization"]


@admin.register(models.Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "district", "latitude", "longitude"]
    list_filter = ["district"]
    search_fields = ["name", "organization__name", "address"]


class CompatibilityRuleInline(admin.TabularInline):
    model = models.CompatibilityRule
    extra = 0


@admin.register(models.LegalRule)
class LegalRuleAdmin(admin.ModelAdmin):
    # Facilitators correct rules on /legal/ (who and when recorded); the admin lists them.
    list_display = ["key", "title", "act", "article", "verified", "updated_at"]
    list_filter = ["verified"]
    search_fields = ["key", "title", "act", "article"]
    readonly_fields = ["updated_at", "updated_by"]


@admin.register(models.Material)
class MaterialAdmin(admin.ModelAdmin):
    list_display = [
        "name_en",
        "name_ru",
        "name_kk",
        "ewc_code",
        "kz_code",
        "category",
        "density_t_per_m3",
        "hazardous",
        "kz_hazardous",
    ]
    list_filter = ["category", "hazardous", "kz_hazardous"]
    search_fields = ["name_en", "name_ru", "name_kk", "ewc_code", "kz_code", "slug"]
    prepopulated_fields = {"slug": ["name_en"]}
    inlines = [CompatibilityRuleInline]


@admin.register(models.Use)
class UseAdmin(admin.ModelAdmin):
    list_display = ["name_en", "name_ru", "name_kk", "slug"]
    search_fields = ["name_en", "name_ru", "name_kk", "slug"]


@admin.register(models.CompatibilityRule)
class CompatibilityRuleAdmin(admin.ModelAdmin):
    list_display = ["material", "use", "substitution_ratio", "credit_kg_co2e_per_t", "is_estimate"]
    list_filter = ["is_estimate", "use"]
    search_fields = ["material__name_en", "use__name_en", "replaces"]


class EmissionFactorInline(admin.TabularInline):
    model = models.EmissionFactor
    extra = 0


@admin.register(models.FactorSet)
class FactorSetAdmin(admin.ModelAdmin):
    list_display = ["version", "name", "transport_kg_co2e_per_tkm", "is_active", "created_at"]
    inlines = [EmissionFactorInline]


@admin.register(models.EmissionFactor)
class EmissionFactorAdmin(admin.ModelAdmin):
    list_display = ["factor_set", "material", "kind", "kg_co2e_per_t", "is_estimate"]
    list_filter = ["factor_set", "kind", "is_estimate"]
    search_fields = ["material__name_en", "source"]


class ListingAdmin(admin.ModelAdmin):
    list_filter = ["status", "visibility", "recurrence"]
    search_fields = ["organization__name", "description"]
    readonly_fields = ["tonnes", "created_at", "updated_at"]
    list_select_related = ["organization", "site"]


@admin.register(models.SupplyListing)
class SupplyListingAdmin(ListingAdmin):
    list_display = [
        "material",
        "organization",
        "tonnes",
        "recurrence",
        "fate",
        "status",
        "visibility",
    ]
    list_filter = [*ListingAdmin.list_filter, "fate", "fate_evidence", "material__category"]
    # Verified only on the fate review page, which writes the record (FateReview).
    readonly_fields = [
        *ListingAdmin.readonly_fields,
        "fate_evidence",
        "fate_reviewed_by",
        "fate_reviewed_at",
    ]


@admin.register(models.FateReview)
class FateReviewAdmin(ReadOnlyRecordAdmin):
    """The append-only record of supply fates: facilitators' reviews, companies' changes."""

    list_display = ["at", "listing", "from_fate", "to_fate", "to_evidence", "by", "by_facilitator"]
    list_filter = ["by_facilitator", "to_fate", "to_evidence"]
    list_select_related = ["listing__material", "listing__organization", "by"]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(models.DemandListing)
class DemandListingAdmin(ListingAdmin):
    list_display = ["organization", "tonnes", "recurrence", "max_km", "status", "visibility"]
    filter_horizontal = ["materials", "uses"]


# --- the market's records (issue 18): written by their services, read here ------------------


@admin.register(models.ListingPhoto)
class ListingPhotoAdmin(ReadOnlyRecordAdmin):
    # Uploaded through the listing's page, where the file is checked and stripped.
    list_display = ["pk", "supply", "demand", "width_px", "height_px", "created_at"]
    list_select_related = ["supply", "demand"]
    raw_id_fields = ["supply", "demand"]


@admin.register(models.ListingDocument)
class ListingDocumentAdmin(ReadOnlyRecordAdmin):
    list_display = ["pk", "kind", "supply", "demand", "size_bytes", "created_at"]
    list_filter = ["kind"]
    list_select_related = ["supply", "demand"]
    raw_id_fields = ["supply", "demand"]


@admin.register(models.WastePermit)
class WastePermitAdmin(ReadOnlyRecordAdmin):
    # Added on the company's Permits page (the document checked there) and decided on the
    # facilitators' "Permits to verify" page; the admin reads them.
    list_display = ["number", "organization", "activity", "status", "valid_from", "valid_until"]
    list_filter = ["status", "activity"]
    list_select_related = ["organization"]
    search_fields = ["number", "organization__name"]
    raw_id_fields = ["organization", "submitted_by", "verified_by"]


class QuestionMessageInline(admin.TabularInline):
    model = models.QuestionMessage
    extra = 0
    raw_id_fields = ["author"]


@admin.register(models.QuestionThread)
class QuestionThreadAdmin(ReadOnlyRecordAdmin):
    # Asked and answered on the listing's page, which keeps both sides anonymous.
    list_display = ["pk", "supply", "demand", "asking_organization", "created_at", "joined_at"]
    list_select_related = ["supply", "demand", "asking_organization"]
    raw_id_fields = ["supply", "demand", "asking_organization", "asked_by"]
    inlines = [QuestionMessageInline]


@admin.register(models.QuestionMessage)
class QuestionMessageAdmin(ReadOnlyRecordAdmin):
    list_display = ["pk", "thread", "side", "author", "at"]
    raw_id_fields = ["thread", "author"]


@admin.register(models.SavedSearch)
class SavedSearchAdmin(ReadOnlyRecordAdmin):
    # Saved from the market by its user; the unsubscribe token is theirs alone.
    list_display = ["pk", "user", "name", "active", "last_sent_at"]
    list_filter = ["active"]
    raw_id_fields = ["user"]
    exclude = ["unsubscribe_token"]


@admin.register(models.SavedSearchHit)
class SavedSearchHitAdmin(ReadOnlyRecordAdmin):
    # Written with each digest: what was sent, never sent again.
    list_display = ["pk", "search", "listing_id", "sent_at"]
    raw_id_fields = ["search"]


@admin.register(models.ImportedOriginClearance)
class ImportedOriginClearanceAdmin(admin.ModelAdmin):
    """Decisions on residues of imported origin, per material. Facilitators record them
    on their page (``/listings/imported-origin/``); here a superuser (or a staff user given
    the add permission) may add one, through the same service. None is changed or
    deleted: the decisions are the material's history."""

    list_display = ["decided_at", "material", "outcome", "basis_verified", "decided_by"]
    list_filter = ["outcome", "basis_verified"]
    fields = ["material", "outcome", "basis", "basis_verified", "document"]
    readonly_fields = ["decided_by", "decided_at"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        from symbiosis.clearances import clearance_record

        saved = clearance_record(
            user=request.user,
            material=obj.material,
            outcome=obj.outcome,
            basis=obj.basis,
            basis_verified=obj.basis_verified,
            document=form.cleaned_data.get("document") or None,
        )
        obj.pk = saved.pk


@admin.register(models.DataChange)
class DataChangeAdmin(ReadOnlyRecordAdmin):
    # Written by every write cached pages depend on (symbiosis.data_versions).
    list_display = ["pk", "name", "at"]
    list_filter = ["name"]
