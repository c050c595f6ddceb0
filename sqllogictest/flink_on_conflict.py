"""What Apache Flink 2.3 prints for `INSERT ... ON CONFLICT DO DEDUPLICATE` into a print
sink keyed by auction while the query's upsert key is (auction, hi): the expected
changelog of tests/changelog.rs::on_conflict_do_deduplicate_materializes_each_primary_key.

Run with PyFlink 2.3: `~/flink/bin/python sqllogictest/flink_on_conflict.py`. The job runs in
a child process, whose stdout holds the print sink's lines; they are listed per auction
(the order within an auction is what the test compares).
"""
import os
import subprocess
import sys

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "bids_ooo.csv")


def child():
    from pyflink.datastream import StreamExecutionEnvironment
    from pyflink.table import EnvironmentSettings, StreamTableEnvironment

    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(1)
    t_env = StreamTableEnvironment.create(env, EnvironmentSettings.in_streaming_mode())
    t_env.execute_sql(
        "CREATE TABLE bids (auction BIGINT, price BIGINT, ts TIMESTAMP(3)) "
        f"WITH ('connector' = 'filesystem', 'path' = '{DATA}', 'format' = 'csv')")
    t_env.execute_sql(
        "CREATE TABLE latest (auction BIGINT, hi BOOLEAN, n BIGINT, PRIMARY KEY (auction) NOT ENFORCED) "
        "WITH ('connector' = 'print', 'print-identifier' = 'latest')")
    t_env.execute_sql(
        "INSERT INTO latest SELECT auction, price > 35, count(*) FROM bids "
        "GROUP BY auction, price > 35 ON CONFLICT DO DEDUPLICATE").wait()


if __name__ == "__main__":
    if sys.argv[1:] == ["child"]:
        child()
        sys.exit(0)
    out = subprocess.run([sys.executable, __file__, "child"], capture_output=True, text=True, check=True)
    rows = [line.split("> ", 1)[1] for line in out.stdout.splitlines() if line.startswith("latest> ")]
    for auction in sorted({r[3:].split(",")[0] for r in rows}):
        print(f"auction {auction}:", [r for r in rows if r[3:].startswith(auction + ",")])
