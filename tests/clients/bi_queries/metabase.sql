-- metabase: the SQL that Metabase's postgres driver
-- sends to PostgreSQL, taken from its source code (the tool cannot be installed here).
-- Parameters are replaced by the values the tool would bind for database eddy, schema
-- default_database, table orders. Hand-written from the sources named in each entry;
-- record.sh only writes metabase.expected. Each entry: '-- [n] <what the tool does>',
-- '-- source: <repo path>@<commit>', optional '-- note:' lines, the statement, then a
-- line holding only ';'. Split the file at lines equal to ';' and drop leading '-- ' lines.

-- [1] add database / test connection (can-connect? -> can-connect-with-spec?)
-- source: metabase/metabase src/metabase/driver/sql_jdbc/connection.clj@003c3790a0ccacc317ee8db0301736ed79db60f3
SELECT 1
;

-- [2] every new pooled connection: pgjdbc's connection setup
-- source: pgjdbc 42.5.5 (Debian libpostgresql-jdbc-java), text from PostgreSQL 15's statement log
-- note: Metabase bundles pgjdbc 42.7.x (assumed to send the same statements)
SET extra_float_digits = 3
;

-- [3] every new pooled connection: pgjdbc's connection setup
-- source: pgjdbc 42.5.5 (Debian libpostgresql-jdbc-java), text from PostgreSQL 15's statement log
SET application_name = 'PostgreSQL JDBC Driver'
;

-- [4] every connection checkout (do-with-connection-with-options -> set-best-transaction-level!: setTransactionIsolation(READ_UNCOMMITTED))
-- source: metabase/metabase src/metabase/driver/sql_jdbc/execute.clj@0041072d8fccaf81c6fbc2982a78bd347f6acafd; statement text from pgjdbc 42.5.5 (Debian libpostgresql-jdbc-java), text from PostgreSQL 15's statement log
-- note: setReadOnly(true), setAutoCommit(true) and setHoldability send nothing; c3p0's testConnectionOnCheckout calls isValid(), which sends an empty query (see README)
SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ UNCOMMITTED
;

-- [5] sync: database default time zone (db-default-timezone)
-- source: metabase/metabase src/metabase/driver/postgres.clj@008fd6675457cdd62da2265628bed3b725a607ea
show timezone;
;

-- [6] sync: schema list (syncable-schemas -> DatabaseMetaData.getSchemas())
-- source: metabase/metabase src/metabase/driver/sql_jdbc/sync/describe_database.clj@00f84ab8adde06abf9ac93e22f7d6dbbf5e089de; statement text from pgjdbc 42.5.5 (Debian libpostgresql-jdbc-java), text from PostgreSQL 15's statement log
-- note: information_schema and pg_catalog are then dropped client-side (excluded-schemas)
SELECT nspname AS TABLE_SCHEM, NULL AS TABLE_CATALOG FROM pg_catalog.pg_namespace  WHERE nspname <> 'pg_toast' AND (nspname !~ '^pg_temp_'  OR nspname = (pg_catalog.current_schemas(true))[1]) AND (nspname !~ '^pg_toast_temp_'  OR nspname = replace((pg_catalog.current_schemas(true))[1], 'pg_temp_', 'pg_toast_temp_'))  ORDER BY TABLE_SCHEM
;

-- [7] sync: table privileges of the current user (current-user-table-privileges, also sync-table-privileges)
-- source: metabase/metabase src/metabase/driver/postgres.clj@008fd6675457cdd62da2265628bed3b725a607ea
-- note: a table whose select/update/insert/delete are all false is not synced
with table_privileges as (
 select
   NULL as role,
   t.schemaname as schema,
   t.objectname as table,
   pg_catalog.has_any_column_privilege(current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'update') as update,
   pg_catalog.has_any_column_privilege(current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'select') as select,
   pg_catalog.has_any_column_privilege(current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'insert') as insert,
   pg_catalog.has_table_privilege(     current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'delete') as delete
 from (
   select schemaname, tablename as objectname from pg_catalog.pg_tables
   union
   select schemaname, viewname as objectname from pg_catalog.pg_views
   union
   select schemaname, matviewname as objectname from pg_catalog.pg_matviews
 ) t
 where t.schemaname !~ '^pg_'
   and t.schemaname <> 'information_schema'
   and pg_catalog.has_schema_privilege(current_user, t.schemaname, 'usage')
)
select t.*
from table_privileges t
;

