"""The REST API under /api/v1/ (namespace "api").

tests/security/test_access_audit.py has a row for every route here with the status code
each role gets; a route missing from that table fails the test.
"""

from django.urls import path
from rest_framework.routers import DefaultRouter

from dashboard import api as dashboard_api
from marketplace import api as marketplace_api
from marketplace import movement_api
from optimizer import api as optimizer_api
from symbiosis.api import attachments, permits, questions, saved_searches, views

app_name = "api"


class Router(DefaultRouter):
    # No ".json" duplicates of every route: one URL per resource.
    include_format_suffixes = False


router = Router()
router.register("organizations", views.OrganizationViewSet, basename="organization")
router.register("sites", views.SiteViewSet, basename="site")
router.register("materials", views.MaterialViewSet, basename="material")
router.register("uses", views.UseViewSet, basename="use")
router.register(
    "compatibility-rules", views.CompatibilityRuleViewSet, basename="compatibility-rule"
)
router.register("factor-sets", views.FactorSetViewSet, basename="factor-set")
router.register("supplies", views.SupplyViewSet, basename="supply")
router.register("demands", views.DemandViewSet, basename="demand")
router.register("deals", marketplace_api.DealViewSet, basename="deal")
router.register("deliveries", marketplace_api.DeliveryViewSet, basename="delivery")
# Movement records of confirmed deliveries (issue 21), by period or one delivery.
router.register("movements", movement_api.MovementViewSet, basename="movement")
router.register("proposals", optimizer_api.ProposalViewSet, basename="proposal")
router.register("introductions", optimizer_api.IntroductionViewSet, basename="introduction")
# Questions to a lister and saved searches (issue 18), as their pages.
router.register("questions", questions.QuestionThreadViewSet, basename="question")
router.register("saved-searches", saved_searches.SavedSearchViewSet, basename="saved-search")


def _listing_files(prefix: str, kind: str) -> list:
    """A listing's photos, documents and data-quality level (symbiosis.api.attachments)."""
    return [
        path(
            f"{prefix}/<int:id>/photos/",
            attachments.PhotoListView.as_view(kind=kind),
            name=f"{kind}-photos",
        ),
        path(
            f"{prefix}/<int:id>/photos/<int:photo_id>/",
            attachments.PhotoDetailView.as_view(kind=kind),
            name=f"{kind}-photo",
        ),
        path(
            f"{prefix}/<int:id>/photos/<int:photo_id>/move-first/",
            attachments.PhotoMoveFirstView.as_view(kind=kind),
            name=f"{kind}-photo-move-first",
        ),
        path(
            f"{prefix}/<int:id>/documents/",
            attachments.DocumentListView.as_view(kind=kind),
            name=f"{kind}-documents",
        ),
        path(
            f"{prefix}/<int:id>/documents/<int:document_id>/",
            attachments.DocumentDetailView.as_view(kind=kind),
            name=f"{kind}-document",
        ),
        path(
            f"{prefix}/<int:id>/data-quality/",
            attachments.DataQualityView.as_view(kind=kind),
            name=f"{kind}-data-quality",
        ),
    ]


urlpatterns = [
    # Username is the e-mail address; answers {"token": "...", "expiry": "..."} for
    # "Authorization: Token ...". Revoke the token sent, or all of one's tokens.
    path("auth/token/", views.TokenView.as_view(), name="auth-token"),
    path("auth/token/revoke/", views.TokenRevokeView.as_view(), name="auth-token-revoke"),
    path(
        "auth/token/revoke-all/", views.TokenRevokeAllView.as_view(), name="auth-token-revoke-all"
    ),
    path(
        "aggregates/listings/",
        views.ListingAggregatesView.as_view(),
        name="aggregates-listings",
    ),
    # The city dashboard's tables (table: category, material, ..., headline) as JSON or CSV.
    path("city/<slug:table>/", dashboard_api.CityTableView.as_view(), name="city-table"),
    # Waste permits (issue 21): companies add them, facilitators verify them.
    path("permits/", permits.PermitListView.as_view(), name="permits"),
    path("permits/<int:pk>/", permits.PermitDetailView.as_view(), name="permit"),
    path("permits/<int:pk>/review/", permits.PermitReviewView.as_view(), name="permit-review"),
    *_listing_files("supplies", "supply"),
    *_listing_files("demands", "demand"),
    *router.urls,
]
