from django.urls import path
from django.views.generic import RedirectView

from dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.city_dashboard, name="city"),
    path("methodology/", views.methodology, name="methodology"),
    path("public/", views.public_summary, name="public"),
    # The exports moved to the versioned API (/api/v1/city/<table>/); old links still work.
    path(
        "api/<slug:table>/",
        RedirectView.as_view(pattern_name="api:city-table", permanent=True, query_string=True),
        name="export",
    ),
]
