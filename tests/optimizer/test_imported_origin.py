"""A supply of imported origin is proposed only once a facilitator has cleared its
material (issue 21): a real run (snapshot, candidates, the solver) leaves it out and
counts it, the listing's reach and page say why, and after a clearance it is proposed."""

import pytest
from django.urls import reverse

from optimizer import reach, services
from optimizer.models import MatchProposal
from optimizer.snapshot import IMPORTED_ORIGIN_NOTE
from symbiosis import clearances

pytestmark = pytest.mark.django_db


@pytest.fixture
def imported(market):
    supply, _demands = market
    supply.imported_origin = True
    supply.save()
    return supply


def _run(facilitator):
    run = services.run_create(user=facilitator, enqueue=False)
    services.run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    return run


def _clear(facilitator, supply, outcome="cleared"):
    return clearances.clearance_record(
        user=facilitator,
        material=supply.material,
        outcome=outcome,
        basis="Letter of the sanitary authority, not verified",
    )


def test_without_a_clearance_the_run_leaves_it_out_and_says_so(client, facilitator, imported):
    run = _run(facilitator)

    assert not MatchProposal.objects.filter(run=run, supply=imported).exists()
    assert run.stats["snapshot_notes"][IMPORTED_ORIGIN_NOTE] == 1
    client.force_login(facilitator)
    html = client.get(reverse("optimizer:run_detail", args=[run.pk])).content.decode()
    assert 'data-testid="imported-origin-left-out"' in html
    assert "1 supply of imported origin was left out" in html


@pytest.mark.parametrize("outcome", ["refused", "pending"])
def test_a_refusal_or_a_pending_decision_keeps_it_out(facilitator, imported, outcome):
    _clear(facilitator, imported, outcome)

    run = _run(facilitator)

    assert not MatchProposal.objects.filter(run=run, supply=imported).exists()


def test_after_a_clearance_it_is_proposed(facilitator, imported):
    _clear(facilitator, imported)

    run = _run(facilitator)

    assert MatchProposal.objects.filter(run=run, supply=imported).exists()
    assert IMPORTED_ORIGIN_NOTE not in run.stats["snapshot_notes"]


def test_the_latest_decision_counts(facilitator, imported):
    _clear(facilitator, imported)
    _clear(facilitator, imported, "refused")

    run = _run(facilitator)

    assert not MatchProposal.objects.filter(run=run, supply=imported).exists()
    assert clearances.clearance_history(material_id=imported.material_id).count() == 2


def test_reach_says_why_and_counts_it_once_cleared(facilitator, imported):
    withheld = reach.listing_reach(imported)
    assert withheld.imported_origin_withheld and withheld.count == 0

    _clear(facilitator, imported)
    found = reach.listing_reach(imported)

    assert not found.imported_origin_withheld and found.count == 2


def test_the_owner_s_pages_explain_it(client, imported, facilitator):
    owner = imported.organization.memberships.first()
    if owner is None:
        from tests import factories

        owner = factories.MembershipFactory(organization=imported.organization)
    client.force_login(owner.user)

    reach_html = client.get(
        reverse("optimizer:listing_reach", args=["supply", imported.pk])
    ).content.decode()
    listing_html = client.get(
        reverse("market-listing", args=["supply", imported.pk])
    ).content.decode()

    assert 'data-testid="reach-imported-origin"' in reach_html
    assert "until a facilitator records that its material is cleared" in reach_html
    assert "No facilitator has cleared residues of imported origin" in listing_html

    _clear(facilitator, imported)
    listing_html = client.get(
        reverse("market-listing", args=["supply", imported.pk])
    ).content.decode()
    assert "A facilitator cleared residues of imported origin" in listing_html
    assert "(not verified)" in listing_html
