from django.urls import path

from marketplace import movement_views, views

app_name = "marketplace"

urlpatterns = [
    path("", views.deal_list, name="deal-list"),
    path("new/", views.deal_new, name="deal-new"),
    path("<int:pk>/", views.deal_detail, name="deal-detail"),
    path("<int:pk>/terms/", views.deal_terms, name="deal-terms"),
    path("<int:pk>/deliveries/", views.delivery_log, name="delivery-log"),
    path("<int:pk>/messages/", views.message_post, name="message-post"),
    path(
        "<int:pk>/<slug:action>/",
        views.deal_transition,
        name="deal-transition",
    ),
    path("deliveries/review/", views.delivery_review, name="delivery-review"),
    path("deliveries/<int:pk>/", views.delivery_detail, name="delivery-detail"),
    *(
        path(
            f"deliveries/<int:pk>/{action}/",
            views.delivery_action,
            {"action": action},
            name=f"delivery-{action}",
        )
        for action in ("confirm", "dispute", "release", "reject", "correct")
    ),
    path("deliveries/<int:pk>/note/", views.delivery_note, name="delivery-note"),
    path("deliveries/<int:pk>/note.pdf", views.delivery_note_pdf, name="delivery-note-pdf"),
    # Movement records (issue 21): a period's export, one delivery's record.
    path("movements/", movement_views.movement_export, name="movement-export"),
    path(
        "deliveries/<int:pk>/movement.json",
        movement_views.delivery_movement,
        name="delivery-movement",
    ),
]
