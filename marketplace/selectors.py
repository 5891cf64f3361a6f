"""Reads of the marketplace, with who sees which deal decided here.

- the members of a deal's supplier and receiver see it, except a draft, which
  only its initiator's side sees until it is offered; a facilitator's draft (an
  introduction) both companies see from the start;
- facilitators (and superusers) see every deal;
- a city analyst sees no deal (the city's figures come from aggregates),
  unless the same person is a member of a party;
- anonymous users see nothing.

``deal_next_steps`` says where a deal stands for its reader and what to do
next (``services.policy`` decides who may do what). ``deal_impact`` gives the
CO2e figures of a deal through ``symbiosis.impact``, the one place where CO2e
is computed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Sum
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from marketplace.models import Deal, DealAmendment, Delivery, Party
from marketplace.services import policy
from symbiosis.accounting import FactorTable, FlowInputs, flow_inputs
from symbiosis.geo import great_circle_km
from symbiosis.impact import DEFAULT_ROAD_FACTOR, VIRGIN, FlowScore
from symbiosis.visibility import Viewer, as_viewer


def deal_list(*, user) -> QuerySet[Deal]:
    viewer = as_viewer(user)
    deals = Deal.objects.select_related(
        "supplier",
        "receiver",
        "material",
        "supply__site",
        "demand",
        "receiver_site",
        "factor_set",
        "proposal",
    ).prefetch_related(
        # The new terms an active deal waits on (``policy.pending_amendment``).
        Prefetch(
            "amendments",
            queryset=DealAmendment.objects.filter(status=DealAmendment.Status.PENDING),
            to_attr="pending_amendments",
        )
    )
    if not viewer.reads_company_data:
        return deals.none()
    if viewer.is_facilitator:
        return deals
    orgs = viewer.organization_ids
    # A draft is the initiator's until offered; a facilitator's draft (an
    # introduction) is for both parties to see from the moment of the introduction
    # (``services.policy.deal_is_visible_to`` says the same).
    shown = ~Q(state=Deal.State.DRAFT) | Q(initiator=Deal.Initiator.FACILITATOR)
    return deals.filter(
        Q(supplier_id__in=orgs) & (shown | Q(initiator=Deal.Initiator.SUPPLIER))
        | Q(receiver_id__in=orgs) & (shown | Q(initiator=Deal.Initiator.RECEIVER))
    )


def deal_get(*, user, deal_id) -> Deal:
    return get_object_or_404(deal_list(user=user), pk=deal_id)


def deals_by_state(*, user) -> list[tuple[str, str, list[Deal]]]:
    """(state, label, deals) for every state that has deals, in the life-cycle order."""
    grouped: dict[str, list[Deal]] = {}
    for deal in deal_list(user=user):
        grouped.setdefault(deal.state, []).append(deal)
    return [
        (state, label, grouped[state]) for state, label in Deal.State.choices if state in grouped
    ]


def deals_awaiting_answer(*, user) -> QuerySet[Deal]:
    """Deals whose terms wait for an answer from one of ``user``'s organizations
    (``policy.answering_parties`` as a query): an offer or counter-offer its side
    has not accepted, or an amendment of an active deal the other side proposed.
    Counted in the menu and listed in the workspace."""
    orgs = as_viewer(user).organization_ids
    if not orgs:
        return Deal.objects.none()
    pending = DealAmendment.objects.filter(deal=OuterRef("pk"), status=DealAmendment.Status.PENDING)
    offer = Q(supplier_id__in=orgs, supplier_accepted_at__isnull=True) | Q(
        receiver_id__in=orgs, receiver_accepted_at__isnull=True
    )
    amendment = Q(supplier_id__in=orgs) & Exists(pending.exclude(proposed_as=Party.SUPPLIER)) | Q(
        receiver_id__in=orgs
    ) & Exists(pending.exclude(proposed_as=Party.RECEIVER))
    return Deal.objects.filter(
        Q(state=Deal.State.OFFERED) & offer | Q(state=Deal.State.ACTIVE) & amendment
    )


def deliveries_awaiting_confirmation(*, user, viewer: Viewer | None = None) -> QuerySet[Delivery]:
    """Deliveries (and corrections, by their reversal) that ``user`` may confirm as
    the other party: logged for the other side of a deal of one of the user's
    organizations, and not logged by the user (``policy.delivery_roles``). Oldest
    first. ``viewer``: the user's, when the caller has read it already."""
    orgs = (viewer or as_viewer(user)).organization_ids
    if not orgs:
        return Delivery.objects.none()
    return (
        Delivery.objects.filter(status=Delivery.Status.LOGGED)
        .exclude(kind=Delivery.Kind.REPLACEMENT)  # confirmed with its reversal
        .exclude(logged_by_id=user.pk)
        .filter(
            Q(deal__supplier_id__in=orgs) & ~Q(logged_as=Delivery.LoggedAs.SUPPLIER)
            | Q(deal__receiver_id__in=orgs) & ~Q(logged_as=Delivery.LoggedAs.RECEIVER)
        )
        .order_by("logged_at", "id")
    )


