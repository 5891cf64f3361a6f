"""Migrations applied forward over a populated database keep every row and value.

Every local app's latest migration that no other migration depends on is
unapplied (found from the migration graph, so a new migration is covered
without editing this test). At that earlier state one row of every model of
our apps is written through the historical models, with a value in every
field; then all migrations are applied forward and each row is read back
through the latest models: every row must still be there, every field must
hold the value written (a column dropped on purpose is listed in
DROPPED_ON_PURPOSE), and every table must have at least the rows it had.
Data migrations get their own checks below. Runs on SQLite and PostgreSQL.
"""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

LOCAL_APPS = ("symbiosis", "optimizer", "marketplace", "dashboard")
# Columns a migration dropped on purpose ("app.model.field"); any other drop is data loss.
DROPPED_ON_PURPOSE: set[str] = set()
# Derived tables a migration may empty: rebuilt from the deliveries right after
# migrate (dashboard.signals: post_migrate), e.g. rates when the accounting changes.
DERIVED_TABLES = {"dashboard.dealimpactrate": "dashboard_dealimpactrate"}
NOW = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)


def _early_targets(graph) -> list[tuple[str, str]]:
    """Each local app's latest migration's predecessor, where nothing else needs the latest."""
    targets = []
    for app in LOCAL_APPS:
        for leaf in graph.leaf_nodes(app):
            node = graph.node_map[leaf]
            parents = [p.key for p in node.parents if p.key[0] == app]
            if not node.children and parents:
                targets.append(parents[0])
    return targets


def _value(field, counter: int):
    """A valid, distinctive value for ``field`` (not its default, so a reset would show)."""
    if field.choices:
        return field.choices[0][0]
    kind = field.get_internal_type()
    name = field.name
    if name == "latitude":
        return Decimal("43.250000")
    if name == "longitude":
        return Decimal("76.950000")
    if kind == "EmailField":
        return f"row{counter}@example.kz"
    if kind == "URLField":
        return f"https://example.kz/{counter}"
    if kind in {"CharField", "TextField", "SlugField"}:
        text = f"{name}-{counter}"
        return text[: field.max_length] if field.max_length else text
    if kind == "DecimalField":
        return Decimal(7) if field.max_digits - field.decimal_places >= 1 else Decimal("0.7")
    if kind in {
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "PositiveBigIntegerField",
    }:
        return 7
    if kind == "FloatField":
        return 7.25
    if kind == "BooleanField":
        return not field.default if isinstance(field.default, bool) else True
    if kind == "DateField":
        return dt.date(2026, 3, 4)
    if kind == "DateTimeField":
        return NOW
    if kind == "DurationField":
        return dt.timedelta(minutes=7)
    if kind == "JSONField":
        return {"written_at": "the early state", "n": counter}
    if kind == "UUIDField":
        return uuid.uuid4()
    if kind == "GenericIPAddressField":
        return "127.0.0.7"
    if kind in {"FileField", "ImageField"}:
        return f"early/{counter}.txt"
    if kind == "BinaryField":
        return b"early"
    raise NotImplementedError(f"no test value for {field.model.__name__}.{name} ({kind})")


# Pairs of optional links of which a row holds exactly one (a check constraint): a
# listing's photo, document or question thread belongs to a supply or a demand.
EXACTLY_ONE_OF = (("supply", "demand"),)


def _left_empty(model) -> set[str]:
    names = {f.name for f in model._meta.concrete_fields if f.null}
    return {second for first, second in EXACTLY_ONE_OF if {first, second} <= names}


