"""Internal reuse: an exchange between two listings of one organization.

Off by default (the optimizer core refuses such arcs); a run that asks for it
proposes them, marks them and keeps their proposals, tonnes and CO2e out of
its headline figures (``run.stats["internal"]``); approving one introduces
nobody, so it is refused.
"""

import pytest
from django.core.exceptions import ValidationError

from marketplace.models import Deal
from optimizer import decisions, services
from optimizer.models import AuditEntry, MatchProposal

pytestmark = pytest.mark.django_db


@pytest.fixture
def own_demand(market):
    """The near demand becomes the supplier's own: 60 t at 11 km."""
    supply, (near, far) = market
    near.organization, near.site.organization = supply.organization, supply.organization
    near.site.save()
    near.save()
    return near


def _run(facilitator, **parameters):
    run = services.run_create(user=facilitator, parameters=parameters, enqueue=False)
    services.run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    return run


def test_a_default_run_has_no_internal_reuse_and_says_so(facilitator, market, own_demand):
    run = _run(facilitator)
    assert not run.proposals.filter(demand=own_demand).exists()
    assert run.stats["internal"] == {
        "proposals": 0,
        "tonnes_moved": 0.0,
        "landfill_tonnes_avoided": 0.0,
        "kg_co2e_saved": 0.0,
    }
    assert run.tonnes_moved == pytest.approx(sum(p.tonnes for p in run.proposals.all()))


def test_internal_reuse_is_counted_apart_from_the_headline(facilitator, market, own_demand):
    supply, (near, far) = market
    run = _run(facilitator, allow_internal=True)
    internal = run.proposals.get(demand=own_demand)
    exchange = run.proposals.get(demand=far)
    assert internal.tonnes == pytest.approx(60) and exchange.tonnes == pytest.approx(40)
    assert run.stats["internal"] == {
        "proposals": 1,
        "tonnes_moved": pytest.approx(internal.tonnes),
        "landfill_tonnes_avoided": pytest.approx(internal.tonnes_diverted_from_landfill),
        "kg_co2e_saved": pytest.approx(internal.net_kg_co2e_saved),
    }
    # The headline: the exchange between two organizations alone.
    assert run.stats["proposals"] == 1
    assert run.tonnes_moved == pytest.approx(exchange.tonnes)
    assert run.landfill_tonnes_avoided == pytest.approx(exchange.tonnes_diverted_from_landfill)
    assert run.saved_kg_co2e == pytest.approx(exchange.net_kg_co2e_saved)


def test_approving_internal_reuse_is_refused_and_introduces_nobody(
    facilitator, market, own_demand, mailoutbox, django_capture_on_commit_callbacks
):
    run = _run(facilitator, allow_internal=True)
    internal = run.proposals.get(demand=own_demand)
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(ValidationError) as info,
    ):
        decisions.proposal_approve(user=facilitator, proposal=internal)
    assert "internal reuse" in info.value.messages[0]
    assert own_demand.organization.name in info.value.messages[0]
    internal.refresh_from_db()
    assert internal.status == MatchProposal.Status.PROPOSED
    assert not Deal.objects.exists()
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.APPROVED).exists()
    assert mailoutbox == []
    # Rejecting it closes it as usual.
    decisions.proposal_reject(user=facilitator, proposal=internal, reason="Their own business.")
    internal.refresh_from_db()
    assert internal.status == MatchProposal.Status.REJECTED


def test_bulk_approval_skips_internal_reuse_with_the_reason(facilitator, market, own_demand):
    supply, (near, far) = market
    run = _run(facilitator, allow_internal=True)
    internal = run.proposals.get(demand=own_demand)
    exchange = run.proposals.get(demand=far)
    outcome = decisions.proposals_decide_bulk(
        user=facilitator, proposals=[internal, exchange], action="approve", reason=""
    )
    assert "internal reuse" in outcome["errors"][internal.pk]
    exchange.refresh_from_db()
    internal.refresh_from_db()
    assert (exchange.status, internal.status) == ("approved", "proposed")
    assert Deal.objects.get().proposal == exchange
