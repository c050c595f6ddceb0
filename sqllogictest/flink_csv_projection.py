"""What Apache Flink 2.3 (PyFlink, streaming mode) does with a malformed value in a csv
column the query does not read: `bad_people.csv` holds "twenty-eight" and "old" in its INT
column `age`. Reading only `id` and `name`, Flink parses only the projected columns (its
filesystem source pushes the projection into the csv format), so the job finishes with all
five rows; reading `age` fails. Eddy does the same (streaming/bad_records.slt):

    ~/flink/bin/python sqllogictest/flink_csv_projection.py sqllogictest/data
"""
import sys

from pyflink.table import EnvironmentSettings, TableEnvironment

data = sys.argv[1]
t = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
t.get_config().set("parallelism.default", "1")
t.execute_sql(
    "CREATE TABLE bad_strict (id INT, name STRING, age INT) WITH ('connector' = 'filesystem', "
    f"'path' = '{data}/bad_people.csv', 'format' = 'csv')"
)
for query in ["SELECT id, name FROM bad_strict", "SELECT id, age FROM bad_strict"]:
    try:
        with t.execute_sql(query).collect() as rows:
            print(query, "->", sorted(str(r) for r in rows))
    except Exception as e:  # the job's failure, as the client sees it
        print(query, "-> fails:", str(e).splitlines()[0][:200])
