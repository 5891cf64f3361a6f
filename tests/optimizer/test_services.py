"""Runs end to end in-process: parameters, permissions, results, failures, cancel."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from optimizer import services
from optimizer.models import MatchProposal, OptimizationRun, PairRule
from symbiosis import impact
from symbiosis.models import FactorSet

pytestmark = pytest.mark.django_db


def test_defaults_fill_in():
    params = services.clean_run_parameters({})
    assert params["objective"] == "co2e" and params["road_factor"] == 1.3
    assert params["time_limit_s"] == 60.0


@pytest.mark.parametrize(
    "raw, field",
    [
        ({"objective": "profit"}, "objective"),
        ({"road_factor": -1}, "road_factor"),
        ({"road_factor": "abc"}, "road_factor"),
        ({"time_limit_s": 0}, "time_limit_s"),
        ({"time_limit_s": float("nan")}, "time_limit_s"),
        ({"mip_gap": 2}, "mip_gap"),
        ({"max_km_cap": 0}, "max_km_cap"),
        ({"min_lot_tonnes": -5}, "min_lot_tonnes"),
        ({"categories": ["gold"]}, "categories"),
        ({"districts": "medeu"}, "districts"),
        ({"organization_ids": ["x"]}, "organization_ids"),
        ({"solver": "gurobi"}, "solver"),
        ({"allow_internal": "yes"}, "allow_internal"),
        ({"colour": "green"}, "__all__"),
    ],
)
def test_bad_parameters_name_the_field(raw, field):
    with pytest.raises(ValidationError) as info:
        services.clean_run_parameters(raw)
    assert field in info.value.message_dict


def test_companies_and_analysts_cannot_start_runs(member_a, analyst):
    for user in (member_a, analyst):
        with pytest.raises(PermissionDenied):
            services.run_create(user=user, enqueue=False)
    assert not OptimizationRun.objects.exists()


def _road_km(lat_a, lat_b):
    # Same meridian: great-circle distance is the latitude difference in radians x R.
    import math

    return abs(lat_a - lat_b) * math.pi / 180 * 6371.0088 * 1.3


def test_run_fills_the_near_demand_first(facilitator, market):
    supply, (near, far) = market
    run = services.run_create(user=facilitator, enqueue=False)
    services.run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    got = {p.demand_id: p for p in run.proposals.all()}
    # Every tonne saves 400 + 50 - 0.1 km > 0, so all 100 t move; the near one takes 60.
    assert got[near.pk].tonnes == pytest.approx(60)
    assert got[far.pk].tonnes == pytest.approx(40)
    for demand, lat in ((near, 43.3), (far, 43.5)):
        km = _road_km(43.2, lat)
        p = got[demand.pk]
        assert p.road_km == pytest.approx(km, rel=1e-6)
        assert p.net_kg_co2e_saved == pytest.approx(p.tonnes * (400 + 50 - 0.1 * km), rel=1e-6)
    assert run.saved_kg_co2e == pytest.approx(sum(p.net_kg_co2e_saved for p in got.values()))
    assert run.landfill_tonnes_avoided == pytest.approx(100)
    assert run.baseline_kg_co2e == pytest.approx(100 * 400)


def test_redelivered_run_does_nothing_twice(facilitator, market):
    run = services.run_create(user=facilitator, enqueue=False)
    services.run_execute(run_id=run.pk)
    before = list(MatchProposal.objects.values_list("pk", flat=True))
    services.run_execute(run_id=run.pk)
    assert list(MatchProposal.objects.values_list("pk", flat=True)) == before


def test_infeasible_pin_fails_the_run_in_plain_words_with_no_proposals(facilitator, market):
    supply, (near, _) = market
    PairRule.objects.create(supply=supply, demand=near, kind="pin", tonnes=500)
    run = services.run_create(user=facilitator, enqueue=False)
    services.run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "failed"
    assert "No feasible exchange plan" in run.error
    assert not run.proposals.exists()


def test_pin_is_respected(facilitator, market):
    supply, (near, far) = market
    PairRule.objects.create(supply=supply, demand=far, kind="pin", tonnes=55)
    run = services.run_create(user=facilitator, enqueue=False)
    services.run_execute(run_id=run.pk)
    got = {p.demand_id: p.tonnes for p in run.proposals.all()}
    assert got[far.pk] == pytest.approx(55)
    assert got[near.pk] == pytest.approx(45)


def test_forbidden_pair_is_never_proposed(facilitator, market):
    supply, (near, far) = market
    PairRule.objects.create(supply=supply, demand=near, kind="forbid", reason="feud")
    run = services.run_create(user=facilitator, enqueue=False)
    services.run_execute(run_id=run.pk)
    assert list(run.proposals.values_list("demand_id", flat=True)) == [far.pk]


def test_a_company_is_never_proposed_to_itself_unless_internal_reuse_is_asked(facilitator, market):
    supply, (near, far) = market
    near.organization, near.site.organization = supply.organization, supply.organization
    near.site.save()
    near.save()
    run = services.run_create(user=facilitator, enqueue=False)
    services.run_execute(run_id=run.pk)
    # The near demand is the supplier's own: only the far one is an exchange.
    assert list(run.proposals.values_list("demand_id", flat=True)) == [far.pk]
    internal = services.run_create(
        user=facilitator, parameters={"allow_internal": True}, enqueue=False
    )
    services.run_execute(run_id=internal.pk)
    assert set(internal.proposals.values_list("demand_id", flat=True)) == {near.pk, far.pk}


def test_without_a_factor_set_the_run_fails_with_a_clear_message(facilitator, market):
    FactorSet.objects.update(is_active=False)
    run = services.run_create(user=facilitator, enqueue=False)
    services.run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "failed" and "load_factors" in run.error


def test_cancelled_run_is_not_executed_and_cannot_be_cancelled_twice(facilitator, market):
    run = services.run_create(user=facilitator, enqueue=False)
    services.run_cancel(user=facilitator, run=run)
    services.run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "cancelled" and not run.proposals.exists()
    with pytest.raises(ValidationError):
        services.run_cancel(user=facilitator, run=run)


def test_company_cannot_cancel(member_a, facilitator, market):
    run = services.run_create(user=facilitator, enqueue=False)
    with pytest.raises(PermissionDenied):
        services.run_cancel(user=member_a, run=run)


def test_empty_market_succeeds_with_no_proposals(facilitator, db):
    FactorSet.objects.create(version="e", name="e", transport_kg_co2e_per_tkm=1, is_active=True)
    run = services.run_create(user=facilitator, enqueue=False)
    services.run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "succeeded" and run.tonnes_moved == 0
    assert not run.proposals.exists()


def test_impact_breakdown_is_stored_per_proposal(facilitator, market):
    run = services.run_create(user=facilitator, enqueue=False)
    services.run_execute(run_id=run.pk)
    for p in run.proposals.all():
        b = impact.exchange_impact(
            tonnes=p.tonnes,
            road_km=p.road_km,
            fate="landfill",
            fate_kg_co2e_per_t=400,
            credit_kg_co2e_per_t=50,
            transport_kg_co2e_per_tkm=0.1,
        )
        assert p.fate_kg_co2e_avoided == pytest.approx(b.fate_kg_co2e_avoided)
        assert p.transport_kg_co2e_added == pytest.approx(b.transport_kg_co2e_added)
        assert p.virgin_kg_co2e_avoided == pytest.approx(b.virgin_kg_co2e_avoided)
