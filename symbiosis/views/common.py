"""Small helpers shared by the workspace views."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect

from symbiosis import selectors

# The largest id a BigAutoField holds; SQLite fails on larger numbers (a 500).
MAX_ROW_ID = 2**63 - 1


def parse_id(value) -> int | None:
    """A row id from a query string or form, or None for anything else.

    ASCII digits only: "²".isdigit() is true but int("²") fails.
    """
    text = str(value or "")
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if number <= MAX_ROW_ID else None


def redirect_to(request, url: str):
    """After a successful POST: a client-side redirect for htmx, a 302 otherwise."""
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


def member_required(view):
    """Logged in and a member of at least one organization (else 403).

    Facilitators and city analysts who are no company's members read what
    their role gives them, but have nothing to write here.
    """

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        request.viewer = selectors.viewer_for(request.user)
        if not request.viewer.organization_ids:
            raise PermissionDenied(_("This page is for members of an organization."))
        return view(request, *args, **kwargs)

    return wrapped
