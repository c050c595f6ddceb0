"""Turns the PostgreSQL statement log written during record.sh into CLIENT.sql files and
replays the recorded statements against the same server to write CLIENT.expected.

Usage: extract.py SERVER_LOG SLICES_TSV OUT_DIR PORT
SLICES_TSV lines: client<TAB>label<TAB>start_byte<TAB>end_byte (byte range of SERVER_LOG
written while that client ran `label`). Inside a session, `SELECT 'EDDY-MARK: x'` statements
relabel what follows and are dropped. The log_line_prefix must be '@@%c@@ '.

Replay: each recorded session is replayed on a fresh connection as role eddy, statement by
statement in the original order (so BEGIN / SAVEPOINT / RELEASE behave as they did), over the
extended protocol with the logged parameter values sent as untyped text (or over the simple
protocol when the statement had no parameters); the result of a statement's first execution
is what CLIENT.expected shows.
"""
import collections
import re
import sys

import psycopg
from psycopg import pq

log_path, slices_path, out_dir, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
raw = open(log_path, "rb").read()

ENTRY = re.compile(r"^@@(?P<sid>[^@]*)@@ (?P<level>[A-Z]+):  (?P<msg>.*)$", re.S)
STMT = re.compile(r"^(?:statement: |execute (?P<name>[^:]*?): )(?P<sql>.*)$", re.S)
MARK = re.compile(r"^SELECT 'EDDY-MARK: (.*)'$", re.S)
PARAM = re.compile(r"\$(\d+) = (NULL|'(?:[^']|'')*')", re.S)


def entries(text):
    """Yields [session id, level, message] with continuation lines (tab-prefixed) joined."""
    cur = None
    for line in text.split("\n"):
        if line.startswith("@@"):
            if cur:
                yield cur
            m = ENTRY.match(line)
            cur = [m["sid"], m["level"], m["msg"]] if m else None
        elif cur is not None:
            cur[2] += "\n" + (line[1:] if line.startswith("\t") else line)
    if cur:
        yield cur


clients = collections.OrderedDict()   # client -> OrderedDict(sql -> record)
sessions = collections.OrderedDict()  # (slice no, session id) -> [occurrence] in execution order
for slice_no, line in enumerate(open(slices_path)):
    client, label, start, end = line.rstrip("\n").split("\t")
    text = raw[int(start):int(end)].decode("utf-8", "replace")
    stmts = clients.setdefault(client, collections.OrderedDict())
    labels = {}  # session -> current label
    last = None  # last occurrence, to attach its DETAIL (parameters) and ERROR lines
    for sid, level, msg in entries(text):
        if level == "LOG":
            last = None
            m = STMT.match(msg)
            if not m:
                continue
            sql = m["sql"].rstrip()
            mk = MARK.match(sql)
            if mk:
                labels[sid] = mk.group(1).replace("''", "'")
                continue
            trigger = labels.get(sid, label)
            protocol = "simple" if m["name"] is None else f"extended, statement {m['name']}"
            rec = stmts.get(sql)
            if rec is None:
                rec = stmts[sql] = {"triggers": [], "protocols": [], "count": 0, "params": None,
                                    "errors": [], "sql": sql, "result": None}
            rec["count"] += 1
            if trigger not in rec["triggers"]:
                rec["triggers"].append(trigger)
            if protocol not in rec["protocols"]:
                rec["protocols"].append(protocol)
            last = {"rec": rec, "params": None}
            sessions.setdefault((slice_no, sid), []).append(last)
        elif level == "DETAIL" and last is not None and msg.startswith("parameters: "):
            last["params"] = msg[len("parameters: "):]
            if last["rec"]["params"] is None:
                last["rec"]["params"] = last["params"]
        elif level == "ERROR" and last is not None:
            if msg not in last["rec"]["errors"]:
                last["rec"]["errors"].append(msg)


def parse_params(detail):
    vals = []
    for num, v in PARAM.findall(detail):
        assert int(num) == len(vals) + 1, detail
        vals.append(None if v == "NULL" else v[1:-1].replace("''", "'"))
    return vals


