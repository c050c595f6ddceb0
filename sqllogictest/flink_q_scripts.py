#!/usr/bin/env python3
"""Measures, statement by statement, whether Eddy accepts or refuses the statements of
Apache Flink's SQL-client test scripts (`sqllogictest/flink_q/*.q`, copied from
flink-table/flink-sql-client/src/test/resources/sql/, see flink_q/README.md) the way Flink
does, and prints the figure.

    python3 sqllogictest/flink_q_scripts.py                      # every script
    python3 sqllogictest/flink_q_scripts.py --files table.q view.q --verbose
    python3 sqllogictest/flink_q_scripts.py --min-percent 60     # exit 1 below 60 %
    EDDY_BIN=target/debug/eddy python3 sqllogictest/flink_q_scripts.py

Needs psycopg 3 (`python3-psycopg`) and a built binary: `EDDY_BIN`, by default
`$HOME/.cache/eddy-target/debug/eddy`. Nothing is compared but acceptance: rows, messages
and the exact error are not.

What is measured:
- A `.q` file holds `#` comment lines and statements, each statement (text up to a line
  ending with `;`) followed by Flink's recorded output and a marker line: `!ok` (a query
  with its rows, or `Empty set`), `!info` (a statement that succeeded, `[INFO] ...`),
  `!warning`, or `!error` (`[ERROR] Could not execute SQL statement...`). `!error` means
  Flink refused the statement; `!ok`, `!info` and `!warning` mean Flink accepted it.
- Each file gets a fresh Eddy (own free ports in 26000-26999, own temporary data dir) and one
  connection (user `eddy`, database `eddy`, autocommit) that replays the file's statements
  in order, the trailing `;` removed. A statement agrees when Eddy succeeded and Flink
  accepted it, or Eddy raised an error and Flink refused it.
- A statement still running after --timeout seconds (20; unbounded streaming SELECTs run
  forever) is cancelled: the cancel's 57014, or no answer at all, counts as accepted, since
  Eddy had taken the statement. A statement that Eddy does not answer even after the cancel,
  or one that brings Eddy down, restarts Eddy on the same data dir (the catalog stays, the
  session's settings are lost); one that brought Eddy down counts as refused.
- `$VAR_..._PATH` placeholders that Flink's harness substitutes become fresh temporary
  directories (other `$VAR_...` placeholders too; one directory per name and file).
- Skipped, and counted apart with the reason: statements that need Flink's test-only
  connectors or jars, i.e. mentioning `'connector' = 'values'` (any spacing),
  `test-update-delete`, `ADD JAR`, `REMOVE JAR`, `SHOW JARS`, `USING JAR`, `.jar` or a
  `$VAR_..JAR..` path; statements naming classes of Flink's test jars (`LowerUDF`,
  `LocalExecutorITCase...`) or its test-only `test_procedure_catalog`; and statements that
  mention, as a whole word, the name of a table, view, function or catalog whose CREATE was
  skipped.

Output: per file `agree N / M (skipped K)` and its disagreements (line, statement, Flink's
outcome, Eddy's SQLSTATE and message); then the disagreements grouped by kind of
statement, and the overall figure `X of Y statements (Z %) accepted or refused as Flink
does; K skipped`. Exits 0 (it is a measurement) unless --min-percent is given and the figure
is below it (1), or there is no binary (2).
"""

import argparse
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, OrderedDict

import psycopg

HERE = os.path.dirname(os.path.abspath(__file__))
Q_DIR = os.path.join(HERE, "flink_q")
DEFAULT_FILES = [
    "table.q", "view.q", "catalog_database.q", "set.q", "statement_set.q", "select.q",
    "function.q", "module.q", "misc.q", "insert.q", "select_batch.q",
    "materialized_table.q", "call_procedure.q", "add.q", "delete.q", "truncate.q",
]
PORT_RANGE = (26000, 26999)
STARTUP_TIMEOUT = 120.0
CANCEL_GRACE = 10.0
ACCEPTED_MARKERS = ("ok", "info", "warning")
MARKER = re.compile(r"^!([A-Za-z_]+)\s*$")

