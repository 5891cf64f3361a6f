#!/usr/bin/env bash
# Load scenario: gunicorn + PostgreSQL on loopback, the demo scaled to 5,000
# organizations and 50,000 listings, 50 locust users for a bounded time.
#
#   loadtest/run.sh              # build the database once, then measure
#   loadtest/run.sh --rebuild    # drop and rebuild the database first
#   loadtest/run.sh --setup-only # build the database, no measurement
#
# Environment (defaults in brackets): LOAD_DB [symbiosis_load], PG_URL
# [postgres://postgres:postgres@127.0.0.1:5432], USERS [50], SPAWN_RATE [1],
# RUN_TIME [180s], WORKERS [4], THREADS [2], OUT [var/loadtest].
#
# Users arrive one per second (SPAWN_RATE) and each logs in once, paying
# about 0.3 s of PBKDF2; SPAWN_RATE=10 is the log-in storm after an outage,
# measured apart (docs/reliability.md). The steady state in the summary starts
# when the last log-in has been answered.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY="$ROOT/.venv/bin/python"
LOAD_DB=${LOAD_DB:-symbiosis_load}
PG_URL=${PG_URL:-postgres://postgres:postgres@127.0.0.1:5432}
USERS=${USERS:-50}
SPAWN_RATE=${SPAWN_RATE:-1}
RUN_TIME=${RUN_TIME:-180s}
WORKERS=${WORKERS:-4}
THREADS=${THREADS:-2}
OUT=${OUT:-$ROOT/var/loadtest}
REBUILD=0
SETUP_ONLY=0
for arg in "$@"; do
    case "$arg" in
        --rebuild) REBUILD=1 ;;
        --setup-only) SETUP_ONLY=1 ;;
        *) echo "unknown argument: $arg" >&2; exit 2 ;;
    esac
done

mkdir -p "$OUT"
# Everything printed also goes to OUT/run.log, with the figures of the run.
exec > >(tee "$OUT/run.log") 2>&1
export DATABASE_URL="$PG_URL/$LOAD_DB"
export VAR_DIR="$OUT/var"
export STATIC_ROOT="$OUT/static"
export DEBUG=False
export SECRET_KEY="load-test-only-$(date +%s)-not-a-secret"
export ALLOWED_HOSTS=127.0.0.1,localhost
# Plain http on loopback: no HTTPS redirect, cookies not marked Secure.
export SECURE_SSL_REDIRECT=False SESSION_COOKIE_SECURE=False CSRF_COOKIE_SECURE=False
export SECURE_HSTS_SECONDS=0
# Persistent connections: each gunicorn thread keeps its PostgreSQL connection.
export CONN_MAX_AGE=${CONN_MAX_AGE:-600}
# The load users all log in from 127.0.0.1 with the right password; keep the
# lockout out of the measurement in case a run is interrupted mid-login.
export AXES_FAILURE_LIMIT=1000
mkdir -p "$VAR_DIR"

psql_admin() { psql "$PG_URL/postgres" -v ON_ERROR_STOP=1 -qtAc "$1"; }

if [ "$REBUILD" = 1 ]; then
    psql_admin "DROP DATABASE IF EXISTS $LOAD_DB WITH (FORCE)"
fi
if [ -z "$(psql_admin "SELECT 1 FROM pg_database WHERE datname = '$LOAD_DB'")" ]; then
    psql_admin "CREATE DATABASE $LOAD_DB"
fi

SCALED=$(psql "$DATABASE_URL" -qtAc \
    "SELECT 1 FROM symbiosis_organization WHERE contact_email LIKE '%@scale.demo.kz' LIMIT 1" \
    2>/dev/null || true)
if [ "$SCALED" = 1 ]; then
    echo "== database $LOAD_DB is already scaled: migrate only (--rebuild to start again)"
    "$PY" manage.py migrate --noinput -v 0
else
    echo "== database $LOAD_DB: migrate, load_demo, scale_demo"
    "$PY" manage.py migrate --noinput -v 0
    "$PY" manage.py load_demo > "$OUT/load_demo.txt"
    /usr/bin/time -f "scale_demo: %e s wall, %M KB max RSS" "$PY" manage.py scale_demo
    psql "$DATABASE_URL" -qAtc "ANALYZE"
