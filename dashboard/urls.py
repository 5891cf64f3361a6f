from django.urls import path

from dashboard import api, views

app_name = "dashboard"

urlpatterns = [
    path("", views.city_dashboard, name="city"),
    path("methodology/", views.methodology, name="methodology"),
    path("public/", views.public_summary, name="public"),
    path("api/<slug:table>/", api.CityTableExport.as_view(), name="export"),
]