-- [8] sync: table list (describe-database* -> get-tables-sql)
-- source: metabase/metabase src/metabase/driver/postgres.clj@008fd6675457cdd62da2265628bed3b725a607ea
-- note: rendered by hand from the HoneySQL 2 form (:dialect :ansi, so identifiers are quoted; ? parameters replaced by their values); spacing and parentheses may differ from the bytes Metabase sends
SELECT "n"."nspname" AS "schema", "c"."relname" AS "name", CASE "c"."relkind" WHEN 'r' THEN 'TABLE' WHEN 'p' THEN 'PARTITIONED TABLE' WHEN 'v' THEN 'VIEW' WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE NULL END AS "type", "d"."description" AS "description", "stat"."n_live_tup" AS "estimated_row_count" FROM "pg_catalog"."pg_class" AS "c" INNER JOIN "pg_catalog"."pg_namespace" AS "n" ON "c"."relnamespace" = "n"."oid" LEFT JOIN "pg_catalog"."pg_description" AS "d" ON ("c"."oid" = "d"."objoid") AND ("d"."objsubid" = 0) AND ("d"."classoid" = 'pg_class'::regclass) LEFT JOIN "pg_stat_user_tables" AS "stat" ON ("n"."nspname" = "stat"."schemaname") AND ("c"."relname" = "stat"."relname") WHERE ("c"."relnamespace" = "n"."oid") AND ("n"."nspname" !~ '^pg_') AND ("n"."nspname" <> 'information_schema') AND c.relkind in ('r', 'p', 'v', 'f', 'm') AND ("n"."nspname" IN ('default_database')) ORDER BY "type" ASC, "schema" ASC, "name" ASC
;

-- [9] sync: enum types (describe-fields-pre-process-xf -> enum-types)
-- source: metabase/metabase src/metabase/driver/postgres.clj@008fd6675457cdd62da2265628bed3b725a607ea
SELECT nspname, typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.oid IN (SELECT DISTINCT enumtypid FROM pg_enum e)
;

