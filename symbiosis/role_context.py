"""Template context: the user's roles and the menu's counts of what waits for them.

Project wiring, not the core domain: settings.TEMPLATES names these processors,
nothing else imports this module, and the menu gathers every app (as the
workspace page does, ``views/home.py``), so it may import the apps' selectors.
"""

from functools import cached_property

from marketplace.selectors import (
    deals_awaiting_answer,
    deliveries_awaiting_confirmation,
    deliveries_for_review,
)
from optimizer.selectors import introductions_awaiting
from symbiosis.notifications import notifications_unread_count
from symbiosis.roles import is_city_analyst, is_facilitator
from symbiosis.visibility import viewer_for


def roles(request):
    user = getattr(request, "user", None)
    return {
        "user_is_facilitator": is_facilitator(user),
        "user_is_city_analyst": is_city_analyst(user),
    }


class Navigation:
    """The menu's counts, each read (one COUNT query) only when a page shows it:
    htmx fragments and JSON never pay for them. Company users: introductions to
    answer, deals to answer plus deliveries to confirm; facilitators: deliveries
    held or disputed; everyone: unread notifications."""

    def __init__(self, user):
        self.user = user

    @cached_property
    def viewer(self):
        return viewer_for(self.user)

    @cached_property
    def is_company(self) -> bool:
        return bool(self.viewer.organization_ids)

    @cached_property
    def introductions(self) -> int:
        return introductions_awaiting(self.viewer).count() if self.is_company else 0

    @cached_property
    def deals(self) -> int:
        if not self.is_company:
            return 0
        answers = deals_awaiting_answer(user=self.viewer).count()
        return (
            answers + deliveries_awaiting_confirmation(user=self.user, viewer=self.viewer).count()
        )

    @cached_property
    def reviews(self) -> int:
        return deliveries_for_review(user=self.viewer).count() if self.viewer.is_facilitator else 0

    @cached_property
    def unread(self) -> int:
        return notifications_unread_count(user=self.user)


def navigation(request):
    user = getattr(request, "user", None)
    if not user or not user.is_authenticated:
        return {}
    return {"navigation": Navigation(user)}
