"""Routes of the company workspace (included from symbiosis.urls)."""

from django.urls import path, register_converter

from symbiosis.views import (
    accounts,
    attachments,
    clearances,
    fates,
    imports,
    legal,
    listings,
    market,
    market_map,
    notifications,
    permits,
    questions,
    saved_searches,
    sites,
)


class ListingKindConverter:
    regex = "supply|demand"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(ListingKindConverter, "kind")

urlpatterns = [
    path("accounts/signup/", accounts.signup, name="signup"),
    path("accounts/signup/check/<slug:field>/", accounts.signup_check, name="signup-check"),
    path("accounts/signup/<str:token>/", accounts.signup_confirm, name="signup-confirm"),
    path("accounts/invitation/<str:token>/", accounts.invitation_accept, name="invitation-accept"),
    path("accounts/tokens/", accounts.api_tokens, name="api-tokens"),
    path("accounts/tokens/new/", accounts.api_token_create, name="api-token-create"),
    path("accounts/tokens/revoke-all/", accounts.api_token_revoke_all, name="api-token-revoke-all"),
    path(
        "accounts/tokens/<slug:digest>/revoke/", accounts.api_token_revoke, name="api-token-revoke"
    ),
    path("organizations/<int:pk>/", accounts.organization, name="organization"),
    path("organizations/<int:pk>/edit/", accounts.organization_edit, name="organization-edit"),
    path("organizations/<int:pk>/invite/", accounts.member_invite, name="member-invite"),
    path(
        "organizations/<int:pk>/members/<int:membership_id>/",
        accounts.member_change,
        name="member-change",
    ),
    path(
        "organizations/<int:pk>/invitations/<int:invitation_id>/revoke/",
        accounts.invitation_revoke,
        name="invitation-revoke",
    ),
    path("listings/<kind:kind>/new/", listings.listing_create, name="listing-create"),
    path("listings/<kind:kind>/<int:pk>/edit/", listings.listing_edit, name="listing-edit"),
    path(
        "listings/<kind:kind>/<int:pk>/duplicate/",
        listings.listing_duplicate,
        name="listing-duplicate",
    ),
    path("listings/<kind:kind>/<int:pk>/status/", listings.listing_status, name="listing-status"),
    path(
        "listings/<kind:kind>/duplicates/",
        listings.duplicate_warning,
        name="listing-duplicate-warning",
    ),
    path("listings/supply/fate-warning/", listings.fate_warning, name="listing-fate-warning"),
    path(
        "listings/<kind:kind>/check/<slug:field>/",
        listings.listing_field_check,
        name="listing-field-check",
    ),
    path("legal/", legal.legal_rules, name="legal-rules"),
    path("legal/<slug:key>/edit/", legal.legal_rule_edit, name="legal-rule-edit"),
    path("listings/fates/", fates.fate_review_list, name="fate-review-list"),
    path("listings/fates/<int:pk>/", fates.fate_review, name="fate-review"),
    # Imported-origin clearances per material (issue 21): facilitators.
    path(
        "listings/imported-origin/",
        clearances.clearance_list,
        name="imported-origin-clearances",
    ),
    path(
        "listings/imported-origin/<int:pk>/document/",
        clearances.clearance_document,
        name="imported-origin-clearance-document",
    ),
    # Waste permits (issue 21): a company's own; facilitators verify them.
    path("permits/", permits.permit_list, name="permits"),
    path("permits/review/", permits.permit_review_list, name="permit-review-list"),
    path("permits/<int:pk>/review/", permits.permit_review, name="permit-review"),
    path("permits/<int:pk>/document/", permits.permit_document, name="permit-document"),
    path("listings/import/", imports.listing_import, name="listing-import"),
    path(
        "listings/import/<int:import_id>/",
        imports.listing_import_detail,
        name="listing-import-detail",
    ),
    path(
        "listings/import/<int:import_id>/status/",
        imports.listing_import_status,
        name="listing-import-status",
    ),
    path(
        "listings/import/<int:import_id>/import/",
        imports.listing_import_commit,
        name="listing-import-commit",
    ),
    path(
        "listings/import/template/<kind:kind>.<str:ext>",
        imports.listing_import_template,
        name="listing-import-template",
    ),
    path("listings/materials/", listings.material_options, name="material-options"),
    path("listings/tonnes/", listings.tonnes_preview, name="tonnes-preview"),
    path("sites/new/", sites.site_create, name="site-create"),
    path("sites/<int:pk>/edit/", sites.site_edit, name="site-edit"),
    path("notifications/", notifications.notification_list, name="notifications"),
    path(
        "notifications/read-all/",
        notifications.notifications_read_all,
        name="notifications-read-all",
    ),
    path("notifications/<str:pk>/", notifications.notification_open, name="notification-open"),
    path("market/", market.market, name="market"),
    path("market/map.json", market_map.market_map_json, name="market-map"),
    path("market/<kind:kind>/<int:pk>/", market.market_listing, name="market-listing"),
    path("market/<kind:kind>/<int:pk>/questions/", questions.question_ask, name="question-ask"),
    path("questions/<int:pk>/", questions.question_thread, name="question-thread"),
    path("questions/<int:pk>/reply/", questions.question_reply, name="question-reply"),
    # Photos and documents: uploaded by the listing's organization, served only to
    # those who may see the listing (symbiosis.views.attachments).
    path(
        "listings/<kind:kind>/<int:pk>/photos/",
        attachments.photo_upload,
        name="listing-photo-upload",
    ),
    path(
        "listings/<kind:kind>/<int:pk>/photos/<int:photo_id>/delete/",
        attachments.photo_delete,
        name="listing-photo-delete",
    ),
    path(
        "listings/<kind:kind>/<int:pk>/documents/",
        attachments.document_upload,
        name="listing-document-upload",
    ),
    path(
        "listings/<kind:kind>/<int:pk>/documents/<int:document_id>/delete/",
        attachments.document_delete,
        name="listing-document-delete",
    ),
    path(
        "market/<kind:kind>/<int:pk>/photos/<int:photo_id>.jpg",
        attachments.photo,
        name="listing-photo",
    ),
    path(
        "market/<kind:kind>/<int:pk>/photos/<int:photo_id>/small.jpg",
        attachments.photo_thumbnail,
        name="listing-photo-thumbnail",
    ),
    path(
        "market/<kind:kind>/<int:pk>/documents/<int:document_id>/",
        attachments.document,
        name="listing-document",
    ),
    path(
        "market/<kind:kind>/<int:pk>/data-quality/",
        attachments.data_quality,
        name="listing-data-quality",
    ),
    path("market/saved/", saved_searches.saved_search_list, name="saved-searches"),
    path("market/saved/new/", saved_searches.saved_search_new, name="saved-search-new"),
    path(
        "market/saved/<int:pk>/rename/",
        saved_searches.saved_search_rename,
        name="saved-search-rename",
    ),
    path(
        "market/saved/<int:pk>/active/",
        saved_searches.saved_search_active,
        name="saved-search-active",
    ),
    path(
        "market/saved/<int:pk>/delete/",
        saved_searches.saved_search_delete,
        name="saved-search-delete",
    ),
    path(
        "market/saved/unsubscribe/<str:token>/",
        saved_searches.saved_search_unsubscribe,
        name="saved-search-unsubscribe",
    ),
]
