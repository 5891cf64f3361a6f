from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "City dashboard"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from dashboard import signals

        signals.connect(self)
