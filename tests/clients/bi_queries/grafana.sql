-- grafana: the SQL that Grafana's PostgreSQL data source (grafana-postgresql-datasource)
-- sends to PostgreSQL, taken from its source code (the tool cannot be installed here).
-- Parameters are replaced by the values the tool would bind for database eddy, schema
-- default_database, table orders. Hand-written from the sources named in each entry;
-- record.sh only writes grafana.expected. Each entry: '-- [n] <what the tool does>',
-- '-- source: <repo path>@<commit>', optional '-- note:' lines, the statement, then a
-- line holding only ';'. Split the file at lines equal to ';' and drop leading '-- ' lines.

-- [1] data source settings: detect the server version (useAutoDetectFeatures -> getVersion)
-- source: grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts@12f912ab8d010f4d95a4043a0efaa20fc4ca0100
SELECT current_setting('server_version_num')::int/100 as version
;

-- [2] data source settings: detect TimescaleDB (getTimescaleDBVersion)
-- source: grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts@12f912ab8d010f4d95a4043a0efaa20fc4ca0100
SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'
;

-- [3] query builder / code editor: table list (fetchTables -> showTables())
-- source: grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts@12f912ab8d010f4d95a4043a0efaa20fc4ca0100
SELECT
    CASE WHEN 
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )
      THEN quote_ident(table_name)
      ELSE quote_ident(table_schema) || '.' || quote_ident(table_name)
    END AS "table"
    FROM information_schema.tables
    WHERE quote_ident(table_schema) NOT IN ('information_schema',
                             'pg_catalog',
                             '_timescaledb_cache',
                             '_timescaledb_catalog',
                             '_timescaledb_internal',
                             '_timescaledb_config',
                             'timescaledb_information',
                             'timescaledb_experimental')
    ORDER BY CASE WHEN 
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          ) THEN 0 ELSE 1 END, 1
;

-- [4] query builder: columns of table orders (fetchFields -> getSchema('orders'))
-- source: grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts@12f912ab8d010f4d95a4043a0efaa20fc4ca0100
-- note: the type column feeds getFieldConfig (sqlUtil.ts), which expects PostgreSQL data_type names
SELECT quote_ident(column_name) AS "column", data_type AS "type"
    FROM information_schema.columns
    WHERE
      CASE WHEN array_length(parse_ident('orders'),1) = 2
        THEN quote_ident(table_schema) = (parse_ident('orders'))[1]
          AND quote_ident(table_name) = (parse_ident('orders'))[2]
        ELSE quote_ident(table_name) = 'orders'
          AND 
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )
      END
;

-- [5] query builder: columns of a schema-qualified table (getSchema('default_database.orders'))
-- source: grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts@12f912ab8d010f4d95a4043a0efaa20fc4ca0100
SELECT quote_ident(column_name) AS "column", data_type AS "type"
    FROM information_schema.columns
    WHERE
      CASE WHEN array_length(parse_ident('default_database.orders'),1) = 2
        THEN quote_ident(table_schema) = (parse_ident('default_database.orders'))[1]
          AND quote_ident(table_name) = (parse_ident('default_database.orders'))[2]
        ELSE quote_ident(table_name) = 'default_database.orders'
          AND 
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )
      END
;

-- [6] query builder, dataset picker (newer versions): schema list (showSchemas())
-- source: grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts@12f912ab8d010f4d95a4043a0efaa20fc4ca0100
SELECT schema_name AS "name"
    FROM information_schema.schemata
    WHERE schema_name NOT IN ('information_schema',
                              'pg_catalog',
                              'pg_toast',
                              '_timescaledb_cache',
                              '_timescaledb_catalog',
                              '_timescaledb_internal',
                              '_timescaledb_config',
                              'timescaledb_information',
                              'timescaledb_experimental')
    ORDER BY schema_name
;

-- [7] query builder, dataset picker (newer versions): tables of a schema (showTables('default_database'))
-- source: grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts@12f912ab8d010f4d95a4043a0efaa20fc4ca0100
SELECT quote_ident(table_name) AS "table"
      FROM information_schema.tables
      WHERE quote_ident(table_schema) = 'default_database'
      ORDER BY 1
;

-- [8] SQL schemas API (schemads): schema list (querySchemas)
-- source: grafana/grafana pkg/tsdb/grafana-postgresql-datasource/schema.go@043dd88a47944c35205994c4da317e100dc9b12e
SELECT schema_name FROM information_schema.schemata
		 WHERE schema_name NOT LIKE 'pg_%' AND schema_name != 'information_schema'
		 ORDER BY schema_name
;

-- [9] SQL schemas API (schemads): tables of a schema (queryTables)
-- source: grafana/grafana pkg/tsdb/grafana-postgresql-datasource/schema.go@043dd88a47944c35205994c4da317e100dc9b12e
-- note: $1 = 'default_database' (pgx extended protocol)
SELECT table_name FROM information_schema.tables
		 WHERE table_schema = 'default_database' AND table_type IN ('BASE TABLE', 'VIEW')
		 ORDER BY table_name
;

-- [10] SQL schemas API (schemads): columns of a table (queryColumns)
-- source: grafana/grafana pkg/tsdb/grafana-postgresql-datasource/schema.go@043dd88a47944c35205994c4da317e100dc9b12e
-- note: $1 = 'default_database', $2 = 'orders'; udt_name drives postgresTypeToSchemaType
SELECT column_name, data_type, udt_name, numeric_precision, numeric_scale
		 FROM information_schema.columns
		 WHERE table_schema = 'default_database' AND table_name = 'orders'
		 ORDER BY ordinal_position
;

-- [11] SQL schemas API (schemads): distinct values of columns note and qty (ColumnValues)
-- source: grafana/grafana pkg/tsdb/grafana-postgresql-datasource/schema.go@043dd88a47944c35205994c4da317e100dc9b12e
SELECT 'note' AS col_name, "note"::text AS val FROM (SELECT DISTINCT "note" FROM "default_database"."orders" WHERE "note" IS NOT NULL ORDER BY "note" LIMIT 100) sub_0 UNION ALL SELECT 'qty' AS col_name, "qty"::text AS val FROM (SELECT DISTINCT "qty" FROM "default_database"."orders" WHERE "qty" IS NOT NULL ORDER BY "qty" LIMIT 100) sub_1
;

-- [12] query builder: preview of table orders with columns id, price (toRawSql, default limit 50)
-- source: grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/sqlUtil.ts@1137a659434e2505dbdaa92c641d08041f2a7a93
-- note: the SELECT clause comes from @grafana/sql createSelectClause; the builder sends it as the panel's rawSql
SELECT id, price FROM orders LIMIT 50
;

