"""SQLAlchemy (postgresql+psycopg dialect) inspector driven by record.sh.
Usage: sqlalchemy_client.py PORT. `SELECT 'EDDY-MARK: ...'` statements only label the server
log; extract.py drops them."""
import sys

import sqlalchemy
from sqlalchemy import MetaData, Table, create_engine, inspect

port = int(sys.argv[1])
print(f"SQLAlchemy {sqlalchemy.__version__}")
engine = create_engine(f"postgresql+psycopg://eddy@127.0.0.1:{port}/eddy")
with engine.connect() as conn:
    insp = inspect(conn)

    def call(label, fn):
        quoted = label.replace("'", "''")
        conn.exec_driver_sql(f"SELECT 'EDDY-MARK: {quoted}'")
        try:
            result = fn()
        except Exception as e:  # record and go on
            result = f"ERROR {type(e).__name__}: {e}"
        print(f"{label} -> {result!r}")

    print("default_schema_name ->", insp.default_schema_name)
    call("get_schema_names()", insp.get_schema_names)
    call("get_table_names()", insp.get_table_names)
    call("get_table_names(schema='default_database')", lambda: insp.get_table_names(schema="default_database"))
    call("get_view_names()", insp.get_view_names)
    call("get_materialized_view_names()", insp.get_materialized_view_names)
    call("get_view_definition('cheap')", lambda: insp.get_view_definition("cheap"))
    call("get_columns('orders')", lambda: insp.get_columns("orders"))
    call("get_columns('orders', schema='default_database')",
         lambda: insp.get_columns("orders", schema="default_database"))
    call("get_pk_constraint('orders')", lambda: insp.get_pk_constraint("orders"))
    call("get_foreign_keys('orders')", lambda: insp.get_foreign_keys("orders"))
    call("get_indexes('orders')", lambda: insp.get_indexes("orders"))
    call("get_unique_constraints('orders')", lambda: insp.get_unique_constraints("orders"))
    call("get_check_constraints('orders')", lambda: insp.get_check_constraints("orders"))
    call("get_table_comment('orders')", lambda: insp.get_table_comment("orders"))
    call("has_table('orders')", lambda: insp.has_table("orders"))
    call("has_table('no_such_table')", lambda: insp.has_table("no_such_table"))
    call("has_schema('default_database')", lambda: insp.has_schema("default_database"))
    call("Table('orders', MetaData(), autoload_with=conn)",
         lambda: [(c.name, str(c.type), c.nullable, c.primary_key)
                  for c in Table("orders", MetaData(), autoload_with=conn).columns])

    def reflect_all():
        md = MetaData()
        md.reflect(conn, views=True)
        return sorted(md.tables)

    call("MetaData().reflect(conn, views=True)", reflect_all)