-- [10] sync: columns of every table (describe-fields-sql)
-- source: metabase/metabase src/metabase/driver/postgres.clj@008fd6675457cdd62da2265628bed3b725a607ea
-- note: rendered by hand from the HoneySQL 2 form (:dialect :ansi, so identifiers are quoted; ? parameters replaced by their values); spacing and parentheses may differ from the bytes Metabase sends
-- note: database-type (udt_name) is mapped by default-base-types: int8 bigint, numeric, varchar, timestamp, timestamptz, bool, date, float8, int4, int2, float4, bytea, _text
SELECT "c"."column_name" AS "name", CASE WHEN "c"."udt_schema" IN ('public', 'pg_catalog') THEN FORMAT('%s', "c"."udt_name") ELSE FORMAT('"%s"."%s"', "c"."udt_schema", "c"."udt_name") END AS "database-type", "c"."ordinal_position" - 1 AS "database-position", "c"."table_schema" AS "table-schema", "c"."table_name" AS "table-name", "pk"."column_name" IS NOT NULL AS "pk?", COL_DESCRIPTION(CAST(CAST(FORMAT('%I.%I', CAST("c"."table_schema" AS TEXT), CAST("c"."table_name" AS TEXT)) AS REGCLASS) AS OID), "c"."ordinal_position") AS "field-comment", (("column_default" IS NULL) OR (LOWER("column_default") = 'null')) AND ("is_nullable" = 'NO') AND NOT ((("column_default" IS NOT NULL) AND ("column_default" LIKE '%nextval(%')) OR ("is_identity" <> 'NO')) AS "database-required", (("column_default" IS NOT NULL) AND ("column_default" LIKE '%nextval(%')) OR ("is_identity" <> 'NO') AS "database-is-auto-increment" FROM "information_schema"."columns" AS "c" LEFT JOIN (SELECT "tc"."table_schema", "tc"."table_name", "kc"."column_name" FROM "information_schema"."table_constraints" AS "tc" INNER JOIN "information_schema"."key_column_usage" AS "kc" ON ("tc"."constraint_name" = "kc"."constraint_name") AND ("tc"."table_schema" = "kc"."table_schema") AND ("tc"."table_name" = "kc"."table_name") WHERE "tc"."constraint_type" = 'PRIMARY KEY') AS "pk" ON ("c"."table_schema" = "pk"."table_schema") AND ("c"."table_name" = "pk"."table_name") AND ("c"."column_name" = "pk"."column_name") WHERE c.table_schema !~ '^information_schema|catalog_history|pg_' AND ("c"."table_schema" IN ('default_database')) UNION ALL SELECT "pa"."attname" AS "name", CASE WHEN "ptn"."nspname" IN ('public', 'pg_catalog') THEN FORMAT('%s', "pt"."typname") ELSE FORMAT('"%s"."%s"', "ptn"."nspname", "pt"."typname") END AS "database-type", "pa"."attnum" - 1 AS "database-position", "pn"."nspname" AS "table-schema", "pc"."relname" AS "table-name", FALSE AS "pk?", NULL AS "field-comment", FALSE AS "database-required", FALSE AS "database-is-auto-increment" FROM "pg_catalog"."pg_class" AS "pc" INNER JOIN "pg_catalog"."pg_namespace" AS "pn" ON "pn"."oid" = "pc"."relnamespace" INNER JOIN "pg_catalog"."pg_attribute" AS "pa" ON "pa"."attrelid" = "pc"."oid" INNER JOIN "pg_catalog"."pg_type" AS "pt" ON "pt"."oid" = "pa"."atttypid" INNER JOIN "pg_catalog"."pg_namespace" AS "ptn" ON "ptn"."oid" = "pt"."typnamespace" WHERE ("pc"."relkind" = 'm') AND ("pa"."attnum" >= 1) AND ("pn"."nspname" IN ('default_database')) ORDER BY "table-schema" ASC, "table-name" ASC, "database-position" ASC
;

-- [11] sync: foreign keys (describe-fks-sql)
-- source: metabase/metabase src/metabase/driver/postgres.clj@008fd6675457cdd62da2265628bed3b725a607ea
-- note: rendered by hand from the HoneySQL 2 form (:dialect :ansi, so identifiers are quoted; ? parameters replaced by their values); spacing and parentheses may differ from the bytes Metabase sends
SELECT "fk_ns"."nspname" AS "fk-table-schema", "fk_table"."relname" AS "fk-table-name", "fk_column"."attname" AS "fk-column-name", "pk_ns"."nspname" AS "pk-table-schema", "pk_table"."relname" AS "pk-table-name", "pk_column"."attname" AS "pk-column-name" FROM "pg_constraint" AS "c" INNER JOIN "pg_class" AS "fk_table" ON "c"."conrelid" = "fk_table"."oid" INNER JOIN "pg_namespace" AS "fk_ns" ON "c"."connamespace" = "fk_ns"."oid" INNER JOIN "pg_attribute" AS "fk_column" ON "c"."conrelid" = "fk_column"."attrelid" INNER JOIN "pg_class" AS "pk_table" ON "c"."confrelid" = "pk_table"."oid" INNER JOIN "pg_namespace" AS "pk_ns" ON "pk_table"."relnamespace" = "pk_ns"."oid" INNER JOIN "pg_attribute" AS "pk_column" ON "c"."confrelid" = "pk_column"."attrelid" WHERE fk_ns.nspname !~ '^information_schema|catalog_history|pg_' AND ("c"."contype" = 'f'::char) AND ("fk_column"."attnum" = ANY(c.conkey)) AND ("pk_column"."attnum" = ANY(c.confkey)) AND ("fk_ns"."nspname" IN ('default_database')) ORDER BY "fk-table-schema" ASC, "fk-table-name" ASC
;