SKIP_RULES = [
    (re.compile(r"'connector'\s*=\s*'values'", re.I), "Flink's test-only 'values' connector"),
    (re.compile(r"test-update-delete", re.I), "Flink's test-only 'test-update-delete' connector"),
    (re.compile(r"\bADD\s+JAR\b", re.I), "ADD JAR (Flink's test jars)"),
    (re.compile(r"\bREMOVE\s+JAR\b", re.I), "REMOVE JAR (Flink's test jars)"),
    (re.compile(r"\bSHOW\s+JARS\b", re.I), "SHOW JARS (Flink's test jars)"),
    (re.compile(r"\bUSING\s+JAR\b", re.I), "USING JAR (Flink's test jars)"),
    (re.compile(r"\.jar\b", re.I), "names a .jar"),
    (re.compile(r"\$VAR_\w*JAR\w*"), "needs the path of Flink's test jar"),
    (re.compile(r"\bLowerUDF\b|LocalExecutorITCase|\bDependencyTest\b"),
     "a class from Flink's test jars"),
    (re.compile(r"test_procedure_catalog"), "Flink's test-only procedure catalog"),
]
CREATED = re.compile(
    r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMPORARY\s+(?:SYSTEM\s+)?)?(?:MATERIALIZED\s+)?"
    r"(?:TABLE|VIEW|FUNCTION|CATALOG)\s+(?:IF\s+NOT\s+EXISTS\s+)?((?:`[^`]+`|[\w$]+)"
    r"(?:\s*\.\s*(?:`[^`]+`|[\w$]+))*)",
    re.I,
)
VAR = re.compile(r"\$VAR_\w+")
# Eddy's "no such table / catalog / database / function": after an earlier disagreement in
# the same file, most likely the object that statement would have made is missing.
MISSING_OBJECT_STATES = ("42P01", "3D000", "3F000", "42883")
CASCADE = " [object missing after an earlier disagreement]"


class Record:
    def __init__(self, line, sql, marker, output):
        self.line = line        # 1-based line of the statement's first line
        self.sql = sql          # without the trailing ';'
        self.marker = marker    # ok / info / warning / error / ...
        self.output = output    # Flink's recorded output lines


