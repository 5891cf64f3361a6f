"""Material taxonomy: what residues are, what receivers do with them."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from symbiosis.validators import (
    DESCRIPTION_MAX_CHARS,
    SOURCE_MAX_CHARS,
    capped_text,
    percent_validators,
    validate_ewc_code,
)


class MaterialCategory(models.TextChoices):
    BIOMASS = "biomass", _("Biomass")
    MINERALS = "minerals", _("Minerals")
    METALS = "metals", _("Metals")
    PLASTICS = "plastics", _("Plastics")
    FOSSIL = "fossil", _("Fossil")
    MIXED = "mixed", _("Mixed")


def name_fields(language: str) -> list[str]:
    """The name columns to read for ``language``, best first: its own, then its
    fallbacks (settings.LANGUAGE_FALLBACKS: kk → ru → en), ending with name_en."""
    codes = [language, *settings.LANGUAGE_FALLBACKS.get(language, ()), "en"]
    return [f"name_{code}" for code in dict.fromkeys(codes) if code in NAME_LANGUAGES]


def localized_name(prefix: str = "", language: str | None = None):
    """A database expression of ``BilingualName.name`` for ``language`` (default: the
    active one): the first non-empty of name_kk, name_ru, name_en as ``name_fields``
    orders them. ``prefix``: the path to the row with the names ("material__")."""
    fields = name_fields(language or _active_language())
    *preferred, last = (f"{prefix}{field}" for field in fields)
    if not preferred:
        return F(last)
    return Coalesce(*(NullIf(field, Value("")) for field in preferred), F(last))


def _active_language() -> str:
    return (translation.get_language() or settings.LANGUAGE_CODE)[:2]


# The languages a name has a column for (BilingualName.name_<code>).
NAME_LANGUAGES = ("en", "ru", "kk")


class BilingualName(models.Model):
    """A name in English (required), Russian and Kazakh. Russian is required by the
    forms and fixtures but Kazakh may be blank: ``name`` falls back kk → ru → en
    (Kazakh readers read Russian)."""

    name_en = models.CharField(_("name (English)"), max_length=200)
    name_ru = models.CharField(_("name (Russian)"), max_length=200)
    name_kk = models.CharField(_("name (Kazakh)"), max_length=200, blank=True, default="")

    class Meta:
        abstract = True

    def __str__(self):
        return self.name

    @property
    def name(self) -> str:
        """The name in the active language, or its fallback."""
        return self.name_in(_active_language())

    def name_in(self, language: str) -> str:
        for field in name_fields(language):
            value = getattr(self, field)
            if value:
                return value
        return self.name_en

    @property
    def all_names(self) -> str:
        """Every distinct name, the active language's first ("Сыра үгіндісі / Пивная
        дробина / Brewery spent grain"): a transfer note read by both parties and by
        the authorities."""
        names = (self.name, self.name_kk, self.name_ru, self.name_en)
        return " / ".join(name for name in dict.fromkeys(names) if name)

    def names(self) -> dict[str, str]:
        """{code: name} for each of settings.LANGUAGES, fallbacks applied: what a
        notification stores, to be read later in its recipient's language."""
        return {code: self.name_in(code) for code, _name in settings.LANGUAGES}


