"""What companies give away (supply) and what they need (demand).

Just over 500 lines: the shared listing columns, the choices they use and the
append-only fate record belong together.
"""

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from symbiosis.profiles import validate_monthly_profile
from symbiosis.units import UnitConversionError, listing_tonnes
from symbiosis.validators import (
    DESCRIPTION_MAX_CHARS,
    NOTE_MAX_CHARS,
    REASON_MAX_CHARS,
    capped_text,
    percent_validators,
    validate_business_date,
)

# The full-text configuration of descriptions (Russian words by the Russian
# stemmer, Latin ones by the English one): symbiosis.market_search queries with it.
DESCRIPTION_TEXT_CONFIG = "russian"


class DescriptionVector(SearchVector):
    """``to_tsvector('russian', description)`` on PostgreSQL; SQLite has no
    full-text vectors, so there the column keeps the text (the search's fallback
    reads the description itself)."""

    def __init__(self, expression="description", **extra):
        super().__init__(expression, config=DESCRIPTION_TEXT_CONFIG, **extra)

    def as_sqlite(self, compiler, connection, **extra_context):
        return compiler.compile(Coalesce(self.source_expressions[0], models.Value("")))


class Unit(models.TextChoices):
    TONNES = "t", _("tonnes")
    KILOGRAMS = "kg", _("kilograms")
    CUBIC_METRES = "m3", _("cubic metres")
    PIECES = "pieces", _("pieces")


class Recurrence(models.TextChoices):
    ONCE = "once", _("one-off batch")
    MONTHLY = "month", _("per month")
    YEARLY = "year", _("per year")


class Visibility(models.TextChoices):
    PUBLIC = "public", _("Public: everyone sees it and who offers it")
    ANONYMOUS = "anonymous", _("Anonymous: others see it, not who offers it")
    PRIVATE = "private", _("Private: only my organization and facilitators")


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    CLOSED = "closed", _("Closed")


class Fate(models.TextChoices):
    LANDFILL = "landfill", _("Landfill")
    INCINERATION = "incineration", _("Incineration")
    OPEN_DUMP = "open_dump", _("Open dump")
    # Manure heaped on the farm's own land: manure management (IPCC solid storage),
    # not a landfill.
    STORED_ON_FARM = "stored_on_farm", _("Stored on the farm")
    # Already put to use (sold as fodder, given to a recycler): moving it is reuse
    # continued, not diversion.
    ALREADY_USED = "already_used", _("Already used (sold, fed, recycled)")
    OTHER = "other", _("Other")


class Contaminant(models.TextChoices):
    """What may be mixed into a residue: a buyer's first question, named, not typed
    (free text could name the owner of an anonymous listing, and cannot be filtered)."""

    PLASTICS = "plastics", _("plastics")
    GLASS = "glass", _("glass")
    METAL = "metal", _("metal pieces")
    STONES = "stones", _("stones, sand or soil")
    WOOD = "wood", _("wood")
    PACKAGING = "packaging", _("packaging (paper, cardboard)")
    OIL = "oil", _("oil or grease")
    CHEMICALS = "chemicals", _("chemicals")
    OTHER = "other", _("other")


CONTAMINANT_CODES = frozenset(Contaminant.values)


def contaminant_codes(value) -> list[str]:
    """The codes of a stored or typed list ("glass, plastics" or "glass;plastics"),
    in the order of ``Contaminant``, each once; unknown codes are kept (the validator
    refuses them)."""
    if isinstance(value, (list, tuple)):
        parts = value
    else:
        parts = str(value or "").replace(";", ",").split(",")
    typed = {str(p).strip().casefold() for p in parts if str(p).strip()}
    known = [c for c in Contaminant.values if c in typed]
    return known + sorted(typed - CONTAMINANT_CODES)


def validate_contaminants(value) -> None:
    unknown = [c for c in contaminant_codes(value) if c not in CONTAMINANT_CODES]
    if unknown:
        raise ValidationError(
            _("Unknown contaminant %(codes)s: use %(known)s."),
            code="contaminant",
            params={"codes": ", ".join(unknown), "known": ", ".join(Contaminant.values)},
        )