def parse_q(path):
    """The statements of a .q file with Flink's marker and recorded output."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    records, state, buf, out, start = [], "seek", [], [], 0
    for n, raw in enumerate(lines, 1):
        line = raw.rstrip("\r")
        if state == "seek":
            if not line.strip() or line.startswith("#") or MARKER.match(line):
                continue
            state, buf, start = "sql", [line], n
        elif state == "sql":
            buf.append(line)
        else:
            m = MARKER.match(line)
            if m:
                sql = "\n".join(buf).rstrip()
                if sql.endswith(";"):
                    sql = sql[:-1].rstrip()
                records.append(Record(start, sql, m.group(1).lower(), out))
                state = "seek"
            else:
                out.append(line)
            continue
        if state == "sql" and line.rstrip().endswith(";"):
            state, out = "out", []
    return records


def last_name_part(name):
    parts = re.findall(r"`([^`]+)`|([\w$]+)", name)
    quoted, plain = parts[-1]
    return quoted or plain


def mentions(sql, name):
    return re.search(r"(?<![\w$])" + re.escape(name) + r"(?![\w$])", sql) is not None


def skip_reason(sql, skipped_names):
    for pattern, reason in SKIP_RULES:
        if pattern.search(sql):
            return reason
    for name, why in skipped_names.items():
        if mentions(sql, name):
            return f"names {name}, whose CREATE was skipped ({why})"
    return None


# ------------------------------------------------------------------------------------------
# kinds of statement, to group the disagreements

KEYWORDS = set("""
CREATE TEMPORARY SYSTEM OR REPLACE MATERIALIZED TABLE TABLES VIEW VIEWS FUNCTION FUNCTIONS
CATALOG CATALOGS DATABASE DATABASES IF NOT EXISTS DROP ALTER SHOW CURRENT COLUMNS FROM IN
DESCRIBE DESC EXTENDED USE MODULES MODULE LOAD UNLOAD FULL USER BEGIN STATEMENT SET END
EXPLAIN PLAN FOR JSON_EXECUTION_PLAN ESTIMATED_COST CHANGELOG_MODE PLAN_ADVICE INSERT INTO
OVERWRITE DELETE TRUNCATE CALL PROCEDURES HELP RESET SELECT JARS JAR ADD REMOVE
""".split())


def normalize(sql):
    s = re.sub(r"--[^\n]*", " ", sql)
    s = re.sub(r"/\*(?!\+).*?\*/", " ", s, flags=re.S)
    return " ".join(s.split())


def statement_kind(sql):
    s = normalize(sql)
    if not s:
        return "(comment only)"
    up = s.upper()
    m = re.match(r"(SET|RESET)\s+'([^']*)'", s, re.I)
    if m:
        return f"{m.group(1).upper()} '{m.group(2)}'"
    m = re.match(r"(SET|RESET)\s+([\w.\-]+)\s*(=|$)", s, re.I)
    if m:
        return f"{m.group(1).upper()} {m.group(2)} (unquoted key)"
    if re.fullmatch(r"(SET|RESET)", up):
        return up + " (all)"
    tokens = re.findall(r"`[^`]*`|'[^']*'|[\w$.]+|,|\S", s)
    head = []
    for t in tokens:
        if t.upper() in KEYWORDS or (t == "," and head and head[0].upper() == "EXPLAIN"):
            head.append(t.upper())
        else:
            break
    rest = tokens[len(head):]
    kind = " ".join(head).replace(" ,", ",") or tokens[0].upper()
    if head and head[0] == "ALTER" and len(rest) > 1:
        action = [rest[1].upper()]
        if action[0] in ("RENAME", "DROP", "MODIFY", "ADD") and len(rest) > 2:
            nxt = rest[2].upper()
            if action[0] == "RENAME":
                action.append("TO (table)" if nxt == "TO" else "column")
            elif nxt in ("PRIMARY", "WATERMARK", "CONSTRAINT", "("):
                action.append({"(": "(columns)"}.get(nxt, nxt))
            else:
                action.append("column")
        kind += " ... " + " ".join(action)
    elif head[:1] == ["CREATE"] or head[:2] == ["CREATE", "TEMPORARY"]:
        if "TABLE" in head and re.search(r"\)\s+AS\s+SELECT|\bAS\s+SELECT\b", up) and "MATERIALIZED" not in head:
            kind += " ... AS SELECT"
        conn = re.search(r"'connector'\s*=\s*'([^']*)'", s, re.I)
        typ = re.search(r"'type'\s*=\s*'([^']*)'", s, re.I)
        if conn and "TABLE" in head:
            kind += f" [connector={conn.group(1)}]"
        elif typ and "CATALOG" in head:
            kind += f" [type={typ.group(1)}]"
        elif "FUNCTION" in head and re.search(r"\bLANGUAGE\b", up):
            kind += " ... LANGUAGE"
    elif head[:1] == ["SHOW"] or head[:1] in (["DESCRIBE"], ["DESC"]):
        for word in ("NOT LIKE", "NOT ILIKE", "ILIKE", "LIKE"):
            if f" {word} " in f" {up} ":
                kind += f" ... {word}"
                break
    elif head[:1] == ["SELECT"]:
        if "/*+" in s:
            kind += " with hint"
    return kind


# ------------------------------------------------------------------------------------------
# the Eddy process

def free_port(taken):
    for _ in range(500):
        port = random.randint(*PORT_RANGE)
        if port in taken:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError(f"no free port in {PORT_RANGE}")


class Eddy:
    def __init__(self, binary, data_dir, log_path):
        self.binary, self.data_dir, self.log_path = binary, data_dir, log_path
        self.proc = None
        self.pg_port = None

    def start(self):
        """Starts Eddy and waits for its PostgreSQL port; retries while the binary is missing
        or being rewritten (another build may be replacing it)."""
        deadline = time.time() + STARTUP_TIMEOUT
        last = "?"
        while time.time() < deadline:
            if not os.path.isfile(self.binary):
                last = f"no binary at {self.binary}"
                time.sleep(3)
                continue
            pg = free_port(set())
            rest = free_port({pg})
            log = open(self.log_path, "ab")
            try:
                self.proc = subprocess.Popen(
                    [self.binary, "--pg-port", str(pg), "--rest-port", str(rest),
                     "--data-dir", self.data_dir],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                    env=dict(os.environ, NO_COLOR="1"), start_new_session=True,
                )
            except OSError as e:  # ETXTBSY / ENOEXEC while the binary is rewritten
                log.close()
                last = f"cannot run {self.binary}: {e}"
                time.sleep(3)
                continue
            log.close()
            self.pg_port = pg
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    last = f"eddy exited at startup with {self.proc.returncode}"
                    break
                try:
                    with socket.create_connection(("127.0.0.1", pg), timeout=1):
                        return
                except OSError:
                    time.sleep(0.2)
            self.stop()
            time.sleep(3)
        raise RuntimeError(f"Eddy did not start within {STARTUP_TIMEOUT:.0f} s: {last}")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def connect(self):
        return psycopg.connect(host="127.0.0.1", port=self.pg_port, user="eddy", dbname="eddy",
                               autocommit=True, connect_timeout=10)

    def log_tail(self, n=20):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return "\n".join(f.read().splitlines()[-n:])
        except OSError:
            return ""


class Outcome:
    def __init__(self, accepted, sqlstate=None, message="", note=""):
        self.accepted, self.sqlstate, self.message, self.note = accepted, sqlstate, message, note

    def describe(self):
        if self.accepted:
            return "accepted" + (f" ({self.note})" if self.note else "")
        text = " ".join((self.message or "").split())
        return f"{self.sqlstate or self.note or '?'} {text[:120]}"


def execute(conn, sql, timeout):
    """Runs one statement. Returns (Outcome, needs_restart)."""
    box = {}

    def work():
        try:
            cur = psycopg.ClientCursor(conn)
            cur.execute(sql)
            if cur.description is not None:
                cur.fetchall()
            box["ok"] = True
        except BaseException as e:  # noqa: BLE001 - reported as the statement's outcome
            box["error"] = e

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(timeout)
    cancelled = False
    if worker.is_alive():
        cancelled = True
        try:
            conn.cancel()
        except Exception:  # noqa: BLE001
            pass
        worker.join(CANCEL_GRACE)
        if worker.is_alive():
            return Outcome(True, note=f"no answer within {timeout:.0f} s, even after a cancel"), True
    if "ok" in box:
        return Outcome(True, note="answered after the cancel" if cancelled else ""), False
    err = box.get("error")
    if isinstance(err, psycopg.Error):
        state = err.sqlstate
        message = getattr(err.diag, "message_primary", None) or str(err)
        if cancelled and state == "57014":
            return Outcome(True, note=f"still running after {timeout:.0f} s, cancelled"), False
        if conn.broken or conn.closed or state is None:
            return Outcome(False, None, message or str(err), note="CONNECTION LOST"), True
        return Outcome(False, state, message), False
    return Outcome(False, None, repr(err), note="CLIENT ERROR"), conn.broken or conn.closed


# ------------------------------------------------------------------------------------------

class FileResult:
    def __init__(self, name):
        self.name = name
        self.agree = 0
        self.measured = 0
        self.skipped = []        # (line, reason)
        self.disagreements = []  # (record, flink_outcome, Outcome, kind)
        self.restarts = 0
        self.lost = []           # (line, outcome) of statements after which Eddy was restarted
        self.error = None


def run_file(path, args, binary):
    result = FileResult(os.path.basename(path))
    records = parse_q(path)
    scratch = tempfile.mkdtemp(prefix="eddy-flinkq-")
    data_dir = os.path.join(scratch, "data")
    eddy = Eddy(binary, data_dir, os.path.join(scratch, "eddy.log"))
    conn = None
    variables = {}
    skipped_names = OrderedDict()
    try:
        eddy.start()
        conn = eddy.connect()
        for rec in records:
            reason = skip_reason(rec.sql, skipped_names)
            if reason is None and rec.marker not in ACCEPTED_MARKERS + ("error",):
                reason = f"unknown marker !{rec.marker}"
            if reason is not None:
                m = CREATED.match(normalize(rec.sql))
                if m:
                    skipped_names.setdefault(last_name_part(m.group(1)), reason.split(" (")[0])
                result.skipped.append((rec.line, reason))
                if args.verbose:
                    print(f"  {result.name}:{rec.line}: SKIP ({reason}): {one_line(rec.sql)[:100]}")
                continue

            def substitute(match):
                name = match.group(0)
                if name not in variables:
                    d = os.path.join(scratch, name[1:].lower())
                    os.makedirs(d, exist_ok=True)
                    variables[name] = d
                return variables[name]

            sql = VAR.sub(substitute, rec.sql)
            flink_accepts = rec.marker in ACCEPTED_MARKERS
            outcome, restart = execute(conn, sql, args.timeout)
            result.measured += 1
            agrees = outcome.accepted == flink_accepts
            if agrees:
                result.agree += 1
            else:
                kind = statement_kind(rec.sql)
                if (flink_accepts and outcome.sqlstate in MISSING_OBJECT_STATES
                        and result.disagreements):
                    kind += CASCADE
                result.disagreements.append(
                    (rec, "accepted" if flink_accepts else "refused", outcome, kind))
            if args.verbose:
                flag = "agree" if agrees else "DIFFER"
                print(f"  {result.name}:{rec.line}: {flag}: Flink {'accepted' if flink_accepts else 'refused'}, "
                      f"Eddy {outcome.describe()}: {one_line(rec.sql)[:100]}")
            if restart or not eddy.alive():
                result.restarts += 1
                result.lost.append((rec.line, outcome.describe()))
                if args.verbose:
                    print(f"  {result.name}:{rec.line}: restarting Eddy; its log ends with:\n"
                          + indent(eddy.log_tail(), "      "))
                close_quietly(conn)
                eddy.stop()
                eddy.start()
                conn = eddy.connect()
    except Exception as e:  # noqa: BLE001 - a file that cannot run is reported, not fatal
        result.error = f"{type(e).__name__}: {e}"
        tail = eddy.log_tail()
        if tail:
            result.error += "\n" + indent(tail, "      ")
    finally:
        close_quietly(conn)
        eddy.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    return result


def close_quietly(conn):
    if conn is None:
        return
    try:
        conn.close()
    except Exception:  # noqa: BLE001
        pass


def reason_group(reason):
    if "whose CREATE was skipped" in reason:
        return "names a table, view, function or catalog whose CREATE was skipped"
    return reason


def one_line(sql):
    return " ".join(sql.split())


def indent(text, prefix):
    return "\n".join(prefix + line for line in text.splitlines())


def resolve(name):
    if os.path.exists(name):
        return name
    path = os.path.join(Q_DIR, name if name.endswith(".q") else name + ".q")
    if not os.path.exists(path):
        sys.exit(f"no such script: {name} (looked in {Q_DIR})")
    return path


def main():
    parser = argparse.ArgumentParser(
        description="Replays Flink's SQL-client test scripts on Eddy and measures how often "
                    "Eddy accepts or refuses a statement as Flink does.")
    parser.add_argument("--files", nargs="+", metavar="FILE.q",
                        help="scripts to run (names in sqllogictest/flink_q/ or paths); default: all")
    parser.add_argument("--verbose", action="store_true", help="print every statement's outcome")
    parser.add_argument("--min-percent", type=float, metavar="P",
                        help="exit 1 if the overall figure is below P percent")
    parser.add_argument("--timeout", type=float, default=20.0, metavar="S",
                        help="seconds a statement may run before it is cancelled (default 20)")
    args = parser.parse_args()

    binary = os.environ.get("EDDY_BIN") or os.path.expanduser("~/.cache/eddy-target/debug/eddy")
    paths = [resolve(f) for f in (args.files or DEFAULT_FILES)]
    for _ in range(30):  # another build may be replacing the binary right now
        if os.path.isfile(binary):
            break
        time.sleep(2)
    else:
        print(f"no Eddy binary at {binary} (set EDDY_BIN)", file=sys.stderr)
        sys.exit(2)

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)

    results = []
    try:
        for path in paths:
            r = run_file(path, args, binary)
            results.append(r)
            print(f"{r.name}: agree {r.agree} / {r.measured} (skipped {len(r.skipped)})"
                  + (f", Eddy restarted {r.restarts}x" if r.restarts else ""))
            if r.error:
                print(f"  could not finish: {r.error}")
            for line, what in r.lost:
                print(f"  line {line}: Eddy restarted after this statement: {what}")
            for rec, flink, outcome, kind in r.disagreements:
                note = " (an object is missing after an earlier disagreement)" if kind.endswith(CASCADE) else ""
                print(f"  line {rec.line}: {one_line(rec.sql)[:100]}\n"
                      f"      Flink {flink}; Eddy {outcome.describe()}{note}")
            sys.stdout.flush()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)

    agree = sum(r.agree for r in results)
    measured = sum(r.measured for r in results)
    skipped = sum(len(r.skipped) for r in results)

    reasons = Counter(reason_group(reason) for r in results for _, reason in r.skipped)
    if reasons:
        print("\nskipped, by reason:")
        for reason, n in reasons.most_common():
            print(f"  {n:4d}  {reason}")

    kinds = Counter()
    for r in results:
        for rec, flink, outcome, kind in r.disagreements:
            direction = ("refused by Eddy, accepted by Flink" if flink == "accepted"
                         else "accepted by Eddy, refused by Flink")
            kinds[(kind, direction)] += 1
    if kinds:
        print("\ndisagreements, by kind of statement:")
        for (kind, direction), n in kinds.most_common():
            print(f"  {n:4d}  {kind}: {direction}")

    percent = 100.0 * agree / measured if measured else 0.0
    print(f"\n{agree} of {measured} statements ({percent:.1f} %) accepted or refused as Flink does; "
          f"{skipped} skipped")
    if args.min_percent is not None and percent < args.min_percent:
        print(f"below --min-percent {args.min_percent}", file=sys.stderr)
        sys.exit(1)
    sys.exit(0)


if __name__ == "__main__":
    main()
