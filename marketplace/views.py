"""Deal pages (htmx): my deals, a deal, offering a deal, the waste-transfer note,
and the facilitators' review of held and disputed deliveries.

Every form posts to a URL of its own (``action`` beside ``hx-post``), so the
pages work without JavaScript. With htmx, a POST answers with the deal body
partial (``_deal.html``): fresh after success, with the failing form's errors
inline (status 200) otherwise; without htmx, success redirects to the deal
page and errors re-render it.

Anonymous users are sent to log in; a city analyst (not a member of any
party) gets 403; a deal the user may not see answers 404; an action the user
may see but not take answers 403 (the services decide).
"""

import io
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from marketplace import history, selectors, services
from marketplace.forms import (
    AcceptForm,
    ActivateForm,
    CorrectionForm,
    DealOfferForm,
    DeliveryForm,
    MessageForm,
    NoteForm,
    ReasonForm,
    TermsForm,
    add_service_errors,
)
from marketplace.models import Deal, Delivery
from marketplace.templatetags.marketplace_tags import plain_number
from symbiosis import questions, visibility
from symbiosis import selectors as symbiosis_selectors
from symbiosis.views.common import parse_id

TRANSITION_FORMS = {
    "offer": NoteForm,
    "accept": AcceptForm,
    "decline": ReasonForm,
    "cancel": ReasonForm,
    "activate": ActivateForm,
    "complete": NoteForm,
}


def _reader(request) -> symbiosis_selectors.Viewer:
    viewer = symbiosis_selectors.viewer_for(request.user)
    if not viewer.reads_company_data:
        raise PermissionDenied("City analysts see aggregates, not deals.")
    return viewer


@login_required
def deal_list(request):
    viewer = _reader(request)
    to_confirm: dict[int, int] = {}
    for deal_id in selectors.deliveries_awaiting_confirmation(
        user=request.user, viewer=viewer
    ).values_list("deal_id", flat=True):
        to_confirm[deal_id] = to_confirm.get(deal_id, 0) + 1
    awaiting_answer = set(selectors.deals_awaiting_answer(user=viewer).values_list("pk", flat=True))
    groups = selectors.deals_by_state(user=viewer)
    # What waits for the user, marked on its row.
    for _state, _label, deals in groups:
        for deal in deals:
            deal.awaits_my_answer = deal.pk in awaiting_answer
            deal.deliveries_to_confirm = to_confirm.get(deal.pk, 0)
    return render(request, "marketplace/deal_list.html", {"groups": groups})


# Delivery actions: (form, service call with the form's data). The services decide.
DELIVERY_ACTIONS = {
    "confirm": (
        NoteForm,
        lambda user, delivery, data: services.delivery_confirm(user=user, delivery=delivery),
    ),
    "dispute": (
        ReasonForm,
        lambda user, delivery, data: services.delivery_dispute(
            user=user, delivery=delivery, reason=data["reason"]
        ),
    ),
    "release": (
        NoteForm,
        lambda user, delivery, data: services.delivery_release(
            user=user, delivery=delivery, note=data["note"]
        ),
    ),
    "reject": (
        ReasonForm,
        lambda user, delivery, data: services.delivery_reject(
            user=user, delivery=delivery, reason=data["reason"]
        ),
    ),
    "correct": (
        CorrectionForm,
        lambda user, delivery, data: services.delivery_correct(
            user=user, delivery=delivery, **data
        ),
    ),
}


def _delivery_form(action: str, delivery, data=None):
    form_class = DELIVERY_ACTIONS[action][0]
    kwargs = {"delivery": delivery} if form_class is CorrectionForm else {}
    return form_class(data, prefix=f"{action}-{delivery.pk}", **kwargs)


def _with_actions(request, viewer, deal, deliveries, bound: dict) -> None:
    """Give each delivery the actions the user may take and their forms
    (``bound``: {(action, delivery id): a form posted with errors})."""
    actions = services.delivery_actions(user=request.user, deal=deal, deliveries=deliveries)
    for delivery in deliveries:
        delivery.actions = actions.get(delivery.pk, frozenset())
        delivery.forms = {
            action: bound.get((action, delivery.pk)) or _delivery_form(action, delivery)
            for action in delivery.actions
        }
        # Errors of a form the row does not render (the confirm button has no
        # fields; an action no longer open) are shown above its buttons.
        delivery.form_errors = [
            form
            for (action, pk), form in bound.items()
            if pk == delivery.pk
            and form.errors
            and (action == "confirm" or action not in delivery.actions)
        ]


