"""A populated database for the data-safety tests, made only through the services."""

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from marketplace import services as market
from marketplace.models import Deal
from optimizer import decisions
from optimizer import services as runs
from optimizer.models import MatchProposal
from symbiosis.models import Membership, SupplyListing, User
from tests.demo_snapshot import load_demo


def _member_of(organization_id: int) -> User:
    return Membership.objects.filter(organization_id=organization_id).first().user


# The two loads each deal gets, in one month (12.5 t of them confirmed).
LOGGED_TONNES = Decimal("19.75")


def populate(deals: int = 3) -> dict:
    """Demo data, one optimization run, ``deals`` deals taken to active with deliveries.

    Returns what was made, so a test can tell its figures are not empty.
    """
    load_demo()
    # The demo residues become available next year; deliveries are logged only
    # once they happened, so open the windows for this year's deals.
    SupplyListing.objects.update(available_from=None, available_until=None)
    facilitator = User.objects.get(email="facilitator@demo.kz")
    run = runs.run_create(user=facilitator, parameters={"solver": "cbc"}, enqueue=False)
    runs.run_execute(run_id=run.pk)
    proposals = MatchProposal.objects.filter(run=run, kind="direct").order_by("pk")
    today = timezone.localdate()
    made = []
    for proposal in proposals:
        if len(made) == deals:
            break
        decisions.proposal_approve(user=facilitator, proposal=proposal)
        deal = Deal.objects.get(proposal=proposal)
        supplier, receiver = _member_of(deal.supplier_id), _member_of(deal.receiver_id)
        try:
            # The introduced companies accept it; then either shapes and sends the draft
            # (sending accepts it), and the other accepts.
            for user in (supplier, receiver):
                decisions.proposal_answer(user=user, proposal=proposal, accept=True)
            deal = market.deal_update_terms(
                user=supplier,
                deal=deal,
                start_date=date(today.year, 1, 1),
                end_date=date(today.year, 12, 31),
            )
            if deal.tonnes_per_period < LOGGED_TONNES:
                continue  # the loads below would be held for review as implausible
            deal = market.deal_offer(user=supplier, deal=deal)
            deal = market.deal_accept(user=receiver, deal=deal, terms_version=deal.terms_version)
        except Exception:  # noqa: BLE001 - e.g. a listing window; take the next proposal
            continue
        # Deliveries from the agreed start: the loads below are dated this year.
        deal = market.deal_activate(user=supplier, deal=deal, start_date=deal.start_date)
        for n, tonnes in enumerate((Decimal("12.5"), Decimal("7.25"))):
            delivery = market.delivery_log(
                user=supplier,
                deal=deal,
                date=max(today - timedelta(days=n), date(today.year, 1, 1)),
                tonnes=tonnes,
                ticket_number=f"WB-{deal.pk}-{n}",
            )
            if n == 0:  # one confirmed, one left logged: only confirmed ones count
                market.delivery_confirm(user=receiver, delivery=delivery)
        made.append(deal)
    return {"run": run, "deals": made}
