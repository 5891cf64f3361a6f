"""A residue of imported origin carries the legal restriction the Almaty analysis reports
on the proposal and introduction pages too, and the facilitator's proposal page says
the supply's baseline and where to review it."""

import pytest

from optimizer import services
from symbiosis import clearances
from tests.marketplace.conftest import (  # noqa: F401  (fixtures)
    company_c,
    make_deal,
    make_introduction,
    market,
)

pytestmark = pytest.mark.django_db

NOTE = 'data-testid="imported-origin"'


@pytest.fixture
def introduction(market, make_introduction):  # noqa: F811  (the fixtures above)
    market.supply.imported_origin = True
    market.supply.fate_evidence = "documented"
    market.supply.fate_evidence_note = "Receipts"
    market.supply.save()
    return make_introduction().proposal


def test_both_companies_read_the_restriction_on_their_introduction(
    client, member_a, member_b, introduction
):
    for member in (member_a, member_b):
        client.force_login(member)
        text = client.get("/review/proposals/mine/").content.decode()
        card = text.split(f'id="intro-{introduction.pk}"', 1)[1].split("</article>", 1)[0]
        assert NOTE in card and "not verified" in card


def test_the_facilitator_reads_the_restriction_and_the_baseline(client, facilitator, introduction):
    # A proposal of a real run (its page reads the run's input); proposed once a
    # facilitator has cleared the material (symbiosis.clearances).
    clearances.clearance_record(
        user=facilitator,
        material=introduction.supply.material,
        outcome="cleared",
        basis="Customs letter, not verified",
    )
    run = services.run_create(user=facilitator, parameters={}, enqueue=False)
    services.run_execute(run_id=run.pk)
    proposal = run.proposals.get(supply=introduction.supply)
    client.force_login(facilitator)
    text = client.get(f"/review/proposals/{proposal.pk}/").content.decode()
    assert NOTE in text
    baseline = text.split('data-testid="baseline"', 1)[1].split("</p>", 1)[0]
    assert "Landfill" in baseline and "documented" in baseline
    assert "/listings/fates/?material=" in baseline


def test_no_restriction_where_the_residue_is_local(client, member_b, make_introduction):  # noqa: F811
    proposal = make_introduction().proposal
    client.force_login(member_b)
    text = client.get("/review/proposals/mine/").content.decode()
    assert f'id="intro-{proposal.pk}"' in text and NOTE not in text
