"""Issue 19 on the proposal lists: a proposal through a plant says so ("plant to
plant", "residue into a plant") and a by-month one names its months ("Aug–Oct"), on
the company's introductions, the facilitator's results table and the bulk approval."""

import pytest
from django.urls import reverse
from django.utils import timezone

from optimizer.models import MatchProposal
from symbiosis.templatetags.seasons import months_span
from tests.marketplace.conftest import (  # noqa: F401  (fixtures)
    company_c,
    make_by_month_proposal,
    market,
    member_c,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("by_period", "text"),
    [
        ({}, ""),
        ({"2027-08": 0.0, "2027-09": 0.0}, ""),
        ({"2027-08": 5.0, "2027-09": 1.0, "2027-10": 2.0, "2027-11": 0.0}, "Aug–Oct"),
        ({"2027-03": 5.0}, "Mar"),
        # Dec and Jan of the next year are neighbours; a gap starts a new run.
        ({"2027-11": 1.0, "2027-12": 1.0, "2028-01": 1.0, "2028-04": 2.0}, "Nov–Jan, Apr"),
        ({f"2027-{m:02d}": 1.0 for m in range(1, 13)}, "all year"),
        ({f"2027-{m:02d}": 1.0 for m in range(2, 13)} | {"2028-01": 1.0}, "all year"),
        ({"2027-01": 1.0, "2027-12": 1.0}, "Jan, Dec"),
        ({"all": 3.0}, ""),  # not a month label: nothing to name
    ],
)
def test_months_span(by_period, text):
    assert months_span(by_period) == text


@pytest.fixture
def proposal(make_by_month_proposal, facilitator):  # noqa: F811
    return make_by_month_proposal(
        status=MatchProposal.Status.APPROVED, decided_by=facilitator, decided_at=timezone.now()
    )


def _card(page: str, pk: int) -> str:
    return page.split(f'id="intro-{pk}"', 1)[1].split("</article>", 1)[0]


def test_the_companies_introductions_show_the_kind_and_months(
    proposal,
    client,
    member_a,
    member_b,
    member_c,  # noqa: F811
):
    for user in (member_a, member_b):
        client.force_login(user)
        card = _card(client.get(reverse("optimizer:my_proposals")).content.decode(), proposal.pk)
        assert '<span class="badge kind-chain" data-testid="kind">plant to plant</span>' in card
        assert "by month: Aug–Oct" in card
    # Another company has no such introduction.
    client.force_login(member_c)
    page = client.get(reverse("optimizer:my_proposals")).content.decode()
    assert f'id="intro-{proposal.pk}"' not in page
    assert "Aug–Oct" not in page


def test_a_direct_flat_introduction_has_no_badges(proposal, client, member_a):
    MatchProposal.objects.filter(pk=proposal.pk).update(kind="direct", tonnes_by_period={})
    client.force_login(member_a)
    card = _card(client.get(reverse("optimizer:my_proposals")).content.decode(), proposal.pk)
    assert 'data-testid="kind"' not in card and 'data-testid="months"' not in card


def test_the_results_table_row_shows_the_kind_and_months(
    proposal, client, facilitator, analyst, member_a
):
    MatchProposal.objects.filter(pk=proposal.pk).update(kind="to_processor", status="proposed")
    url = reverse("optimizer:run_detail", args=[proposal.run_id])
    client.force_login(facilitator)
    page = client.get(url).content.decode()
    row = page.split(f'id="proposal-{proposal.pk}"', 1)[1].split("</summary>", 1)[0]
    assert 'data-testid="kind">residue into a plant</span>' in row
    assert 'data-testid="months"' in row and ">Aug–Oct</span>" in row
    # The bulk approval's list says it too.
    confirm = client.post(
        reverse("optimizer:proposals_bulk", args=[proposal.run_id]),
        {"action": "approve", "ids": [proposal.pk]},
    ).content.decode()
    item = confirm.split(f'value="{proposal.pk}">', 1)[1].split("</li>", 1)[0]
    assert "residue into a plant" in item and "Aug–Oct" in item
    # The results table is the facilitator's: an analyst and a company see no rows.
    for user in (analyst, member_a):
        client.force_login(user)
        response = client.get(url)
        assert f'id="proposal-{proposal.pk}"' not in response.content.decode()


@pytest.mark.parametrize(
    ("language", "kind", "months"),
    [
        ("ru", "от переработчика к переработчику", "по месяцам: Авг–Окт"),
        ("kk", "өңдеушіден өңдеушіге", "айлар бойынша: "),
    ],
)
def test_the_badges_in_russian_and_kazakh(proposal, client, member_a, language, kind, months):
    client.force_login(member_a)
    client.post("/i18n/setlang/", {"language": language, "next": "/"})
    card = _card(client.get(reverse("optimizer:my_proposals")).content.decode(), proposal.pk)
    assert kind in card and months in card, card
