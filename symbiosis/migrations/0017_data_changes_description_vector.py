"""Cached pages' data versions (symbiosis.data_versions) and the listings' stored
full-text vector of their descriptions (symbiosis.market_search).

The vector is a stored generated column, GIN-indexed on PostgreSQL; it replaces
the expression index of migration 0010, so a search no longer parses a
description per row where the planner reads rows rather than the index (a title
match OR a description match). On SQLite the index steps do nothing.
"""

import django.contrib.postgres.search
import symbiosis.models.listings
from django.db import migrations, models


TABLES = ("symbiosis_supplylisting", "symbiosis_demandlisting")
# Migration 0010's index on the expression the search used to compute.
OLD_VECTOR = "to_tsvector('russian'::regconfig, COALESCE(description, ''))"


def _name(table: str, suffix: str) -> str:
    return f"{table.removeprefix('symbiosis_')}_{suffix}"


def vector_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {_name(table, 'description_fts')}")
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {_name(table, 'description_vector')} "
            f"ON {table} USING gin (description_vector)"
        )


def expression_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {_name(table, 'description_vector')}")
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {_name(table, 'description_fts')} "
            f"ON {table} USING gin ({OLD_VECTOR})"
        )


class Migration(migrations.Migration):

    dependencies = [
        ('symbiosis', '0016_national_codes_permits'),
    ]

    operations = [
        migrations.AddField(
            model_name='demandlisting',
            name='description_vector',
            field=models.GeneratedField(
                db_persist=True,
                expression=symbiosis.models.listings.DescriptionVector('description'),
                output_field=django.contrib.postgres.search.SearchVectorField(),
            ),
        ),
        migrations.AddField(
            model_name='supplylisting',
            name='description_vector',
            field=models.GeneratedField(
                db_persist=True,
                expression=symbiosis.models.listings.DescriptionVector('description'),
                output_field=django.contrib.postgres.search.SearchVectorField(),
            ),
        ),
        migrations.CreateModel(
            name='DataChange',
            fields=[
                ('id', models.BigAutoField(primary_key=True, serialize=False)),
                ('name', models.CharField(max_length=20)),
                ('at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'indexes': [models.Index(fields=['name', 'id'], name='datachange_name_id')],
            },
        ),
        migrations.RunPython(vector_indexes, expression_indexes),
    ]
