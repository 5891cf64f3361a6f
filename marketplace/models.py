"""Deals between a supplier and a receiver, their history, deliveries and messages.

A deal changes state only through ``marketplace.services`` (one function per
transition, see ``services.TRANSITIONS``); the admin shows the state and the
acceptances read-only. The database keeps the invariants that do not depend on
other rows: an accepted, active or completed deal carries both acceptances; a
declined or cancelled one carries its reason; supplier and receiver differ.

Longer than most: the deal, its terms versions, events, amendments, deliveries
and messages are one aggregate whose constraints refer to each other.
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from marketplace.plausibility import held_reason_text
from marketplace.validators import validate_single_line
from symbiosis.models.listings import Recurrence
from symbiosis.validators import (
    HISTORY_MAX_CHARS,
    MESSAGE_MAX_CHARS,
    NOTE_MAX_CHARS,
    REASON_MAX_CHARS,
    capped_text,
    validate_business_date,
)

positive_tonnes = [MinValueValidator(Decimal("0.0001"))]
# Vehicles one delivery (one weighbridge ticket) may stand for.
MAX_LOADS = 1000


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
    start_date = models.DateField(_("start"), validators=[validate_business_date])
    end_date = models.DateField(_("end"), validators=[validate_business_date])
    terms_version = models.PositiveIntegerField(_("terms version"), default=1)
    # The day deliveries start, named when the deal is activated (on or after the
    # agreed start): deliveries are logged from then on. Empty until activation
    # (and on deals activated before it was recorded: the agreed start counts).
    deliveries_from = models.DateField(
        _("deliveries from"), null=True, blank=True, validators=[validate_business_date]
    )
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
    closed_reason = models.TextField(
        _("reason for declining or cancelling"), blank=True, **capped_text(REASON_MAX_CHARS)
    )
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
            models.CheckConstraint(
                condition=models.Q(deliveries_from__isnull=True)
                | models.Q(deliveries_from__gte=models.F("start_date")),
                name="deal_deliveries_from_agreed_start",
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

    @property
    def deliveries_start(self):
        """The first day a delivery may be dated: named at activation, else the agreed start."""
        return self.deliveries_from or self.start_date

    @property
    def is_introduction(self) -> bool:
        """Started by a facilitator (from an optimizer proposal, or by hand)."""
        return self.initiator == self.Initiator.FACILITATOR


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
    # The actor's own words (a reason, a note), or, on older rows, the whole line in English.
    note = models.TextField(blank=True, **capped_text(HISTORY_MAX_CHARS))
    # What the line is about, as codes and numbers (party, terms changed, a delivery's
    # figures): shown in the reader's language (``marketplace.history``).
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.deal_id} {self.action}: {self.from_state or '-'} -> {self.to_state}"


class DealAmendment(models.Model):
    """New terms proposed for an active deal by one party (who has accepted them
    by proposing). The deal runs on its current terms until the other party
    accepts these (they then become the deal's terms, ``terms_version``) or
    declines them. One waits at a time: a newer proposal supersedes it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting an answer")
        ACCEPTED = "accepted", pgettext_lazy("amendment status", "Accepted")
        DECLINED = "declined", pgettext_lazy("amendment status", "Declined")
        SUPERSEDED = "superseded", _("Replaced by newer terms")
        LAPSED = "lapsed", _("Lapsed: the deal ended")

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="amendments")
    # The version these terms become when accepted.
    terms_version = models.PositiveIntegerField(_("terms version"))
    tonnes_per_period = models.DecimalField(
        _("tonnes per period"), max_digits=14, decimal_places=4, validators=positive_tonnes
    )
    period = models.CharField(_("period"), max_length=10, choices=Recurrence.choices)
    tonnes_total = models.DecimalField(_("tonnes in total"), max_digits=16, decimal_places=4)
    price_kzt_per_t = models.DecimalField(
        _("price (KZT per tonne)"), max_digits=12, decimal_places=2
    )
    transport_by = models.CharField(
        _("transport by"), max_length=12, choices=Deal.TransportBy.choices
    )
    start_date = models.DateField(_("start"), validators=[validate_business_date])
    end_date = models.DateField(_("end"), validators=[validate_business_date])
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    proposed_as = models.CharField(_("proposed by (party)"), max_length=10, choices=Party.choices)
    proposed_at = models.DateTimeField(default=timezone.now)
    note = models.TextField(_("note"), blank=True, **capped_text(NOTE_MAX_CHARS))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(
        _("reason for declining"), blank=True, **capped_text(REASON_MAX_CHARS)
    )

    class Meta:
        ordering = ["-proposed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["deal"],
                condition=models.Q(status="pending"),
                name="one_pending_amendment",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    status__in=["pending", "accepted", "declined", "superseded", "lapsed"]
                ),
                name="amendment_status_known",
            ),
            models.CheckConstraint(
                condition=models.Q(proposed_as__in=["supplier", "receiver"]),
                name="amendment_proposed_by_a_party",
            ),
            models.CheckConstraint(
                condition=models.Q(tonnes_per_period__gt=0) & models.Q(tonnes_total__gt=0),
                name="amendment_tonnes_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(end_date__gte=models.F("start_date")),
                name="amendment_dates_in_order",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="declined") | ~models.Q(reason=""),
                name="amendment_declined_with_reason",
            ),
        ]

    def __str__(self):
        return f"Deal {self.deal_id} terms v{self.terms_version} ({self.status})"

    @property
    def answering_party(self) -> str:
        """The party whose acceptance the amendment waits for."""
        return Party.RECEIVER if self.proposed_as == Party.SUPPLIER else Party.SUPPLIER