# --- where a deal stands, for its reader --------------------------------------------------


@dataclass(frozen=True)
class NextStep:
    """One sentence of where a deal stands for the reader, with a link where the
    step is taken on another page."""

    text: str
    url: str = ""
    link_text: str = ""


def _names(deal: Deal, parties) -> str:
    return policy.describe_parties(deal, parties)


def _draft_steps(deal: Deal, roles) -> list[NextStep]:
    waiting = policy.introduction_waiting_for(deal)
    if waiting:
        steps = [
            NextStep(
                gettext("Waiting for %(who)s to accept the introduction.")
                % {"who": _names(deal, waiting)}
            )
        ]
        if roles & set(waiting):
            steps.append(
                NextStep(
                    gettext(
                        "Accept the introduction to shape the terms and send the offer; "
                        "messages work already."
                    ),
                    url=reverse("optimizer:my_proposals") + f"#intro-{deal.proposal_id}",
                    link_text=gettext("Answer the introduction"),
                )
            )
        return steps
    if policy.DRAFTER in roles:
        mine = roles & policy.PARTIES
        other = (policy.PARTIES - mine) or policy.PARTIES
        return [
            NextStep(
                gettext(
                    "Check the proposed terms, change them if needed, and send the offer to "
                    "%(who)s. Sending it accepts these terms for your side."
                )
                % {"who": _names(deal, other)}
            )
        ]
    if deal.is_introduction:
        return [NextStep(gettext("The companies shape the terms and send the offer."))]
    return [
        NextStep(
            gettext("%(who)s prepares the offer.")
            % {"who": _names(deal, {deal.initiator} & policy.PARTIES or policy.PARTIES)}
        )
    ]


def _offered_steps(deal: Deal, roles) -> list[NextStep]:
    answering = policy.answering_parties(deal)
    sender = policy.PARTIES - answering
    if policy.ANSWERING in roles:
        if sender:
            text = gettext(
                "%(who)s offered terms version %(v)s: accept them, decline, or change them "
                "to make a counter-offer."
            ) % {"who": _names(deal, sender), "v": deal.terms_version}
        else:
            text = gettext(
                "Accept terms version %(v)s, decline them, or change them to make a counter-offer."
            ) % {"v": deal.terms_version}
        return [NextStep(text)]
    if roles & policy.PARTIES:
        return [
            NextStep(
                gettext(
                    "Your offer (terms version %(v)s) waits for %(who)s to accept it. You "
                    "may still change it, or cancel the deal."
                )
                % {"v": deal.terms_version, "who": _names(deal, answering)}
            )
        ]
    return [
        NextStep(
            gettext("Waiting for %(who)s to answer the offer.") % {"who": _names(deal, answering)}
        )
    ]


def _active_steps(deal: Deal, roles, today: date) -> list[NextStep]:
    start = deal.deliveries_start
    if today < start:
        text = gettext(
            "Deliveries can be logged from %(day)s. To start earlier, propose new terms with "
            "an earlier start."
        )
    else:
        text = gettext(
            "Deliveries are logged from %(day)s: whichever side logs one, the other confirms "
            "it, and then it counts."
        )
    steps = [NextStep(text % {"day": start})]
    amendment = policy.pending_amendment(deal)
    if amendment is not None:
        if policy.ANSWERING in roles:
            text = gettext(
                "%(who)s proposed new terms (version %(new)s): accept or decline them. Until "
                "then the deal runs on version %(v)s."
            )
        elif roles & policy.PARTIES:
            text = gettext(
                "Your new terms (version %(new)s) wait for the other party. Until then the "
                "deal runs on version %(v)s."
            )
        else:
            text = gettext(
                "%(who)s proposed new terms (version %(new)s); the deal runs on version "
                "%(v)s until the other party accepts them."
            )
        values = {
            "who": _names(deal, {amendment.proposed_as}),
            "new": amendment.terms_version,
            "v": deal.terms_version,
        }
        steps.insert(0, NextStep(text % values))
    return steps


