#!/usr/bin/env python3
"""The CSV variant of bench/run on Apache Flink (PyFlink), for a side-by-side comparison.

Runs with a Python that has `apache-flink` installed (PyFlink; it starts its own JVM, Java 11+):

    /path/to/venv/bin/python bench/flink_csv.py CSV_DIR [--parallelism P] [--runs K] ...

CSV_DIR holds the files bench/run writes (`<CSV_DIR>/bid`, `person`, `auction`, one `part-*`
file per writing subtask): keep them with `bench/run --keep` (they are in `<tmp dir>/csv`), or
let `bench/run --flink PYTHON` call this script on them right after eddy's CSV runs.

For each input it creates a `filesystem` CSV table of the same name and columns as bench/run,
with `WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND`, and the same blackhole sinks,
then runs the same query texts (bench/nexmark_queries.py) in streaming mode, each as
`INSERT INTO <sink> ...` waited with `.wait()`. A query's time is the wall time from the call
that submits the INSERT to the end of `.wait()` (as bench/run times eddy's INSERT): planning,
the start of the mini-cluster (PyFlink's local mode starts one per job), job submission, and
the run. Flink's own net runtime of the job (from `JobExecutionResult`) is
reported as `job s`.

Before measuring it warms up the JVM, and says so: (1) counts the rows of each input in batch
mode and checks them against the files' line counts (Flink's CSV format fails a job on a row
it cannot parse), (2) times an empty job (`INSERT INTO ... VALUES (1)`), the fixed cost of a
job, (3) runs the first selected query once, untimed. With `--json FILE` it also writes the
results for bench/run.
"""

import argparse
import json
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nexmark_queries import COLUMNS, QUERIES, QUERY_BY_NAME, rows_of, write_side_input  # noqa: E402

try:
    from pyflink.table import EnvironmentSettings, TableEnvironment
except ImportError:
    sys.exit("bench/flink_csv.py needs PyFlink: run it with a Python that has "
             "`pip install apache-flink` (Java 11+ on the PATH or JAVA_HOME)")

try:
    from pyflink.version import __version__ as FLINK_VERSION
except ImportError:  # pragma: no cover
    FLINK_VERSION = "?"

KINDS = ["person", "auction", "bid"]
EMPTY_SINK = "CREATE TABLE nexmark_empty (x INT) WITH ('connector' = 'blackhole')"
EMPTY_INSERT = "INSERT INTO nexmark_empty VALUES (1)"


def flink_sql(text):
    """The text with the identifier dateTime back-quoted: DATETIME is a reserved word of Flink 2's
    parser, and Nexmark's own Flink queries write `dateTime` (eddy takes the name unquoted)."""
    return re.sub(r"(?<![`\w])dateTime\b(?!`)", "`dateTime`", text)


def one_line(text, limit=300):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def flink_error(e):
    """The useful line of a Py4J error: the innermost 'Caused by', else the first line."""
    text = str(e)
    causes = [line.strip() for line in text.splitlines() if line.strip().startswith("Caused by:")]
    return one_line(causes[-1] if causes else text.strip().splitlines()[0] if text.strip() else repr(e))


def data_files(path):
    # Flink's file source skips names starting with '.' or '_' (in-progress and marker files).
    return sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith((".", "_")))


def count_lines(files):
    n = 0
    for f in files:
        with open(f, "rb") as fh:
            while chunk := fh.read(1 << 24):
                n += chunk.count(b"\n")
    return n


def table_ddl(kind, csv_dir):
    return flink_sql(f"CREATE TABLE {kind} ({COLUMNS[kind]}, "
                     f"WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND) WITH ("
                     f"'connector' = 'filesystem', 'path' = 'file://{csv_dir / kind}', 'format' = 'csv')")


def new_env(streaming, parallelism, defines):
    settings = EnvironmentSettings.in_streaming_mode() if streaming else EnvironmentSettings.in_batch_mode()
    t = TableEnvironment.create(settings)
    conf = t.get_config()
    conf.set("parallelism.default", str(parallelism))
    for kv in defines:
        key, _, value = kv.partition("=")
        conf.set(key.strip(), value.strip())
    return t


def run_insert(t, sql, timeout):
    """Runs one INSERT to its end: (wall seconds, Flink's net runtime in s or None, error or None,
    seconds until execute_sql returned: planning, mini-cluster start and submission)."""
    start = time.perf_counter()
    result = None
    submit = None
    try:
        result = t.execute_sql(sql)
        submit = time.perf_counter() - start
        result.wait(int(timeout * 1000))
    except Exception as e:  # noqa: BLE001 - Py4JJavaError, timeout
        seconds = time.perf_counter() - start
        error = flink_error(e)
        if result is not None and "Timeout" in str(e):
            error = f"timed out after {timeout} s and was cancelled"
            try:
                result.get_job_client().cancel().result()
            except Exception:  # noqa: BLE001 - best effort
                pass
        return seconds, None, error, submit
    seconds = time.perf_counter() - start
    try:
        jer = result.get_job_client().get_job_execution_result().result()
        return seconds, jer.get_net_runtime() / 1000, None, submit
    except Exception as e:  # noqa: BLE001
        return seconds, None, flink_error(e), submit


