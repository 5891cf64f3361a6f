"""Saved searches: save the market's filters, list, rename, pause and delete them,
and the digest's unsubscribe link, which works without logging in.

The services are ``symbiosis.saved_searches``; the market's readers (companies
and facilitators, not city analysts) may save searches, each user sees and
changes only their own (any other's is a 404).
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from symbiosis import saved_searches
from symbiosis.market_query import market_form
from symbiosis.models import SavedSearch
from symbiosis.views.common import redirect_to
from symbiosis.views.market import market_reader


def _own_search(request, pk) -> SavedSearch:
    try:
        return saved_searches.saved_search_get(user=request.user, search_id=pk)
    except SavedSearch.DoesNotExist:
        raise Http404 from None


def _row_context(search: SavedSearch, viewer) -> dict:
    form = saved_searches.search_form(search, viewer)
    return {
        "search": search,
        "summary": saved_searches.query_summary(form),
        "broken": not form.is_valid(),
        "market_url": saved_searches.market_url(search.query),
    }


def _render_row(request, search: SavedSearch, viewer, error: str = ""):
    context = {**_row_context(search, viewer), "error": error}
    return render(request, "symbiosis/_saved_search_row.html", context)


@login_required
@require_GET
def saved_search_list(request):
    viewer = market_reader(request)
    rows = [
        _row_context(search, viewer)
        for search in saved_searches.saved_search_list(user=request.user)
    ]
    return render(
        request,
        "symbiosis/saved_searches.html",
        {"rows": rows, "digest_hour": settings.SAVED_SEARCH_DIGEST_HOUR},
    )


@login_required
@require_http_methods(["GET", "POST"])
def saved_search_new(request):
    """GET: the name form for the market's current filters (the query string),
    as an htmx fragment under the filters or a page of its own without JavaScript.
    POST: save them (the filters come as hidden fields of that form)."""
    viewer = market_reader(request)
    data = request.POST if request.method == "POST" else request.GET
    form = market_form(viewer, data)
    query = saved_searches.query_from_form(form)
    error = ""
    name = data.get("saved_search_name", "")
    if request.method == "POST":
        try:
            search = saved_searches.saved_search_create(user=request.user, name=name, form=form)
        except saved_searches.SavedSearchError as exc:
            error = " ".join(exc.messages)
        else:
            if request.htmx:
                context = {"saved": search, "market_url": saved_searches.market_url(search.query)}
                return render(request, "symbiosis/_saved_search_form.html", context)
            messages.success(request, _("Search saved: “%(name)s”.") % {"name": search.name})
            return redirect_to(request, reverse("saved-searches"))
    if not name:
        name = " · ".join(value for _label, value in saved_searches.query_summary(form)[:3])
    hidden = saved_searches.query_dict(query)
    # "No distances" is a choice too: without it the POST would measure from the
    # first site again.
    hidden.setdefault("site", "")
    context = {
        "query": hidden.lists(),
        "summary": saved_searches.query_summary(form),
        "name": name[: SavedSearch._meta.get_field("name").max_length],
        "error": error,
        "market_url": saved_searches.market_url(query),
    }
    fragment = request.htmx and not request.htmx.history_restore_request
    template = (
        "symbiosis/_saved_search_form.html" if fragment else "symbiosis/saved_search_new.html"
    )
    return render(request, template, context)


@login_required
@require_POST
def saved_search_rename(request, pk):
    viewer = market_reader(request)
    search = _own_search(request, pk)
    try:
        saved_searches.saved_search_rename(search=search, name=request.POST.get("name", ""))
    except saved_searches.SavedSearchError as exc:
        search.refresh_from_db()
        if request.htmx:
            return _render_row(request, search, viewer, error=" ".join(exc.messages))
        messages.error(request, " ".join(exc.messages))
        return redirect_to(request, reverse("saved-searches"))
    if request.htmx:
        return _render_row(request, search, viewer)
    return redirect_to(request, reverse("saved-searches"))


@login_required
@require_POST
def saved_search_active(request, pk):
    """Pause (``active=0``) or resume (``active=1``) a search's alerts."""
    viewer = market_reader(request)
    search = _own_search(request, pk)
    active = request.POST.get("active") == "1"
    saved_searches.saved_search_set_active(search=search, active=active)
    if request.htmx:
        return _render_row(request, search, viewer)
    return redirect_to(request, reverse("saved-searches"))


@login_required
@require_POST
def saved_search_delete(request, pk):
    market_reader(request)
    search = _own_search(request, pk)
    name = search.name
    saved_searches.saved_search_delete(search=search)
    messages.success(request, _("Saved search “%(name)s” deleted.") % {"name": name})
    return redirect_to(request, reverse("saved-searches"))


@require_http_methods(["GET", "POST"])
def saved_search_unsubscribe(request, token):
    """From a digest's link, logged in or not, in the search owner's language.
    GET asks (mail scanners open links); POST stops the alerts of this one search."""
    search = saved_searches.saved_search_by_token(token=token)
    if search is not None and search.user.language in dict(settings.LANGUAGES):
        translation.activate(search.user.language)
        request.LANGUAGE_CODE = search.user.language
    if search is None:
        return render(request, "symbiosis/saved_search_unsubscribe.html", {}, status=404)
    done = False
    if request.method == "POST":
        saved_searches.saved_search_unsubscribe(token=token)
        done = True
    context = {"search": search, "done": done}
    return render(request, "symbiosis/saved_search_unsubscribe.html", context)
