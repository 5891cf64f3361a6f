"""The notifications page, and the ҚАЗ / РУС / ENG switch that also remembers a user's language."""

import contextlib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import i18n
from django.views.decorators.http import require_POST

from symbiosis import notifications, services
from symbiosis.models import Notification
from symbiosis.views.common import parse_id, redirect_to


@login_required
def notification_list(request):
    """Every notification of the user, newest first, unread ones marked."""
    page = notifications.notification_page(user=request.user, page_number=request.GET.get("page"))
    context = {"page": page, "unread": notifications.notifications_unread_count(user=request.user)}
    return render(request, "notifications/page.html", context)


@login_required
def notification_open(request, pk):
    """Follow a notification's link: it is marked read on the way (a GET, as a
    link is; marking read is all it changes, and only for its recipient)."""
    notification_id = parse_id(pk)
    try:
        if notification_id is None:
            raise Notification.DoesNotExist
        row = notifications.notification_open(user=request.user, notification_id=notification_id)
    except Notification.DoesNotExist:
        raise Http404 from None
    target = row.url or reverse("notifications")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts=None):
        target = reverse("notifications")
    return redirect(target)


@login_required
@require_POST
def notifications_read_all(request):
    count = notifications.notifications_mark_all_read(user=request.user)
    if count:
        messages.success(request, _("All notifications are marked as read."))
    return redirect_to(request, reverse("notifications"))


@require_POST
def language_set(request):
    """Django's set_language (the ҚАЗ / РУС / ENG buttons), which also stores the choice as
    a logged-in user's language: their e-mails and notifications follow it."""
    response = i18n.set_language(request)
    if request.user.is_authenticated:
        # An unknown language: set_language changed nothing, and neither does this.
        with contextlib.suppress(ValidationError):
            services.user_language_set(user=request.user, language=request.POST.get("language", ""))
    return response
