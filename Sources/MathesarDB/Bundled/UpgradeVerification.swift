import MathesarInit
import PostgresClient

/// `__upgrade-verify`: after a major-version upgrade, the new server's first
/// check. Every database that accepts connections must answer a catalog
/// query (else exit 69: PID 1 keeps the old cluster and says how to go back);
/// then each extension whose installed version is older than the one the new
/// server ships is updated (`ALTER EXTENSION ... UPDATE`, as pg_upgrade's
/// update_extensions.sql would), a failure there being a warning only.
struct UpgradeVerification {
    let server: InternalServer
    let logger: Logger

    func run() -> Int32 {
        do {
            let admin = try PostgresConnection.connect(server.adminParameters())
            let databases = try admin.query("SELECT datname FROM pg_catalog.pg_database WHERE datallowconn ORDER BY datname").compactMap { $0[0] }
            var tables = 0
            for name in databases {
                let connection = try PostgresConnection.connect(server.adminParameters(database: name))
                let rows = try connection.query("""
                    SELECT count(*) FILTER (WHERE relkind IN ('r', 'p') AND relnamespace NOT IN
                           ('pg_catalog'::regnamespace, 'information_schema'::regnamespace, 'pg_toast'::regnamespace)),
                           count(*)
                    FROM pg_catalog.pg_class
                    """)
                tables += Int(rows.first?[0] ?? "0") ?? 0
                updateExtensions(connection, database: name)
            }
            logger.info("the upgraded server answers: \(databases.count) databases, \(tables) user tables")
            return 0
        } catch {
            logger.error("the upgraded server failed its check: \(error)")
            return ExitCode.databaseUnavailable
        }
    }

    private func updateExtensions(_ connection: PostgresConnection, database: String) {
        let outdated: [[String?]]
        do {
            outdated = try connection.query("""
                SELECT e.extname, e.extversion, a.default_version
                FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_available_extensions a ON a.name = e.extname
                WHERE a.default_version IS NOT NULL AND a.default_version <> e.extversion
                ORDER BY e.extname
                """)
        } catch {
            logger.warning("database \(database): cannot list extensions to update: \(error)")
            return
        }
        for row in outdated {
            guard let name = row[0] else { continue }
            do {
                try connection.execute("ALTER EXTENSION \(PostgresConnection.quoteIdentifier(name)) UPDATE")
                logger.info("database \(database): extension \(name) updated from \(row[1] ?? "?") to \(row[2] ?? "?")")
            } catch {
                logger.warning("database \(database): ALTER EXTENSION \(name) UPDATE failed: \(error); it keeps version \(row[1] ?? "?")")
            }
        }
    }
}
