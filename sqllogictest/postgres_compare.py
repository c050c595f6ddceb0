#!/usr/bin/env python3
"""Runs an .slt file against a real PostgreSQL and reports where PostgreSQL's answers
differ from the file's expected ones, so that expected answers written for PostgreSQL's
behaviour (SQLSTATEs, cursors, transactions, settings) come from PostgreSQL itself.

    sqllogictest/postgres_compare.py "host=/tmp port=55432 user=postgres" FILE.slt...

Understands `statement ok`, `statement error <regex over "SQLSTATE: message">`, and `query <types>
[rowsort]` records with their `----` results; values are rendered as the runner renders
Eddy's (NULL, t / f). Exits 1 if any record differs. One connection per file, in
autocommit mode, so BEGIN / COMMIT in the file mean what they say.

A local server: `initdb -D d -A trust -U postgres && pg_ctl -D d -o '-p 55432 -k /tmp' start`
(Debian's postgresql package; run as a user other than root).
"""

import re
import sys

import psycopg

from slt_file import records


def render(value):
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value)


def main():
    dsn, files = sys.argv[1], sys.argv[2:]
    failures = 0
    for path in files:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for line, head, sql, expected in records(path):
                kind = head[0]
                if kind not in ("statement", "query"):
                    continue
                cur = conn.cursor()
                try:
                    cur.execute(sql)
                    error = None
                except psycopg.Error as e:
                    error = e
                problem = None
                if kind == "statement" and head[1] == "ok" and error:
                    problem = f"failed: {error.sqlstate} {error}"
                elif kind == "statement" and head[1] == "error":
                    wanted = " ".join(head[2:])
                    if error is None:
                        problem = "succeeded, expected an error"
                    elif wanted and not re.search(wanted, f"{error.sqlstate}: {error}"):
                        problem = f"failed with {error.sqlstate} {error}, expected {wanted}"
                elif kind == "query":
                    if error:
                        problem = f"failed: {error.sqlstate} {error}"
                    else:
                        rows = [" ".join(render(v) for v in row) for row in (cur.fetchall() if cur.description else [])]
                        want = list(expected or [])
                        if "rowsort" in head:
                            rows, want = sorted(rows), sorted(want)
                        if rows != want:
                            problem = f"rows {rows}, expected {want}"
                if problem:
                    failures += 1
                    print(f"{path}:{line}: {problem}\n    {sql}")
    if failures:
        print(f"{failures} record(s) differ from PostgreSQL")
        sys.exit(1)
    print("PostgreSQL agrees with every record")


if __name__ == "__main__":
    main()
