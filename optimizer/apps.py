from django.apps import AppConfig


class OptimizerConfig(AppConfig):
    name = "optimizer"

    def ready(self):
        # The core's visibility rule reads introductions through this registration,
        # so it need not import the optimizer.
        from optimizer.demo import load_demo_plants
        from optimizer.introductions import introduced_listing_ids
        from symbiosis import demo, visibility

        visibility.register_introduction_source(introduced_listing_ids)
        # The demo's compost and digestion plants, loaded after its listings.
        demo.register_step("processing plants", load_demo_plants)
