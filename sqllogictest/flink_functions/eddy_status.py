#!/usr/bin/env python3
"""Runs every call of flink_answers.json on a running Eddy and writes eddy_status.json: per
function "works" (every call agrees with Flink), "differs" (runs, some answer differs),
"missing" (Eddy says the function does not exist) or "error" (another error).

    python3 sqllogictest/flink_functions/eddy_status.py [port]      # default 25433

Answers are compared as text, as sqllogictest shows them (NULL, (empty), t/f, PostgreSQL text).
A call Flink refuses agrees when Eddy refuses it too.
"""
import json
import os
import re
import sys

import psycopg
from psycopg.adapt import Loader

HERE = os.path.dirname(os.path.abspath(__file__))
MISSING = re.compile(r"Invalid function|Unknown function|function .*(does not exist|not found)|"
                     r"No function (named|matches)|Unsupported function|is not a known function", re.I)


ALIASES = {"ceil": ["ceiling"], "char_length": ["character_length"], "%": ["mod"], "count(*)": ["count"],
           "json_arrayagg": ["json_arrayagg_absent_on_null", "json_arrayagg_null_on_null"],
           "json_objectagg": ["json_objectagg_null_on_null", "json_objectagg_absent_on_null"]}


def missing_name(error):
    m = re.search(r"(?:Invalid|Unknown) function '?([A-Za-z0-9_]+)'?", error or "")
    return m.group(1).lower() if m else None


class Text(Loader):
    def load(self, data):
        return bytes(data).decode("utf-8")


def connect(port):
    conn = psycopg.connect(host="localhost", port=port, user="eddy", dbname="eddy", autocommit=True)
    for t in psycopg.postgres.types:
        conn.adapters.register_loader(t.oid, Text)
        if t.array_oid:
            conn.adapters.register_loader(t.array_oid, Text)
    with conn.cursor() as cur:
        cur.execute("SET 'table.local-time-zone' = 'UTC'")
        cur.execute("SET statement_timeout = 30000")
    return conn


def text(v):
    if v is None:
        return "NULL"
    return "(empty)" if v == "" else v


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 25433
    answers = json.load(open(os.path.join(HERE, "flink_answers.json"), encoding="utf-8"))
    conn = connect(port)
    calls = []
    for a in answers:
        eddy, err = None, None
        try:
            with conn.cursor() as cur:
                cur.execute(a["sql"])
                rows = [[text(v) for v in r] for r in cur.fetchall()]
            if a["kind"] == "expr":
                eddy = rows[0][0] if rows and rows[0] else ""
            else:
                eddy = "\n".join(sorted((" ".join(r) for r in rows)))
        except psycopg.Error as ex:
            err = f"{ex.sqlstate}: {str(ex).strip()}".split("\n")[0][:300]
            if conn.closed or conn.broken:
                conn = connect(port)
        except Exception as ex:  # noqa: BLE001
            err = f"client: {ex}"[:300]
        if a["flink_error"] is not None:
            agree = err is not None
        else:
            agree = err is None and eddy == a["flink_result"]
        calls.append(dict(a, eddy_result=eddy, eddy_error=err, agree=agree))
    status = {}
    order = []
    for c in calls:
        key = (c["category"], c["function"])
        if key not in status:
            status[key] = []
            order.append(key)
        status[key].append(c)
    out = []
    for key in order:
        cs = status[key]
        fn = key[1].lower().split(" ")[0]
        names = {fn} | set(ALIASES.get(fn, ()))
        missing_self = [c for c in cs if not c["agree"] and c["eddy_error"] and MISSING.search(c["eddy_error"])
                        and missing_name(c["eddy_error"]) in names]
        ran_differently = [c for c in cs if not c["agree"] and c["eddy_error"] is None]
        if all(c["agree"] for c in cs):
            st, note = "works", None
        elif missing_self and not any(c["agree"] and c["flink_error"] is None for c in cs) and not ran_differently:
            st, note = "missing", None
        elif ran_differently:
            c = ran_differently[0]
            st = "differs"
            note = (f"{c['sql']}: Flink {c['flink_result'] if c['flink_error'] is None else 'refuses it'}"
                    f", Eddy {c['eddy_result']}")
        else:
            c = next(c for c in cs if not c["agree"])
            st = "error"
            other = missing_name(c["eddy_error"])
            note = f"{c['sql']}: " + (f"needs missing function {other}" if other else c["eddy_error"])
        out.append(dict(category=key[0], function=key[1], status=st, note=note,
                        calls=[dict(sql=c["sql"], agree=c["agree"], flink_type=c["flink_type"], flink_result=c["flink_result"],
                                    flink_error=c["flink_error"], eddy_result=c["eddy_result"], eddy_error=c["eddy_error"])
                               for c in cs]))
    with open(os.path.join(HERE, "eddy_status.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
    counts = {}
    for o in out:
        counts[o["status"]] = counts.get(o["status"], 0) + 1
    print(counts, f"calls agreeing: {sum(c['agree'] for c in calls)}/{len(calls)}")


if __name__ == "__main__":
    main()
