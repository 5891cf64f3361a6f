"""What the page benchmarks (dashboard.bench, optimizer.bench_pages) share: the
database they measure against, created when it does not exist yet."""

from django.conf import settings
from django.db import connection


def ensure_database() -> None:
    """Create the PostgreSQL database named in DATABASE_URL when it does not exist yet."""
    db = settings.DATABASES["default"]
    if connection.vendor != "postgresql":
        return
    import psycopg

    params = {
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        exists = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]
        ).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{db["NAME"]}"')
            print(f"created database {db['NAME']}")