def _delivery_chain(deliveries) -> None:
    """What corrects what, for the deliveries table: "corrected by #12 on ...",
    "a correction waits"."""
    by_pk = {d.pk: d for d in deliveries}
    for delivery in deliveries:
        delivery.corrected_by = None
        delivery.pending_correction = None
        delivery.pair = None
    for delivery in deliveries:
        original = by_pk.get(delivery.corrects_id)
        if delivery.kind == Delivery.Kind.REVERSAL and original is not None:
            if delivery.status == Delivery.Status.CONFIRMED:
                original.corrected_by = delivery
            elif delivery.is_pending:
                original.pending_correction = delivery
        if delivery.kind == Delivery.Kind.REPLACEMENT:
            reversal = by_pk.get(delivery.reversal_id)
            if reversal is not None:
                reversal.pair = delivery


def _terms_table(deal: Deal, amendment) -> list[tuple[str, str, str]]:
    """(term, now, proposed) rows of an amendment, the changed ones marked by a value."""
    rows = []
    for name in ("tonnes_per_period", "period", "price_kzt_per_t", "transport_by"):
        now, new = getattr(deal, name), getattr(amendment, name)
        display = getattr(deal, f"get_{name}_display", None)
        if display is not None:
            now = display()
            new = getattr(amendment, f"get_{name}_display")()
        elif isinstance(now, Decimal):
            now, new = history.term_value(name, now), history.term_value(name, new)
        rows.append((str(history.TERM_LABELS[name]), str(now), str(new)))
    for name in ("start_date", "end_date"):
        rows.append(
            (
                str(history.TERM_LABELS[name]),
                str(getattr(deal, name)),
                str(getattr(amendment, name)),
            )
        )
    return rows


def _deal_context(request, viewer, deal: Deal, forms: dict | None = None) -> dict:
    forms = forms or {}
    deal = selectors.deal_get(user=viewer, deal_id=deal.pk)  # fresh, with its relations
    allowed = services.allowed_actions(user=viewer, deal=deal)
    roles = services.deal_roles(user=viewer, deal=deal)
    deliveries = list(deal.deliveries.select_related("logged_by", "confirmed_by", "reviewed_by"))
    _delivery_chain(deliveries)
    _with_actions(request, viewer, deal, deliveries, forms.get("deliveries", {}))
    amendment = services.pending_amendment(deal)
    transition_forms = {
        action: forms.get(action) or form_class(prefix=action)
        for action, form_class in TRANSITION_FORMS.items()
    }
    if "activate" not in forms:
        transition_forms["activate"] = ActivateForm(
            prefix="activate", initial={"start_date": services.activation_default(deal)}
        )
    answering = services.answering_parties(deal)
    on_the_table = amendment.terms_version if amendment else deal.terms_version
    return {
        "deal": deal,
        "allowed": allowed,
        "roles": roles,
        # The terms on the table were sent by the user's side (an offer, an amendment).
        "sent_by_me": bool(roles & services.policy.PARTIES and answering and not roles & answering),
        "answering_names": services.policy.describe_parties(deal, answering) if answering else "",
        "amendment": amendment,
        "amendment_terms": _terms_table(deal, amendment) if amendment else [],
        "amendment_by": services.policy.describe_parties(deal, {amendment.proposed_as})
        if amendment
        else "",
        "next_steps": selectors.deal_next_steps(user=viewer, deal=deal),
        "date_refusals": {**services.date_refusals(deal), **services.permit_refusals(deal)},
        "history": history.deal_history(deal.events.select_related("actor")),
        "to_confirm": [d for d in deliveries if "confirm" in d.actions],
        "deliveries": deliveries,
        "deal_messages": deal.messages.select_related("author"),
        "question_threads": questions.question_threads_for_deal(deal=deal),
        "impact": selectors.deal_impact(deal=deal),
        "terms_form": forms.get("terms") or TermsForm.for_deal(deal, prefix="terms"),
        "terms_open": "terms" in forms,
        "accept_form": forms.get("accept")
        or AcceptForm(prefix="accept", initial={"terms_version": on_the_table}),
        "on_the_table": on_the_table,
        "forms": transition_forms,
        "delivery_form": forms.get("delivery") or DeliveryForm(prefix="delivery"),
        "max_tonnes_per_load": plain_number(Decimal(str(settings.DELIVERY_MAX_TONNES_PER_LOAD))),
        "period_tolerance_percent": plain_number(
            Decimal(str(settings.DELIVERY_PERIOD_TOLERANCE)) * 100
        ),
        "message_form": forms.get("message") or MessageForm(prefix="message"),
    }


