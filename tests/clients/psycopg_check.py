"""Talks to a running Eddy through psycopg 3, over the extended protocol (server-side
parameters) and the simple one. Usage: psycopg_check.py PORT. Exits non-zero on any failure."""
import sys

import psycopg

port = int(sys.argv[1])
with psycopg.connect(host="127.0.0.1", port=port, user="eddy", dbname="eddy", autocommit=True) as conn:
    conn.execute(
        "CREATE TABLE nums (id BIGINT, name STRING) WITH ("
        "'connector' = 'datagen', 'number-of-rows' = '10', 'fields.id.kind' = 'sequence', "
        "'fields.id.start' = '1', 'fields.id.end' = '10', 'fields.name.length' = '3')"
    )
    # The settings reported at startup are the ones SHOW answers.
    for name in ["server_version", "DateStyle", "TimeZone", "IntervalStyle",
                 "standard_conforming_strings", "integer_datetimes", "client_encoding"]:
        shown = conn.execute(f"SHOW {name}").fetchone()[0]
        assert conn.info.parameter_status(name) == shown, (name, conn.info.parameter_status(name), shown)
    assert conn.info.server_version >= 150000, conn.info.server_version

with psycopg.connect(host="127.0.0.1", port=port, user="eddy", dbname="eddy", autocommit=True,
                     application_name="etl-nightly") as other:
    assert other.info.parameter_status("application_name") == "etl-nightly"
    assert other.execute("SHOW application_name").fetchone() == ("etl-nightly",)

with psycopg.connect(host="127.0.0.1", port=port, user="eddy", dbname="eddy", autocommit=True) as conn:
    # Extended protocol with a typed parameter.
    rows = conn.execute("SELECT id FROM nums WHERE id > %s ORDER BY id", (7,)).fetchall()
    assert rows == [(8,), (9,), (10,)], rows
    # Types come back as Python values.
    row = conn.execute("SELECT count(*), sum(id), CAST(2.5 AS DOUBLE), true, 'x' FROM nums").fetchone()
    assert row == (10, 55, 2.5, True, "x"), row
    # Errors carry their SQLSTATE and leave the connection usable.
    try:
        conn.execute("SELECT * FROM no_such_table")
        raise AssertionError("expected an error")
    except psycopg.errors.UndefinedTable as e:
        assert e.sqlstate == "42P01", e.sqlstate
    # Simple protocol (no parameters, several statements).
    cur = conn.cursor()
    cur.execute("SELECT 1; SELECT 2", prepare=False)
    assert conn.execute("SELECT 3").fetchone() == (3,)
    # psycopg prepares a statement on the server from its 6th execution on (prepare_threshold
    # 5): the prepared form must describe and return the same rows.
    conn.execute("CREATE TABLE bh (id BIGINT) WITH ('connector' = 'blackhole')")
    conn.execute("SET 'table.dml-sync' = 'true'")
    job = conn.execute("INSERT INTO bh SELECT id FROM nums").fetchone()[0]
    for _ in range(8):
        jobs = conn.execute("SHOW JOBS").fetchall()
        assert [j[0] for j in jobs] == [job], jobs
        tables = conn.execute("SHOW TABLES").fetchall()
        assert tables == [("bh",), ("nums",)], tables
        described = conn.execute("DESCRIBE nums").fetchall()
        assert [d[0] for d in described] == ["id", "name"], described
    # After a DROP psycopg sends DEALLOCATE ALL and prepares its statements again.
    conn.execute("DROP TABLE bh")
    for _ in range(8):
        tables = conn.execute("SHOW TABLES").fetchall()
        assert tables == [("nums",)], tables
    conn.execute("DEALLOCATE ALL")
    conn.execute("DISCARD ALL")
    assert conn.execute("SHOW TABLES").fetchall() == [("nums",)]

# Without autocommit psycopg opens a transaction itself and reads the transaction-status
# byte of ReadyForQuery to know where it stands.
from psycopg.pq import TransactionStatus

with psycopg.connect(host="127.0.0.1", port=port, user="eddy", dbname="eddy") as conn:
    assert conn.info.transaction_status == TransactionStatus.IDLE
    assert conn.execute("SELECT count(*) FROM nums").fetchone() == (10,)
    assert conn.info.transaction_status == TransactionStatus.INTRANS, conn.info.transaction_status
    # A nested block is a SAVEPOINT, released at its end.
    with conn.transaction():
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert conn.info.transaction_status == TransactionStatus.INTRANS
    conn.commit()
    assert conn.info.transaction_status == TransactionStatus.IDLE
    try:
        conn.execute("SELECT * FROM no_such_table")
        raise AssertionError("expected an error")
    except psycopg.errors.UndefinedTable:
        pass
    assert conn.info.transaction_status == TransactionStatus.INERROR, conn.info.transaction_status
    conn.rollback()
    assert conn.info.transaction_status == TransactionStatus.IDLE
    assert conn.execute("SELECT 2").fetchone() == (2,)
print("psycopg ok")
