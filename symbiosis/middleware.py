"""A lost database connection answers 503 "try again", not a 500."""

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _

log = logging.getLogger(__name__)

RETRY_AFTER_S = 5


class DatabaseUnavailableMiddleware:
    """Every write is a service in one transaction, which PostgreSQL rolled back
    when the connection died, so the same request is safe to send again; Django
    drops the broken connection at the end of the request and the next one
    reconnects (tests/faults/test_db_connection_drop.py)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        log.error("database unavailable during %s %s", request.method, request.path, exc_info=True)
        message = _("The database connection was lost, so this was not done. Try again.")
        if request.path.startswith("/api/"):
            response = JsonResponse({"detail": message}, status=503)
        else:
            response = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = str(RETRY_AFTER_S)
        return response
