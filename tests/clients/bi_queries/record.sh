#!/usr/bin/env bash
# Writes grafana.expected, metabase.expected and dbeaver.expected: PostgreSQL 15's answers to the
# statements of the matching .sql files (taken from each tool's source, see README.md). Starts a
# throwaway cluster under /tmp with the objects of ../catalog_queries/record.sh (role eddy,
# database eddy, schema default_database with orders, cheap, totals), replays each file with
# replay.py, stops the cluster and removes it. Usage: bash record.sh   (KEEP=1 keeps the /tmp dir)
# Needs root only to apt-get/pip install what is missing; as root it runs the server as `postgres`.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
OUT="${OUT:-$HERE}"
PORT="${PORT:-25434}"
PGBIN=/usr/lib/postgresql/15/bin

log() { echo "record.sh: $*" >&2; }

if [ ! -x "$PGBIN/postgres" ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql-15 >/dev/null
  else
    log "postgresql-15 is missing (install it as root)"; exit 1
  fi
fi
python3 -c "import psycopg" 2>/dev/null || python3 -m pip install -q "psycopg[binary]"

WORK="$(mktemp -d /tmp/eddy-bi-rec.XXXXXX)"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$WORK"
cleanup() {
  as_pg "$PGBIN/pg_ctl" -D "$WORK/data" -m fast stop >/dev/null 2>&1 || true
  if [ "${KEEP:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

log "initdb in $WORK/data"
as_pg "$PGBIN/initdb" -D "$WORK/data" -U postgres -A trust -E UTF8 --locale=C >/dev/null
cat >> "$WORK/data/postgresql.conf" <<CONF
port = $PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$WORK'
logging_collector = off
lc_messages = 'C'
timezone = 'UTC'
log_timezone = 'UTC'
datestyle = 'ISO, MDY'
CONF
as_pg "$PGBIN/pg_ctl" -D "$WORK/data" -l "$WORK/server.log" -w start >/dev/null

# The same objects as ../catalog_queries/record.sh, created in the same order so that the OIDs
# match (default_database 16386, orders 16387, cheap 16394, totals 16398).
PSQL=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT")
"${PSQL[@]}" -U postgres -d postgres <<'SQL'
CREATE ROLE eddy LOGIN;
CREATE DATABASE eddy OWNER eddy;
ALTER ROLE eddy SET search_path = default_database, public;
SQL
"${PSQL[@]}" -U eddy -d eddy <<'SQL'
CREATE SCHEMA default_database;
CREATE TABLE default_database.orders (id BIGINT NOT NULL, price NUMERIC(10,2), note VARCHAR(20),
  ts TIMESTAMP(3), tstz TIMESTAMPTZ(3), flag BOOLEAN, d DATE, amount DOUBLE PRECISION, qty INTEGER,
  small SMALLINT, r REAL, b BYTEA, tags TEXT[], PRIMARY KEY (id));
INSERT INTO default_database.orders VALUES
  (1, 9.50, 'cheap', '2024-01-02 03:04:05.678', '2024-01-02 03:04:05.678+00', true, '2024-01-02',
   1.5, 3, 7, 2.25, '\xdeadbeef', ARRAY['a', 'b']),
  (2, 20.00, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
CREATE VIEW default_database.cheap AS SELECT id, price FROM default_database.orders WHERE price < 10;
CREATE MATERIALIZED VIEW default_database.totals AS SELECT count(*) AS n FROM default_database.orders;
SQL

# The .sql files hold these OIDs literally (dbeaver.sql binds them); stop if they moved.
oids="$("${PSQL[@]}" -U eddy -d eddy -At -c "SELECT string_agg(o::text, ' ') FROM (VALUES
  ('default_database'::regnamespace::oid), ('default_database.orders'::regclass::oid),
  ('default_database.cheap'::regclass::oid), ('default_database.totals'::regclass::oid)) v(o)")"
if [ "$oids" != "16386 16387 16394 16398" ]; then
  log "unexpected OIDs (default_database, orders, cheap, totals): $oids"; exit 1
fi

log "replaying"
python3 "$HERE/replay.py" "$PORT" "$OUT" grafana metabase dbeaver
echo "PostgreSQL: $("$PGBIN/postgres" --version)" > "$OUT/versions.txt"
echo "psycopg: $(python3 -c 'import psycopg; print(psycopg.__version__)')" >> "$OUT/versions.txt"
log "done; files in $OUT"
