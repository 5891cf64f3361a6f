"""Deals between a supplier and a receiver, their history, deliveries and messages.

A deal changes state only through ``marketplace.services`` (one function per
transition, see ``services.TRANSITIONS``); the admin shows the state and the
acceptances read-only. The database keeps the invariants that do not depend on
other rows: an accepted, active or completed deal carries both acceptances; a
declined or cancelled one carries its reason; supplier and receiver differ.
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from symbiosis.models.listings import Recurrence

positive_tonnes = [MinValueValidator(Decimal("0.0001"))]


class Party(models.TextChoices):
    SUPPLIER = "supplier", _("Supplier")
    RECEIVER = "receiver", _("Receiver")


class Deal(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OFFERED = "offered", _("Offered")
        ACCEPTED = "accepted", _("Accepted")
        ACTIVE = "active", _("Active")
        COMPLETED = "completed", _("Completed")
        DECLINED = "declined", _("Declined")
        CANCELLED = "cancelled", _("Cancelled")

    class Initiator(models.TextChoices):
        SUPPLIER = "supplier", _("Supplier")
        RECEIVER = "receiver", _("Receiver")
        FACILITATOR = "facilitator", _("Facilitator (introduction)")

    class TransportBy(models.TextChoices):
        SUPPLIER = "supplier", _("Supplier")
        RECEIVER = "receiver", _("Receiver")
        THIRD_PARTY = "third_party", _("Third-party carrier")

    supplier = models.ForeignKey(
        "symbiosis.Organization", on_delete=models.PROTECT, related_name="deals_as_supplier"
    )
    receiver = models.ForeignKey(
        "symbiosis.Organization", on_delete=models.PROTECT, related_name="deals_as_receiver"
    )
    supply = models.ForeignKey(
        "symbiosis.SupplyListing", on_delete=models.PROTECT, related_name="deals"
    )
    # A receiver may take a residue without having published a demand; the
    # site it is delivered to is then named directly.
    demand = models.ForeignKey(
        "symbiosis.DemandListing",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="deals",
    )
    receiver_site = models.ForeignKey(
        "symbiosis.Site",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("delivered to (site)"),
    )
    material = models.ForeignKey("symbiosis.Material", on_delete=models.PROTECT, related_name="+")
    # Terms. Both parties accept one version of them (``terms_version``).
    tonnes_per_period = models.DecimalField(
        _("tonnes per period"), max_digits=14, decimal_places=4, validators=positive_tonnes
    )
    period = models.CharField(_("period"), max_length=10, choices=Recurrence.choices)
    # Derived by the services: per period x the periods the deal runs.
    tonnes_total = models.DecimalField(_("tonnes in total"), max_digits=16, decimal_places=4)
    # Negative when the supplier pays the receiver to take it.
    price_kzt_per_t = models.DecimalField(
        _("price (KZT per tonne)"),
        max_digits=12,
        decimal_places=2,
        default=Decimal(0),
        help_text=_("Negative when the supplier pays the receiver."),
    )
    transport_by = models.CharField(
        _("transport by"), max_length=12, choices=TransportBy.choices, default=TransportBy.RECEIVER
    )
    start_date = models.DateField(_("start"))
    end_date = models.DateField(_("end"))
    terms_version = models.PositiveIntegerField(_("terms version"), default=1)
    # Where it came from, and the factors its impact figures use.
    proposal = models.ForeignKey(
        "optimizer.MatchProposal",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deals",
    )
    factor_set = models.ForeignKey(
        "symbiosis.FactorSet", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # State.
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.DRAFT, db_index=True
    )
    initiator = models.CharField(_("initiated by"), max_length=12, choices=Initiator.choices)
    supplier_accepted_at = models.DateTimeField(null=True, blank=True)
    receiver_accepted_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.TextField(_("reason for declining or cancelling"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(supplier=models.F("receiver")),
                name="deal_parties_differ",
            ),
            models.CheckConstraint(
                condition=models.Q(tonnes_per_period__gt=0) & models.Q(tonnes_total__gt=0),
                name="deal_tonnes_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(end_date__gte=models.F("start_date")),
                name="deal_dates_in_order",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    state__in=[
                        "draft",
                        "offered",
                        "accepted",
                        "active",
                        "completed",
                        "declined",
                        "cancelled",
                    ]
                ),
                name="deal_state_known",
            ),
            models.CheckConstraint(
                condition=~models.Q(state__in=["accepted", "active", "completed"])
                | models.Q(supplier_accepted_at__isnull=False, receiver_accepted_at__isnull=False),
                name="deal_agreed_by_both",
            ),
            models.CheckConstraint(
                condition=~models.Q(state__in=["declined", "cancelled"])
                | ~models.Q(closed_reason=""),
                name="deal_closed_with_reason",
            ),
        ]

    def __str__(self):
        return f"Deal {self.pk}: {self.material} {self.supplier} -> {self.receiver} ({self.state})"

    def clean(self):
        errors = {}
        if self.supplier_id and self.supplier_id == self.receiver_id:
            errors["receiver"] = _("A deal needs two different organizations.")
        if self.start_date and self.end_date and self.end_date < self.start_date:
            errors["end_date"] = _("The end date is before the start date.")
        if errors:
            raise ValidationError(errors)

    @property
    def is_closed(self) -> bool:
        return self.state in (
            self.State.COMPLETED,
            self.State.DECLINED,
            self.State.CANCELLED,
        )

    def accepted_at(self, party: str):
        return self.supplier_accepted_at if party == Party.SUPPLIER else self.receiver_accepted_at


class DealEvent(models.Model):
    """One line of a deal's history: who did what, from which state to which."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    action = models.CharField(_("action"), max_length=30)
    # Empty for the event that created the deal.
    from_state = models.CharField(max_length=10, choices=Deal.State.choices, blank=True)
    to_state = models.CharField(max_length=10, choices=Deal.State.choices)
    terms_version = models.PositiveIntegerField(default=1)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.deal_id} {self.action}: {self.from_state or '-'} -> {self.to_state}"


