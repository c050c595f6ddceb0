#!/usr/bin/env python3
"""Replays .slt files on Apache Flink (PyFlink, streaming mode) and reports where Flink's
answers differ from the files' expected ones, so that the changelog suites' expected rows
come from Flink itself, not from Eddy.

    python -m venv ~/flink && ~/flink/bin/pip install apache-flink==2.3.0
    ~/flink/bin/python sqllogictest/flink_compare.py sqllogictest/test_files/changelog/group_aggregate.slt

How a file is replayed:
- `__DATA_DIR__` is `sqllogictest/data`, `__TEST_DIR__` a fresh temporary directory.
- The suites make a bounded file a stream by a UNION ALL with an unbounded `nexmark`
  table whose rows are all filtered out (`never`), and end each query with a LIMIT. Flink
  reads a bounded file as a stream by itself in streaming mode, so `never` and those
  UNION ALL branches are left out, and the LIMIT off: Flink's whole changelog is compared.
- `SET` / `RESET` go to Flink's table config. Settings only Eddy has (`execution.batch-size`,
  `debug.*`, `table.dml-sync`) are skipped; Flink emits row by row without mini-batches,
  as Eddy does with a batch size of 1. While a `debug.*` setting is on (a throttled
  source, say), queries are skipped: their answer depends on it.
- A query with a LIMIT is compared with as many of Flink's first rows as it expects (Eddy
  stops reading there).
- EXPLAIN records are skipped: plans are not meant to read alike.
- A query's rows are compared with their row kinds when the expected rows start with one
  (`+I`, `-U`, `+U`, `-D`), in order unless the record says `rowsort`. Otherwise it is a
  query over bounded tables, which Eddy answers as a batch query: it runs on a second,
  batch-mode Flink environment that gets the same DDL, and its rows are compared sorted.
- Tables of connectors Flink does not have (`nexmark`) are not created, and the records
  that name them, directly or through views, are skipped (a CREATE TABLE's own column
  names and options do not count); so are the records that read what a skipped INSERT
  would have filled, by any table over its path.
- Flink's filesystem sink makes no directory for a job that wrote no row; a query that
  then finds no such directory under `__TEST_DIR__` reads it as an empty table.
- `statement error` records must fail on Flink too (the messages are not compared); one
  that Flink runs is listed as something Eddy refuses and Flink does not, without failing
  the run.
- Records Flink cannot run as Eddy's suites write them (Eddy's own settings and functions)
  are listed as skipped, with the reason.

Exits 1 when a record differs.
"""

import datetime
import decimal
import os
import re
import sys
import tempfile

from slt_file import records

ROW_KINDS = ("+I", "-U", "+U", "-D")
EDDY_ONLY_SETTINGS = ("execution.batch-size", "debug.", "table.dml-sync")
# What RESET goes back to: the defaults of Flink 2.3 for the keys the suites set, with the
# parallelism this script runs at.
DEFAULTS = {
    "parallelism.default": "1",
    "table.exec.state.ttl": "0 ms",
    "table.exec.mini-batch.enabled": "false",
    "table.exec.mini-batch.allow-latency": "0 ms",
    "table.exec.mini-batch.size": "-1",
}


def render(value):
    if value is None:
        return "NULL"
    # As sqllogictest writes an empty string.
    if value == "":
        return "(empty)"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime.datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S")
        if value.microsecond:
            text += ("." + f"{value.microsecond:06d}").rstrip("0")
        return text
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, decimal.Decimal):
        return format(value.normalize(), "f")
    return str(value)


def for_flink(sql, data_dir, test_dir):
    """The statement as Flink runs it, or None with a reason to skip it."""
    sql = sql.replace("__DATA_DIR__", data_dir).replace("__TEST_DIR__", test_dir)
    if re.search(r"'connector'\s*=\s*'nexmark'", sql):
        return None, "a nexmark table (Eddy's connector)"
    # The filler branch of a view: everything from its UNION ALL over `never`.
    sql = re.sub(r"\s+UNION ALL SELECT [^;]*? FROM never WHERE [^;]*$", "", sql)
    if re.match(r"EXPLAIN\b", sql, re.I):
        return None, "a plan"
    if re.match(r"(SELECT|WITH)\b", sql, re.I):
        sql = re.sub(r"\s+LIMIT \d+\s*$", "", sql)
    return sql, None


