"""What Apache Flink 2.3 prints for regular joins with mini-batches on
(`table.exec.mini-batch.*`, Flink's MiniBatchStreamingJoinOperator), for
tests/changelog.rs (mini_batch_joins_*), which checks Eddy's lines against Flink's rules
and its final rows against Flink's. The changelog source (products_cdc.json:
scooter added then updated, car battery added then deleted, drill added) is joined with
auction_names.csv (1 lamp, 2 chair, 3 desk). Each side's rows in a bundle are folded (a
row added and taken out again cancel), and the right side is processed before the left one
(the left one first for a right join), so a left join sends no null-padded row that it
would retract. Flink closes a bundle at any watermark of either input too, and the names
file ends (MAX watermark) while the changelog is still being read, so the lines printed
vary with timing; the final rows (each printed change folded) do not.

Run with PyFlink 2.3: `~/flink/bin/python sqllogictest/flink_minibatch_join.py`. Each job runs
in a child process, whose stdout holds the print sink's lines; they are listed per id
(the order across ids follows Flink's hash maps and is not compared).
"""
import os
import subprocess
import sys

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
JOINS = {
    "inner": "SELECT p.id, p.name, n.name FROM products AS p JOIN names AS n ON p.id = n.id",
    "left": "SELECT p.id, p.name, n.name FROM products AS p LEFT JOIN names AS n ON p.id = n.id",
    "right": "SELECT n.id, p.name, n.name FROM products AS p RIGHT JOIN names AS n ON p.id = n.id",
}


def child(join):
    from pyflink.datastream import StreamExecutionEnvironment
    from pyflink.table import EnvironmentSettings, StreamTableEnvironment

    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(1)
    t_env = StreamTableEnvironment.create(env, EnvironmentSettings.in_streaming_mode())
    config = t_env.get_config()
    config.set("table.exec.mini-batch.enabled", "true")
    config.set("table.exec.mini-batch.allow-latency", "10 s")
    config.set("table.exec.mini-batch.size", "1000")
    t_env.execute_sql(
        "CREATE TABLE products (id BIGINT, name STRING, grams BIGINT) WITH ('connector' = "
        f"'filesystem', 'path' = '{DATA}/products_cdc.json', 'format' = 'debezium-json')")
    t_env.execute_sql(
        "CREATE TABLE names (id BIGINT, name STRING) WITH ('connector' = 'filesystem', "
        f"'path' = '{DATA}/auction_names.csv', 'format' = 'csv')")
    t_env.execute_sql(
        "CREATE TABLE joined (id BIGINT, product STRING, name STRING) "
        f"WITH ('connector' = 'print', 'print-identifier' = '{join}')")
    t_env.execute_sql(f"INSERT INTO joined {JOINS[join]}").wait()


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        child(sys.argv[2])
        sys.exit(0)
    for join in JOINS:
        out = subprocess.run([sys.executable, __file__, "child", join], capture_output=True, text=True)
        rows = [line.split("> ", 1)[1] for line in out.stdout.splitlines() if line.startswith(f"{join}> ")]
        print(f"{join} join, mini-batch:")
        for key in sorted({r[3:].split(",")[0] for r in rows}):
            print(f"  id {key}:", [r for r in rows if r[3:].startswith(key + ",")])
        final = {}
        for r in rows:
            sign = 1 if r[:2] in ("+I", "+U") else -1
            final[r[3:-1]] = final.get(r[3:-1], 0) + sign
        print("  final rows:", sorted(k for k, n in final.items() for _ in range(n)))
        if not rows:
            print(out.stderr[-2000:])
