"""Questions to a lister (htmx): ask on a market listing, read and answer a thread.

Thin: ``symbiosis.questions`` decides who may read and write and how each side
is named. A POST with htmx answers with the partial it changed (errors inline,
status 200); without htmx, success redirects and errors re-render the page.
A listing or thread the user may not see answers 404; one the user sees but
may not write to (the lister's own question form, a facilitator) answers 403.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from symbiosis import questions, selectors
from symbiosis.question_forms import AnswerForm, QuestionForm
from symbiosis.views.market import listing_page_context, listing_questions_context


def _add_errors(form, exc: ValidationError) -> None:
    for field, messages in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, messages)


def _reader(request) -> selectors.Viewer:
    viewer = selectors.viewer_for(request.user)
    if not viewer.reads_company_data:
        raise PermissionDenied(_("Questions are for companies and facilitators."))
    return viewer


def _listing(viewer, kind: str, pk: int):
    if kind == "demand":
        return selectors.demand_get(user=viewer, demand_id=pk)
    return selectors.supply_get(user=viewer, supply_id=pk)


@login_required
@require_POST
def question_ask(request, kind, pk):
    viewer = _reader(request)
    listing = _listing(viewer, kind, pk)
    if listing.organization_id in viewer.organization_ids:
        raise PermissionDenied(_("This is your own listing."))
    asking = questions.asking_organizations(user=viewer, listing=listing)
    if not asking:
        raise PermissionDenied(_("Questions are asked by members of an organization."))
    form = QuestionForm(request.POST, organization_ids=asking)
    if form.is_valid():
        try:
            questions.question_ask(
                user=request.user,
                listing=listing,
                body=form.cleaned_data["body"],
                organization_id=form.cleaned_data.get("organization"),
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            if not request.htmx:
                return redirect(reverse("market-listing", args=[kind, pk]) + "#questions")
            form = None
    if request.htmx:
        context = listing_questions_context(viewer, listing, form)
        return render(request, "symbiosis/_listing_questions.html", context)
    context = listing_page_context(viewer, kind, listing, question_form=form)
    return render(request, "symbiosis/market_listing.html", context)


def _thread_page(request, viewer, thread_id: int, form=None):
    view = questions.question_thread_get(user=viewer, thread_id=thread_id)
    context = {
        "view": view,
        "card": view.card,
        "form": form if form is not None else (AnswerForm() if view.may_write else None),
    }
    if request.htmx:
        return render(request, "symbiosis/_question_thread.html", context)
    return render(request, "symbiosis/question_thread.html", context)


@login_required
@require_GET
def question_thread(request, pk):
    viewer = _reader(request)
    view = questions.question_thread_get(user=viewer, thread_id=pk)
    questions.question_mark_read(user=viewer, thread=view.thread)
    return _thread_page(request, viewer, pk)


@login_required
@require_POST
def question_reply(request, pk):
    viewer = _reader(request)
    view = questions.question_thread_get(user=viewer, thread_id=pk)
    if not view.may_write:
        raise PermissionDenied(_("Facilitators read questions; the two companies write them."))
    form = AnswerForm(request.POST)
    if form.is_valid():
        try:
            questions.question_reply(
                user=request.user, thread=view.thread, body=form.cleaned_data["body"]
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            if not request.htmx:
                return redirect("question-thread", pk=pk)
            form = None
    return _thread_page(request, viewer, pk, form)
