import MathesarInit
import PostgresClient

/// The internal database's side of `MATHESAR_MIGRATE=changed`: a fingerprint
/// of what the app's migrations left in it. It covers the database's and the
/// `django_migrations` table's oids (a restore, even of a dump of the same
/// version, recreates them) and every recorded migration, so that a database
/// restored from an older dump, or migrated by something else, never matches
/// the fingerprint recorded after the last successful run.
enum MigrationState {
    /// Asked for by PID 1 (`DatabaseHelper.Variable.migrationState`).
    static func wanted(_ server: InternalServer) -> Bool {
        server.environment[DatabaseHelper.Variable.migrationState] == "1"
    }

    static func read(_ connection: PostgresConnection) throws(PostgresError) -> (fingerprint: String, migrations: Int) {
        let ids = try connection.query("""
            SELECT (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())::text,
                   pg_catalog.to_regclass('django_migrations')::oid::text
            """)[0]
        var text = "database \(ids[0] ?? "-") table \(ids[1] ?? "-")\n"
        var count = 0
        if ids[1] != nil {
            for row in try connection.query("SELECT app, name FROM django_migrations ORDER BY app, name") {
                text += "\(row[0] ?? "")\t\(row[1] ?? "")\n"
                count += 1
            }
        }
        return (String(SHA256.hex(Array(text.utf8)).prefix(16)), count)
    }

    /// Connects to the internal database (bundled: as the bootstrap superuser
    /// over the private socket) and logs the line PID 1 reads.
    /// `open`: a connection to it already open (boot's), used instead of a new one.
    static func report(_ server: InternalServer, logger: Logger, open: PostgresConnection? = nil) -> Int32 {
        do {
            let connection = try open ?? PostgresConnection.connect(server.adminParameters(database: server.config.database.name))
            let state = try read(connection)
            logger.info(DatabaseHelper.migrationStateLine(database: server.config.database.name, migrations: state.migrations,
                                                          fingerprint: state.fingerprint))
            return 0
        } catch {
            logger.error("reading the migrations recorded in \(server.config.database.name) failed: \(error)")
            return ExitCode.databaseUnavailable
        }
    }
}
