"""The city page's month view of potential (issue 19): the latest run by month's
proposals by month, and what of them was approved, beside the confirmed tonnes."""

from datetime import date

import pytest

from dashboard.potential import month_potential
from dashboard.selectors import CityFilters
from optimizer import services
from optimizer.models import MatchProposal
from tests.optimizer.test_seasons import world  # noqa: F401  (fixture)
from tests.optimizer.test_seasons_stores import LOSS, rotting  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def _run(user, **params):
    run = services.run_create(user=user, parameters=params, enqueue=False)
    services.run_execute(run_id=run.pk)
    return run


def test_no_run_by_month_no_potential(world, facilitator):  # noqa: F811
    _run(facilitator)  # one period
    assert month_potential(CityFilters(), []) is None


def test_potential_by_month_of_the_latest_run_by_month(world, facilitator, client, analyst):  # noqa: F811
    run = _run(facilitator, periods_start="2027-01")
    _run(facilitator)  # a later one-period run does not hide it
    (proposal,) = MatchProposal.objects.filter(run=run)
    out = month_potential(CityFilters(), [{"month": "2027-08", "tonnes": 4.0}])
    rows = {row["month"]: row for row in out["rows"]}
    assert out["run"] == run.pk and len(rows) == 12
    # Harvest Aug-Oct, the demand uses 10 t a month: 10 t proposed in each, none approved.
    assert rows["2027-08"] == {
        "month": "2027-08",
        "confirmed_tonnes": 4.0,
        "approved_tonnes": 0.0,
        "run_tonnes": pytest.approx(10),
        "run_lost_tonnes": 0.0,  # the demand has no store
    }
    assert rows["2027-01"]["run_tonnes"] == 0
    MatchProposal.objects.filter(pk=proposal.pk).update(status="approved")
    rows = {r["month"]: r for r in month_potential(CityFilters(), [])["rows"]}
    assert rows["2027-09"]["approved_tonnes"] == pytest.approx(10)
    # The page's filters: another district leaves nothing; months outside the dates go.
    assert month_potential(CityFilters(district="medeu"), [])["rows"] == []
    within = month_potential(
        CityFilters(date_from=date(2027, 9, 1), date_to=date(2027, 10, 31)), []
    )
    assert [r["month"] for r in within["rows"]] == ["2027-09", "2027-10"]
    client.force_login(analyst)
    page = client.get("/city/").content.decode()
    assert 'id="table-month-potential"' in page and 'data-month="2027-08"' in page


def test_potential_shows_what_a_receivers_store_loses(rotting, facilitator, analyst, client):  # noqa: F811
    """October's 38.125 t reach the demand; its store holds 28.125 t at the end of
    October and 12.5 t at the end of November and loses 0.2 of each: moved, but to no
    use (tests/optimizer/test_seasons_stores.py derives the plan by hand)."""
    _run(facilitator, periods_start="2027-01")
    rows = {r["month"]: r for r in month_potential(CityFilters(), [])["rows"]}
    assert rows["2027-10"]["run_tonnes"] == pytest.approx(38.125)
    assert rows["2027-10"]["run_lost_tonnes"] == pytest.approx(LOSS * 28.125)
    assert rows["2027-11"]["run_lost_tonnes"] == pytest.approx(LOSS * 12.5)
    total = sum(r["run_tonnes"] - r["run_lost_tonnes"] for r in rows.values())
    assert total == pytest.approx(30)
    # Another district: the proposal and its losses are filtered out together.
    assert month_potential(CityFilters(district="medeu"), [])["rows"] == []
    # An analyst sees the month aggregates on the city page, no proposal or store line.
    client.force_login(analyst)
    page = client.get("/city/").content.decode()
    assert 'id="table-month-potential"' in page and "t lost in stores" in page
    assert "kg_co2e_per_t_period" not in page and '"proposal"' not in page