class Result:
    def __init__(self, query, events):
        self.query = query
        self.events = events
        self.runs = []
        self.job_runs = []
        self.submit_runs = []
        self.error = None

    @property
    def seconds(self):
        return statistics.median(self.runs) if self.runs else None

    @property
    def job_seconds(self):
        return statistics.median(self.job_runs) if self.job_runs else None

    @property
    def submit_seconds(self):
        return statistics.median(self.submit_runs) if self.submit_runs else None

    def as_dict(self):
        return {"query": self.query, "events": self.events, "runs": self.runs,
                "job_runs": self.job_runs, "seconds": self.seconds,
                "job_seconds": self.job_seconds, "submit_runs": self.submit_runs,
                "submit_seconds": self.submit_seconds, "error": self.error}


def print_table(results, parallelism):
    header = ["query", "source", "events", "seconds", "events/s", "events/s/core", "submit s", "job s",
              "runs (s)", "status"]
    rows = []
    for r in results:
        spread = " ".join(f"{x:.2f}" for x in r.runs) or "-"
        job = f"{r.job_seconds:.2f}" if r.job_seconds is not None else "-"
        submit = f"{r.submit_seconds:.2f}" if r.submit_seconds is not None else "-"
        if r.error or not r.seconds:
            rows.append([r.query, "csv", f"{r.events:,}", f"{r.seconds:.2f}" if r.seconds else "-",
                         "-", "-", submit, job, spread, "FAILED"])
            continue
        eps = r.events / r.seconds
        rows.append([r.query, "csv", f"{r.events:,}", f"{r.seconds:.2f}", f"{eps:,.0f}",
                     f"{eps / parallelism:,.0f}", submit, job, spread, "ok"])
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    right = {2, 3, 4, 5, 6, 7}

    def fmt(cells):
        return "| " + " | ".join(c.rjust(w) if i in right else c.ljust(w)
                                 for i, (c, w) in enumerate(zip(cells, widths))) + " |"

    print(fmt(header))
    print("|" + "|".join(("-" * (w + 1) + ":") if i in right else ("-" * (w + 2))
                         for i, w in enumerate(widths)) + "|")
    for row in rows:
        print(fmt(row))
    failed = [r for r in results if r.error]
    if failed:
        print()
        print("Failures:")
        for r in failed:
            print(f"- {r.query} (csv, flink): {one_line(r.error, 1000)}")


