"""What the marketplace does for an introduction (symbiosis.introductions): the
draft deal of an approved proposal, and the companies' answers passed on to it.
Registered by ``MarketplaceConfig.ready``."""

from __future__ import annotations

from marketplace.models import Deal
from marketplace.services import deal_answer_introduction, deal_create


def draft_deal(*, user, proposal, terms: dict) -> None:
    deal_create(user=user, proposal=proposal, **terms)


def answer(*, user, proposal, party: str, accept: bool, reason: str) -> None:
    deal = Deal.objects.filter(proposal=proposal).order_by("pk").first()
    if deal is not None:
        deal_answer_introduction(user=user, deal=deal, party=party, accept=accept, reason=reason)
