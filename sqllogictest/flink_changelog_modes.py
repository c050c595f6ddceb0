#!/usr/bin/env python3
"""Checks the changelog modes that test_files/changelog/changelog_mode.slt expects of Eddy
against the ones Apache Flink 2.3 (PyFlink, streaming mode, parallelism 1) infers for the
same statements, so that those expectations come from Flink, not from Eddy.

    cd sqllogictest && ~/flink/bin/python flink_changelog_modes.py

What it replays, in the file's order on one StreamTableEnvironment: the CREATE TABLEs
(`__DATA_DIR__` is `data/`, `__TEST_DIR__` a temporary directory), SET / RESET, each
`EXPLAIN CHANGELOG_MODE` query, and each `statement error 42P10` record. Other records
(plain EXPLAIN, the 0A000 ON CONFLICT ones) are left out.

An EXPLAIN CHANGELOG_MODE query is compared as the multisets of (operator kind, mode) of
the operators that decide the changelog - sources, sinks, aggregations, Top-N, joins,
DropUpdateBefore - plus the mode of whatever feeds the sink, taken from Flink's optimized
physical plan and from the file's expected plan. Projections, filters, exchanges and
watermark assigners are not compared: the two planners place them differently. A 42P10
record agrees when Flink refuses the INSERT with its FLIP-558 message.

Eddy's regular join retracts with -D and re-adds with +I where Flink's forwards -U/+U; the
file says so, and such plans are listed as "DIFFER (expected)". Prints one line per record
and `N agree, M differ`; exits 0 either way.
"""

import os
import re
import shutil
import sys
import tempfile
from collections import Counter

from slt_file import records

SLT = "test_files/changelog/changelog_mode.slt"
COMPARED = {"GroupAggregate", "Rank", "Join", "TemporalJoin", "IntervalJoin", "OverAggregate", "DropUpdateBefore", "TableSourceScan", "Sink"}
INTO_SINK = "into Sink"  # pseudo-kind: the mode of the sink's input, whatever operator it is
# Flink 2.3's defaults for the keys the file resets (a RESET of any other key fails here).
DEFAULTS = {
    "table.exec.sink.require-on-conflict": "true",
    "table.exec.sink.upsert-materialize": "AUTO",
}
UPSERT_KEY_ERROR = "The query has an upsert key that differs from the primary key of the sink table"
# Flink's other 42P10 refusal: ON CONFLICT on a sink that is not an upsert sink.
NOT_UPSERT_SINK_ERROR = "ON CONFLICT clause is only allowed for upsert sinks"
MODE = re.compile(r"changelogMode=\[([^\]]*)\]")


def flink_modes(plan):
    """(kind, mode) pairs of the '== Optimized Physical Plan ==' section of an explain."""
    section = plan.split("== Optimized Physical Plan ==")[1].split("== Optimized Execution Plan ==")[0]
    nodes = []
    for line in section.strip().splitlines():
        kind = re.match(r"[\s|:+-]*(\w+)\(", line).group(1)
        nodes.append((kind, MODE.findall(line)[-1]))
    pairs = [n for n in nodes if n[0] in COMPARED]
    # The tree is printed depth first, so the line after the sink is its (only) input.
    for i, (kind, _) in enumerate(nodes):
        if kind == "Sink":
            pairs.append((INTO_SINK, nodes[i + 1][1]))
    return pairs


def eddy_modes(expected):
    """(kind, mode) pairs of an expected `EXPLAIN CHANGELOG_MODE` block of the .slt file."""
    vertices, upstream, current = {}, {}, None
    for line in expected:
        edge = re.match(r"Vertex (\d+) -> Vertex (\d+)", line)
        header = re.match(r"Vertex (\d+) \[", line)
        if edge:
            upstream.setdefault(edge.group(2), edge.group(1))
        elif header:
            current = header.group(1)
            vertices[current] = []
        elif MODE.search(line):
            kind = re.match(r"(?:->\s*)?(\w+)", line).group(1)
            if kind == "Source":
                # Flink's Values node is not a scan (and is not compared).
                kind = "Values" if "[values]" in line else "TableSourceScan"
            vertices[current].append((kind, MODE.findall(line)[-1]))
    pairs = [op for ops in vertices.values() for op in ops if op[0] in COMPARED]
    for v, ops in vertices.items():
        for i, (kind, _) in enumerate(ops):
            if kind == "Sink":
                # A sink chained after its input, or heading a vertex fed over an exchange.
                # Flink's materializer is inside its Sink node (upsertMaterialize=[true]):
                # what enters Eddy's SinkMaterializer is what enters Flink's sink.
                at, ops_of = i, ops
                if at > 0 and ops_of[at - 1][0] == "SinkMaterializer":
                    at -= 1
                feeder = ops_of[at - 1] if at > 0 else vertices[upstream[v]][-1]
                pairs.append((INTO_SINK, feeder[1]))
    return pairs