def main():
    parser = argparse.ArgumentParser(
        description="bench/run's CSV queries on Apache Flink (PyFlink local mini-cluster), streaming mode.")
    parser.add_argument("csv_dir", help="directory with bid/, person/, auction/ CSV files as bench/run writes them")
    parser.add_argument("--parallelism", type=int, default=1,
                        help="parallelism.default; events/s/core = events/s / parallelism (default 1)")
    parser.add_argument("--queries", default=",".join(q.name for q in QUERIES),
                        help="comma-separated subset of " + ",".join(q.name for q in QUERIES))
    parser.add_argument("--runs", type=int, default=1,
                        help="run each query this many times and report the median (default 1)")
    parser.add_argument("--events", type=int,
                        help="the Nexmark events the files were written from: checks the row counts")
    parser.add_argument("--timeout", type=float, default=1800,
                        help="seconds after which a query's job is cancelled and reported failed (default 1800)")
    parser.add_argument("--warmup", action=argparse.BooleanOptionalAction, default=True,
                        help="count the rows in batch mode, time an empty job and run the first query "
                             "once untimed before measuring (default: on)")
    parser.add_argument("-D", dest="defines", action="append", default=[], metavar="KEY=VALUE",
                        help="extra Flink configuration key (repeatable), e.g. -D pipeline.object-reuse=true")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args()

    csv_dir = Path(args.csv_dir).resolve()
    names = [n.strip() for n in args.queries.split(",") if n.strip()]
    unknown = [n for n in names if n not in QUERY_BY_NAME]
    if unknown:
        parser.error(f"unknown queries {unknown}; known: {', '.join(QUERY_BY_NAME)}")
    if args.parallelism <= 0 or args.runs <= 0:
        parser.error("--parallelism and --runs must be positive")
    queries = [QUERY_BY_NAME[n] for n in names]

    # The inputs: what files there are, and how many rows each has.
    rows = {}
    for kind in KINDS:
        path = csv_dir / kind
        if path.is_dir() and data_files(path):
            files = data_files(path)
            rows[kind] = count_lines(files)
            size = sum(f.stat().st_size for f in files)
            expected = f" (expected {rows_of(kind, args.events):,})" if args.events else ""
            print(f"input:     {kind:8} {rows[kind]:>12,} rows{expected}, {len(files)} file(s), "
                  f"{size / 2**20:,.0f} MiB in {path}")
            if args.events and rows[kind] != rows_of(kind, args.events):
                print(f"warning:   {kind} has {rows[kind]:,} rows, not the {rows_of(kind, args.events):,} "
                      f"of {args.events:,} events")
    missing = sorted({k for q in queries for k in q.inputs if k not in rows})
    if missing:
        print(f"note:      no CSV files for {', '.join(missing)} under {csv_dir}: their queries are skipped")
    runnable = [q for q in queries if all(k in rows for k in q.inputs)]
    if not runnable:
        sys.exit("nothing to run")

    print(f"flink:     Apache Flink {FLINK_VERSION} (PyFlink local mini-cluster, streaming mode), "
          f"parallelism {args.parallelism}; Python {platform.python_version()}; "
          f"JAVA_HOME {os.environ.get('JAVA_HOME', '(unset: java on PATH)')}")
    print(f"command:   {Path(sys.executable).name} bench/flink_csv.py {' '.join(sys.argv[1:])}")
    print(f"load:      {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.defines:
        print(f"config:    {' '.join(args.defines)}")
    print(flush=True)

    out = {"engine": "flink", "version": FLINK_VERSION, "parallelism": args.parallelism,
           "runs": args.runs, "defines": args.defines, "rows": rows, "warmup": None, "results": []}
    t = new_env(True, args.parallelism, args.defines)
    for kind in rows:
        t.execute_sql(table_ddl(kind, csv_dir))
    side_input = Path(csv_dir) / "side_input.csv"
    write_side_input(side_input)
    for q in runnable:
        for statement in q.setup:
            try:
                t.execute_sql(flink_sql(statement.format(side_input=side_input)))
            except Exception as e:  # noqa: BLE001 - a view another query made already
                if "already exists" not in str(e):
                    raise
        t.execute_sql(flink_sql(q.sink_ddl.replace("{output}", str(Path(csv_dir) / "output"))))

    if args.warmup:
        started = time.perf_counter()
        print("warm-up (not measured):")
        b = new_env(False, args.parallelism, args.defines)
        for kind in rows:
            b.execute_sql(table_ddl(kind, csv_dir))
            t0 = time.perf_counter()
            try:
                with b.execute_sql(f"SELECT count(*) FROM {kind}").collect() as res:
                    counted = [r[0] for r in res][0]
            except Exception as e:  # noqa: BLE001
                sys.exit(f"  counting {kind} failed: {flink_error(e)}")
            ok = "ok" if counted == rows[kind] else f"MISMATCH: the files have {rows[kind]:,} lines"
            print(f"  batch count(*) of {kind:8} {counted:>12,} rows in {time.perf_counter() - t0:.2f} s ({ok})")
            if counted != rows[kind]:
                sys.exit(f"Flink reads {counted:,} rows of {kind}, the files have {rows[kind]:,} lines")
        t.execute_sql(EMPTY_SINK)
        empty = []
        for _ in range(3):
            seconds, job_s, error, submit = run_insert(t, EMPTY_INSERT, args.timeout)
            if error:
                sys.exit(f"  the empty job failed: {error}")
            empty.append((seconds, job_s, submit))
        print("  empty job (INSERT ... VALUES (1)), 3 times: "
              + ", ".join(f"{s:.2f} s (submit {u:.2f} s, job {j:.2f} s)" for s, j, u in empty))
        first = runnable[0]
        seconds, job_s, error, _ = run_insert(t, flink_sql(first.insert), args.timeout)
        print(f"  {first.name} once: {seconds:.2f} s (job {job_s if job_s is None else round(job_s, 2)} s)"
              + (f" FAILED: {error}" if error else ""))
        print(f"  warm-up took {time.perf_counter() - started:.1f} s")
        print(flush=True)
        out["warmup"] = {"empty_job": [{"seconds": s, "job_seconds": j, "submit_seconds": u} for s, j, u in empty],
                         "first_query": first.name, "first_query_seconds": seconds}

    print("CSV files (filesystem source) -> blackhole, Flink:")
    results = []
    for q in runnable:
        events = sum(rows[k] for k in q.inputs)
        print(f"  {'csv':8} {q.name:7} {events:>12,} events ... ", end="", flush=True)
        r = Result(q.name, events)
        for _ in range(args.runs):
            seconds, job_s, error, submit = run_insert(t, flink_sql(q.insert), args.timeout)
            r.runs.append(seconds)
            if submit is not None:
                r.submit_runs.append(submit)
            if job_s is not None:
                r.job_runs.append(job_s)
            if error:
                r.error = error
                print(f"FAILED after {seconds:.2f} s", end="")
                break
            print(f"{seconds:.2f} s ", end="", flush=True)
        if not r.error:
            print(f"-> {events / r.seconds:,.0f} events/s", end="")
        print(flush=True)
        results.append(r)

    print()
    print(f"events/s = rows of the query's CSV inputs / wall seconds from submitting its INSERT to the end of "
          f".wait() (planning, submission to a fresh per-job mini-cluster, run; the median of {args.runs} run(s)); "
          f"events/s/core = events/s / parallelism ({args.parallelism}). 'submit s' is the part until execute_sql "
          f"returned (planning, mini-cluster start, submission); 'job s' is Flink's net runtime of the job "
          f"(medians).")
    print()
    print_table(results, args.parallelism)
    out["results"] = [r.as_dict() for r in results]
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
