#!/usr/bin/env bash
# Records what PostgreSQL 15's psql prints for `\df` over functions written in Python
# (plpython3u), for tests/pg_catalog.rs to compare Eddy's answer with: the same
# functions, created in Eddy with the same PostgreSQL-form CREATE FUNCTION, in the schema
# Eddy shows Flink's default database as. Starts a throwaway cluster under /tmp and removes
# it. Usage: bash record.sh   (as root it installs postgresql-15 and its plpython3 first)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
PORT="${PORT:-25442}"
PGBIN=/usr/lib/postgresql/15/bin
if [ ! -x "$PGBIN/postgres" ] || [ ! -d /usr/share/postgresql/15/extension ] || ! ls /usr/share/postgresql/15/extension/plpython3u* >/dev/null 2>&1; then
  apt-get install -y -qq postgresql-15 postgresql-plpython3-15 >/dev/null
fi
WORK="$(mktemp -d /tmp/eddy-functions-rec.XXXXXX)"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$WORK"
trap 'as_pg "$PGBIN/pg_ctl" -D "$WORK/data" -m fast stop >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
as_pg "$PGBIN/initdb" -D "$WORK/data" -U postgres -A trust -E UTF8 --locale=C >/dev/null
printf "port = %s\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nlc_messages = 'C'\n" \
  "$PORT" "$WORK" >> "$WORK/data/postgresql.conf"
as_pg "$PGBIN/pg_ctl" -D "$WORK/data" -l "$WORK/server.log" -w start >/dev/null
PSQL=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT")
"${PSQL[@]}" -U postgres -d postgres <<'SQL'
CREATE ROLE eddy LOGIN SUPERUSER;
CREATE DATABASE eddy OWNER eddy;
ALTER ROLE eddy SET search_path = default_database, public;
SQL
"${PSQL[@]}" -U eddy -d eddy <<'SQL'
CREATE EXTENSION plpython3u;
CREATE SCHEMA default_database;
CREATE SCHEMA other;
SQL
# The functions, as tests/pg_catalog.rs creates them in Eddy (other is a second Flink
# database: its function is not on the search path, so \df leaves it out).
"${PSQL[@]}" -U eddy -d eddy <<'SQL'
CREATE FUNCTION default_database.plus_one(x integer) RETURNS integer LANGUAGE plpython3u AS $$ return x + 1 $$;
CREATE FUNCTION default_database.greet(name text, n bigint) RETURNS text LANGUAGE plpython3u AS $$ return name * n $$;
CREATE FUNCTION other.hidden(x double precision) RETURNS double precision LANGUAGE plpython3u AS $$ return x $$;
SQL
out="$HERE/psql.out"
: > "$out"
for cmd in '\df' '\df concat'; do
  printf '=== %s\n' "$cmd" >> "$out"
  "$PGBIN/psql" -X -h 127.0.0.1 -p "$PORT" -U eddy -d eddy -P pager=off -c "$cmd" >> "$out"
  echo >> "$out"
done
echo "record.sh: wrote $out" >&2
