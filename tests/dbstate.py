"""What a refused request must leave as it was (the access audit and the API matrix).

A refused request (4xx, or a redirect to a log-in page) may not write at all:
``writes_during`` records every INSERT, UPDATE and DELETE that touched a row,
sent on the test's connection (the test client's view runs on it) while it
runs, and the tests assert there were none. Sessions and login-attempt records are left out: any
request may touch those. Recording statements costs nothing, where comparing
every table before and after each of ~1,300 refused requests cost 40 s.
"""

import re
from contextlib import contextmanager

from django.db import connection

WRITE = re.compile(r'\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)', re.IGNORECASE)
# Written by any request: django-axes' login records and sessions.
ALWAYS_WRITTEN = ("django_session", "axes_")


@contextmanager
def writes_during():
    """Yields a list that collects ``(table, sql)`` of each write sent meanwhile."""
    writes: list[tuple[str, str]] = []

    def record(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        found = WRITE.match(sql)
        # A conditional UPDATE that matched no row (claiming a row, say) wrote nothing.
        if found and not found[1].startswith(ALWAYS_WRITTEN) and context["cursor"].rowcount:
            writes.append((found[1], sql[:200]))
        return result

    with connection.execute_wrapper(record):
        yield writes
