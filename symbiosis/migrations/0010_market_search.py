"""The market's search (symbiosis.market_search), on PostgreSQL only: the pg_trgm
extension (trigram similarity of material names) and a GIN index on the full-text
vector of each listing's description, the expression the search filters by, so a
search over 50,000 descriptions reads the index instead of parsing every one.

On SQLite every operation here does nothing (the search has a Python fallback).
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

TABLES = ("symbiosis_supplylisting", "symbiosis_demandlisting")
# The expression Django writes for SearchVector("description", config="russian")
# (market_search.TEXT_CONFIG): the planner uses the index only for the same one.
VECTOR = "to_tsvector('russian'::regconfig, COALESCE(description, ''))"


def _index_name(table: str) -> str:
    return f"{table.removeprefix('symbiosis_')}_description_fts"


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {_index_name(table)} ON {table} USING gin ({VECTOR})"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {_index_name(table)}")


class Migration(migrations.Migration):
    dependencies = [
        ("symbiosis", "0009_question_threads"),
    ]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create_indexes, drop_indexes),
    ]
