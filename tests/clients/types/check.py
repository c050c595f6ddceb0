#!/usr/bin/env python3
"""Fetches every case of cases.json from a server and prints what came over the wire, as JSON.

    python3 check.py --target eddy --host 127.0.0.1 --port 15491 --user eddy --dbname eddy
    python3 check.py --target pg --host /tmp/pgq --port 25498 --user postgres --dbname postgres
    python3 check.py --target eddy --port 15491 --compare expected.json

--target says which SQL of a case runs (`eddy`: Flink SQL, `pg`: PostgreSQL's). First the
session gets PostgreSQL 15's defaults spelled out (TimeZone UTC, DateStyle ISO, MDY,
extra_float_digits 1, IntervalStyle postgres) and the table `typed` is made again over
typed.json (on Eddy a filesystem table, on PostgreSQL a table filled from the same lines);
--no-setup skips the table. Each case's statement then runs twice through libpq's
PQexecParams (extended protocol, unnamed statement, no parameters), once with text results
(format 0) and once with binary results (format 1). The output is a list, in cases.json's
order, of

    {"name": ..., "columns": [{"name", "type_oid", "typmod", "typlen"}, ...],
     "text": [[str | null, ...], ...], "binary": [[hex | null, ...], ...]}

`typlen` is the RowDescription's type size (PQfsize). A case the server refuses is
{"name": ..., "error": "SQLSTATE: message"}. Only when something is off, a case also has
"binary_columns" (the description sent with binary results, when it differs from the text
one) or "formats" (the format codes of the RowDescription, when they are not the format
asked for). The same structure for both targets, so the output for Eddy compares with
expected.json (recorded from PostgreSQL 15 by record.py) as it is; --compare FILE prints the
differences case by case and column by column, and exits 1 when there are any.

Exits non-zero, saying why, when psycopg 3 is missing or the server cannot be reached.
"""
import argparse
import json
import os
import sys

try:
    import psycopg
    from psycopg import pq
except ImportError as e:  # never pass silently: the test reads the exit status
    sys.exit(f"check.py: psycopg 3 is required (pip install 'psycopg[binary]'): {e}")

HERE = os.path.dirname(os.path.abspath(__file__))

# The session settings the expected answers were recorded with (PostgreSQL 15's defaults,
# spelled out so that a server's configuration cannot change them).
SESSION = [
    "SET TimeZone = 'UTC'",
    "SET DateStyle = 'ISO, MDY'",
    "SET extra_float_digits = 1",
    "SET IntervalStyle = 'postgres'",
]

# Table `typed`: the same columns on both sides, in the same order; the rows are typed.json's.
# ROW and MAP columns are json on PostgreSQL, holding the compact JSON text of the value
# (keys in declared / file order, a NULL field as null), which is what Eddy is to send.
TYPED_COLUMNS = [
    # name, Flink type, PostgreSQL type
    ("id", "INT", "integer"),
    ("c_bool", "BOOLEAN", "boolean"),
    ("c_smallint", "SMALLINT", "smallint"),
    ("c_int", "INT", "integer"),
    ("c_bigint", "BIGINT", "bigint"),
    ("c_float", "FLOAT", "real"),
    ("c_double", "DOUBLE", "double precision"),
    ("c_dec10", "DECIMAL(10, 2)", "numeric(10,2)"),
    ("c_dec38", "DECIMAL(38, 10)", "numeric(38,10)"),
    ("c_string", "STRING", "text"),
    ("c_date", "DATE", "date"),
    ("c_time", "TIME(3)", "time(3)"),
    ("c_ts3", "TIMESTAMP(3)", "timestamp(3)"),
    ("c_ts6", "TIMESTAMP(6)", "timestamp(6)"),
    ("c_ltz", "TIMESTAMP_LTZ(3)", "timestamptz(3)"),
    ("c_int_arr", "ARRAY<INT>", "integer[]"),
    ("c_str_arr", "ARRAY<STRING>", "text[]"),
    ("c_dbl_arr", "ARRAY<DOUBLE>", "double precision[]"),
    ("c_ts_arr", "ARRAY<TIMESTAMP(3)>", "timestamp(3)[]"),
    ("c_row", "ROW<a INT, b STRING>", "json"),
    ("c_map", "MAP<STRING, INT>", "json"),
]