def _deal_page(request, viewer, deal: Deal, forms: dict | None = None):
    context = _deal_context(request, viewer, deal, forms)
    template = "marketplace/_deal.html" if request.htmx else "marketplace/deal_detail.html"
    return render(request, template, context)


def _done(request, viewer, deal: Deal):
    if request.htmx:
        return _deal_page(request, viewer, deal)
    return redirect("marketplace:deal-detail", pk=deal.pk)


@login_required
def deal_detail(request, pk):
    viewer = _reader(request)
    deal = selectors.deal_get(user=viewer, deal_id=pk)
    return _deal_page(request, viewer, deal)


def _submit(request, viewer, deal, form, key: str, service):
    """Run ``service`` with a valid form's data; otherwise show its errors inline."""
    if form.is_valid():
        try:
            service(user=request.user, deal=deal, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _done(request, viewer, deal)
    return _deal_page(request, viewer, deal, {key: form})


def _delivery_with_deal(request, pk):
    viewer = _reader(request)
    delivery = selectors.delivery_get(user=viewer, delivery_id=pk)
    return delivery, selectors.deal_get(user=viewer, deal_id=delivery.deal_id)


@login_required
@require_POST
def deal_transition(request, pk, action):
    if action not in TRANSITION_FORMS:
        raise Http404
    viewer = _reader(request)
    deal = selectors.deal_get(user=viewer, deal_id=pk)
    form = TRANSITION_FORMS[action](request.POST, prefix=action)
    return _submit(request, viewer, deal, form, action, services.TRANSITION_SERVICES[action])


@login_required
@require_POST
def deal_terms(request, pk):
    viewer = _reader(request)
    deal = selectors.deal_get(user=viewer, deal_id=pk)
    form = TermsForm(request.POST, prefix="terms")
    return _submit(request, viewer, deal, form, "terms", services.deal_update_terms)


@login_required
@require_POST
def delivery_log(request, pk):
    viewer = _reader(request)
    deal = selectors.deal_get(user=viewer, deal_id=pk)
    form = DeliveryForm(request.POST, prefix="delivery")
    return _submit(request, viewer, deal, form, "delivery", services.delivery_log)


@login_required
@require_POST
def delivery_action(request, pk, action):
    """Confirm, dispute, release, reject or correct a delivery. From the review page
    (``back=review``) the answer is that page; otherwise the deal page."""
    if action not in DELIVERY_ACTIONS:
        raise Http404
    viewer = _reader(request)
    delivery = selectors.delivery_get(user=viewer, delivery_id=pk)
    form = _delivery_form(action, delivery, request.POST)
    back = request.POST.get("back")
    from_review = back == "review" and viewer.is_facilitator
    if form.is_valid():
        try:
            DELIVERY_ACTIONS[action][1](request.user, delivery, form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if from_review:
                if request.htmx:
                    return _review_page(request, viewer)
                return redirect("marketplace:delivery-review")
            if back == "delivery":
                if request.htmx:
                    return _delivery_page(request, viewer, delivery)
                return redirect("marketplace:delivery-detail", pk=delivery.pk)
            return _done(request, viewer, delivery.deal)
    bound = {(action, delivery.pk): form}
    if from_review:
        return _review_page(request, viewer, bound)
    if back == "delivery":
        return _delivery_page(request, viewer, delivery, bound)
    return _deal_page(request, viewer, delivery.deal, {"deliveries": bound})


def _mentions(line, pks: set[int]) -> bool:
    """The history line is about one of the deliveries ``pks``."""
    details = line.event.details or {}
    found = set()
    if details.get("delivery"):
        found.add(details["delivery"]["id"])
    correction = details.get("correction")
    if correction:
        found.add(correction["reversal"])
        found.add(correction["original"]["id"])
        if correction.get("replacement"):
            found.add(correction["replacement"]["id"])
    return bool(found & pks)


def _delivery_page(request, viewer, delivery, bound: dict | None = None):
    """One delivery: its figures, where it stands, what the user may do, its corrections
    and its lines of the deal's history."""
    deal = selectors.deal_get(user=viewer, deal_id=delivery.deal_id)
    deliveries = list(
        deal.deliveries.select_related("logged_by", "confirmed_by", "reviewed_by", "disputed_by")
    )
    _delivery_chain(deliveries)
    _with_actions(request, viewer, deal, deliveries, bound or {})
    shown = next(d for d in deliveries if d.pk == delivery.pk)
    # What corrects it (reversals and their replacements) and what it corrects.
    related = [
        d
        for d in deliveries
        if d.pk != shown.pk
        and (
            d.corrects_id == shown.pk
            or d.pk == shown.corrects_id
            or (d.kind == Delivery.Kind.REPLACEMENT and d.reversal_id == shown.pk)
        )
    ]
    pks = {shown.pk, *(d.pk for d in related)}
    lines = [
        line
        for line in history.deal_history(deal.events.select_related("actor"))
        if _mentions(line, pks)
    ]
    context = {"deal": deal, "delivery": shown, "related": related, "history": lines}
    template = (
        "marketplace/_delivery_page.html" if request.htmx else "marketplace/delivery_detail.html"
    )
    return render(request, template, context)


@login_required
def delivery_detail(request, pk):
    """A delivery's own page (notifications link here): its figures, and the buttons
    to confirm or dispute it, release or reject it, or propose a correction."""
    viewer = _reader(request)
    delivery = selectors.delivery_get(user=viewer, delivery_id=pk)
    return _delivery_page(request, viewer, delivery)


def _review_page(request, viewer, bound: dict | None = None):
    deliveries = list(selectors.deliveries_for_review(user=viewer))
    by_deal: dict[int, list] = {}
    for delivery in deliveries:
        by_deal.setdefault(delivery.deal_id, []).append(delivery)
    for rows in by_deal.values():
        _with_actions(request, viewer, rows[0].deal, rows, bound or {})
    template = (
        "marketplace/_delivery_review.html" if request.htmx else "marketplace/delivery_review.html"
    )
    return render(request, template, {"deliveries": deliveries})


@login_required
def delivery_review(request):
    """Facilitators: held deliveries (implausible figures) and disputed ones, to
    release, reject or confirm."""
    viewer = _reader(request)
    if not viewer.is_facilitator:
        raise PermissionDenied("Facilitators review held and disputed deliveries.")
    return _review_page(request, viewer)


@login_required
def delivery_note(request, pk):
    """A printable waste-transfer note: both parties, material, EWC code, tonnes, signatures."""
    delivery, deal = _delivery_with_deal(request, pk)
    return render(
        request,
        "marketplace/delivery_note.html",
        {"delivery": delivery, "deal": deal, "supply_site": deal.supply.site},
    )


@login_required
def delivery_note_pdf(request, pk):
    """The same note as a PDF file."""
    # Heavy (the PDF library): loaded when a note is asked for.
    from marketplace.pdf import delivery_note_pdf as render_pdf

    delivery, deal = _delivery_with_deal(request, pk)
    # FileResponse quotes the name (content_disposition_header): a ticket stored
    # with a quote or a line break cannot add header parameters or break the header.
    return FileResponse(
        io.BytesIO(render_pdf(delivery=delivery, deal=deal)),
        filename=f"transfer-note-{delivery.ticket_number}.pdf",
        content_type="application/pdf",
    )


@login_required
@require_POST
def message_post(request, pk):
    viewer = _reader(request)
    deal = selectors.deal_get(user=viewer, deal_id=pk)
    form = MessageForm(request.POST, prefix="message")
    return _submit(request, viewer, deal, form, "message", services.message_post)


@login_required
def deal_new(request):
    """Offer to take another company's public supply listing (``?supply=<id>``)."""
    viewer = _reader(request)
    supply_id = parse_id(request.GET.get("supply"))
    if supply_id is None:
        raise Http404("Say which supply listing: ?supply=<id>")
    supply = symbiosis_selectors.supply_get(user=viewer, supply_id=supply_id)
    card = visibility.listing_card(user=viewer, listing=supply)
    own_listing = supply.organization_id in viewer.organization_ids
    can_offer = not own_listing and not card.hides_owner and bool(viewer.organization_ids)
    form = None
    if can_offer:
        data = request.POST if request.method == "POST" else None
        form = DealOfferForm(data, viewer=viewer, supply=card, prefix="deal")
        if request.method == "POST" and form.is_valid():
            fields = dict(form.cleaned_data)
            note = fields.pop("note")
            send = request.POST.get("send") == "offer"
            try:
                with transaction.atomic():
                    deal = services.deal_create(user=request.user, supply=supply, **fields)
                    if send:
                        deal = services.deal_offer(user=request.user, deal=deal, note=note)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                url = reverse("marketplace:deal-detail", args=[deal.pk])
                if request.htmx:
                    return HttpResponseClientRedirect(url)
                return redirect(url)
    elif request.method == "POST":
        raise PermissionDenied("You cannot offer a deal on this listing.")
    context = {
        # The templates read the listing through its card only: an anonymous
        # supply's owner, price and description are not on it.
        "supply": card,
        "form": form,
        "own_listing": own_listing,
    }
    if request.htmx and request.method == "POST":
        return render(request, "marketplace/_deal_form.html", context)
    return render(request, "marketplace/deal_new.html", context)
