#!/usr/bin/env bash
# Records expected.json from a throwaway PostgreSQL 15: initdb under /tmp, start it on a
# Unix socket only, run record.py (which makes table `typed` from typed.json and fetches
# every case of cases.json in text and binary format), stop the server and remove it.
#   bash record.sh            (PORT=25498 by default; KEEP=1 keeps the /tmp dir)
# As root the server runs as the `postgres` user.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
PORT="${PORT:-25498}"
PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"

log() { echo "record.sh: $*" >&2; }
[ -x "$PGBIN/postgres" ] || { log "no PostgreSQL 15 in $PGBIN (apt-get install postgresql-15)"; exit 1; }
python3 -c "import psycopg" 2>/dev/null || { log "python3 needs psycopg 3 (pip install 'psycopg[binary]')"; exit 1; }

WORK="$(mktemp -d /tmp/eddy-types-rec.XXXXXX)"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$WORK"
cleanup() {
  as_pg "$PGBIN/pg_ctl" -D "$WORK/data" -m fast stop >/dev/null 2>&1 || true
  if [ "${KEEP:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

log "initdb in $WORK/data ($("$PGBIN/postgres" --version))"
as_pg "$PGBIN/initdb" -D "$WORK/data" -U postgres -A trust -E UTF8 --locale=C >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$WORK/data" -l "$WORK/server.log" -w \
  -o "-p $PORT -k $WORK -c listen_addresses=''" start >/dev/null

python3 "$HERE/record.py" --host "$WORK" --port "$PORT" --user postgres --dbname postgres
log "done"
