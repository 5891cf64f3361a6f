"""The city page's month view of potential (issue 19): the latest run by month's
proposals by month, and what of them was approved, beside the confirmed tonnes."""

from datetime import date

import pytest

from dashboard.potential import month_potential
from dashboard.selectors import CityFilters
from optimizer import services
from optimizer.models import MatchProposal
from tests.optimizer.test_seasons import world  # noqa: F401  (fixture)

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