class RowMaker:
    """One row per model (more where a model points twice at the same model)."""

    def __init__(self, apps):
        self.apps, self.rows, self.counter, self.making = apps, {}, 0, set()

    def row(self, model, fresh: bool = False):
        key = model._meta.label_lower
        if key in self.rows and not fresh:
            return self.rows[key][0]
        self.making.add(key)
        values = {}
        seen_targets = set()
        empty = _left_empty(model)
        for field in model._meta.concrete_fields:
            if field.auto_created or getattr(field, "auto_now", False) or field.name in empty:
                continue
            if getattr(field, "generated", False):
                continue  # computed by the database (the listings' search vector)
            if field.get_internal_type() in {"AutoField", "BigAutoField", "SmallAutoField"}:
                continue
            self.counter += 1
            if field.is_relation:
                target = field.related_model
                label = target._meta.label_lower
                if label in self.making and field.null:
                    continue  # a cycle: leave the optional link empty
                twice = label in seen_targets or field.primary_key or field.one_to_one
                seen_targets.add(label)
                values[field.attname] = self.row(target, fresh=twice).pk
            else:
                values[field.attname] = _value(field, self.counter)
        obj = model.objects.create(**values)
        self.making.discard(key)
        for m2m in model._meta.many_to_many:
            if m2m.remote_field.through._meta.auto_created:  # other throughs are models here
                getattr(obj, m2m.name).add(self.row(m2m.related_model))
        self.rows.setdefault(key, []).append(obj)
        return obj


def _snapshot(model, pk) -> dict:
    obj = model.objects.get(pk=pk)
    return {f.attname: getattr(obj, f.attname) for f in model._meta.concrete_fields}


def _table_counts() -> dict:
    with connection.cursor() as cursor:
        counts = {}
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT count(*) FROM "{table}"')
            counts[table] = cursor.fetchone()[0]
    return counts


def test_all_migrations_forward_keep_every_row_and_value():
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    early = _early_targets(executor.loader.graph)
    assert early, "no migration could be unapplied: the test would check nothing"
    executor.migrate(early)
    try:
        _write_migrate_and_compare(executor, early, latest)
    finally:
        # Whatever happened, the database ends at the latest state: the tests after
        # this one (workers included) share it.
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


def _write_migrate_and_compare(executor, early, latest) -> None:

    executor.loader.build_graph()
    old_apps = executor.loader.project_state(early).apps
    maker = RowMaker(old_apps)
    models = [m for app in LOCAL_APPS for m in old_apps.get_app_config(app).get_models()]
    for model in models:
        maker.row(model)
    written = {
        label: [(obj.pk, _snapshot(type(obj), obj.pk)) for obj in objs]
        for label, objs in maker.rows.items()
    }
    counts_before = _table_counts()

    executor = MigrationExecutor(connection)
    executor.migrate(latest)
    executor.loader.build_graph()
    new_apps = executor.loader.project_state().apps

    lost = []
    for label, rows in written.items():
        if label in DERIVED_TABLES:
            continue
        model = new_apps.get_model(label)
        for pk, before in rows:
            if not model.objects.filter(pk=pk).exists():
                lost.append(f"{label} pk={pk}: row gone")
                continue
            after = _snapshot(model, pk)
            for name, value in before.items():
                if name not in after:
                    if f"{label}.{name}" not in DROPPED_ON_PURPOSE:
                        lost.append(f"{label}.{name}: column dropped")
                elif after[name] != value:
                    lost.append(f"{label}.{name}: {value!r} became {after[name]!r}")
    counts_after = _table_counts()
    for table, n in counts_before.items():
        if table in DERIVED_TABLES.values():
            continue
        if counts_after.get(table, 0) < n:
            lost.append(f"table {table}: {n} rows before, {counts_after.get(table, 0)} after")
    assert not lost, "\n".join(lost)
    assert len(written) >= len(models) >= 10  # every model was populated

    _check_data_migrations(written, new_apps)


def _check_data_migrations(written: dict, apps) -> None:
    """What each data migration must have computed from the rows written before it."""
    if "dashboard.confirmedmonth" in written and "dashboard.confirmeddeal" not in written:
        # dashboard 0002 fills one ConfirmedDeal per deal from the monthly roll-up.
        ConfirmedDeal = apps.get_model("dashboard", "ConfirmedDeal")
        months = [row for _pk, row in written["dashboard.confirmedmonth"]]
        for deal_id in {m["deal_id"] for m in months}:
            mine = [m for m in months if m["deal_id"] == deal_id]
            total = ConfirmedDeal.objects.get(deal_id=deal_id)
            assert total.tonnes == sum(m["tonnes"] for m in mine)
            assert total.deliveries == sum(m["deliveries"] for m in mine)
