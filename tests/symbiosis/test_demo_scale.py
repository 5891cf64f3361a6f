"""``manage.py scale_demo``: the demo grown to the asked totals, once."""

import pytest
from django.core.management import call_command
from django.utils import timezone

from dashboard.models import ConfirmedMonth, DealImpactRate
from marketplace.models import Deal, Delivery
from optimizer.models import OptimizationRun
from symbiosis.demo import DEMO_PASSWORD, load_demo
from symbiosis.demo_scale import scale_demo, scale_email
from symbiosis.models import DemandListing, Organization, SupplyListing, User

pytestmark = pytest.mark.django_db(transaction=True)


def test_scales_to_the_totals_then_refuses_to_run_again():
    load_demo()
    result = scale_demo(
        organizations=80, listings=300, run_organizations=10, deals=12, deliveries_per_deal=3
    )
    assert not result.already_scaled
    assert Organization.objects.count() == 80
    assert SupplyListing.objects.count() + DemandListing.objects.count() == 300
    assert all(
        d.materials.exists()
        for d in DemandListing.objects.filter(description__startswith="Synthetic")
    )
    run = OptimizationRun.objects.get(pk=result.run_id)
    assert run.status == OptimizationRun.Status.SUCCEEDED
    assert Deal.objects.count() == 12
    assert Delivery.objects.filter(status=Delivery.Status.CONFIRMED).count() == 36
    assert DealImpactRate.objects.count() == 12
    assert ConfirmedMonth.objects.exists()
    # Dated relative to the day it runs (as load_demo's windows): nothing after today.
    today = timezone.localdate()
    assert all(d.start_date <= today for d in Deal.objects.all())
    assert max(Delivery.objects.values_list("date", flat=True)) <= today
    assert User.objects.get(email=scale_email(1)).check_password(DEMO_PASSWORD)
    for org in Organization.objects.filter(contact_email__endswith="@scale.demo.kz"):
        org.full_clean()  # bulk_create skipped validation: the generated rows are valid

    again = scale_demo(organizations=200, listings=600)
    assert again.already_scaled
    assert Organization.objects.count() == 80


def test_command_without_the_demo_says_what_to_do():
    with pytest.raises(Exception, match="load_demo"):
        call_command("scale_demo", "--organizations", "10", "--listings", "10")
