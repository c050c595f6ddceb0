// pgjdbc client driven by record.sh. Usage: java -cp postgresql.jar JdbcClient.java PORT
// [--metadata]
// `SELECT 'EDDY-MARK: ...'` statements only label the server log; extract.py drops them.
import java.sql.*;

public class JdbcClient {
    static Connection conn;

    static void mark(String label) throws SQLException {
        try (Statement st = conn.createStatement()) {
            st.execute("SELECT 'EDDY-MARK: " + label.replace("'", "''") + "'");
        }
        System.out.println("== " + label);
    }

    static void dump(ResultSet rs, String... cols) throws SQLException {
        try (rs) {
            ResultSetMetaData md = rs.getMetaData();
            if (cols.length == 0) {
                cols = new String[md.getColumnCount()];
                for (int i = 0; i < cols.length; i++) cols[i] = md.getColumnLabel(i + 1);
            }
            System.out.println(String.join("|", cols));
            while (rs.next()) {
                StringBuilder sb = new StringBuilder();
                for (int i = 0; i < cols.length; i++) {
                    if (i > 0) sb.append('|');
                    String v = rs.getString(cols[i]);
                    sb.append(v == null ? "<NULL>" : v.replace("\n", "\\n"));
                }
                System.out.println(sb);
            }
        }
    }

    public static void main(String[] args) throws Exception {
        String url = "jdbc:postgresql://127.0.0.1:" + args[0] + "/eddy?user=eddy";
        conn = DriverManager.getConnection(url);
        DatabaseMetaData md = conn.getMetaData();
        System.out.println("driver " + md.getDriverName() + " " + md.getDriverVersion()
                + "; server " + md.getDatabaseProductName() + " " + md.getDatabaseProductVersion());
        mark("getTables(null, null, \"%\", {TABLE, VIEW, MATERIALIZED VIEW})");
        dump(md.getTables(null, null, "%", new String[]{"TABLE", "VIEW", "MATERIALIZED VIEW"}),
                "TABLE_CAT", "TABLE_SCHEM", "TABLE_NAME", "TABLE_TYPE", "REMARKS");
        mark("getColumns(null, null, \"orders\", \"%\")");
        dump(md.getColumns(null, null, "orders", "%"),
                "TABLE_SCHEM", "TABLE_NAME", "COLUMN_NAME", "DATA_TYPE", "TYPE_NAME", "COLUMN_SIZE",
                "DECIMAL_DIGITS", "NULLABLE", "IS_NULLABLE", "COLUMN_DEF", "ORDINAL_POSITION", "IS_AUTOINCREMENT");
        mark("getPrimaryKeys(null, null, \"orders\")");
        dump(md.getPrimaryKeys(null, null, "orders"));
        mark("getSchemas()");
        dump(md.getSchemas());
        mark("getCatalogs()");
        dump(md.getCatalogs());
        mark("getTableTypes()");
        dump(md.getTableTypes());
        mark("getIndexInfo(null, null, \"orders\", false, true)");
        dump(md.getIndexInfo(null, null, "orders", false, true),
                "TABLE_SCHEM", "TABLE_NAME", "NON_UNIQUE", "INDEX_NAME", "TYPE", "ORDINAL_POSITION", "COLUMN_NAME");
        mark("getImportedKeys(null, null, \"orders\")");
        dump(md.getImportedKeys(null, null, "orders"));
        // tests/pg_catalog.rs compares DatabaseMetaData only: the rows of the recorded
        // table live in PostgreSQL.
        if (args.length > 1 && args[1].equals("--metadata")) return;
        mark("SELECT * FROM orders + ResultSetMetaData");
        try (Statement st = conn.createStatement();
             ResultSet rs = st.executeQuery("SELECT * FROM default_database.orders ORDER BY id")) {
            ResultSetMetaData rmd = rs.getMetaData();
            System.out.println("label|getColumnType|getColumnTypeName|getColumnClassName|getPrecision|getScale");
            for (int i = 1; i <= rmd.getColumnCount(); i++) {
                System.out.println(rmd.getColumnLabel(i) + "|" + rmd.getColumnType(i) + "|" + rmd.getColumnTypeName(i)
                        + "|" + rmd.getColumnClassName(i) + "|" + rmd.getPrecision(i) + "|" + rmd.getScale(i));
            }
            mark("ResultSetMetaData.isNullable/getTableName/getSchemaName/isAutoIncrement");
            System.out.println("label|isNullable|getTableName|getSchemaName|isAutoIncrement");
            for (int i = 1; i <= rmd.getColumnCount(); i++) {
                System.out.println(rmd.getColumnLabel(i) + "|" + rmd.isNullable(i) + "|" + rmd.getTableName(i)
                        + "|" + rmd.getSchemaName(i) + "|" + rmd.isAutoIncrement(i));
            }
        }
        mark("PreparedStatement executed 6 times (prepareThreshold=5)");
        try (PreparedStatement ps = conn.prepareStatement("SELECT id, price FROM default_database.orders WHERE id = ?")) {
            for (int i = 0; i < 6; i++) {
                ps.setLong(1, 1);
                try (ResultSet rs = ps.executeQuery()) { while (rs.next()) { } }
            }
        }
        System.out.println("ok");
        conn.close();
    }
}
