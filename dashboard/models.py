"""The per-tonne impact of each deal, so the city's CO2e is one SQL ``Sum``.

``symbiosis.impact.score_flow`` is linear in tonnes: every figure of a delivery is
its tonnes times the deal's figure for one tonne. That depends only on the deal
(its sites, material, the supply's current fate and its evidence, the receiver,
its use or plant, and the deal's factor set), so it is computed once per deal
(``dashboard.services.deal_rate_refresh``) and stored here; the dashboard
multiplies it by the confirmed weighbridge tonnes inside the database.
"""

from django.db import models


class DealImpactRate(models.Model):
    """One deal's ``symbiosis.impact.score_flow`` per tonne: the net and its parts
    by tier and range, what its tonnes are, and what it leaves not counted."""

    deal = models.OneToOneField(
        "marketplace.Deal", on_delete=models.CASCADE, primary_key=True, related_name="impact_rate"
    )
    # The net per tonne: the sum of the counted terms. None only without a factor set
    # (then nothing is counted for the deal).
    kg_co2e_per_t = models.FloatField(null=True, blank=True)
    # The net split by the tier of its factors (published / proxies and estimates)
    # and its low-high range, per tonne.
    kg_co2e_published_per_t = models.FloatField(null=True, blank=True)
    kg_co2e_proxy_per_t = models.FloatField(null=True, blank=True)
    kg_co2e_low_per_t = models.FloatField(null=True, blank=True)
    kg_co2e_high_per_t = models.FloatField(null=True, blank=True)
    # What the tonnes are (symbiosis.impact.CATEGORIES): only "kept_out_of_landfill"
    # is kept out of landfill; a plant's output adds no tonnes.
    category = models.CharField(max_length=30, blank=True)
    # The evidence of the supply's current fate (declared, documented, verified).
    fate_evidence = models.CharField(max_length=12, blank=True)
    # False when the current fate has no factor: that term is not counted.
    fate_counted = models.BooleanField(default=False)
    # False when no virgin-production credit is known for the receiver's use.
    credit_counted = models.BooleanField(default=False)
    # Like-for-like shares (dashboard.selectors.BASELINES): food and kitchen residues
    # (the kind of the landfilled organic waste), and material recycling.
    organic_comparable = models.BooleanField(default=False)
    recycling = models.BooleanField(default=False)
    # The rows behind the counted terms ("ef:<id>", "plant:<id>", ...): the methodology page.
    factor_refs = models.JSONField(default=list, blank=True)
    road_km = models.FloatField()
    use_name = models.CharField(max_length=200, blank=True)
    factor_set_version = models.CharField(max_length=40, blank=True)
    # The deal's updated_at when the rate was computed: a later edit makes it stale.
    deal_updated_at = models.DateTimeField()
    computed_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"deal {self.deal_id}: {self.kg_co2e_per_t} kg CO2e/t"


class ConfirmedMonth(models.Model):
    """Confirmed deliveries of one deal in one month: tonnes and count.

    A roll-up of ``marketplace.Delivery`` (status confirmed) kept by
    ``dashboard.services.months_refresh``: the dashboard's queries group these
    (deals x months) rows instead of scanning every delivery, so a page over
    100,000 deliveries stays fast. Period filters therefore select whole months.
    """

    deal = models.ForeignKey(
        "marketplace.Deal", on_delete=models.CASCADE, related_name="confirmed_months"
    )
    month = models.DateField()  # the first day of the month
    tonnes = models.DecimalField(max_digits=16, decimal_places=3)
    deliveries = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["deal", "month"], name="one_confirmed_month_per_deal")
        ]

    def __str__(self):
        return f"deal {self.deal_id} {self.month:%Y-%m}: {self.tonnes} t"


class ConfirmedDeal(models.Model):
    """Confirmed deliveries of one deal, all months together: tonnes and count.

    The same roll-up as ``ConfirmedMonth`` summed over the months, kept with it
    by ``dashboard.services``. A view without a period filter (the usual one)
    groups these rows, one per deal, instead of one per deal and month.
    """

    deal = models.OneToOneField(
        "marketplace.Deal", on_delete=models.CASCADE, primary_key=True, related_name="confirmed"
    )
    tonnes = models.DecimalField(max_digits=16, decimal_places=3)
    deliveries = models.PositiveIntegerField()

    def __str__(self):
        return f"deal {self.deal_id}: {self.tonnes} t"
