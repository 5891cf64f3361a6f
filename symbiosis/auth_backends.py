"""Authentication backends and the failed-login limit (django-axes) around them."""

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_cool_off, get_failure_limit
from django.conf import settings
from django.shortcuts import render

from symbiosis.models import User

LOCKOUT_TEMPLATE = "registration/lockout.html"


class LoginRateLimitBackend(AxesStandaloneBackend):
    """Axes' lockout check for every login attempt that comes with a request.

    The log-in page, the API token endpoint and HTTP basic auth all pass the
    request. A call without one (Django's test client ``login()``, the
    shell, a management command) is no attempt from the network and has no
    address to limit, so it passes to the next backend; axes' stock backend
    raises instead.
    """

    def authenticate(self, request=None, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def login_username(request, credentials=None) -> str | None:
    """The e-mail a log-in attempt is for, as stored (AXES_USERNAME_CALLABLE).

    Log-in matches e-mails whatever their case, so the failure count must
    too: otherwise "A@x.kz", "a@X.kz"... would each get their own five tries.
    """
    field = settings.AXES_USERNAME_FORM_FIELD
    if credentials:
        username = credentials.get(field)
    else:
        username = getattr(request, "data", request.POST).get(field)
    if not isinstance(username, str):
        return None
    return User.objects.normalize_email(username)


def lockout_retry_after_seconds(request) -> int:
    """How long a locked-out client should wait: the whole cool-off (Retry-After)."""
    cool_off = get_cool_off(request)
    return int(cool_off.total_seconds()) if cool_off else 0


def lockout_response(request, original_response=None, credentials=None):
    """The lockout page, 429 with Retry-After (AXES_LOCKOUT_CALLABLE)."""
    context = {
        "failure_limit": get_failure_limit(request, credentials),
        "cooloff_timedelta": get_cool_off(request),
    }
    response = render(request, LOCKOUT_TEMPLATE, context, status=settings.AXES_HTTP_RESPONSE_CODE)
    seconds = lockout_retry_after_seconds(request)
    if seconds:
        response["Retry-After"] = str(seconds)
    return response
