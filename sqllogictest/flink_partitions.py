"""Writes a partitioned filesystem table with Apache Flink (PyFlink 2.3), to check that
Eddy reads Flink's layout: `k=v/` directories in PARTITIONED BY order, escaped values
(`a/b:c=d%` is `a%2Fb%3Ac%3Dd%25`), NULL as `__DEFAULT_PARTITION__`, part files without
the partition columns. Its output is kept in `data/flink_partitioned/`, and the NULL
partition alone in `data/flink_partitioned_null/`, and non-text partition columns in
`data/flink_partitioned_types/`:

    ~/flink/bin/python sqllogictest/flink_partitions.py sqllogictest/data

Flink 2.3 cannot read a table holding a NULL partition (its SELECT fails with "Path
should not be null or empty"), hence the two directories; Eddy reads it as NULL.
"""
import shutil
import sys

from pyflink.table import EnvironmentSettings, TableEnvironment

data = sys.argv[1]
t = TableEnvironment.create(EnvironmentSettings.in_batch_mode())
for name in ["flink_partitioned", "flink_partitioned_null"]:
    shutil.rmtree(f"{data}/{name}", ignore_errors=True)
    t.execute_sql(
        f"CREATE TABLE {name} (a INT, dt STRING, hr INT) PARTITIONED BY (dt, hr) "
        f"WITH ('connector' = 'filesystem', 'path' = '{data}/{name}', 'format' = 'csv')"
    )
t.execute_sql(
    "INSERT INTO flink_partitioned_null VALUES (3, CAST(NULL AS STRING), CAST(NULL AS INT))"
).wait()
t.execute_sql(
    "INSERT INTO flink_partitioned VALUES (1, '2024-01-01', 10), (2, '2024-01-01', 11), "
    "(4, 'a/b:c=d%', 1)"
).wait()
t.execute_sql("INSERT INTO flink_partitioned PARTITION (dt = 'x', hr = 5) SELECT 9").wait()
# Non-text partition columns: Flink names their directories by its internal values (a DATE
# as days since the epoch, a TIMESTAMP as Java's LocalDateTime text) and cannot read them
# back itself; Eddy reads them.
shutil.rmtree(f"{data}/flink_partitioned_types", ignore_errors=True)
t.get_config().set("table.local-time-zone", "UTC")
t.execute_sql(
    "CREATE TABLE flink_partitioned_types (a INT, d DATE, ts TIMESTAMP(3), b BOOLEAN, "
    "m DECIMAL(5, 2), ltz TIMESTAMP_LTZ(3)) PARTITIONED BY (d, ts, b, m, ltz) WITH "
    f"('connector' = 'filesystem', 'path' = '{data}/flink_partitioned_types', 'format' = 'csv')"
)
t.execute_sql(
    "INSERT INTO flink_partitioned_types VALUES "
    "(1, DATE '2024-01-02', TIMESTAMP '2024-01-02 03:04:05.678', TRUE, 1.50, TO_TIMESTAMP_LTZ(1000, 3)), "
    "(2, DATE '2024-01-02', TIMESTAMP '2024-01-02 03:04:05', FALSE, 10.00, TO_TIMESTAMP_LTZ(0, 3))"
).wait()
t.execute_sql("INSERT INTO flink_partitioned PARTITION (dt = 'y') SELECT 8, 7").wait()
