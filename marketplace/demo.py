"""What the marketplace tells the demo loader (symbiosis.demo): the spans of the
deals still in progress on each demo listing, so a reload keeps their terms valid.
Registered by ``MarketplaceConfig.ready``."""

from __future__ import annotations

from datetime import date

from django.db.models import Max, Min

from marketplace.models import Deal
from marketplace.services.policy import TERMINAL_STATES


def open_deal_spans(listing_field: str) -> dict[str, tuple[date, date]]:
    """(first start, last end) of the deals still in progress on each demo listing
    (``listing_field``: "supply" or "demand"), by the listing's demo key."""
    demo_key = f"{listing_field}__demo_key"
    rows = (
        Deal.objects.exclude(state__in=TERMINAL_STATES)
        .exclude(**{demo_key: ""})
        .values(demo_key)
        .annotate(first=Min("start_date"), last=Max("end_date"))
    )
    return {row[demo_key]: (row["first"], row["last"]) for row in rows}