def deal_next_steps(*, user, deal: Deal, today: date | None = None) -> list[NextStep]:
    """Where ``deal`` stands for ``user`` and what to do next, most pressing first."""
    today = today or timezone.localdate()
    roles = policy.deal_roles(user=user, deal=deal)
    state = deal.state
    if state == Deal.State.DRAFT:
        return _draft_steps(deal, roles)
    if state == Deal.State.OFFERED:
        return _offered_steps(deal, roles)
    if state == Deal.State.ACCEPTED:
        if not roles & policy.PARTIES:
            return [NextStep(gettext("Both accepted; the companies start deliveries."))]
        return [
            NextStep(
                gettext(
                    "Both accepted terms version %(v)s. Start deliveries when the first load "
                    "is due, naming the day from which deliveries are logged (the agreed "
                    "start is %(day)s)."
                )
                % {"v": deal.terms_version, "day": deal.start_date}
            )
        ]
    if state == Deal.State.ACTIVE:
        return _active_steps(deal, roles, today)
    if state == Deal.State.COMPLETED:
        return [NextStep(gettext("Completed: its confirmed deliveries count for the city."))]
    return [
        NextStep(
            gettext(
                "Closed. A new deal starts from a public listing on the market or from a "
                "facilitator's introduction."
            ),
            url=reverse("market"),
            link_text=gettext("Browse the market"),
        )
    ]


def delivery_list(*, user) -> QuerySet[Delivery]:
    return Delivery.objects.select_related("deal").filter(deal__in=deal_list(user=user))


def delivery_get(*, user, delivery_id) -> Delivery:
    return get_object_or_404(delivery_list(user=user), pk=delivery_id)


def deliveries_for_review(*, user) -> QuerySet[Delivery]:
    """Held and disputed deliveries of the deals ``user`` may see, oldest first: a
    facilitator's queue. A correction is listed once, by its reversal (its
    replacement is ``replacement``)."""
    return (
        delivery_list(user=user)
        .filter(status__in=(Delivery.Status.HELD, Delivery.Status.DISPUTED))
        .exclude(kind=Delivery.Kind.REPLACEMENT)
        .select_related(
            "deal__supplier",
            "deal__receiver",
            "deal__material",
            "logged_by",
            "corrects",
            "replacement",
        )
        .order_by("logged_at", "id")
    )


# --- impact --------------------------------------------------------------------------


@dataclass(frozen=True)
class ImpactFigures:
    """``symbiosis.impact.score_flow`` of a deal's tonnes: a term whose factor is
    missing is None (not counted), never 0, and the net sums the counted terms."""

    tonnes: float
    road_km: float
    tonnes_diverted_from_landfill: float  # the tonnes "kept out of landfill" only
    fate_kg_co2e_avoided: float | None
    transport_kg_co2e_added: float
    virgin_kg_co2e_avoided: float | None
    net_kg_co2e_saved: float
    category: str = ""
    treatment_kg_co2e_added: float | None = None
    net_published_kg_co2e: float = 0.0
    net_proxy_kg_co2e: float = 0.0
    net_low_kg_co2e: float = 0.0
    net_high_kg_co2e: float = 0.0
    not_counted: tuple[str, ...] = ()


@dataclass(frozen=True)
class DealImpact:
    tonnes_delivered: Decimal  # confirmed by the other party: what counts as diverted
    tonnes_awaiting_confirmation: Decimal
    tonnes_disputed: Decimal
    tonnes_held: Decimal  # implausible, waiting for a facilitator's review
    tonnes_expected: Decimal  # the agreed total
    road_km: float
    fate: str
    fate_kg_co2e_per_t: Decimal | None
    credit_kg_co2e_per_t: Decimal | None
    credit_use: str
    transport_kg_co2e_per_tkm: Decimal | None
    factor_set_version: str
    so_far: ImpactFigures | None
    expected: ImpactFigures | None
    not_counted: list[str] = field(default_factory=list)
    category: str = ""

    @property
    def net_excludes_credit(self) -> bool:
        return (
            self.credit_kg_co2e_per_t is None
            and self.so_far is not None
            and (VIRGIN in self.so_far.not_counted)
        )


def road_km_between(site_a, site_b, road_factor: float = DEFAULT_ROAD_FACTOR) -> float:
    """Great-circle km x road factor, as the optimizer measures its arcs."""
    km = great_circle_km(site_a.latitude, site_a.longitude, site_b.latitude, site_b.longitude)
    return km * road_factor


def deal_flow(deal: Deal, *, table: FactorTable | None = None) -> FlowInputs | None:
    """What ``score_flow`` needs of a deal but its tonnes (None without a factor
    set), gathered as the optimizer's snapshot gathers a proposal's."""
    return flow_inputs(
        table=table if table is not None else FactorTable(deal.factor_set),
        supply=deal.supply,
        demand=deal.demand if deal.demand_id else None,
        material=deal.material,
        receiver=deal.receiver,
        road_km=road_km_between(deal.supply.site, deal.receiver_site),
    )


