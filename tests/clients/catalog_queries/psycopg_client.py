"""psycopg 3 client driven by record.sh. Usage: psycopg_client.py PORT.
`SELECT 'EDDY-MARK: ...'` statements only label the server log; extract.py drops them."""
import sys

import psycopg
from psycopg.types import TypeInfo

port = int(sys.argv[1])


def mark(conn, label):
    quoted = label.replace("'", "''")
    conn.execute(f"SELECT 'EDDY-MARK: {quoted}'", prepare=False)


print(f"psycopg {psycopg.__version__}, libpq {psycopg.pq.version()} ({psycopg.pq.__impl__})")
# Default connection: not autocommit, so psycopg sends BEGIN before the first statement.
with psycopg.connect(host="127.0.0.1", port=port, user="eddy", dbname="eddy") as conn:
    print("server_version", conn.info.server_version)
    for name in ["server_version", "server_encoding", "client_encoding", "DateStyle", "TimeZone",
                 "IntervalStyle", "integer_datetimes", "standard_conforming_strings", "application_name"]:
        print(f"parameter_status {name} = {conn.info.parameter_status(name)!r}")
    query = "SELECT * FROM default_database.orders WHERE id > %s ORDER BY id"
    for i in range(6):
        mark(conn, f"execute #{i + 1} of the same parameterized query (prepare_threshold=5)")
        cur = conn.execute(query, (0,))
        rows = cur.fetchall()
    print("rows", rows)
    print("description (name, type_code, display_size, internal_size, precision, scale, null_ok):")
    for d in cur.description:
        print(" ", (d.name, d.type_code, d.display_size, d.internal_size, d.precision, d.scale, d.null_ok))
    mark(conn, "same query without parameters, simple protocol (prepare=False)")
    conn.execute("SELECT * FROM default_database.orders ORDER BY id", prepare=False)
    mark(conn, "conn.commit()")
    conn.commit()
    mark(conn, "TypeInfo.fetch(conn, 'numeric') (what register_* helpers use)")
    info = TypeInfo.fetch(conn, "numeric")
    print("TypeInfo numeric:", info.name, info.oid, info.array_oid)
    mark(conn, "TypeInfo.fetch(conn, 'default_database.no_such_type')")
    print("TypeInfo missing:", TypeInfo.fetch(conn, "default_database.no_such_type"))
    mark(conn, "conn.rollback()")
    conn.rollback()
    mark(conn, "connection closed (leaving the with block)")
