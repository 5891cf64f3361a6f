from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from symbiosis import views
from symbiosis.views import notifications

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("", include("symbiosis.views.urls")),
    # The ҚАЗ / РУС / ENG switch: Django's set_language, also remembering a user's language.
    path("i18n/setlang/", notifications.language_set, name="set_language"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("deals/", include("marketplace.urls")),
    path("review/", include("optimizer.urls")),
    path("city/", include("dashboard.urls")),
    path("api/v1/", include("symbiosis.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file (?script), not
    # inline, so the Content-Security-Policy needs no 'unsafe-inline'.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="schema", template_name="symbiosis/api_docs.html"
        ),
        name="api-docs",
    ),
]
