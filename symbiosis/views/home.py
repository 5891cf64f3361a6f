"""The landing page, and for a logged-in member the company workspace."""

from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from symbiosis import health, selectors
from symbiosis.models import Membership
from symbiosis.models.listings import Status

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


def _attention(user, viewer) -> list[dict]:
    """Introductions this company has not answered and deals waiting for a step."""
    # Imported here: those apps build on this one.
    from marketplace.models import Deal
    from marketplace.selectors import deal_list
    from optimizer.models import MatchProposal
    from optimizer.selectors import company_proposals

    items = []
    org_ids = viewer.organization_ids
    # Ids first, then only the joins the text needs for those rows: the
    # selectors join every related row (the run with its input snapshot too),
    # and building and planning that query cost more than running it, on
    # every visit, while most companies have nothing waiting.
    proposal_ids = list(company_proposals(user).values_list("pk", flat=True)[:20])
    proposals = _in_order(
        MatchProposal.objects.filter(pk__in=proposal_ids).select_related(
            "supply__organization", "demand__organization", "material"
        ),
        proposal_ids,
    )
    for p in proposals:
        side = "supplier" if p.supply.organization_id in org_ids else "receiver"
        if getattr(p, f"{side}_answer"):
            continue
        other = p.demand.organization if side == "supplier" else p.supply.organization
        items.append(
            {
                "text": _("Introduction to %(org)s: %(material)s, %(tonnes).0f t a year")
                % {"org": other.name, "material": p.material.name, "tonnes": p.tonnes},
                "url": reverse("optimizer:my_proposals") + f"#intro-{p.pk}",
            }
        )
    waiting = deal_list(user=viewer).filter(state__in=[Deal.State.DRAFT, Deal.State.OFFERED])
    deal_ids = list(waiting.values_list("pk", flat=True)[:20])
    deals = _in_order(Deal.objects.filter(pk__in=deal_ids).select_related("material"), deal_ids)
    for deal in deals:
        items.append(
            {
                "text": _("Deal %(id)s (%(material)s) is %(state)s")
                % {
                    "id": deal.pk,
                    "material": deal.material.name,
                    "state": deal.get_state_display(),
                },
                "url": reverse("marketplace:deal-detail", args=[deal.pk]),
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