CONFIRMED_IS_FINAL = _(
    "A confirmed delivery is never changed or deleted; propose a correction instead."
)


class DeliveryQuerySet(models.QuerySet):
    """Bulk writes keep the append-only record too: no update or delete of confirmed rows."""

    def _refuse_confirmed(self):
        if self.filter(status=Delivery.Status.CONFIRMED).exists():
            raise ValidationError(CONFIRMED_IS_FINAL, code="append_only")

    def update(self, **kwargs):
        self._refuse_confirmed()
        return super().update(**kwargs)

    def delete(self):
        self._refuse_confirmed()
        return super().delete()

    delete.queryset_only = True


class Delivery(models.Model):
    """A load that moved, as the weighbridge ticket says; counts once confirmed.

    The record is append-only once confirmed: ``save()`` refuses to change a
    stored confirmed row and ``delete()`` refuses to remove one (so do the bulk
    ``update()`` and ``delete()`` of the manager). A mistake is corrected by new
    rows, linked to the row they correct (``corrects``):

    - a **reversal** (``kind="reversal"``): the corrected row's tonnes negated,
      same ticket and date, so it cancels that row's tonnes and count;
    - unless the load never happened, a **replacement** (``kind="replacement"``)
      with the corrected figures, linked to its reversal (``reversal``).

    Both count only once confirmed, together, by someone other than who proposed
    them (``marketplace.services.delivery_correct``). ``logged_as`` is the party
    the row was logged for (a facilitator for a correction a facilitator
    proposed): the other party, or a facilitator, confirms it; never its logger.
    A delivery above a plausible load or period total is ``held`` with its
    ``held_reason`` (codes and numbers, see ``marketplace.plausibility``) until a
    facilitator releases or rejects it.
    """

    class Status(models.TextChoices):
        LOGGED = "logged", _("Logged, awaiting confirmation")
        HELD = "held", _("Held for a facilitator's review")
        CONFIRMED = "confirmed", _("Confirmed")
        DISPUTED = "disputed", _("Disputed")
        REJECTED = "rejected", pgettext_lazy("delivery status", "Rejected")

    class Kind(models.TextChoices):
        DELIVERY = "delivery", _("Delivery")
        REVERSAL = "reversal", _("Reversal (correction)")
        REPLACEMENT = "replacement", _("Replacement (correction)")

    class LoggedAs(models.TextChoices):
        SUPPLIER = "supplier", _("Supplier")
        RECEIVER = "receiver", _("Receiver")
        FACILITATOR = "facilitator", _("Facilitator")

    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, related_name="deliveries")
    date = models.DateField(_("delivery date"), validators=[validate_business_date])
    # Positive, except on a reversal (checked in ``clean`` and by a constraint).
    tonnes = models.DecimalField(_("tonnes (weighbridge)"), max_digits=12, decimal_places=3)
    loads = models.PositiveSmallIntegerField(
        _("number of loads"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_LOADS)],
    )
    # The weighbridge's two readings, when given: their difference is ``tonnes``.
    gross_tonnes = models.DecimalField(
        _("gross (tonnes)"), max_digits=12, decimal_places=3, null=True, blank=True
    )
    tare_tonnes = models.DecimalField(
        _("tare (tonnes)"), max_digits=12, decimal_places=3, null=True, blank=True
    )
    ticket_number = models.CharField(
        _("weighbridge ticket number"), max_length=60, validators=[validate_single_line]
    )
    vehicle = models.CharField(
        _("vehicle registration"), max_length=40, blank=True, validators=[validate_single_line]
    )
    note = models.TextField(_("note"), blank=True, **capped_text(NOTE_MAX_CHARS))
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
    dispute_reason = models.TextField(
        _("reason for the dispute"), blank=True, **capped_text(REASON_MAX_CHARS)
    )
    logged_as = models.CharField(
        _("logged for"), max_length=12, choices=LoggedAs.choices, default=LoggedAs.SUPPLIER
    )
    # Plausibility: why the delivery waits for a facilitator (a list of checks).
    held_reason = models.JSONField(_("why it is held"), default=list, blank=True)
    # A facilitator's release or rejection (of a held or disputed delivery).
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_reason = models.TextField(
        _("facilitator's reason"), blank=True, **capped_text(REASON_MAX_CHARS)
    )
    # Corrections (see the class docstring).
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.DELIVERY)
    corrects = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="corrections",
        verbose_name=_("corrects"),
    )
    reversal = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="replacement",
        verbose_name=_("its reversal"),
    )
    correction_reason = models.TextField(
        _("reason for the correction"), blank=True, **capped_text(REASON_MAX_CHARS)
    )

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            # A ticket is logged once per deal; corrections repeat it, and a rejected
            # delivery frees it to be logged again with the right figures.
            models.UniqueConstraint(
                fields=["deal", "ticket_number"],
                condition=models.Q(kind="delivery") & ~models.Q(status="rejected"),
                name="one_delivery_per_ticket",
            ),
            models.CheckConstraint(
                condition=(models.Q(tonnes__gt=0) & ~models.Q(kind="reversal"))
                | models.Q(kind="reversal", tonnes__lt=0),
                name="delivery_tonnes_positive",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="confirmed") | models.Q(confirmed_at__isnull=False),
                name="delivery_confirmed_has_time",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="disputed") | ~models.Q(dispute_reason=""),
                name="delivery_disputed_has_reason",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="rejected") | ~models.Q(review_reason=""),
                name="delivery_rejected_has_reason",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    status__in=["logged", "held", "confirmed", "disputed", "rejected"]
                ),
                name="delivery_status_known",
            ),
            models.CheckConstraint(
                condition=models.Q(logged_as__in=["supplier", "receiver", "facilitator"]),
                name="delivery_logged_as_known",
            ),
            models.CheckConstraint(
                condition=models.Q(loads__gte=1), name="delivery_loads_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(gross_tonnes__isnull=True, tare_tonnes__isnull=True)
                | models.Q(gross_tonnes__isnull=False, tare_tonnes__isnull=False),
                name="delivery_gross_and_tare_together",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="delivery", corrects__isnull=True, reversal__isnull=True)
                | models.Q(kind="reversal", corrects__isnull=False, reversal__isnull=True)
                | models.Q(kind="replacement", corrects__isnull=False, reversal__isnull=False),
                name="delivery_correction_linked",
            ),
            # One correction of a delivery waits at a time, and a delivery is reversed once.
            models.UniqueConstraint(
                fields=["corrects"],
                condition=models.Q(kind="reversal", status__in=["logged", "held", "disputed"]),
                name="one_pending_correction",
            ),
            models.UniqueConstraint(
                fields=["corrects"],
                condition=models.Q(kind="reversal", status="confirmed"),
                name="one_confirmed_reversal",
            ),
        ]

    def __str__(self):
        return f"{self.tonnes} t on {self.date} (ticket {self.ticket_number}, {self.status})"

    # --- the append-only record ---------------------------------------------------------

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            stored = (
                type(self)
                .objects.filter(pk=self.pk, status=self.Status.CONFIRMED)
                .values(*_FIELDS_OF_RECORD)
                .first()
            )
            if stored is not None and stored != self._record_values():
                raise ValidationError(CONFIRMED_IS_FINAL, code="append_only")
        super().save(*args, **kwargs)

    save.alters_data = True

    def delete(self, *args, **kwargs):
        if (
            self.pk is not None
            and type(self).objects.filter(pk=self.pk, status=self.Status.CONFIRMED).exists()
        ):
            raise ValidationError(CONFIRMED_IS_FINAL, code="append_only")
        return super().delete(*args, **kwargs)

    delete.alters_data = True

    def clean(self):
        errors = {}
        # Fields that did not parse are reported by ``clean_fields``; nothing to compare here.
        numbers = [self.tonnes, self.gross_tonnes, self.tare_tonnes]
        if not all(value is None or isinstance(value, Decimal) for value in numbers):
            return
        if self.tonnes is not None:
            if self.kind == self.Kind.REVERSAL:
                if self.tonnes >= 0:
                    errors["tonnes"] = _("A reversal takes tonnes away: they are negative.")
            elif self.tonnes <= 0:
                errors["tonnes"] = _("Give the tonnes the weighbridge measured (more than 0).")
        if (self.gross_tonnes is None) != (self.tare_tonnes is None):
            field = "tare_tonnes" if self.tare_tonnes is None else "gross_tonnes"
            errors[field] = _("Give both gross and tare, or neither.")
        elif self.gross_tonnes is not None:
            net = self.gross_tonnes - self.tare_tonnes
            if net <= 0:
                errors["tare_tonnes"] = _("The tare must be less than the gross weight.")
            elif self.tonnes is not None and net != self.tonnes:
                errors["tonnes"] = _(
                    "Gross %(gross)s t minus tare %(tare)s t is %(net)s t, not %(tonnes)s t."
                ) % {
                    "gross": _plain(self.gross_tonnes),
                    "tare": _plain(self.tare_tonnes),
                    "net": _plain(net),
                    "tonnes": _plain(self.tonnes),
                }
        if errors:
            raise ValidationError(errors)

    def _record_values(self) -> dict:
        """This instance's fields as the database would return them."""
        values = {}
        for name in _FIELDS_OF_RECORD:
            field = self._meta.get_field(name.removesuffix("_id"))
            value = getattr(self, name)
            values[name] = value if name.endswith("_id") else field.to_python(value)
        return values

    # --- reading -------------------------------------------------------------------------

    @property
    def is_correction(self) -> bool:
        return self.kind != self.Kind.DELIVERY

    @property
    def is_pending(self) -> bool:
        """Waiting for a confirmation or a facilitator's decision."""
        return self.status in (self.Status.LOGGED, self.Status.HELD, self.Status.DISPUTED)

    @property
    def held_reason_text(self) -> str:
        """Why it is held, in the current language."""
        return held_reason_text(self.held_reason)


# Every stored column of a delivery: none of them changes once it is confirmed.
_FIELDS_OF_RECORD = tuple(
    field.attname for field in Delivery._meta.concrete_fields if not field.primary_key
)


def _plain(value) -> str:
    return format(Decimal(value).normalize(), "f")


class DealMessage(models.Model):
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    body = models.TextField(_("message"), **capped_text(MESSAGE_MAX_CHARS))
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.author} on deal {self.deal_id} at {self.at:%Y-%m-%d %H:%M}"
