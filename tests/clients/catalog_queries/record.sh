#!/usr/bin/env bash
# Regenerates the files in this directory from a real PostgreSQL 15: starts a throwaway
# cluster under /tmp with log_statement = 'all', creates the test objects, drives psql,
# psycopg 3, pgjdbc, SQLAlchemy and node-postgres through a tracing proxy (wireproxy.py),
# cuts the statement log per client (extract.py), replays each statement for its result,
# stops the cluster and removes it. Usage: bash record.sh   (KEEP=1 keeps the /tmp dir)
# Needs root only to apt-get/pip/npm install what is missing (skipped when present); as root
# it runs the server as the `postgres` user.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
OUT="${OUT:-$HERE}"
PORT="${PORT:-25432}"          # the PostgreSQL server
PROXY_PORT="${PROXY_PORT:-25433}"  # wireproxy.py in front of it
PGBIN=/usr/lib/postgresql/15/bin
JDBC_JAR="${JDBC_JAR:-/usr/share/java/postgresql.jar}"
NODEPG_DIR="${NODEPG_DIR:-/tmp/nodepg}"

log() { echo "record.sh: $*" >&2; }

# ---------------------------------------------------------------- prerequisites
need_apt=()
[ -x "$PGBIN/postgres" ] || need_apt+=(postgresql-15)
[ -x "$PGBIN/psql" ] || need_apt+=(postgresql-client-15)
[ -f "$JDBC_JAR" ] || need_apt+=(libpostgresql-jdbc-java)
command -v java >/dev/null || need_apt+=(default-jdk-headless)
command -v node >/dev/null || need_apt+=(nodejs npm)
command -v tmux >/dev/null || need_apt+=(tmux)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    log "apt-get install ${need_apt[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_apt[@]}" >/dev/null
  else
    log "missing Debian packages (install them as root): ${need_apt[*]}"; exit 1
  fi
fi
python3 -c "import psycopg, sqlalchemy" 2>/dev/null || python3 -m pip install -q "psycopg[binary]" sqlalchemy
if [ ! -d "$NODEPG_DIR/node_modules/pg" ]; then
  mkdir -p "$NODEPG_DIR" && (cd "$NODEPG_DIR" && { [ -f package.json ] || npm init -y >/dev/null; } && npm install -q pg >/dev/null)
fi

