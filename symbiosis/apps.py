from django.apps import AppConfig


class SymbiosisConfig(AppConfig):
    name = "symbiosis"
    verbose_name = "Industrial symbiosis"

    def ready(self):
        # Import the Celery app here rather than in __init__ so that the pure
        # modules (symbiosis.impact) can be imported without Celery or Django.
        from symbiosis import celery, data_versions  # noqa: F401 (celery: imported to load it)

        data_versions.connect()