fi
"$PY" manage.py collectstatic --noinput -v 0
psql "$DATABASE_URL" -F ' ' -qAtc "
    SELECT 'organizations', count(*) FROM symbiosis_organization UNION ALL
    SELECT 'users', count(*) FROM symbiosis_user UNION ALL
    SELECT 'sites', count(*) FROM symbiosis_site UNION ALL
    SELECT 'supply listings', count(*) FROM symbiosis_supplylisting UNION ALL
    SELECT 'demand listings', count(*) FROM symbiosis_demandlisting UNION ALL
    SELECT 'optimization runs', count(*) FROM optimizer_optimizationrun UNION ALL
    SELECT 'proposals', count(*) FROM optimizer_matchproposal UNION ALL
    SELECT 'deals', count(*) FROM marketplace_deal UNION ALL
    SELECT 'deliveries', count(*) FROM marketplace_delivery" | tee "$OUT/row_counts.txt"
[ "$SETUP_ONLY" = 1 ] && exit 0

PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# Keep-alive longer than the users' think time: with gunicorn's default of
# 2 s a client reusing a connection just as the server closes it gets a reset.
echo "== gunicorn on 127.0.0.1:$PORT ($WORKERS workers x $THREADS threads, gthread, keep-alive 30 s)"
"$ROOT/.venv/bin/gunicorn" symbiosis.wsgi:application \
    --bind "127.0.0.1:$PORT" --workers "$WORKERS" --worker-class gthread --threads "$THREADS" \
    --max-requests 0 --timeout 60 --keep-alive 30 --log-level warning \
    --error-logfile "$OUT/gunicorn.log" --pid "$OUT/gunicorn.pid" &
GUNICORN=$!
trap 'kill "$GUNICORN" 2>/dev/null; wait "$GUNICORN" 2>/dev/null || true' EXIT
for _ in $(seq 60); do
    curl -fsS "http://127.0.0.1:$PORT/healthz" > /dev/null 2>&1 && break
    sleep 0.5
done
curl -fsS "http://127.0.0.1:$PORT/healthz" > /dev/null

cpu_s() { [ -n "$1" ] && ps -o times= -p "$1" | awk '{s += $1} END {print s + 0}' || echo 0; }
app_cpu_s() {
    echo $(( $(cpu_s "$(pgrep -d, -P "$GUNICORN" || true)") + \
        $(cpu_s "$(pgrep -d, -f "postgres: .*$LOAD_DB" || true)") ))
}
CPU_BEFORE=$(app_cpu_s)
echo "== $(date -Is): $USERS users arriving at $SPAWN_RATE/s, $RUN_TIME," \
    "$(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo))"
echo "== load before: $(uptime)"
( sleep 60; echo "== load during (60 s in): $(uptime)" ) &
UPTIME_PID=$!
export LOAD_GROUPS_JSON="$OUT/groups.json"
rm -f "$LOAD_GROUPS_JSON"
"$ROOT/.venv/bin/locust" -f loadtest/locustfile.py --headless \
    -u "$USERS" -r "$SPAWN_RATE" --run-time "$RUN_TIME" --stop-timeout 10 \
    --host "http://127.0.0.1:$PORT" --csv "$OUT/locust" --only-summary \
    > "$OUT/locust.txt" 2>&1 || true
wait "$UPTIME_PID" 2>/dev/null || true
echo "== load after: $(uptime)"
# CPU seconds the app used during the run (gunicorn workers and the
# PostgreSQL backends of this database, kept open by CONN_MAX_AGE): a cost per
# request that depends less on what else the machine runs than latencies do.
APP_CPU=$(( $(app_cpu_s) - CPU_BEFORE ))
REQUESTS=$(awk -F, '$2 == "Aggregated" {print $3}' "$OUT/locust_stats.csv")
echo "== app CPU during the run: ${APP_CPU} s (gunicorn + PostgreSQL) for ${REQUESTS} requests," \
    "$(( APP_CPU * 1000 / (REQUESTS > 0 ? REQUESTS : 1) )) ms of CPU per request"
"$PY" loadtest/summary.py "$OUT/locust_stats.csv" "$OUT/locust_failures.csv" "$LOAD_GROUPS_JSON" \
    | tee "$OUT/summary.md"