def typed_path():
    return os.path.join(HERE, "typed.json")


def setup_typed(conn, target):
    """(Re)creates table `typed` over typed.json on the target."""
    if target == "eddy":
        columns = ", ".join(f"{name} {flink}" for name, flink, _ in TYPED_COLUMNS)
        path = typed_path().replace("'", "''")
        conn.execute("DROP TABLE IF EXISTS typed")
        conn.execute(
            f"CREATE TABLE typed ({columns}) WITH ("
            f"'connector' = 'filesystem', 'path' = '{path}', 'format' = 'json')"
        )
    else:
        columns = ", ".join(f"{name} {pg}" for name, _, pg in TYPED_COLUMNS)
        with open(typed_path(), encoding="utf-8") as f:
            lines = [line.strip() for line in f if line.strip()]
        conn.execute("DROP TABLE IF EXISTS typed")
        conn.execute(f"CREATE TABLE typed ({columns})")
        # Each field's JSON text goes to its column type's input function as it is: numbers
        # keep every digit, JSON arrays become arrays, and a json column keeps the nested
        # object's text byte for byte.
        conn.execute(
            "INSERT INTO typed SELECT * FROM json_populate_recordset(NULL::typed, %s::json)",
            ["[" + ",".join(lines) + "]"],
        )


def connect(args):
    conn = psycopg.connect(
        host=args.host, port=args.port, user=args.user, dbname=args.dbname,
        autocommit=True, connect_timeout=30,
    )
    for statement in SESSION:
        conn.execute(statement)
    return conn


def _description(res):
    return [
        {
            "name": res.fname(i).decode("utf-8", "backslashreplace"),
            "type_oid": res.ftype(i),
            "typmod": res.fmod(i),
            "typlen": res.fsize(i),
        }
        for i in range(res.nfields)
    ]


def _error(res):
    state = res.error_field(pq.DiagnosticField.SQLSTATE)
    message = res.error_field(pq.DiagnosticField.MESSAGE_PRIMARY)
    if message is None:
        message = res.error_message or b"no message"
    state = state.decode() if state else "no SQLSTATE"
    text = message.decode("utf-8", "backslashreplace").strip()
    return f"{state}: {text.splitlines()[0] if text else text}"


def fetch(conn, sql):
    """Runs `sql` once per result format through PQexecParams and returns the case record
    (without its name): the description and the raw values of every row."""
    out = {}
    for fmt, key in ((0, "text"), (1, "binary")):
        res = conn.pgconn.exec_params(sql.encode(), [], result_format=fmt)
        if res.status != pq.ExecStatus.TUPLES_OK:
            if res.status == pq.ExecStatus.COMMAND_OK:
                return {"error": f"no rows: command {res.command_status!r}"}
            return {"error": _error(res)}
        description = _description(res)
        if fmt == 0:
            out["columns"] = description
        elif description != out["columns"]:
            out["binary_columns"] = description
        formats = [res.fformat(i) for i in range(res.nfields)]
        if any(f != fmt for f in formats):
            out.setdefault("formats", {})[key] = formats
        rows = []
        for r in range(res.ntuples):
            row = []
            for c in range(res.nfields):
                v = res.get_value(r, c)
                if v is None:
                    row.append(None)
                elif fmt == 0:
                    row.append(bytes(v).decode("utf-8", "backslashreplace"))
                else:
                    row.append(bytes(v).hex())
            rows.append(row)
        out[key] = rows
    return out


def load_cases(path=None):
    with open(path or os.path.join(HERE, "cases.json"), encoding="utf-8") as f:
        return json.load(f)


