"""The per-tonne impact of each deal, so the city's CO2e is one SQL ``Sum``.

``symbiosis.impact`` is linear in tonnes: the net saving of a delivery is
``tonnes x net_kg_co2e_saved_per_t(road_km, fate factor, credit, transport)``.
The per-tonne part depends only on the deal (its sites, material, the
supply's current fate, the receiver's use and the deal's factor set), so it is
computed once per deal by ``impact.py`` (``dashboard.services.deal_rate_refresh``)
and stored here; the dashboard multiplies it by the confirmed weighbridge
tonnes inside the database.
"""

from django.db import models


class DealImpactRate(models.Model):
    deal = models.OneToOneField(
        "marketplace.Deal", on_delete=models.CASCADE, primary_key=True, related_name="impact_rate"
    )
    # None when the current fate has no factor (or the deal has no factor set):
    # those tonnes are diverted but their CO2e is "not counted", never zero.
    kg_co2e_per_t = models.FloatField(null=True, blank=True)
    # The supply's current fate is landfill or an open dump.
    from_landfill = models.BooleanField(default=False)
    # False when no virgin-production credit is known for the receiver's use.
    credit_counted = models.BooleanField(default=False)
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
