"""The Almaty demo for tests that need it loaded, loaded for real once per test process
and then put back from a copy of the rows it left.

``symbiosis.demo.load_demo`` takes 1.2-1.6 s on PostgreSQL; browser, worker and fault
tests call it about 45 times a run, and the module-scoped ``demo`` fixture again for
every module on every xdist worker. The first call in a process runs the real loader
and copies every table (COPY ... BINARY), every sequence and every stored file; a
later call on a database in the same state as before that first call (same tables,
same row counts, same storage, same day) deletes the rows and copies them back:
about 0.1 s. In any other state (a test made rows first, another database, SQLite)
the real loader runs. The loader itself is tested on its own (tests/symbiosis/
test_load_demo.py and the others that call it with ``today``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.db import connection, models, transaction
from django.utils import timezone

from symbiosis import demo


@dataclass
class _Snapshot:
    result: demo.DemoResult
    rows: dict[str, bytes]  # table -> COPY BINARY data
    sequences: list[tuple[str, int | None]]  # name -> last_value (None: never used)
    files: list[tuple[models.FileField, str, bytes]]  # field, stored name, content


_snapshots: dict[tuple, _Snapshot] = {}


def load_demo() -> demo.DemoResult:
    """``symbiosis.demo.load_demo()`` for today, the same rows, faster after the first."""
    if connection.vendor != "postgresql":
        return demo.load_demo()
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    key = (
        connection.settings_dict["NAME"],
        timezone.localdate(),
        _storage_locations(),
        tuple(_row_counts(tables).items()),
    )
    snapshot = _snapshots.get(key)
    if snapshot is None:
        result = demo.load_demo()
        _snapshots[key] = _take(tables, result)
        return result
    _restore(snapshot)
    return copy.deepcopy(snapshot.result)


def _row_counts(tables: list[str]) -> dict[str, int]:
    quote = connection.ops.quote_name
    query = " UNION ALL ".join(f"SELECT %s, count(*) FROM {quote(t)}" for t in tables)
    with connection.cursor() as cursor:
        cursor.execute(query, tables)
        return dict(cursor.fetchall())


def _file_fields() -> list[models.FileField]:
    return [
        field
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, models.FileField)
    ]


def _storage_locations() -> tuple:
    # A test may point the attachments storage at its own folder: the files must be there.
    return tuple(str(getattr(f.storage, "location", f.storage)) for f in _file_fields())


def _take(tables: list[str], result: demo.DemoResult) -> _Snapshot:
    quote = connection.ops.quote_name
    rows = {}
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor: COPY is not in the DB-API
        for table in tables:
            with raw.copy(f"COPY {quote(table)} TO STDOUT (FORMAT BINARY)") as out:
                rows[table] = b"".join(bytes(chunk) for chunk in out)
        cursor.execute(
            "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = current_schema()"
        )
        sequences = cursor.fetchall()
    files = []
    for field in _file_fields():
        names = field.model._default_manager.exclude(**{field.name: ""}).values_list(
            field.attname, flat=True
        )
        for name in names:
            with field.storage.open(name, "rb") as stored:
                files.append((field, name, stored.read()))
    return _Snapshot(copy.deepcopy(result), rows, sequences, files)


def _restore(snapshot: _Snapshot) -> None:
    quote = connection.ops.quote_name
    # Foreign keys are deferred (Django makes them so), so no order is needed.
    with transaction.atomic(), connection.cursor() as cursor:
        for table in snapshot.rows:
            cursor.execute(f"DELETE FROM {quote(table)}")
        raw = cursor.cursor
        for table, data in snapshot.rows.items():
            with raw.copy(f"COPY {quote(table)} FROM STDIN (FORMAT BINARY)") as into:
                into.write(data)
        for name, last_value in snapshot.sequences:
            if last_value is None:
                cursor.execute("SELECT setval(%s, 1, false)", [quote(name)])
            else:
                cursor.execute("SELECT setval(%s, %s)", [quote(name), last_value])
    for field, name, content in snapshot.files:
        if not field.storage.exists(name):
            saved = field.storage.save(name, ContentFile(content))
            assert saved == name, (saved, name)
    # Content type ids are those of the first load now, not those of the last flush.
    ContentType.objects.clear_cache()