def setting(sql):
    """`SET 'k' = 'v'` as (k, v), `RESET 'k'` as (k, None); None for anything else."""
    m = re.match(r"SET\s+'([^']+)'\s*=\s*'([^']*)'\s*$", sql, re.I)
    if m:
        return m.group(1), m.group(2)
    m = re.match(r"RESET\s+'([^']+)'\s*$", sql, re.I)
    if m:
        return m.group(1), None
    return None


def names_in(sql):
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", sql.lower()))


def written_table(sql):
    """The table or view a CREATE makes or an INSERT writes, if any."""
    m = re.match(r"(?:CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMPORARY\s+)?(?:TABLE|VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?"
                 r"|INSERT\s+(?:INTO|OVERWRITE)\s+(?:TABLE\s+)?)([\w.`]+)", sql, re.I)
    return m.group(1).replace("`", "").split(".")[-1].lower() if m else None


def tables_named(sql):
    """The names a statement may read a table by: its words, less a CREATE TABLE's column
    list and WITH options (a column called `auction` does not read a view `auction`)."""
    if re.match(r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMPORARY\s+)?TABLE\b", sql, re.I):
        for m in (re.match(r"CREATE\s+[^(]*?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?[\w.`]+\s*\(", sql, re.I),
                  re.search(r"\bWITH\s*\(", sql, re.I)):
            if m:
                depth, i = 1, m.end()
                while i < len(sql) and depth:
                    depth += {"(": 1, ")": -1}.get(sql[i], 0)
                    i += 1
                sql = sql[: m.end() - 1] + " " * (i - m.end() + 1) + sql[i:]
    return names_in(sql)


