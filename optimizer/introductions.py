"""The optimizer's introductions as the core's visibility rule reads them.

An approved proposal introduces its two companies to each other: each may see who
owns the other's listing. The core asks through
``symbiosis.visibility.register_introduction_source``; this module answers
(registered by ``OptimizerConfig.ready``).
"""

from __future__ import annotations

from optimizer.models import MatchProposal


def introduced_listing_ids(organization_ids: frozenset, supplies: bool) -> list[int]:
    """The supply (``supplies``) or demand listings of approved proposals whose
    other side belongs to one of ``organization_ids``."""
    approved = MatchProposal.objects.filter(status=MatchProposal.Status.APPROVED)
    if supplies:
        rows = approved.filter(demand__organization_id__in=organization_ids)
        return list(rows.values_list("supply_id", flat=True))
    rows = approved.filter(supply__organization_id__in=organization_ids)
    return list(rows.values_list("demand_id", flat=True))
