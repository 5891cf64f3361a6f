from django.apps import AppConfig


class OptimizerConfig(AppConfig):
    name = "optimizer"

    def ready(self):
        # The core's visibility rule reads introductions through this registration,
        # so it need not import the optimizer.
        from optimizer.introductions import introduced_listing_ids
        from symbiosis import visibility

        visibility.register_introduction_source(introduced_listing_ids)
