"""The landing page, and for a logged-in member the company workspace.

Project wiring: the workspace gathers every app (what waits in the
marketplace and the optimizer), so this module imports their selectors.
"""

from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from marketplace.models import Deal, Delivery
from marketplace.selectors import (
    deal_list,
    deals_awaiting_answer,
    deliveries_awaiting_confirmation,
    deliveries_for_review,
)
from optimizer.models import MatchProposal
from optimizer.selectors import introductions_awaiting
from symbiosis import health, selectors
from symbiosis.models import Membership
from symbiosis.models.listings import Status
from symbiosis.templatetags.workspace import amount

# Active first, closed last: what a company works with is on top.
STATUS_ORDER = {Status.ACTIVE: 0, Status.DRAFT: 1, Status.PAUSED: 2, Status.CLOSED: 3}


def _by_status(listings) -> list:
    return sorted(listings, key=lambda listing: STATUS_ORDER.get(listing.status, 9))


def home(request):
    if not request.user.is_authenticated:
        return render(request, "symbiosis/home.html")
    viewer = selectors.viewer_for(request.user)
    memberships = (
        Membership.objects.filter(user=request.user)
        .select_related("organization")
        .order_by("organization__name")
    )
    context = {
        "viewer": viewer,
        "memberships": memberships,
        "sites": selectors.own_site_list(user=viewer),
        "supplies": _by_status(selectors.own_supply_list(user=viewer)),
        "demands": _by_status(selectors.own_demand_list(user=viewer)),
        "attention": _attention(request.user, viewer),
    }
    return render(request, "symbiosis/workspace.html", context)


def _in_order(queryset, ids: list[int]) -> list:
    """The rows of ``queryset`` in the order of ``ids`` (none if ``ids`` is empty)."""
    if not ids:
        return []
    by_pk = {row.pk: row for row in queryset}
    return [by_pk[pk] for pk in ids if pk in by_pk]


# At most this many items of each kind: the list is a to-do list, not an archive
# (the Introductions, Deals and review pages have them all).
ATTENTION_LIMIT = 20


def _attention(user, viewer) -> list[dict]:
    """What waits for this user, most pressing first: introductions to answer, offers
    and amendments to answer, deliveries and corrections to confirm, drafts to send
    (companies); held and disputed deliveries to review (facilitators). Each item
    says what to do and links to where it is done. The same selectors give the
    menu's counts (``role_context.Navigation``)."""
    items = []
    if viewer.organization_ids:
        items += _introductions(viewer)
        items += _deals_to_answer(viewer)
        items += _deliveries_to_confirm(user, viewer)
        items += _drafts(viewer)
    if viewer.is_facilitator:
        items += _deliveries_to_review(viewer)
    return items


def _introductions(viewer) -> list[dict]:
    # Ids first, then only the joins the text needs for those rows: the
    # selectors join every related row (the run with its input snapshot too),
    # and building and planning that query cost more than running it, on
    # every visit, while most companies have nothing waiting.
    ids = list(introductions_awaiting(viewer).values_list("pk", flat=True)[:ATTENTION_LIMIT])
    proposals = _in_order(
        MatchProposal.objects.filter(pk__in=ids).select_related(
            "supply__organization", "demand__organization", "material"
        ),
        ids,
    )
    items = []
    for p in proposals:
        mine = p.supply.organization_id in viewer.organization_ids
        other = p.demand.organization if mine else p.supply.organization
        items.append(
            {
                "text": _("Introduction to %(org)s: %(material)s, %(tonnes).0f t a year")
                % {"org": other.name, "material": p.material.name, "tonnes": p.tonnes},
                "todo": _("accept or decline it"),
                "url": reverse("optimizer:my_proposals") + f"#intro-{p.pk}",
            }
        )
    return items


