#!/usr/bin/env bash
# Records what PostgreSQL 15 writes for each COPY in statements.sql over people.csv, as
# expected.out: one block per statement, "-- <statement>" then psql's output (the data,
# then the COPY tag psql prints). Run with a PostgreSQL listening on PGHOST/PGPORT, e.g.
#   PGHOST=/tmp/pgq PGPORT=25499 PGUSER=postgres ./record.sh
set -euo pipefail
cd "$(dirname "$0")"
psql -X -q -v ON_ERROR_STOP=1 -c "DROP TABLE IF EXISTS people" \
  -c "CREATE TABLE people (id int, name text, score float8, ok boolean)" \
  -c "\\copy people FROM 'people.csv' CSV"
while IFS= read -r statement; do
  printf -- '-- %s\n' "$statement"
  psql -X -v ON_ERROR_STOP=1 -c "$statement"
done < statements.sql > expected.out
psql -X -q -c "DROP TABLE people"
