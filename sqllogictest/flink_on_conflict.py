"""What Apache Flink 2.3 prints for `INSERT ... ON CONFLICT DO DEDUPLICATE | NOTHING | ERROR`
into a print sink keyed by auction while the query's upsert key is (auction, hi): the
expected changelogs of tests/changelog.rs (on_conflict_*). Then, with
`table.exec.sink.upsert-materialize` = FORCE, what a print sink keyed by its first column
prints for an insert-only query and for a count per auction (the key matches):
tests/changelog.rs, upsert_materialize_force_*. NOTHING and ERROR need a
watermark on the source (`WATERMARK FOR ts AS ts`); Flink emits it every 200 ms, so
which changes one compaction sees depends on timing (on this file each bid came alone).

Run with PyFlink 2.3: `~/flink/bin/python sqllogictest/flink_on_conflict.py`. The job runs in
a child process, whose stdout holds the print sink's lines; they are listed per auction
(the order within an auction is what the test compares).
"""
import os
import subprocess
import sys

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "bids_ooo.csv")


def child(action):
    from pyflink.datastream import StreamExecutionEnvironment
    from pyflink.table import EnvironmentSettings, StreamTableEnvironment

    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(1)
    t_env = StreamTableEnvironment.create(env, EnvironmentSettings.in_streaming_mode())
    watermark = "" if action == "DEDUPLICATE" else ", WATERMARK FOR ts AS ts"
    t_env.execute_sql(
        f"CREATE TABLE bids (auction BIGINT, price BIGINT, ts TIMESTAMP(3){watermark}) "
        f"WITH ('connector' = 'filesystem', 'path' = '{DATA}', 'format' = 'csv')")
    t_env.execute_sql(
        "CREATE TABLE latest (auction BIGINT, hi BOOLEAN, n BIGINT, PRIMARY KEY (auction) NOT ENFORCED) "
        "WITH ('connector' = 'print', 'print-identifier' = 'latest')")
    t_env.execute_sql(
        "INSERT INTO latest SELECT auction, price > 35, count(*) FROM bids "
        f"GROUP BY auction, price > 35 ON CONFLICT DO {action}").wait()


def forced():
    from pyflink.datastream import StreamExecutionEnvironment
    from pyflink.table import EnvironmentSettings, StreamTableEnvironment

    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(1)
    t_env = StreamTableEnvironment.create(env, EnvironmentSettings.in_streaming_mode())
    t_env.get_config().set("table.exec.sink.upsert-materialize", "FORCE")
    t_env.execute_sql(
        f"CREATE TABLE bids (auction BIGINT, price BIGINT, ts TIMESTAMP(3)) "
        f"WITH ('connector' = 'filesystem', 'path' = '{DATA}', 'format' = 'csv')")
    for name in ["appended", "counted"]:
        t_env.execute_sql(
            f"CREATE TABLE {name} (k BIGINT, v BIGINT, PRIMARY KEY (k) NOT ENFORCED) "
            f"WITH ('connector' = 'print', 'print-identifier' = '{name}')")
    t_env.execute_sql(
        "INSERT INTO appended SELECT * FROM (VALUES (CAST(1 AS BIGINT), CAST(10 AS BIGINT)), "
        "(1, 20), (2, 5))").wait()
    t_env.execute_sql("INSERT INTO counted SELECT auction, count(*) FROM bids GROUP BY auction").wait()


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        child(sys.argv[2])
        sys.exit(0)
    if sys.argv[1:2] == ["forced"]:
        forced()
        sys.exit(0)
    for action in ["DEDUPLICATE", "NOTHING", "ERROR"]:
        out = subprocess.run([sys.executable, __file__, "child", action], capture_output=True, text=True)
        rows = [line.split("> ", 1)[1] for line in out.stdout.splitlines() if line.startswith("latest> ")]
        print(f"ON CONFLICT DO {action}:")
        for auction in sorted({r[3:].split(",")[0] for r in rows}):
            print(f"  auction {auction}:", [r for r in rows if r[3:].startswith(auction + ",")])
        failure = [line for line in (out.stdout + out.stderr).splitlines() if "Primary key constraint" in line]
        if failure:
            print("  failed:", failure[0].strip())
    out = subprocess.run([sys.executable, __file__, "forced"], capture_output=True, text=True)
    for name in ["appended", "counted"]:
        rows = [line.split("> ", 1)[1] for line in out.stdout.splitlines() if line.startswith(f"{name}> ")]
        print(f"upsert-materialize FORCE, {name}:")
        for key in sorted({r[3:].split(",")[0] for r in rows}):
            print(f"  key {key}:", [r for r in rows if r[3:].startswith(key + ",")])
