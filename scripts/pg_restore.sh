#!/usr/bin/env bash
# Restore a dump made by scripts/pg_backup.sh into a PostgreSQL database.
#
#   DATABASE_URL=postgres://user:password@host:5432/symbiosis \
#       scripts/pg_restore.sh [--force] DUMP_FILE [TARGET]
#
# TARGET is a postgres:// URL or a database name on the server of DATABASE_URL;
# without it the restore goes into DATABASE_URL itself. A missing target
# database is created. A target that already has tables is refused unless
# --force is given (then its objects are dropped and replaced by the dump's).
# The restore runs in one transaction: if it fails, the target is unchanged.
set -euo pipefail

usage() {
    echo "usage: scripts/pg_restore.sh [--force] DUMP_FILE [TARGET_URL_OR_DATABASE]" >&2
    exit 2
}

force=no
args=()
for arg in "$@"; do
    case "$arg" in
        --force) force=yes ;;
        -h | --help) usage ;;
        -*) echo "pg_restore.sh: unknown option $arg" >&2; usage ;;
        *) args+=("$arg") ;;
    esac
done
[[ ${#args[@]} -ge 1 && ${#args[@]} -le 2 ]] || usage
dump="${args[0]}"
[[ -r "$dump" ]] || { echo "pg_restore.sh: cannot read $dump" >&2; exit 2; }

: "${DATABASE_URL:?set DATABASE_URL=postgres://user:password@host:port/database}"
target="${args[1]:-$DATABASE_URL}"
server="${DATABASE_URL%/*}"
case "$target" in
    postgres://* | postgresql://*) server="${target%/*}" ;;
    *) target="$server/$target" ;;
esac
database="${target##*/}"
database="${database%%\?*}"
[[ "$database" =~ ^[A-Za-z0-9_]+$ ]] || { echo "pg_restore.sh: odd database name $database" >&2; exit 2; }

exists=$(psql "$server/postgres" -XAtc "SELECT 1 FROM pg_database WHERE datname = '$database'")
if [[ -z "$exists" ]]; then
    psql "$server/postgres" -Xqc "CREATE DATABASE \"$database\""
    echo "created database $database" >&2
fi

tables=$(psql "$target" -XAtc "SELECT count(*) FROM pg_tables
    WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")
if [[ "$tables" != 0 && "$force" != yes ]]; then
    echo "pg_restore.sh: database $database already has $tables tables;" \
        "give --force to replace them with the dump" >&2
    exit 1
fi

pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction \
    --exit-on-error --dbname="$target" "$dump"
echo "restored $dump into $database" >&2
