#!/usr/bin/env bash
# Back up the PostgreSQL database of DATABASE_URL as a pg_dump custom-format file.
#
#   DATABASE_URL=postgres://user:password@host:5432/symbiosis scripts/pg_backup.sh [OUTPUT_DIR]
#
# Writes OUTPUT_DIR/<database>-<UTC timestamp>.dump (OUTPUT_DIR defaults to
# $BACKUP_DIR or ./backups) and prints its path. The dump is written under a
# temporary name first, so a file with the final name is always complete.
# Restore it with scripts/pg_restore.sh. With docker compose (the postgres
# container has pg_dump; the web image has not), from the repository folder:
#   docker compose exec -T -e DATABASE_URL=postgres://symbiosis:symbiosis@localhost:5432/symbiosis \
#       postgres bash -s -- /var/lib/postgresql/backups < scripts/pg_backup.sh
#   docker compose cp postgres:/var/lib/postgresql/backups ./backups
set -euo pipefail

: "${DATABASE_URL:?set DATABASE_URL=postgres://user:password@host:port/database}"
case "$DATABASE_URL" in
    postgres://* | postgresql://*) ;;
    *) echo "pg_backup.sh: DATABASE_URL is not a PostgreSQL URL" >&2; exit 2 ;;
esac

out_dir="${1:-${BACKUP_DIR:-backups}}"
mkdir -p "$out_dir"
database="${DATABASE_URL##*/}"
database="${database%%\?*}"
file="$out_dir/${database}-$(date -u +%Y%m%dT%H%M%SZ).dump"
if [[ -e "$file" ]]; then
    echo "pg_backup.sh: $file exists already; try again in a second" >&2
    exit 1
fi

partial="$file.partial"
trap 'rm -f "$partial"' EXIT
# Custom format: compressed, and pg_restore can pick tables or run in parallel.
pg_dump --format=custom --no-owner --no-privileges --dbname="$DATABASE_URL" --file="$partial"
mv "$partial" "$file"
echo "$file"
