"""Versioned emission factor sets; every number carries its source."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from symbiosis.validators import DESCRIPTION_MAX_CHARS, SOURCE_MAX_CHARS, capped_text


class FactorSet(models.Model):
    version = models.CharField(_("version"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    basis = models.TextField(
        _("accounting basis"), blank=True, **capped_text(DESCRIPTION_MAX_CHARS)
    )
    transport_kg_co2e_per_tkm = models.DecimalField(
        _("road transport (kg CO2e per tonne-km)"), max_digits=8, decimal_places=5
    )
    transport_source = models.TextField(
        _("transport factor source"), blank=True, **capped_text(SOURCE_MAX_CHARS)
    )
    is_active = models.BooleanField(_("active"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # At most one set is the one in force.
            models.UniqueConstraint(
                fields=["is_active"],
                condition=models.Q(is_active=True),
                name="one_active_factor_set",
            )
        ]

    def __str__(self):
        return f"{self.name} ({self.version})"


class EmissionFactor(models.Model):
    class Kind(models.TextChoices):
        LANDFILL = "landfill", _("Landfill")
        INCINERATION = "incineration", _("Incineration")
        OPEN_DUMP = "open_dump", _("Open dump")
        COMPOSTING = "composting", _("Composting")
        ANAEROBIC_DIGESTION = "anaerobic_digestion", _("Anaerobic digestion")
        RECYCLING = "recycling", _("Recycling")
        VIRGIN_PRODUCTION = "virgin_production", _("Virgin production")
        STORED_ON_FARM = "stored_on_farm", _("Stored on the farm")

    class Tier(models.TextChoices):
        PUBLISHED = "published", _("Published")
        PROXY = "proxy", _("Proxy")
        ESTIMATE = "estimate", _("Estimate")

    factor_set = models.ForeignKey(FactorSet, on_delete=models.CASCADE, related_name="factors")
    material = models.ForeignKey(
        "symbiosis.Material", on_delete=models.CASCADE, related_name="emission_factors"
    )
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    kg_co2e_per_t = models.DecimalField(_("kg CO2e per tonne"), max_digits=10, decimal_places=2)
    source = models.TextField(_("source"), **capped_text(SOURCE_MAX_CHARS))
    is_estimate = models.BooleanField(_("estimate or proxy"), default=False)
    tier = models.CharField(_("tier"), max_length=10, choices=Tier.choices, default=Tier.PUBLISHED)
    # For proxies and estimates: the range the true value plausibly lies in, and why.
    low_kg_co2e_per_t = models.DecimalField(
        _("low (kg CO2e per tonne)"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    high_kg_co2e_per_t = models.DecimalField(
        _("high (kg CO2e per tonne)"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    basis = models.TextField(
        _("basis of the proxy or estimate"), blank=True, **capped_text(SOURCE_MAX_CHARS)
    )

    class Meta:
        ordering = ["material__name_en", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["factor_set", "material", "kind"], name="unique_factor_per_set"
            )
        ]

    def __str__(self):
        return f"{self.material} {self.kind}: {self.kg_co2e_per_t} kg CO2e/t"
