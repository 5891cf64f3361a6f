"""The demo run and the city's figures agree on every demo flow (issue 16, "Done when").

Each proposal of the default run on the Almaty demo becomes a deal between the same
two listings, with the run's factor set, and its tonnes are delivered and confirmed.
The deal's page then shows the proposal's figures, term by term, and the city's
headline sums to the proposals' totals: the run, the deal and the dashboard score a
flow with one function and one factor set.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from dashboard.selectors import CityFilters, headline
from dashboard.services import rates_refresh
from marketplace.models import Delivery
from marketplace.selectors import deal_impact
from optimizer import services
from symbiosis.demo import FACILITATOR_EMAIL
from symbiosis.models import User
from tests.dashboard.conftest import make_deal

pytestmark = pytest.mark.django_db

FIELDS = (
    "net_kg_co2e_saved",
    "net_published_kg_co2e",
    "net_proxy_kg_co2e",
    "net_low_kg_co2e",
    "net_high_kg_co2e",
    "transport_kg_co2e_added",
)


def _run():
    facilitator = User.objects.get(email=FACILITATOR_EMAIL)
    run = services.run_create(user=facilitator, enqueue=False)
    services.run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    return run


def _deal_delivering(proposal, factor_set):
    """A deal between the proposal's listings, its tonnes delivered and confirmed
    (the agreed terms do not enter the figures: confirmed deliveries do)."""
    tonnes = Decimal(str(round(proposal.tonnes, 3)))
    deal = make_deal(
        supply=proposal.supply,
        receiver_site=proposal.demand.site,
        demand=proposal.demand,
        factor_set=factor_set,
    )
    Delivery.objects.create(
        deal=deal,
        date=date(2026, 6, 1),
        tonnes=tonnes,
        status=Delivery.Status.CONFIRMED,
        confirmed_at=timezone.now(),
    )
    return deal, float(tonnes)


def _close(a, b):
    return a == pytest.approx(b, rel=1e-6, abs=1e-3)


def test_every_demo_flow_scores_the_same_in_the_run_the_deal_and_the_city(demo):
    run = _run()
    proposals = list(run.proposals.select_related("supply__organization", "demand__site"))
    assert len(proposals) > 20
    # Direct flows and flows into a compost or digestion plant (the property test of
    # tests/dashboard/test_one_accounting.py draws flows out of one too).
    assert {"direct", "to_processor"} <= {p.kind for p in proposals}
    totals = {"kg": 0.0, "published": 0.0, "proxy": 0.0, "low": 0.0, "high": 0.0}
    tonnes_counted = 0.0
    categories: dict[str, float] = {}
    for proposal in proposals:
        deal, tonnes = _deal_delivering(proposal, run.factor_set)
        # The proposal's figures at the delivered (rounded) tonnes: they are linear.
        scale = tonnes / proposal.tonnes
        so_far = deal_impact(deal=deal).so_far
        label = f"proposal #{proposal.pk} {proposal.supply} -> {proposal.demand}"
        assert so_far.category == proposal.tonnes_category, label
        assert list(so_far.not_counted) == list(proposal.terms_not_counted), label
        for name in FIELDS:
            assert _close(getattr(so_far, name), getattr(proposal, name) * scale), (label, name)
        for name in ("fate_kg_co2e_avoided", "virgin_kg_co2e_avoided"):
            mine, theirs = getattr(so_far, name), getattr(proposal, name)
            assert (mine is None) == (theirs is None), (label, name)
            if mine is not None:
                assert _close(mine, theirs * scale), (label, name)
        totals["kg"] += proposal.net_kg_co2e_saved * scale
        totals["published"] += proposal.net_published_kg_co2e * scale
        totals["proxy"] += proposal.net_proxy_kg_co2e * scale
        totals["low"] += proposal.net_low_kg_co2e * scale
        totals["high"] += proposal.net_high_kg_co2e * scale
        if proposal.tonnes_category != "plant_output":
            tonnes_counted += tonnes
        categories[proposal.tonnes_category] = categories.get(proposal.tonnes_category, 0) + tonnes

    rates_refresh()
    city = headline(CityFilters())
    assert _close(city["kg_co2e"], totals["kg"])
    assert _close(city["kg_co2e_published"], totals["published"])
    assert _close(city["kg_co2e_proxy"], totals["proxy"])
    assert _close(city["kg_co2e_low"], totals["low"])
    assert _close(city["kg_co2e_high"], totals["high"])
    assert _close(city["tonnes"], tonnes_counted)
    for category, tonnes in categories.items():
        assert _close(city[f"tonnes_{category}"], tonnes), category
    # The run's own summary is the same sum.
    assert _close(run.saved_kg_co2e, sum(p.net_kg_co2e_saved for p in proposals))
