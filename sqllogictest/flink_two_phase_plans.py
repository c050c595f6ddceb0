#!/usr/bin/env python3
"""Prints Apache Flink 2.3's plans for the aggregations over an updating input in
`changelog/two_phase_aggregate.slt`, with mini-batches on as the suite sets them, so that
anyone can see which ones Flink splits into a LocalGroupAggregate and a
GlobalGroupAggregate (with COUNT_RETRACT, SUM_RETRACT, MIN_RETRACT, ...) and which keep
one phase.

    python -m venv ~/flink && ~/flink/bin/pip install apache-flink==2.3.0
    ~/flink/bin/python sqllogictest/flink_two_phase_plans.py

Flink 2.3 splits all of them, the variance included ($WELFORD_M2$1_RETRACT); FIRST_VALUE
keeps one phase. Eddy keeps one phase for the variances (see docs/changelog.md).
"""

from pyflink.table import EnvironmentSettings, TableEnvironment

QUERIES = [
    "SELECT c, count(*), count(DISTINCT auction % 7), sum(auction), min(auction), max(auction), avg(auction) "
    "FROM (SELECT auction, count(*) AS c FROM bid GROUP BY auction) GROUP BY c",
    "SELECT c, count(*), CAST(stddev_pop(auction) AS BIGINT) "
    "FROM (SELECT auction, count(*) AS c FROM bid GROUP BY auction) GROUP BY c",
    "SELECT c, first_value(auction) FROM (SELECT auction, count(*) AS c FROM bid GROUP BY auction) GROUP BY c",
]


def main():
    env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    config = env.get_config()
    config.set("parallelism.default", "4")
    config.set("table.exec.mini-batch.enabled", "true")
    config.set("table.exec.mini-batch.allow-latency", "1 s")
    config.set("table.exec.mini-batch.size", "500")
    env.execute_sql(
        "CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT) "
        "WITH ('connector' = 'datagen', 'number-of-rows' = '10')"
    )
    for query in QUERIES:
        plan = env.explain_sql(query)
        print(query)
        print(plan[plan.index("== Optimized Execution Plan =="):])


if __name__ == "__main__":
    main()
