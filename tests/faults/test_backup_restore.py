"""scripts/pg_backup.sh and scripts/pg_restore.sh, tested by a full round trip (PostgreSQL only).

A database populated through the services (demo data, an optimization run,
deals with deliveries) is dumped by the backup script and restored by the
restore script into a fresh database; every table's row count and the
figures the city sees must be the same in both. The scratch database is
dropped at the end.
"""

import os
import subprocess
import uuid
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from tests.faults.populate import populate
from tests.worker import ROOT, database_url_of_current_connection

pytestmark = pytest.mark.django_db(transaction=True)

# The figures that must survive a backup: what the city dashboard and the run pages show.
TOTALS = {
    "confirmed delivery tonnes": (
        "SELECT coalesce(sum(tonnes), 0) FROM marketplace_delivery WHERE status = 'confirmed'"
    ),
    "all delivery tonnes": "SELECT coalesce(sum(tonnes), 0) FROM marketplace_delivery",
    "deals by state": "SELECT string_agg(state || ':' || n, ',' ORDER BY state) FROM "
    "(SELECT state, count(*) n FROM marketplace_deal GROUP BY state) s",
    "deal events": "SELECT count(*) FROM marketplace_dealevent",
    "proposals": "SELECT count(*) FROM optimizer_matchproposal",
    "proposal kg CO2e saved": "SELECT sum(net_kg_co2e_saved) FROM optimizer_matchproposal",
    "run input hashes": "SELECT string_agg(input_sha256, ',' ORDER BY id) "
    "FROM optimizer_optimizationrun",
    "supply tonnes": "SELECT sum(quantity) FROM symbiosis_supplylisting",
    "users and passwords": "SELECT md5(string_agg(email || password, ',' ORDER BY id)) "
    "FROM symbiosis_user",
    "migrations applied": "SELECT count(*) FROM django_migrations",
    # Sequences too, or new rows after a restore would collide with restored ones.
    "sequences": "SELECT string_agg(sequencename || '=' || coalesce(last_value, 0), ',' "
    "ORDER BY sequencename) FROM pg_sequences WHERE schemaname = 'public'",
}


def _script(name: str, *args: str, database_url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ROOT / "scripts" / name), *args],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=300,
    )


def _figures(url: str, tables: list[str]) -> dict:
    with psycopg.connect(url.replace("postgres://", "postgresql://", 1)) as conn:
        counts = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        totals = {name: conn.execute(sql).fetchone()[0] for name, sql in TOTALS.items()}
    return {"rows": counts, "totals": totals}


@pytest.fixture
def scratch_database():
    """A database name that does not exist yet; dropped afterwards."""
    name = f"{connection.settings_dict['NAME']}_restore_{uuid.uuid4().hex[:8]}"
    yield name
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_backup_restored_into_a_fresh_database_has_every_row(
    postgresql_only, scratch_database, tmp_path
):
    made = populate(deals=3)
    assert len(made["deals"]) == 3
    source_url = database_url_of_current_connection()
    tables = sorted(connection.introspection.table_names())
    source = _figures(source_url, tables)
    # Sanity: the comparison below compares real data, not empty tables.
    assert source["totals"]["confirmed delivery tonnes"] == Decimal("37.5")  # 3 x 12.5
    assert source["totals"]["proposals"] > 0 and source["rows"]["marketplace_deal"] >= 3

    backup = _script("pg_backup.sh", str(tmp_path), database_url=source_url)
    assert backup.returncode == 0, backup.stderr
    dump = Path(backup.stdout.strip())
    assert dump.parent == tmp_path and dump.suffix == ".dump" and dump.stat().st_size > 0
    assert dump.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
    assert not list(tmp_path.glob("*.partial"))

    restore = _script("pg_restore.sh", str(dump), scratch_database, database_url=source_url)
    assert restore.returncode == 0, restore.stderr
    target_url = source_url.rsplit("/", 1)[0] + "/" + scratch_database
    restored = _figures(target_url, tables)
    assert restored == source

    # A second restore over the now non-empty database is refused ...
    again = _script("pg_restore.sh", str(dump), target_url, database_url=source_url)
    assert again.returncode == 1 and "--force" in again.stderr
    # ... unless forced, which replaces it with the dump's contents again.
    with psycopg.connect(target_url.replace("postgres://", "postgresql://", 1)) as conn:
        conn.execute("UPDATE marketplace_delivery SET tonnes = tonnes + 1")
    forced = _script("pg_restore.sh", "--force", str(dump), target_url, database_url=source_url)
    assert forced.returncode == 0, forced.stderr
    assert _figures(target_url, tables) == source


def test_restore_refuses_a_missing_dump_and_a_non_postgres_url(tmp_path):
    missing = _script("pg_restore.sh", str(tmp_path / "none.dump"), database_url="postgres://x/y")
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    sqlite = _script("pg_backup.sh", str(tmp_path), database_url="sqlite:///var/x.sqlite3")
    assert sqlite.returncode == 2 and "not a PostgreSQL URL" in sqlite.stderr
    assert not list(tmp_path.iterdir())