class Material(BilingualName):
    slug = models.SlugField(unique=True, max_length=80)
    ewc_code = models.CharField(
        _("EWC code"), max_length=9, validators=[validate_ewc_code], help_text="e.g. 02 07 04"
    )
    category = models.CharField(_("category"), max_length=20, choices=MaterialCategory.choices)
    density_t_per_m3 = models.DecimalField(
        _("bulk density (t/m3)"),
        max_digits=7,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(0.0001)],
    )
    carbon_to_nitrogen_ratio = models.DecimalField(
        _("C:N ratio"),
        max_digits=7,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    moisture_percent = models.DecimalField(
        _("moisture %"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=percent_validators,
    )
    hazardous = models.BooleanField(_("hazardous"), default=False)
    # Landfilling it is banned (Kazakhstan: glass, plastics, paper): a tonne moved from a
    # "landfill" fate is counted apart as brought into compliance, never as diverted.
    landfill_banned = models.BooleanField(_("landfilling banned"), default=False)
    landfill_ban_basis = models.TextField(
        _("legal basis of the landfill ban"), blank=True, **capped_text(SOURCE_MAX_CHARS)
    )
    properties_source = models.TextField(
        _("source of properties"), blank=True, **capped_text(SOURCE_MAX_CHARS)
    )
    # Kazakhstan's waste classifier, built on the European list: the same "NN NN NN"
    # shape, "*" on hazardous entries (symbiosis/fixtures/national_codes.csv). A
    # hazardous national code needs a receiver with a valid permit (symbiosis.permits).
    kz_code = models.CharField(
        _("national waste code (Kazakhstan)"),
        max_length=9,
        blank=True,
        validators=[validate_ewc_code],
        help_text="e.g. 13 02 05*",
    )
    kz_hazardous = models.BooleanField(_("hazardous (national classifier)"), default=False)
    # A mirror entry (a hazardous and a non-hazardous code for one waste, chosen by its
    # content): why this one was chosen.
    kz_hazard_basis = models.TextField(
        _("basis of the hazard choice (mirror entry)"),
        blank=True,
        **capped_text(SOURCE_MAX_CHARS),
    )
    kz_code_source = models.TextField(
        _("source of the national code"), blank=True, **capped_text(SOURCE_MAX_CHARS)
    )
    # A store of it from one month to the next (issue 19): the fraction lost per month
    # and kg CO2e per tonne held a month. Empty: symbiosis.storage's estimate by
    # category, flagged as such; a value here is sourced in storage_source.
    storage_loss_fraction_per_month = models.FloatField(
        _("storage loss per month (fraction)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(0.99)],
    )
    storage_kg_co2e_per_t_month = models.FloatField(
        _("storage emissions (kg CO2e per tonne and month)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    storage_source = models.TextField(
        _("source of the storage figures"), blank=True, **capped_text(SOURCE_MAX_CHARS)
    )

    class Meta:
        ordering = ["category", "name_en"]

    @property
    def ewc_digits(self) -> str:
        return self.ewc_code.replace(" ", "").rstrip("*")

    @property
    def kz_digits(self) -> str:
        return self.kz_code.replace(" ", "").rstrip("*")

    @property
    def needs_permit(self) -> bool:
        """Hazardous under the national classifier: only a receiver with a valid permit
        for its code may take it (``symbiosis.permits``)."""
        return bool(self.kz_hazardous and self.kz_code)


class Use(BilingualName):
    slug = models.SlugField(unique=True, max_length=80)
    description = models.TextField(blank=True, **capped_text(DESCRIPTION_MAX_CHARS))

    class Meta:
        ordering = ["name_en"]


class CompatibilityRule(models.Model):
    """A material can serve a use, replacing some virgin material."""

    material = models.ForeignKey(Material, on_delete=models.CASCADE, related_name="rules")
    use = models.ForeignKey(Use, on_delete=models.CASCADE, related_name="rules")
    substitution_ratio = models.DecimalField(
        _("tonnes of virgin material replaced per tonne"),
        max_digits=6,
        decimal_places=3,
        default=1,
        validators=[MinValueValidator(0)],
    )
    replaces = models.CharField(_("virgin material replaced"), max_length=200)
    # Empty where no published factor exists: the saving is then not counted
    # (shown as "not counted"), never a silent zero.
    credit_kg_co2e_per_t = models.DecimalField(
        _("virgin production avoided (kg CO2e per tonne received)"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
    )
    source = models.TextField(_("source"), blank=True, **capped_text(SOURCE_MAX_CHARS))
    is_estimate = models.BooleanField(_("estimate or proxy"), default=False)

    class Meta:
        ordering = ["material__name_en", "use__name_en"]
        constraints = [
            models.UniqueConstraint(fields=["material", "use"], name="unique_material_use")
        ]

    def __str__(self):
        return f"{self.material} -> {self.use}"