class Delivery(models.Model):
    """A load that moved, as the weighbridge ticket says; counts once confirmed."""

    class Status(models.TextChoices):
        LOGGED = "logged", _("Logged, awaiting the receiver")
        CONFIRMED = "confirmed", _("Confirmed by the receiver")
        DISPUTED = "disputed", _("Disputed by the receiver")

    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, related_name="deliveries")
    date = models.DateField(_("delivery date"))
    tonnes = models.DecimalField(
        _("tonnes (weighbridge)"), max_digits=12, decimal_places=3, validators=positive_tonnes
    )
    ticket_number = models.CharField(_("weighbridge ticket number"), max_length=60)
    vehicle = models.CharField(_("vehicle registration"), max_length=40, blank=True)
    note = models.TextField(_("note"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.LOGGED
    )
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    logged_at = models.DateTimeField(auto_now_add=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    disputed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    disputed_at = models.DateTimeField(null=True, blank=True)
    dispute_reason = models.TextField(_("reason for the dispute"), blank=True)

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["deal", "ticket_number"], name="one_delivery_per_ticket"
            ),
            models.CheckConstraint(
                condition=models.Q(tonnes__gt=0), name="delivery_tonnes_positive"
            ),
            models.CheckConstraint(
                condition=~models.Q(status="confirmed") | models.Q(confirmed_at__isnull=False),
                name="delivery_confirmed_has_time",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="disputed") | ~models.Q(dispute_reason=""),
                name="delivery_disputed_has_reason",
            ),
        ]

    def __str__(self):
        return f"{self.tonnes} t on {self.date} (ticket {self.ticket_number}, {self.status})"


class DealMessage(models.Model):
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    body = models.TextField(_("message"), max_length=5000)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.author} on deal {self.deal_id} at {self.at:%Y-%m-%d %H:%M}"