# ---------------------------------------------------------------- throwaway cluster
WORK="$(mktemp -d /tmp/eddy-catalog-rec.XXXXXX)"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$WORK"
PROXY_PID=""; TMUX_SOCK="$WORK/tmux.sock"
cleanup() {
  [ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null || true
  tmux -S "$TMUX_SOCK" kill-server 2>/dev/null || true
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
log_destination = 'stderr'
logging_collector = off
log_statement = 'all'
log_line_prefix = '@@%c@@ '
lc_messages = 'C'
timezone = 'UTC'
log_timezone = 'UTC'
datestyle = 'ISO, MDY'
CONF
as_pg "$PGBIN/pg_ctl" -D "$WORK/data" -l "$WORK/server.log" -w start >/dev/null

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

# ---------------------------------------------------------------- recording helpers
SLICES="$WORK/slices.tsv"; : > "$SLICES"
logsize() { stat -c %s "$WORK/server.log"; }
# slice CLIENT LABEL CMD...: runs CMD and notes which bytes of the server log it caused.
slice() {
  local client="$1" label="$2"; shift 2
  local start; start=$(logsize)
  "$@"
  sleep 0.3
  printf '%s\t%s\t%s\t%s\n' "$client" "$label" "$start" "$(logsize)" >> "$SLICES"
}
proxy_start() {  # proxy_start TRACE_FILE
  python3 "$HERE/wireproxy.py" "$PROXY_PORT" "$PORT" "$1" & PROXY_PID=$!
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$PROXY_PORT") 2>/dev/null && break; sleep 0.1; done
}
proxy_stop() { kill "$PROXY_PID" 2>/dev/null || true; wait "$PROXY_PID" 2>/dev/null || true; PROXY_PID=""; }
# the connection-check above is itself a (startup-less) connection: drop it from each trace
tidy_trace() { sed -i '/^\[conn 1\] /d' "$1" 2>/dev/null || true; }

# ---------------------------------------------------------------- psql
log "psql"
proxy_start "$OUT/psql.wire"
CLIENT_PSQL=("$PGBIN/psql" -X -h 127.0.0.1 -p "$PROXY_PORT" -U eddy -d eddy -P pager=off)
: > "$OUT/psql.out"
run_psql() {  # run_psql LABEL ARGS...
  local label="$1"; shift
  printf '=== %s\n' "$label" >> "$OUT/psql.out"
  PGAPPNAME=psql "${CLIENT_PSQL[@]}" "$@" >> "$OUT/psql.out" 2>&1 || echo "(psql exit $?)" >> "$OUT/psql.out"
  echo >> "$OUT/psql.out"
}
for cmd in '\dt' '\dv' '\dm' '\d' '\d orders' '\d cheap' '\d+ cheap' '\d totals' '\dn' '\l' '\df' '\d+ orders' '\di' '\dt+'; do
  slice psql "$cmd" run_psql "$cmd" -c "$cmd"
done
slice psql '\x then SELECT * FROM orders' run_psql '\x then SELECT * FROM orders' -c '\x' -c 'SELECT * FROM orders ORDER BY id'

# Tab completion: an interactive psql in tmux; each case types text, presses Tab twice,
# captures the screen, then clears the line with Ctrl-C.
if command -v tmux >/dev/null; then
  : > "$OUT/psql_tab.out"
  tmux -S "$TMUX_SOCK" new-session -d -x 200 -y 60 \
    "env PSQLRC=/dev/null PAGER=cat TERM=xterm /usr/bin/psql -X -h 127.0.0.1 -p $PROXY_PORT -U eddy -d eddy"
  sleep 2
  tab_case() {
    tmux -S "$TMUX_SOCK" send-keys -l "$1"
    tmux -S "$TMUX_SOCK" send-keys Tab; sleep 0.7
    tmux -S "$TMUX_SOCK" send-keys Tab; sleep 0.7
    { printf '=== tab completion after: %s<Tab><Tab>\n' "$1"
      tmux -S "$TMUX_SOCK" capture-pane -p | sed -e 's/[[:space:]]*$//' | grep -v '^$'
      echo; } >> "$OUT/psql_tab.out"
    tmux -S "$TMUX_SOCK" send-keys C-c; sleep 0.3
    tmux -S "$TMUX_SOCK" send-keys C-l; sleep 0.3
  }
  for text in 'SELECT * FROM ' 'SELECT * FROM ord' 'SELECT * FROM orders WHERE ' '\d ' 'INSERT INTO orders (' \
              'SELECT * FROM default_database.' 'SET search_path TO '; do
    slice psql "tab completion: $text<Tab><Tab>" tab_case "$text"
  done
  tmux -S "$TMUX_SOCK" send-keys -l '\q'; tmux -S "$TMUX_SOCK" send-keys Enter; sleep 0.5
  tmux -S "$TMUX_SOCK" kill-server 2>/dev/null || true
else
  log "tmux missing: tab completion not recorded"
fi
proxy_stop; tidy_trace "$OUT/psql.wire"

# ---------------------------------------------------------------- other clients
run_client() {  # run_client NAME CMD...
  local name="$1"; shift
  log "$name"
  proxy_start "$OUT/$name.wire"
  slice "$name" "connect" "$@" > "$OUT/$name.out" 2>&1 || echo "(exit $?)" >> "$OUT/$name.out"
  proxy_stop; tidy_trace "$OUT/$name.wire"
}
run_client psycopg python3 "$HERE/psycopg_client.py" "$PROXY_PORT"
run_client sqlalchemy python3 "$HERE/sqlalchemy_client.py" "$PROXY_PORT"
run_client pgjdbc java -cp "$JDBC_JAR" "$HERE/JdbcClient.java" "$PROXY_PORT"
run_client node_pg env NODE_PATH="$NODEPG_DIR/node_modules" node "$HERE/node_client.js" "$PROXY_PORT"

# ---------------------------------------------------------------- extract and replay
log "extracting"
python3 "$HERE/extract.py" "$WORK/server.log" "$SLICES" "$OUT" "$PORT"

{
  echo "PostgreSQL: $("$PGBIN/postgres" --version)"
  echo "psql: $("$PGBIN/psql" --version)"
  echo "psycopg: $(python3 -c 'import psycopg; print(psycopg.__version__, "libpq", psycopg.pq.version(), psycopg.pq.__impl__)')"
  echo "SQLAlchemy: $(python3 -c 'import sqlalchemy; print(sqlalchemy.__version__)')"
  echo "pgjdbc: $(unzip -p "$JDBC_JAR" META-INF/MANIFEST.MF 2>/dev/null | grep -i '^Implementation-Version' | tr -d '\r' | cut -d' ' -f2)"
  echo "java: $(java -version 2>&1 | head -1)"
  echo "node-postgres (pg): $(node -p "require('$NODEPG_DIR/node_modules/pg/package.json').version"), node $(node --version)"
  echo "python: $(python3 --version 2>&1)"
} > "$OUT/versions.txt"
log "done; files in $OUT"
