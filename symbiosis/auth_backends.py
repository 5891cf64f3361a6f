"""Authentication backends: failed-login limits (django-axes) before the password check."""

from axes.backends import AxesStandaloneBackend


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
