"""Emptying the database after a transactional test (browser, worker, fault tests) by
DELETE of the tables that hold rows, instead of Django's one TRUNCATE of all ~60.

On PostgreSQL that TRUNCATE gives every table a new file: about 2 s after each
test, against 0.05-0.1 s for deleting the rows of the ~20 tables a test fills. The
result is the same empty database: sequences are not reset (Django's flush does
not reset them either unless asked, and then this steps aside), and the flush
command still emits post_migrate afterwards, which puts back content types,
permissions and groups as after a TRUNCATE. Foreign keys are deferrable, so the
order of the deletes does not matter inside the flush's transaction.
"""

from django.core.management.commands import flush
from django.core.management.sql import sql_flush as django_sql_flush


def sql_flush_nonempty(style, connection, reset_sequences=True, allow_cascade=False):
    if connection.vendor != "postgresql" or reset_sequences:
        return django_sql_flush(
            style, connection, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    if not tables:
        return []
    quote = connection.ops.quote_name
    probe = " UNION ALL ".join(
        f"SELECT %s WHERE EXISTS (SELECT 1 FROM {quote(table)})" for table in tables
    )
    with connection.cursor() as cursor:
        cursor.execute(probe, tables)
        holding_rows = [row[0] for row in cursor.fetchall()]
    if not holding_rows:
        return []
    return ["SET CONSTRAINTS ALL DEFERRED"] + [f"DELETE FROM {quote(t)}" for t in holding_rows]


def install() -> None:
    """Make ``manage.py flush`` (as run by TransactionTestCase) delete instead of truncate."""
    flush.sql_flush = sql_flush_nonempty


def uninstall() -> None:
    flush.sql_flush = django_sql_flush