def run(args, cases):
    conn = connect(args)
    if not args.no_setup:
        setup_typed(conn, args.target)
    results = []
    for case in cases:
        try:
            record = fetch(conn, case[args.target])
        except psycopg.Error as e:  # the connection broke: note it, go on with a new one
            first = (str(e).strip().splitlines() or [""])[0]
            record = {"error": f"connection: {type(e).__name__}: {first}"}
        if conn.pgconn.status != pq.ConnStatus.OK:
            record.setdefault("error", "connection lost")
            conn.close()
            conn = connect(args)
        results.append({"name": case["name"], **record})
    conn.close()
    return results


def dumps(results):
    return json.dumps(results, indent=1, ensure_ascii=False) + "\n"


def _show(v):
    return "NULL" if v is None else json.dumps(v, ensure_ascii=False)


def compare(expected, actual):
    """Differences, one line each: case, column and what PostgreSQL / the target sent."""
    lines = []
    by_name = {c["name"]: c for c in actual}
    for exp in expected:
        name = exp["name"]
        act = by_name.get(name)
        if act is None:
            lines.append(f"{name}: missing from the output")
            continue
        if "error" in exp or "error" in act:
            if exp.get("error") != act.get("error"):
                want = f"error {exp['error']}" if "error" in exp else "rows"
                got = f"error {act['error']}" if "error" in act else "rows"
                lines.append(f"{name}: expected {want}, got {got}")
            continue
        for extra in ("binary_columns", "formats"):
            if exp.get(extra) != act.get(extra):
                lines.append(f"{name}: {extra}: expected {exp.get(extra)}, got {act.get(extra)}")
        ecols, acols = exp["columns"], act["columns"]
        if [c["name"] for c in ecols] != [c["name"] for c in acols]:
            lines.append(f"{name}: column names: expected {[c['name'] for c in ecols]}, "
                         f"got {[c['name'] for c in acols]}")
        for i, (ec, ac) in enumerate(zip(ecols, acols)):
            for field in ("type_oid", "typmod", "typlen"):
                if ec[field] != ac[field]:
                    lines.append(f"{name}.{ec['name']}: {field} expected {ec[field]}, got {ac[field]}")
        names = [c["name"] for c in ecols]
        for key in ("text", "binary"):
            erows, arows = exp[key], act[key]
            if len(erows) != len(arows):
                lines.append(f"{name}: {key}: expected {len(erows)} rows, got {len(arows)}")
            for r, (erow, arow) in enumerate(zip(erows, arows)):
                if len(erow) != len(arow):
                    lines.append(f"{name}: {key} row {r}: expected {len(erow)} values, got {len(arow)}")
                    continue
                for c, (ev, av) in enumerate(zip(erow, arow)):
                    if ev != av:
                        lines.append(f"{name}.{names[c]} row {r} {key}: expected {_show(ev)}, got {_show(av)}")
    extra = [c["name"] for c in actual if c["name"] not in {e["name"] for e in expected}]
    if extra:
        lines.append(f"cases not in the expected file: {extra}")
    return lines


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--target", choices=["eddy", "pg"], required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user", default=None)
    p.add_argument("--dbname", default=None)
    p.add_argument("--cases", default=os.path.join(HERE, "cases.json"))
    p.add_argument("--no-setup", action="store_true", help="do not (re)create table typed")
    p.add_argument("--compare", metavar="EXPECTED", help="compare with this file instead of printing")
    args = p.parse_args()
    if args.user is None:
        args.user = "eddy" if args.target == "eddy" else "postgres"
    if args.dbname is None:
        args.dbname = args.user
    try:
        results = run(args, load_cases(args.cases))
    except psycopg.Error as e:
        sys.exit(f"check.py: {args.target} at {args.host}:{args.port}: {e}")
    if args.compare:
        with open(args.compare, encoding="utf-8") as f:
            differences = compare(json.load(f), results)
        for line in differences:
            print(line)
        if differences:
            print(f"check.py: {len(differences)} difference(s) from {args.compare}", file=sys.stderr)
            sys.exit(1)
        print(f"all {len(results)} cases match {args.compare}")
    else:
        sys.stdout.write(dumps(results))


if __name__ == "__main__":
    main()
