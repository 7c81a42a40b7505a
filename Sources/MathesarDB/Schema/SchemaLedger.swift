import MathesarInit
import PostgresClient

/// The table in each target database that records which files of the schema
/// bundle were applied. A database "has the Mathesar schema installed" when
/// it has this table.
///
/// It lives in its own schema, `mathesar_init`, rather than in `public` or in
/// the bundle's `msar`:
/// - `uninstall.sql` typically ends with `DROP SCHEMA msar CASCADE`; the
///   ledger must not go with it before the uninstall is complete, and the
///   bundle's files must be free to create, rename or drop anything in
///   their own schemas without touching it;
/// - `public` is user territory: Mathesar shows its tables as the user's
///   data, users may drop the schema, and since PostgreSQL 15 only its owner
///   may create in it;
/// - a dedicated schema makes the ownership obvious to a DBA reading `\dn`,
///   and `schema uninstall` drops it again when nothing else is in it.
enum SchemaLedger {
    static let schemaName = "mathesar_init"
    static let tableName = "schema_ledger"
    static let qualifiedName = "\(schemaName).\(tableName)"

    struct Entry: Equatable {
        var version: Int
        var name: String
        var checksum: String
        /// As the server prints a timestamptz.
        var appliedAt: String
        var durationMs: Int
    }

    static let createSQL = """
        CREATE SCHEMA IF NOT EXISTS \(schemaName);
        COMMENT ON SCHEMA \(schemaName) IS 'mathesar-init: the ledger of the Mathesar SQL schema bundle';
        CREATE TABLE IF NOT EXISTS \(qualifiedName) (
            version integer PRIMARY KEY CHECK (version > 0),
            name text NOT NULL,
            checksum text NOT NULL CHECK (checksum ~ '^[0-9a-f]{64}$'),
            applied_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            duration_ms integer NOT NULL CHECK (duration_ms >= 0)
        );
        COMMENT ON TABLE \(qualifiedName) IS 'Files of the Mathesar SQL schema bundle applied to this database (MATHESAR_SCHEMA_DIR); written by mathesar-init, removed by mathesar-init schema uninstall';
        """

    /// Drops the table, and its schema when nothing else was put in it.
    static let dropSQL = """
        DROP TABLE \(qualifiedName);
        DO $mathesar_init$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend
                           WHERE refclassid = 'pg_catalog.pg_namespace'::regclass
                             AND refobjid = '\(schemaName)'::regnamespace) THEN
                DROP SCHEMA \(schemaName);
            END IF;
        END
        $mathesar_init$;
        """

    static func exists(_ connection: PostgresConnection) throws(PostgresError) -> Bool {
        try connection.query("SELECT pg_catalog.to_regclass($1) IS NOT NULL", [qualifiedName]).first?.first == "t"
    }

    static func create(_ connection: PostgresConnection) throws(PostgresError) {
        try connection.execute(createSQL)
    }

    static func read(_ connection: PostgresConnection) throws(PostgresError) -> [Entry] {
        let rows = try connection.query("""
            SELECT version, name, checksum, date_trunc('second', applied_at), duration_ms FROM \(qualifiedName) ORDER BY version
            """)
        return rows.map { row in
            Entry(version: Int(row[0] ?? "") ?? 0, name: row[1] ?? "", checksum: row[2] ?? "",
                  appliedAt: row[3] ?? "", durationMs: Int(row[4] ?? "") ?? 0)
        }
    }

    static func record(_ file: SchemaBundle.File, durationMs: Int, on connection: PostgresConnection) throws(PostgresError) {
        try connection.query("""
            INSERT INTO \(qualifiedName) (version, name, checksum, duration_ms) VALUES ($1, $2, $3, $4)
            """, [String(file.version), file.name, file.checksum, String(durationMs)])
    }
}