def esc(v):
    if v is None:
        return "<NULL>"
    return v.decode("utf-8").replace("\\", "\\\\").replace("\n", "\\n").replace("|", "\\|")


meta_conn = psycopg.connect(host="127.0.0.1", port=port, user="eddy", dbname="eddy", autocommit=True)
pg_version = meta_conn.execute("SHOW server_version").fetchone()[0]
typenames = {}


def typename(oid, mod):
    if (oid, mod) not in typenames:
        typenames[(oid, mod)] = meta_conn.execute(
            "SELECT format_type(%s::oid, %s::int)", (oid, mod)).fetchone()[0]
    return typenames[(oid, mod)]


def render(res):
    if res.status == pq.ExecStatus.TUPLES_OK:
        cols = [(res.fname(i).decode(), typename(res.ftype(i), res.fmod(i))) for i in range(res.nfields)]
        out = ["-- columns: " + "|".join(f"{c}:{t}" for c, t in cols), "|".join(c for c, _ in cols)]
        out += ["|".join(esc(res.get_value(r, c)) for c in range(res.nfields)) for r in range(res.ntuples)]
        out.append(f"({res.ntuples} row{'s' if res.ntuples != 1 else ''})")
        return "\n".join(out)
    if res.status == pq.ExecStatus.COMMAND_OK:
        return (res.command_status or b"").decode()
    return "ERROR: " + (res.error_message or b"").decode().strip()


for occurrences in sessions.values():
    conn = psycopg.connect(host="127.0.0.1", port=port, user="eddy", dbname="eddy", autocommit=True).pgconn
    for occ in occurrences:
        rec = occ["rec"]
        if occ["params"] is not None:
            vals = [v.encode() if v is not None else None for v in parse_params(occ["params"])]
            res = conn.exec_params(rec["sql"].encode(), vals)
        else:
            res = conn.exec_(rec["sql"].encode())
        if rec["result"] is None:
            rec["result"] = render(res)
    conn.finish()

for client, stmts in clients.items():
    head = (f"-- {client}: statements PostgreSQL {pg_version} logged (log_statement = 'all') while the client\n"
            f"-- introspected the objects made by record.sh; generated by record.sh, do not edit.\n"
            f"-- Each entry: '-- [n] <trigger>' and other '-- ' lines, the exact statement text (trailing\n"
            f"-- whitespace trimmed), then a line holding only ';'. Repeats are folded into the first one.\n")
    with open(f"{out_dir}/{client}.sql", "w") as sql_out, open(f"{out_dir}/{client}.expected", "w") as exp_out:
        sql_out.write(head + "\n")
        exp_out.write(
            f"-- {client}: what PostgreSQL {pg_version} answers to each statement of {client}.sql (same [n]),\n"
            "-- replayed session by session in the original order; generated by record.sh, do not edit.\n"
            "-- Rows: '-- columns: name:format_type(type, typmod)|...', a header line, one line per row\n"
            "-- ('|' between values, NULL as <NULL>, \\n \\| \\\\ escaped), then '(N rows)'; or the command\n"
            "-- tag; or 'ERROR: ...'. Columns of type oid/regclass/regtype carry server-specific OIDs\n"
            "-- (user objects start at 16384; stable for a cluster made by record.sh).\n\n")
        for n, rec in enumerate(stmts.values(), 1):
            meta = [f"-- [{n}] {rec['triggers'][0]}"]
            meta += [f"-- also: {t}" for t in rec["triggers"][1:]]
            meta.append(f"-- protocol: {'; '.join(rec['protocols'])}; executed {rec['count']} time(s)")
            if rec["params"] is not None:
                meta.append(f"-- parameters: {rec['params']}")
            meta += [f"-- server error: {e}" for e in rec["errors"]]
            sql_out.write("\n".join(meta) + "\n" + rec["sql"] + "\n;\n\n")
            exp_out.write(meta[0] + "\n" + rec["result"] + "\n\n")
    print(f"{client}: {len(stmts)} distinct statements")