def main():
    files = sys.argv[1:]
    if not files:
        sys.exit(__doc__)
    from pyflink.table import EnvironmentSettings, TableEnvironment

    here = os.path.dirname(os.path.abspath(__file__))
    data_dir = os.path.join(here, "data")
    differ = 0
    for path in files:
        env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
        batch = TableEnvironment.create(EnvironmentSettings.in_batch_mode())
        for e in (env, batch):
            e.get_config().set("parallelism.default", "1")
        # Flink's filesystem sink commits its files at checkpoints (the final one included).
        env.get_config().set("execution.checkpointing.interval", "1 s")
        missing_tables = set()
        # What each created table or view reads (a CREATE TABLE only through LIKE or AS), and
        # the path of each filesystem table.
        view_reads = {}
        table_paths = {}
        ctas_tables = set()
        test_dir = tempfile.mkdtemp(prefix="flink-slt-")
        agreed = skipped = refused = 0
        eddy_only = set()
        for line, head, sql, expected in records(path):
            kind = head[0]
            if kind not in ("statement", "query"):
                continue
            where = f"{os.path.relpath(path)}:{line}"
            kv = setting(sql)
            if kv:
                key, value = kv
                if key.startswith(EDDY_ONLY_SETTINGS):
                    if key.startswith("debug.") and value is not None:
                        eddy_only.add(key)
                    else:
                        eddy_only.discard(key)
                else:
                    for e in (env, batch):
                        e.get_config().set(key, value if value is not None else DEFAULTS.get(key, ""))
                skipped += 1
                continue
            flink_sql, reason = for_flink(sql, data_dir, test_dir)
            # The names a statement reads, through the views it reads.
            reads = tables_named(flink_sql) if flink_sql is not None else set()
            todo = list(reads)
            while todo:
                for name in view_reads.get(todo.pop(), ()):
                    if name not in reads:
                        reads.add(name)
                        todo.append(name)
            written = written_table(sql)
            if flink_sql is None or (kind == "query" and eddy_only) or reads & missing_tables:
                # What such a statement creates or fills is missing on Flink too: a table an
                # INSERT left out did not fill is not read either, by any name for its path.
                if written:
                    missing_tables.add(written)
                    missing_tables.update(t for t, p in table_paths.items() if p == table_paths.get(written))
                skipped += 1
                continue
            if written and re.match(r"CREATE\b", flink_sql, re.I):
                view_reads[written] = reads - {written}
                location = re.search(r"'path'\s*=\s*'([^']*)'", flink_sql)
                if location:
                    table_paths[written] = os.path.normpath(location.group(1))
            want = list(expected or [])
            changelog = bool(want) and want[0].split(" ")[0] in ROW_KINDS
            # Catalog statements change what the batch environment's names mean too. A
            # CREATE TABLE ... AS runs a job: once, in batch mode, and what reads that table
            # reads it there.
            ctas = re.match(r"CREATE\s+(?:OR\s+REPLACE\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)[^;]*\)\s*AS\s", flink_sql, re.I | re.S)
            if ctas:
                ctas_tables.add(ctas.group(1).lower())
            reads_ctas = bool(names_in(flink_sql) & ctas_tables)
            is_ddl = not ctas and re.match(r"(CREATE|DROP|ALTER|USE)\b", flink_sql, re.I) is not None
            if is_ddl:
                try:
                    batch.execute_sql(flink_sql)
                except Exception:  # noqa: BLE001 - the streaming run reports it
                    pass
            # DESCRIBE and SHOW describe the streaming tables (time attributes shown);
            # only queries of rows run in batch mode.
            metadata = re.match(r"(DESCRIBE|DESC|SHOW)\b", flink_sql, re.I) is not None
            runner = batch if (kind == "query" and not changelog and not metadata) or ctas or reads_ctas else env
            note = ""
            while True:
                try:
                    result = runner.execute_sql(flink_sql)
                    rows = []
                    if kind == "query" or flink_sql.upper().startswith("INSERT") or ctas:
                        if flink_sql.upper().startswith("INSERT") or ctas:
                            result.wait()
                        else:
                            with result.collect() as it:
                                rows = [(str(r.get_row_kind()), [render(v) for v in r]) for r in it]
                    error = None
                except Exception as e:  # noqa: BLE001 - any Flink error is an answer here
                    causes = [line.strip() for line in str(e).split("\n") if "Caused by" in line]
                    error = (causes[-1] if causes else str(e).split("\n")[0])[:300]
                    # Flink's filesystem sink makes no directory for a job that wrote no row:
                    # read it as the empty table it is.
                    absent = re.search(r"FileNotFoundException: File (\S+) does not exist", str(e))
                    if (kind == "query" and head[1:2] != ["error"] and not note and absent
                            and absent.group(1).startswith(test_dir + os.sep)):
                        os.makedirs(absent.group(1))
                        note = f" (Flink's sink wrote no file to {os.path.basename(absent.group(1))}: read as empty)"
                        continue
                    if 'NumberFormatException: For input string: ""' in error:
                        error += (" (Flink's csv format reads an empty field of a numeric column as an"
                                  " error, not as NULL; 'csv.null-literal' = '' reads it as NULL on both)")
                break
            problem = None
            if kind == "statement" and head[1] == "ok" and error:
                problem = f"Flink fails it: {error}"
            elif kind == "statement" and head[1] == "error" and not error:
                refused += 1
                print(f"{where}: Eddy refuses it, Flink runs it\n    {sql}")
                continue
            elif kind == "query":
                if error:
                    problem = f"Flink fails it: {error}"
                else:
                    if changelog:
                        got = [" ".join([k] + v) for k, v in rows]
                    else:
                        got = final_rows(rows)
                    if re.search(r"\sLIMIT \d+\s*$", sql) and "rowsort" not in head:
                        got = got[: len(want)]
                    if "rowsort" in head or not changelog:
                        got, want = sorted(got), sorted(want)
                    if got != want:
                        missing = [r for r in want if r not in got]
                        extra = [r for r in got if r not in want]
                        problem = (f"Flink's rows differ{note}\n      Flink: {got}\n      Eddy's file: {want}"
                                   f"\n      missing on Flink: {missing}\n      extra on Flink: {extra}")
            if problem:
                differ += 1
                print(f"{where}: {problem}\n    {sql}")
            else:
                agreed += 1
        print(f"{os.path.relpath(path)}: Flink agrees with {agreed} record(s); {refused} that Eddy "
              f"refuses run on Flink; {skipped} skipped (settings, plans, Eddy's own tables)")
    if differ:
        print(f"{differ} record(s) differ from Flink")
        sys.exit(1)


def final_rows(rows):
    """A changelog folded into its final rows (each as often as it remains)."""
    counts = {}
    order = []
    for kind, values in rows:
        key = " ".join(values)
        if key not in counts:
            counts[key] = 0
            order.append(key)
        counts[key] += 1 if kind in ("+I", "+U") else -1
    return [k for k in order for _ in range(max(counts[k], 0))]


if __name__ == "__main__":
    main()
