from django.apps import AppConfig


class MarketplaceConfig(AppConfig):
    name = "marketplace"

    def ready(self):
        # The core checks a supply edit against the tonnes its deals commit through
        # this registration, so it need not import the marketplace.
        from marketplace.services.terms import supply_overcommitment_error
        from symbiosis import supply_checks

        supply_checks.register(supply_overcommitment_error)
