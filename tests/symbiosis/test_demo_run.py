"""A facilitator's run on the demo, loaded on any day: the Almaty exchanges the
demo is about are proposed, none inside one organization unless asked for, and
an approved one gives a draft deal two companies can take to a delivery today.
The run is of the size of typical companies, not of the city: it moves less than
all the city recycles today, never sludge into compost, and never spent grain the
breweries already sell as fodder (reuse continued earns nothing)."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from marketplace.models import Deal
from marketplace.services.terms import terms_errors
from optimizer import decisions, services
from symbiosis.demo import FACILITATOR_EMAIL, load_demo
from symbiosis.models import User

pytestmark = pytest.mark.django_db

# (supply key prefix, demand key prefix): the named exchanges of the 2019 Almaty
# analysis (see README), as the default run on the demo proposes them.
NAMED_EXCHANGES = {
    # Spent grain to feed and to a bakery: the craft brewery's, the one still thrown
    # away (the large breweries sell theirs as fodder already).
    ("tengri-craft-brewery/spent-grain", "alatau-feed-mill/feed"),
    ("tengri-craft-brewery/spent-grain", "almaty-bread-combine/grain-flour"),
    ("almaty-bread-combine/bread", "alatau-brewery/bread"),  # old bread back to the brewery
    ("esik-poultry/manure", "talgar-mushrooms/substrate"),  # chicken manure to mushrooms
    ("kaskelen-poultry/manure", "almaty-compost-works/feedstock"),  # ... and to compost
    ("karasay-grain-farm/straw", "almaty-compost-works/feedstock"),  # straw to compost
    ("kok-tobe-coffee/grounds", "talgar-mushrooms/coffee"),  # coffee grounds to mushrooms
    ("medeu-demolition/aksay-panels", "almaty-dsk/panels"),  # facade panels to the factory
    ("medeu-demolition/aksay-concrete", "almaty-road-construction/base"),  # concrete to road base
    ("zhetygen-steel/slag", "konaev-cement/clinker"),  # steel slag to the cement kiln
    ("medeu-demolition/aksay-steel", "almaty-scrap-metal/metals"),  # scrap metal
    ("samal-supermarkets/cardboard", "almaty-paper-recycling/fibre"),  # paper and board
}
INTERNAL = ("almaty-road-construction/asphalt", "almaty-road-construction/rap")
# The seed's 113,000 t recycled a year in Almaty (symbiosis/fixtures/README.md, S2).
CITY_RECYCLED_TONNES = 113_000
SOLD_AS_FODDER = ("alatau-brewery/spent-grain", "zhetysu-beer/spent-grain")


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _key(listing) -> str:
    return listing.demo_key


def _run(**parameters):
    facilitator = User.objects.get(email=FACILITATOR_EMAIL)
    run = services.run_create(user=facilitator, parameters=parameters, enqueue=False)
    services.run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    return run


def _pairs(run) -> dict[tuple[str, str], object]:
    proposals = run.proposals.select_related("supply", "demand")
    return {(_key(p.supply), _key(p.demand)): p for p in proposals}


def _proposed(pairs, supply_prefix, demand_prefix) -> bool:
    return any(s.startswith(supply_prefix) and d.startswith(demand_prefix) for s, d in pairs)


@pytest.mark.parametrize("today", [date(2026, 2, 10), date(2026, 11, 20)])
def test_the_named_exchanges_are_proposed_whatever_the_day(today):
    load_demo(today=today)
    pairs = _pairs(_run())
    missing = [pair for pair in NAMED_EXCHANGES if not _proposed(pairs, *pair)]
    assert not missing
    # Exchanges between organizations only: the depot's asphalt to the company's
    # own asphalt plant is internal reuse, not proposed by default.
    assert INTERNAL not in pairs
    assert all(p.supply.organization_id != p.demand.organization_id for p in pairs.values())


def test_internal_reuse_in_the_demo_only_when_asked_and_counted_apart(demo):
    default = _run()
    run = _run(allow_internal=True)
    pairs = _pairs(run)
    internal = pairs[INTERNAL]
    assert [p for p in pairs.values() if p.supply.organization_id == p.demand.organization_id] == [
        internal
    ]
    assert run.stats["internal"]["proposals"] == 1
    assert run.stats["internal"]["tonnes_moved"] == pytest.approx(internal.tonnes)
    # The other exchanges are the same as without internal reuse, and so is the headline.
    assert set(pairs) - {INTERNAL} == set(_pairs(default))
    assert run.tonnes_moved == pytest.approx(default.tonnes_moved)
    assert run.saved_kg_co2e == pytest.approx(default.saved_kg_co2e)


def test_the_demo_run_is_of_companies_not_of_the_city(demo):
    run = _run()
    pairs = _pairs(run)
    assert 0 < run.tonnes_moved < CITY_RECYCLED_TONNES
    assert not [pair for pair in pairs if pair[0] in SOLD_AS_FODDER]
    sludge = [demand for supply, demand in pairs if supply == "almaty-water-utility/sludge"]
    assert all(demand.startswith("ili-biogas/") for demand in sludge)


def _approve_bread_to_the_brewery():
    """The journey's pair (tests/e2e/test_company_journey.py): year round, between two
    named companies."""
    pairs = _pairs(_run())
    proposal = next(
        p
        for (supply, demand), p in pairs.items()
        if supply.startswith("almaty-bread-combine/bread") and demand == "alatau-brewery/bread"
    )
    facilitator = User.objects.get(email=FACILITATOR_EMAIL)
    decisions.proposal_approve(user=facilitator, proposal=proposal)
    return Deal.objects.get(proposal=proposal)


def test_an_approved_demo_proposal_can_be_delivered_from_today(demo):
    """Loaded today (the real clock), approved today: the draft deal does not
    start in the past, and a delivery dated today lies within it."""
    today = timezone.localdate()
    deal = _approve_bread_to_the_brewery()
    assert deal.start_date == today
    assert deal.start_date <= today <= deal.end_date
    assert terms_errors(deal, deal.supply) == {}


def test_a_reload_the_next_day_keeps_a_deal_in_progress_valid():
    """Reloading moves the windows to the new day, but never past a deal in
    progress on the listing: its terms are still within the window."""
    day = timezone.localdate()
    load_demo(today=day)
    deal = _approve_bread_to_the_brewery()
    assert deal.start_date == day
    result = load_demo(today=day + timedelta(days=1))
    assert result.counts["supply created"] == 0 and result.counts["demand created"] == 0
    deal.refresh_from_db()
    deal.supply.refresh_from_db()
    assert deal.supply.available_from == day  # kept for the deal, not moved to tomorrow
    assert terms_errors(deal, deal.supply) == {}
    # A listing without a deal moved to the new day.
    other = deal.supply.organization.supplylisting_set.exclude(pk=deal.supply_id).first()
    assert other.available_from == day + timedelta(days=1)
