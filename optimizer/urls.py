from django.urls import path

from optimizer import reach_views, views

app_name = "optimizer"

urlpatterns = [
    path("runs/", views.run_list, name="run_list"),
    path("runs/new/", views.run_new, name="run_new"),
    path("runs/compare/", views.run_compare, name="run_compare"),
    path("runs/<int:run_id>/", views.run_detail, name="run_detail"),
    path("runs/<int:run_id>/status/", views.run_status, name="run_status"),
    path("runs/<int:run_id>/cancel/", views.run_cancel, name="run_cancel"),
    path("runs/<int:run_id>/bulk/", views.proposals_bulk, name="proposals_bulk"),
    path("proposals/mine/", views.my_proposals, name="my_proposals"),
    path("proposals/<int:proposal_id>/", views.proposal_detail, name="proposal_detail"),
    path("proposals/<int:proposal_id>/panel/", views.proposal_panel, name="proposal_panel"),
    path("proposals/<int:proposal_id>/decide/", views.proposal_decide, name="proposal_decide"),
    path("proposals/<int:proposal_id>/answer/", views.proposal_answer, name="proposal_answer"),
    path("reach/", reach_views.reach_counts, name="reach_counts"),
    path("reach/<str:kind>/<int:pk>/", reach_views.listing_reach, name="listing_reach"),
    path("audit/<str:kind>/<int:listing_id>/", views.listing_audit, name="listing_audit"),
]
