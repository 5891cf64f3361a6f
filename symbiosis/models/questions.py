"""Questions to a lister: one thread per (listing, asking organization), many messages.

A company member asks about a listing it may see (``symbiosis.questions``);
the lister's members answer. Neither side is named to the other until the two
are introduced: a deal between them on this listing (``joined_at``, stamped by
the marketplace when it drafts the deal). Each message records its side, so a
page names or hides its author by the side, never by looking at the user.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from symbiosis.validators import capped_text

# A question is a short note, not a letter: a deal's messages take longer ones.
QUESTION_MAX_CHARS = 2000


class QuestionThread(models.Model):
    # Exactly one of the two listings (as Deal holds a supply and perhaps a demand).
    supply = models.ForeignKey(
        "symbiosis.SupplyListing",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="question_threads",
    )
    demand = models.ForeignKey(
        "symbiosis.DemandListing",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="question_threads",
    )
    asking_organization = models.ForeignKey(
        "symbiosis.Organization", on_delete=models.CASCADE, related_name="questions_asked"
    )
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_message_at = models.DateTimeField(default=timezone.now)
    # The lister's first answer (empty: not answered yet).
    answered_at = models.DateTimeField(null=True, blank=True)
    # Unread badges: a side has read the thread up to this moment.
    lister_read_at = models.DateTimeField(null=True, blank=True)
    asker_read_at = models.DateTimeField(null=True, blank=True)
    # A deal between the two on this listing followed: both are named from then on.
    joined_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_message_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(supply__isnull=False, demand__isnull=True)
                | models.Q(supply__isnull=True, demand__isnull=False),
                name="question_thread_one_listing",
            ),
            models.UniqueConstraint(
                fields=["supply", "asking_organization"],
                condition=models.Q(supply__isnull=False),
                name="question_thread_one_per_supply_and_asker",
            ),
            models.UniqueConstraint(
                fields=["demand", "asking_organization"],
                condition=models.Q(demand__isnull=False),
                name="question_thread_one_per_demand_and_asker",
            ),
        ]

    def __str__(self):
        kind = "supply" if self.supply_id else "demand"
        who = self.asking_organization_id
        return f"Questions on {kind} {self.listing_id} by organization {who}"

    @property
    def kind(self) -> str:
        return "supply" if self.supply_id else "demand"

    @property
    def listing_id(self) -> int:
        return self.supply_id or self.demand_id

    @property
    def listing(self):
        return self.supply if self.supply_id else self.demand


class QuestionMessage(models.Model):
    class Side(models.TextChoices):
        ASKER = "asker", _("asker")
        LISTER = "lister", _("lister")

    thread = models.ForeignKey(QuestionThread, on_delete=models.CASCADE, related_name="messages")
    side = models.CharField(max_length=6, choices=Side.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    body = models.TextField(_("message"), **capped_text(QUESTION_MAX_CHARS))
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.side} on question thread {self.thread_id} at {self.at:%Y-%m-%d %H:%M}"