def show(pairs):
    return "  ".join(f"{kind}[{mode}]" for kind, mode in sorted(pairs))


def first_error_line(e):
    """The Java exception's own message, without PyFlink's traceback around it."""
    lines = [l.strip() for l in str(e).splitlines() if "Exception:" in l and not l.strip().startswith("at ")]
    return (lines[-1] if lines else str(e).splitlines()[0]).lstrip(": ")


def main():
    from pyflink.table import EnvironmentSettings, ExplainDetail, StreamTableEnvironment
    from pyflink.datastream import StreamExecutionEnvironment

    here = os.path.dirname(os.path.abspath(__file__))
    data_dir = os.path.join(here, "data")
    test_dir = tempfile.mkdtemp(prefix="flink-changelog-modes-")
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(1)
    t_env = StreamTableEnvironment.create(env, environment_settings=EnvironmentSettings.in_streaming_mode())
    t_env.get_config().set("parallelism.default", "1")

    agree = differ = 0
    for line, head, sql, expected in records(os.path.join(here, SLT)):
        where = f"line {line}"
        if head[0] == "statement" and re.match(r"CREATE\s+TABLE", sql, re.I):
            ddl = sql.replace("__DATA_DIR__", data_dir).replace("__TEST_DIR__", test_dir)
            try:
                t_env.execute_sql(ddl)
            except Exception as e:  # noqa: BLE001 - reported, and the queries on it will fail
                print(f"CANNOT CREATE {where}: {first_error_line(e)}\n    {sql}")
            continue
        setting = re.match(r"SET\s+'([^']+)'\s*=\s*'([^']*)'\s*$", sql, re.I)
        reset = re.match(r"RESET\s+'([^']+)'\s*$", sql, re.I)
        if head[0] == "statement" and setting:
            t_env.get_config().set(setting.group(1), setting.group(2))
            continue
        if head[0] == "statement" and reset:
            t_env.get_config().set(reset.group(1), DEFAULTS[reset.group(1)])
            continue

        explain = re.match(r"EXPLAIN\s+CHANGELOG_MODE\s+(.*)", sql, re.I | re.S)
        if head[0] == "query" and explain:
            print(f"{sql}  ({where})")
            try:
                flink = flink_modes(t_env.explain_sql(explain.group(1), ExplainDetail.CHANGELOG_MODE))
            except Exception as e:  # noqa: BLE001 - Flink refusing the query is a difference
                differ += 1
                print(f"  DIFFER: Flink fails it: {first_error_line(e)}")
                continue
            eddy = eddy_modes(expected)
            if Counter(flink) == Counter(eddy):
                agree += 1
                verdict = "AGREE"
            else:
                differ += 1
                # Only the join and what follows it into the sink may differ for the documented reason.
                changed = set(Counter(flink) - Counter(eddy)) | set(Counter(eddy) - Counter(flink))
                known = ("Join", "I,D") in eddy and {k for k, _ in changed} <= {"Join", INTO_SINK}
                verdict = "DIFFER (expected: Eddy's join retracts with -D)" if known else "DIFFER"
            print(f"  {verdict}\n    flink: {show(flink)}\n    eddy:  {show(eddy)}")
            continue

        if head[:2] == ["statement", "error"] and head[2].startswith("42P10"):
            print(f"{sql}  ({where})")
            try:
                t_env.explain_sql(sql)
                differ += 1
                print("  DIFFER: Flink accepts it")
            except Exception as e:  # noqa: BLE001 - the refusal is the answer
                message = first_error_line(e)
                expected = NOT_UPSERT_SINK_ERROR if "upsert sink" in head_text(head) else UPSERT_KEY_ERROR
                if "ValidationException" in message and expected in message:
                    agree += 1
                    print(f"  AGREE: {message.split('This can lead')[0].strip()}")
                else:
                    differ += 1
                    print(f"  DIFFER: Flink fails otherwise: {message}")
            continue

    shutil.rmtree(test_dir, ignore_errors=True)
    print(f"{agree} agree, {differ} differ")
    sys.exit(0)


def head_text(head):
    """The record's header (its expected error) as one string."""
    return " ".join(head)


if __name__ == "__main__":
    main()
