"""An introduction: a facilitator's approved proposal between two companies, which
each company answers, and which the marketplace turns into a draft deal.

The core holds what the optimizer (which approves and records the answers) and
the marketplace (which drafts and shapes the deal) both build on: the answers a
company gives, and the two steps the marketplace takes, registered here by
``MarketplaceConfig.ready``. So neither app imports the other for an introduction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _


class Answer(models.TextChoices):
    PENDING = "", _("No answer yet")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")


@dataclass
class Handlers:
    """What the marketplace does for an introduction.

    ``draft_deal(user, proposal, terms)``: the draft deal of an approved proposal
    (``terms``: the deal's keyword arguments). ``answer(user, proposal, party,
    accept, reason)``: pass a company's answer on to that deal, if there is one.
    """

    draft_deal: Callable | None = None
    answer: Callable | None = None


_handlers = Handlers()


def register(*, draft_deal: Callable, answer: Callable) -> None:
    _handlers.draft_deal = draft_deal
    _handlers.answer = answer


def draft_deal(*, user, proposal, terms: dict) -> None:
    if _handlers.draft_deal is None:
        raise RuntimeError("no app drafts deals for introductions (is marketplace installed?)")
    _handlers.draft_deal(user=user, proposal=proposal, terms=terms)


def pass_answer_on(*, user, proposal, party: str, accept: bool, reason: str) -> None:
    if _handlers.answer is not None:
        _handlers.answer(user=user, proposal=proposal, party=party, accept=accept, reason=reason)