def _deals_to_answer(viewer) -> list[dict]:
    deals = deals_awaiting_answer(user=viewer).select_related("material", "supplier", "receiver")
    items = []
    for deal in deals.order_by("-updated_at", "-pk")[:ATTENTION_LIMIT]:
        other = deal.receiver if deal.supplier_id in viewer.organization_ids else deal.supplier
        values = {"id": deal.pk, "material": deal.material.name, "org": other.name}
        if deal.state == Deal.State.ACTIVE:
            text = _("Deal %(id)s (%(material)s): %(org)s proposes new terms") % values
            todo = _("accept or decline the amendment")
        else:
            text = _("Deal %(id)s (%(material)s): an offer from %(org)s") % values
            todo = _("accept, decline or propose other terms")
        url = reverse("marketplace:deal-detail", args=[deal.pk])
        items.append({"text": text, "todo": todo, "url": url})
    return items


def _delivery_figures(delivery) -> dict:
    shown = delivery.corrects if delivery.kind == Delivery.Kind.REVERSAL else delivery
    return {
        "id": delivery.deal_id,
        "material": delivery.deal.material.name,
        "tonnes": amount(shown.tonnes),
        "day": date_format(shown.date, "SHORT_DATE_FORMAT"),
        "ticket": shown.ticket_number,
    }


def _deliveries_to_confirm(user, viewer) -> list[dict]:
    deliveries = deliveries_awaiting_confirmation(user=user, viewer=viewer).select_related(
        "deal__material", "corrects"
    )
    items = []
    for delivery in deliveries[:ATTENTION_LIMIT]:
        values = _delivery_figures(delivery)
        if delivery.kind == Delivery.Kind.REVERSAL:
            text = _(
                "Deal %(id)s (%(material)s): a correction of the delivery of %(tonnes)s t "
                "on %(day)s (ticket %(ticket)s)"
            )
        else:
            text = _(
                "Deal %(id)s (%(material)s): a delivery of %(tonnes)s t on %(day)s "
                "(ticket %(ticket)s)"
            )
        items.append(
            {
                "text": text % values,
                "todo": _("confirm or dispute it"),
                "url": reverse("marketplace:deal-detail", args=[delivery.deal_id])
                + f"#delivery-{delivery.pk}",
            }
        )
    return items


def _drafts(viewer) -> list[dict]:
    drafts = deal_list(user=viewer).filter(state=Deal.State.DRAFT)
    ids = list(drafts.values_list("pk", flat=True)[:ATTENTION_LIMIT])
    deals = _in_order(Deal.objects.filter(pk__in=ids).select_related("material"), ids)
    return [
        {
            "text": _("Deal %(id)s (%(material)s) is %(state)s")
            % {"id": deal.pk, "material": deal.material.name, "state": deal.get_state_display()},
            "todo": _("agree the terms, then send the offer"),
            "url": reverse("marketplace:deal-detail", args=[deal.pk]),
        }
        for deal in deals
    ]


def _deliveries_to_review(viewer) -> list[dict]:
    deliveries = deliveries_for_review(user=viewer)[:ATTENTION_LIMIT]
    items = []
    for delivery in deliveries:
        values = _delivery_figures(delivery)
        if delivery.status == Delivery.Status.DISPUTED:
            text = _(
                "Deal %(id)s (%(material)s): a disputed delivery of %(tonnes)s t on %(day)s "
                "(ticket %(ticket)s)"
            )
        else:
            text = _(
                "Deal %(id)s (%(material)s): a held delivery of %(tonnes)s t on %(day)s "
                "(ticket %(ticket)s)"
            )
        items.append(
            {
                "text": text % values,
                "todo": _("review it"),
                "url": reverse("marketplace:delivery-review") + f"#delivery-{delivery.pk}",
            }
        )
    return items


@never_cache
def healthz(request):
    """200 when users can be served, else 503 naming the failing parts (symbiosis.health)."""
    problems = health.problems()
    failing = [part for part, problem in problems.items() if problem]
    body = {"status": "failing" if failing else "ok", "failing": failing}
    body.update({part: problem or "ok" for part, problem in problems.items()})
    return JsonResponse(body, status=503 if failing else 200)