def _figures(score: FlowScore) -> ImpactFigures:
    return ImpactFigures(
        tonnes=score.tonnes,
        road_km=score.road_km,
        tonnes_diverted_from_landfill=score.tonnes_kept_out_of_landfill,
        fate_kg_co2e_avoided=score.fate_kg_co2e_avoided,
        transport_kg_co2e_added=score.transport_kg_co2e_added,
        virgin_kg_co2e_avoided=score.virgin_kg_co2e_avoided,
        net_kg_co2e_saved=score.net_kg_co2e_saved,
        category=score.category,
        treatment_kg_co2e_added=score.treatment_kg_co2e_added,
        net_published_kg_co2e=score.net_published_kg_co2e,
        net_proxy_kg_co2e=score.net_proxy_kg_co2e,
        net_low_kg_co2e=score.net_low_kg_co2e,
        net_high_kg_co2e=score.net_high_kg_co2e,
        not_counted=score.not_counted,
    )


def deal_tonnes_by_status(deal: Deal) -> dict[str, Decimal]:
    """Tonnes per status: confirmed ones net of confirmed corrections (a reversal's
    tonnes are negative); the others of deliveries only (a pending correction
    changes nothing until it is confirmed)."""
    rows = deal.deliveries.values("status", "kind").annotate(t=Sum("tonnes")).order_by()
    sums = {status: Decimal(0) for status in Delivery.Status.values}
    for row in rows:
        if row["status"] == Delivery.Status.CONFIRMED or row["kind"] == Delivery.Kind.DELIVERY:
            sums[row["status"]] += row["t"] or Decimal(0)
    return sums


def deal_impact(*, deal: Deal) -> DealImpact:
    """Tonnes delivered and kg CO2e saved so far (confirmed deliveries) and expected
    (the agreed total), with the deal's factor set, by ``symbiosis.impact.score_flow``."""
    tonnes = deal_tonnes_by_status(deal)
    supply = deal.supply
    factor_set = deal.factor_set
    inputs = deal_flow(deal)
    road_km = road_km_between(supply.site, deal.receiver_site)
    not_counted = []
    fate_value = credit_value = None
    credit_use = ""
    if inputs is None:
        not_counted.append(gettext("No emission factor set: no CO2e is counted for this deal."))
    else:
        if inputs.fate_factor is None:
            not_counted.append(
                gettext(
                    "Emissions of the current fate (%(fate)s) of %(material)s: no factor in "
                    "set %(version)s; that term is not counted."
                )
                % {
                    "fate": supply.get_fate_display().lower(),
                    "material": deal.material,
                    "version": factor_set.version,
                }
            )
        else:
            fate_value = Decimal(str(inputs.fate_factor.kg_co2e_per_t))
        if inputs.credit is not None:
            credit_value = Decimal(str(inputs.credit.kg_co2e_per_t))
            credit_use = inputs.credit_use
        elif not inputs.into_plant:
            not_counted.append(
                gettext(
                    "Virgin production avoided: no known credit for the receiver's use of "
                    "%(material)s; the net saving leaves it out."
                )
                % {"material": deal.material}
            )
        if inputs.into_plant and inputs.treatment is None:
            not_counted.append(gettext("The plant's own treatment: no factor; not counted."))
        if inputs.into_plant and inputs.output_yield > 0 and inputs.output_fate_factor is None:
            not_counted.append(
                gettext(
                    "Emissions of the plant's output where it stays until a user takes it: "
                    "no factor for its fate; not counted."
                )
            )

    def figures(tonnes_moved: Decimal) -> ImpactFigures | None:
        if inputs is None:
            return None
        return _figures(inputs.score(float(tonnes_moved)))

    so_far = figures(tonnes[Delivery.Status.CONFIRMED])
    return DealImpact(
        tonnes_delivered=tonnes[Delivery.Status.CONFIRMED],
        tonnes_awaiting_confirmation=tonnes[Delivery.Status.LOGGED],
        tonnes_disputed=tonnes[Delivery.Status.DISPUTED],
        tonnes_held=tonnes[Delivery.Status.HELD],
        tonnes_expected=deal.tonnes_total,
        road_km=road_km,
        fate=supply.fate,
        fate_kg_co2e_per_t=fate_value,
        credit_kg_co2e_per_t=credit_value,
        credit_use=credit_use,
        transport_kg_co2e_per_tkm=factor_set.transport_kg_co2e_per_tkm if factor_set else None,
        factor_set_version=factor_set.version if factor_set else "",
        so_far=so_far,
        expected=figures(deal.tonnes_total),
        not_counted=not_counted,
        category=so_far.category if so_far else "",
    )
