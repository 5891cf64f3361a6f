from django.apps import AppConfig


class MarketplaceConfig(AppConfig):
    name = "marketplace"

    def ready(self):
        # The core reaches the marketplace through these registrations (a supply
        # edit checked against its deals' commitments; an introduction's draft deal
        # and answers; the demo's deals in progress), so neither the core nor the
        # optimizer imports it.
        from marketplace import demo, introductions
        from marketplace.services.terms import supply_overcommitment_error
        from symbiosis import demo as core_demo
        from symbiosis import introductions as core_introductions
        from symbiosis import supply_checks

        supply_checks.register(supply_overcommitment_error)
        core_demo.register_deal_spans(demo.open_deal_spans)
        core_introductions.register(
            draft_deal=introductions.draft_deal, answer=introductions.answer
        )