class FateEvidence(models.TextChoices):
    DECLARED = "declared", _("Declared by the company")
    DOCUMENTED = "documented", _("Documented (a contract, invoice or landfill receipt)")
    VERIFIED = "verified", _("Verified by a facilitator")


class DataQuality(models.TextChoices):
    """How far a buyer may trust what a listing says of the material (issue 18).

    Declared by the company; lab-tested while the listing has a lab analysis among
    its documents (``symbiosis.attachments`` moves it both ways); verified by a
    facilitator, who is recorded with the time.
    """

    DECLARED = "declared", _("Declared")
    LAB_TESTED = "lab_tested", _("Lab-tested")
    VERIFIED = "verified", _("Verified")


positive_quantity = [MinValueValidator(Decimal("0.000001"))]


class Listing(models.Model):
    organization = models.ForeignKey("symbiosis.Organization", on_delete=models.CASCADE)
    site = models.ForeignKey("symbiosis.Site", on_delete=models.PROTECT)
    quantity = models.DecimalField(
        _("quantity"), max_digits=14, decimal_places=4, validators=positive_quantity
    )
    unit = models.CharField(_("unit"), max_length=10, choices=Unit.choices, default=Unit.TONNES)
    piece_mass_kg = models.DecimalField(
        _("mass per piece (kg)"),
        max_digits=12,
        decimal_places=3,
        null=True,
        blank=True,
        validators=positive_quantity,
    )
    # Normalised from quantity and unit by symbiosis.units on every save.
    tonnes = models.DecimalField(_("tonnes per period"), max_digits=16, decimal_places=6)
    recurrence = models.CharField(
        _("recurrence"), max_length=10, choices=Recurrence.choices, default=Recurrence.YEARLY
    )
    available_from = models.DateField(
        _("from"), null=True, blank=True, validators=[validate_business_date]
    )
    available_until = models.DateField(
        _("until"), null=True, blank=True, validators=[validate_business_date]
    )
    # 12 shares, January to December, or null: flat (symbiosis.profiles; issue 19).
    monthly_profile = models.JSONField(
        _("monthly profile"), null=True, blank=True, validators=[validate_monthly_profile]
    )
    # "We can hold up to N t" from one month to the next; its loss and emissions are
    # the material's (Material.storage_*). Null: no store.
    storage_capacity_tonnes = models.DecimalField(
        _("storage (tonnes)"),
        max_digits=12,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
    )
    max_km = models.DecimalField(
        _("maximum distance (km)"),
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        validators=positive_quantity,
    )
    visibility = models.CharField(
        _("visibility"), max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    description = models.TextField(
        _("description"), blank=True, **capped_text(DESCRIPTION_MAX_CHARS)
    )
    # The description's full-text vector, kept by the database on every write
    # (a stored generated column: no path that saves a listing can forget it),
    # GIN-indexed (migration 0013), so the market's search
    # (symbiosis.market_search) reads it instead of parsing descriptions per
    # query. On SQLite it holds the description, which nothing reads.
    description_vector = models.GeneratedField(
        expression=DescriptionVector("description"),
        output_field=SearchVectorField(),
        db_persist=True,
    )
    # The stable key of a demo listing ("alatau-brewery/spent-grain"), by which
    # symbiosis.demo finds it on a reload; empty for every other listing. Kept
    # out of the description, which people read.
    demo_key = models.CharField(
        max_length=100, blank=True, default="", editable=False, db_index=True
    )
    # Set only by symbiosis.attachments: lab-tested follows the lab analyses among the
    # documents, verified is a facilitator's decision (who and when below).
    data_quality = models.CharField(
        _("data quality"),
        max_length=12,
        choices=DataQuality.choices,
        default=DataQuality.DECLARED,
        editable=False,
        db_index=True,
    )
    data_quality_verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    data_quality_verified_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ["-updated_at"]

    def save(self, *args, **kwargs):
        self.tonnes = listing_tonnes(self)
        super().save(*args, **kwargs)

    @property
    def first_photo(self):
        """The listing's first photo (``ListingPhoto``) or None; reads a
        ``prefetch_related("photos")`` when the list made one."""
        prefetched = getattr(self, "_prefetched_objects_cache", {})
        if "photos" in prefetched:
            return next(iter(self.photos.all()), None)
        return self.photos.first()

    def clean(self):
        errors = {}
        if (
            self.site_id
            and self.organization_id
            and self.site.organization_id != self.organization_id
        ):
            errors["site"] = _("This site belongs to another organization.")
        if (
            self.available_from
            and self.available_until
            and self.available_until < self.available_from
        ):
            errors["available_until"] = _("The end date is before the start date.")
        if self.quantity is not None and self.unit:
            try:
                self.tonnes = listing_tonnes(self)
            except UnitConversionError as exc:
                errors[exc.field] = exc.message
        if errors:
            raise ValidationError(errors)


class SupplyListing(Listing):
    material = models.ForeignKey(
        "symbiosis.Material", on_delete=models.PROTECT, related_name="supplies"
    )
    fate = models.CharField(
        _("current fate"), max_length=20, choices=Fate.choices, default=Fate.LANDFILL
    )
    # How we know the fate: the baseline of every tonne this listing moves.
    fate_evidence = models.CharField(
        _("evidence of the current fate"),
        max_length=12,
        choices=FateEvidence.choices,
        default=FateEvidence.DECLARED,
    )
    fate_evidence_note = models.TextField(
        _("what the evidence is"), blank=True, **capped_text(NOTE_MAX_CHARS)
    )
    fate_reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    fate_reviewed_at = models.DateTimeField(null=True, blank=True)
    # Residue of imported origin (cocoa shells, coffee grounds, jute bags): the law may bar
    # its reuse; shown to buyers and facilitators.
    imported_origin = models.BooleanField(_("of imported origin"), default=False)
    fate_cost_kzt_per_t = models.DecimalField(
        _("cost of the current fate (KZT per tonne)"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
    )
    moisture_percent = models.DecimalField(
        _("moisture %"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=percent_validators,
    )
    contamination_percent = models.DecimalField(
        _("contamination %"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=percent_validators,
    )
    # Composition a buyer decides on (docs/market.md, "Composition and data quality").
    # Moisture and C:N override the material's typical values, in the optimizer too
    # (optimizer.snapshot); dry matter is 100 - moisture, derived, never typed twice.
    cn_ratio = models.DecimalField(
        _("C:N ratio"),
        max_digits=7,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("1000"))],
    )
    particle_size_mm = models.DecimalField(
        _("particle size (mm)"),
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        validators=positive_quantity,
    )
    # Codes of ``Contaminant``, comma-separated in its order ("plastics,glass").
    contaminants = models.CharField(
        _("contaminants"),
        max_length=200,
        blank=True,
        default="",
        validators=[validate_contaminants],
    )
    # Negative when the giver pays the receiver to take it.
    price_kzt_per_t = models.DecimalField(
        _("asking price (KZT per tonne)"), max_digits=12, decimal_places=2, null=True, blank=True
    )

    class Meta(Listing.Meta):
        constraints = [
            models.CheckConstraint(condition=models.Q(tonnes__gt=0), name="supply_tonnes_positive")
        ]

    def __str__(self):
        return f"{self.material} from {self.organization} ({self.tonnes} t/{self.recurrence})"

    def clean(self):
        super().clean()
        self.contaminants = ",".join(contaminant_codes(self.contaminants))

    # The composition as the optimizer reads it: the listing's own value, else the
    # material's typical one (optimizer.snapshot feeds these to the candidate rules).
    @property
    def effective_moisture_percent(self) -> Decimal | None:
        if self.moisture_percent is not None:
            return self.moisture_percent
        return self.material.moisture_percent

    @property
    def effective_cn_ratio(self) -> Decimal | None:
        if self.cn_ratio is not None:
            return self.cn_ratio
        # A material's C:N of 0 means "not known" (the instance schema needs > 0).
        return self.material.carbon_to_nitrogen_ratio or None

    @property
    def dry_matter_percent(self) -> Decimal | None:
        """100 - moisture: derived, so the two can never disagree."""
        moisture = self.effective_moisture_percent
        return None if moisture is None else Decimal(100) - moisture

    @property
    def contaminant_labels(self) -> list[str]:
        labels = dict(Contaminant.choices)
        return [str(labels.get(c, c)) for c in contaminant_codes(self.contaminants)]


class DemandListing(Listing):
    materials = models.ManyToManyField(
        "symbiosis.Material",
        blank=True,
        related_name="demands",
        verbose_name=_("accepted materials"),
    )
    uses = models.ManyToManyField(
        "symbiosis.Use", blank=True, related_name="demands", verbose_name=_("accepted uses")
    )
    # A unit conversion needs one material's density; the first accepted one is
    # ambiguous, so m3 demands name the material to measure by.
    reference_material = models.ForeignKey(
        "symbiosis.Material",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("material the quantity is measured in"),
    )
    max_moisture_percent = models.DecimalField(
        _("maximum moisture %"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=percent_validators,
    )
    max_contamination_percent = models.DecimalField(
        _("maximum contamination %"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=percent_validators,
    )
    max_price_kzt_per_t = models.DecimalField(
        _("maximum price (KZT per tonne)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    min_lot_tonnes = models.DecimalField(
        _("minimum lot (tonnes)"),
        max_digits=12,
        decimal_places=3,
        null=True,
        blank=True,
        validators=positive_quantity,
    )

    class Meta(Listing.Meta):
        constraints = [
            models.CheckConstraint(condition=models.Q(tonnes__gt=0), name="demand_tonnes_positive")
        ]

    def __str__(self):
        return f"Need of {self.organization} ({self.tonnes} t/{self.recurrence})"


FATE_REVIEW_IS_FINAL = _("The record of fate reviews is append-only: add a new review instead.")


class FateReviewQuerySet(models.QuerySet):
    """Bulk writes keep the record append-only too."""

    def update(self, **kwargs):
        raise ValidationError(FATE_REVIEW_IS_FINAL, code="append_only")

    def delete(self):
        raise ValidationError(FATE_REVIEW_IS_FINAL, code="append_only")

    delete.queryset_only = True


class FateReview(models.Model):
    """One change of a supply's current fate or of its evidence, kept for good.

    Written when a facilitator verifies or downgrades the fate (the baseline of every
    tonne the listing moves), with the reason, and when the company changes a fate a
    facilitator has reviewed, so an auditor can follow each baseline from the first
    review on. Append-only: ``save()`` of a stored row, ``delete()`` and the bulk
    ``update()``/``delete()`` are refused; the listing cannot be deleted once it has one.
    """

    listing = models.ForeignKey(
        SupplyListing, on_delete=models.PROTECT, related_name="fate_reviews"
    )
    from_fate = models.CharField(_("fate before"), max_length=20, choices=Fate.choices)
    to_fate = models.CharField(_("fate after"), max_length=20, choices=Fate.choices)
    from_evidence = models.CharField(
        _("evidence before"), max_length=12, choices=FateEvidence.choices
    )
    to_evidence = models.CharField(_("evidence after"), max_length=12, choices=FateEvidence.choices)
    reason = models.TextField(_("reason"), blank=True, **capped_text(REASON_MAX_CHARS))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    # A facilitator's review, or a company's change after one.
    by_facilitator = models.BooleanField(_("by a facilitator"))
    at = models.DateTimeField(auto_now_add=True)

    objects = FateReviewQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.listing_id}: {self.from_fate} -> {self.to_fate}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValidationError(FATE_REVIEW_IS_FINAL, code="append_only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(FATE_REVIEW_IS_FINAL, code="append_only")