-- [12] sync: indexes (describe-indexes-sql; feature :describe-indexes)
-- source: metabase/metabase src/metabase/driver/postgres.clj@008fd6675457cdd62da2265628bed3b725a607ea
-- note: rendered by hand from the HoneySQL 2 form (:dialect :ansi, so identifiers are quoted; ? parameters replaced by their values); spacing and parentheses may differ from the bytes Metabase sends
SELECT "tmp"."table-schema", "tmp"."table-name", TRIM(BOTH '"' FROM PG_CATALOG.PG_GET_INDEXDEF("tmp"."ci_oid", "tmp"."pos", FALSE)) AS "field-name" FROM (SELECT "n"."nspname" AS "table-schema", "ct"."relname" AS "table-name", "ci"."oid" AS "ci_oid", (INFORMATION_SCHEMA._PG_EXPANDARRAY("i"."indkey")).n AS "pos" FROM "pg_catalog"."pg_class" AS "ct" INNER JOIN "pg_catalog"."pg_namespace" AS "n" ON "ct"."relnamespace" = "n"."oid" INNER JOIN "pg_catalog"."pg_index" AS "i" ON "ct"."oid" = "i"."indrelid" INNER JOIN "pg_catalog"."pg_class" AS "ci" ON "ci"."oid" = "i"."indexrelid" WHERE (PG_CATALOG.PG_GET_EXPR("i"."indpred", "i"."indrelid") IS NULL) AND n.nspname !~ '^information_schema|catalog_history|pg_' AND ("n"."nspname" IN ('default_database'))) AS "tmp" WHERE "tmp"."pos" = 1
;

-- [13] sync: SELECT-privilege probe (have-select-privilege?, only for foreign tables on postgres)
-- source: metabase/metabase src/metabase/driver/sql_jdbc/sync/describe_database.clj@00f84ab8adde06abf9ac93e22f7d6dbbf5e089de
-- note: compiled by Metabase's SQL compiler from {:select [[true :_]] :from [table] :where (1 <> 1)} plus LIMIT 0; rendering approximate
SELECT TRUE AS "_" FROM "default_database"."orders" WHERE 1 <> 1 LIMIT 0
;

-- [14] analyze (fingerprints, classification): sample rows of orders (table-rows-sample)
-- source: metabase/metabase src/metabase/driver/common/table_rows_sample.clj@d2e38202356c5eaf912fcfce9dff5a3883e0db33
-- note: an MBQL query compiled by Metabase's SQL compiler; rendering approximate
SELECT "default_database"."orders"."id" AS "id", "default_database"."orders"."price" AS "price", "default_database"."orders"."note" AS "note", "default_database"."orders"."ts" AS "ts", "default_database"."orders"."tstz" AS "tstz", "default_database"."orders"."flag" AS "flag", "default_database"."orders"."d" AS "d", "default_database"."orders"."amount" AS "amount", "default_database"."orders"."qty" AS "qty", "default_database"."orders"."small" AS "small", "default_database"."orders"."r" AS "r", "default_database"."orders"."b" AS "b", "default_database"."orders"."tags" AS "tags" FROM "default_database"."orders" LIMIT 10000
;

-- [15] field values: distinct values of a category column (orders.note)
-- source: metabase/metabase src/metabase/driver/common/table_rows_sample.clj@d2e38202356c5eaf912fcfce9dff5a3883e0db33
-- note: an MBQL breakout query compiled by Metabase's SQL compiler; rendering approximate
SELECT "default_database"."orders"."note" AS "note" FROM "default_database"."orders" GROUP BY "default_database"."orders"."note" ORDER BY "default_database"."orders"."note" ASC LIMIT 1000
;

