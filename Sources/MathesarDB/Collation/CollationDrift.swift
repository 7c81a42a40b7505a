import MathesarInit
import PostgresClient

/// What a change of the C library (or ICU) under a database did to it: the
/// database's recorded collation version against the one the library now
/// provides, and the same for each collation an index uses. An index over
/// text sorted by the old rules can silently miss rows until it is rebuilt
/// (glibc 2.28 and later changed the order of many strings; an image moving
/// from Debian bookworm to trixie moves from glibc 2.36 to 2.41).
struct CollationDrift: Equatable {
    struct Changed: Equatable {
        var name: String
        var recorded: String
        var actual: String
    }

    var database: String
    /// The database's default collation (PostgreSQL 15 and later record it).
    var databaseVersion: Changed?
    var collations: [Changed]
    /// Indexes (schema.name) that sort by a changed collation.
    var indexes: [String]

    var isEmpty: Bool { databaseVersion == nil && collations.isEmpty }

    /// The drift in the database `connection` is connected to, or nil when there is none.
    static func inspect(_ connection: PostgresConnection, database: String) throws(PostgresError) -> CollationDrift? {
        let version = Int(try connection.query("SELECT current_setting('server_version_num')").first?[0] ?? "0") ?? 0
        var drift = CollationDrift(database: database, databaseVersion: nil, collations: [], indexes: [])
        if version >= 150000 {
            let rows = try connection.query("""
                SELECT datcollversion, pg_catalog.pg_database_collation_actual_version(oid)
                FROM pg_catalog.pg_database WHERE datname = current_database()
                """)
            if let row = rows.first, let recorded = row[0], let actual = row[1], recorded != actual {
                drift.databaseVersion = Changed(name: database, recorded: recorded, actual: actual)
            }
        }
        // Only collations an index sorts by: a changed one nothing uses cannot return wrong results.
        // The used ones are found first and only they are asked for their version: with ICU a
        // cluster has ~800 versioned collations, and asking each (the planner evaluates the
        // version before an EXISTS filter) cost ~100 ms per database at every boot.
        let collations = try connection.query("""
            SELECT c.oid, pg_catalog.format('%I.%I', n.nspname, c.collname), c.collversion, v.actual
            FROM (SELECT DISTINCT u.oid FROM pg_catalog.pg_index i,
                    LATERAL pg_catalog.unnest(i.indcollation::pg_catalog.oid[]) AS u(oid) WHERE u.oid <> 0) used
            JOIN pg_catalog.pg_collation c ON c.oid = used.oid
            JOIN pg_catalog.pg_namespace n ON n.oid = c.collnamespace
            CROSS JOIN LATERAL (SELECT pg_catalog.pg_collation_actual_version(c.oid) AS actual) v
            WHERE c.collversion IS NOT NULL AND c.collversion IS DISTINCT FROM v.actual
            ORDER BY 2
            """)
        var oids: [String] = []
        for row in collations {
            guard let oid = row[0], let name = row[1], let recorded = row[2] else { continue }
            oids.append(oid)
            drift.collations.append(Changed(name: name, recorded: recorded, actual: row[3] ?? "none"))
        }
        if drift.databaseVersion != nil { oids.append("100") }  // the "default" collation: the database's own
        guard !drift.isEmpty else { return nil }
        drift.indexes = try connection.query("""
            SELECT DISTINCT pg_catalog.format('%I.%I', n.nspname, ic.relname)
            FROM pg_catalog.pg_index i
            JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
            JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace
            WHERE i.indcollation::pg_catalog.oid[] && $1::pg_catalog.oid[]
            ORDER BY 1
            """, ["{" + oids.joined(separator: ",") + "}"]).compactMap { $0[0] }
        return drift
    }

    /// Rebuilds the affected indexes, then records the versions the library
    /// provides now (only after the rebuild: the record says "sorted by these rules").
    func fix(_ connection: PostgresConnection) throws(PostgresError) -> String {
        for index in indexes { try connection.execute("REINDEX INDEX \(index)") }
        if databaseVersion != nil {
            try connection.execute("ALTER DATABASE \(PostgresConnection.quoteIdentifier(database)) REFRESH COLLATION VERSION")
        }
        for collation in collations { try connection.execute("ALTER COLLATION \(collation.name) REFRESH VERSION") }
        return "database \(database): rebuilt \(indexes.count) index\(indexes.count == 1 ? "" : "es") after a collation change (\(describe())); recorded the new version\(collations.count + (databaseVersion == nil ? 0 : 1) == 1 ? "" : "s")"
    }

    func describe() -> String {
        var parts: [String] = []
        if let d = databaseVersion { parts.append("its default collation: recorded version \(d.recorded), the library now provides \(d.actual)") }
        for c in collations { parts.append("collation \(c.name): recorded \(c.recorded), now \(c.actual)") }
        return parts.joined(separator: "; ")
    }

    /// The warning for a user database: what changed, what may be wrong, the fix.
    func warning() -> String {
        let shown = indexes.prefix(10).joined(separator: ", ") + (indexes.count > 10 ? " and \(indexes.count - 10) more" : "")
        let refresh = (databaseVersion != nil ? ["ALTER DATABASE \(PostgresConnection.quoteIdentifier(database)) REFRESH COLLATION VERSION;"] : [])
            + collations.map { "ALTER COLLATION \($0.name) REFRESH VERSION;" }
        let sql = "; or, connected to it in psql: " + (indexes.isEmpty ? "" : "REINDEX DATABASE \(PostgresConnection.quoteIdentifier(database)); then ")
            + refresh.joined(separator: " ")
        return "database \(database): collation changed under it (\(describe())); \(indexes.isEmpty ? "no index sorts by it" : "\(indexes.count) index\(indexes.count == 1 ? "" : "es") may return wrong results until rebuilt: \(shown)"). Fix: mathesar-init reindex --database \(database)\(sql)"
    }
}

/// The databases of a server to look at, each with a connection of its own.
enum CollationSurvey {
    /// The server warns about a mismatch on every connection; ours says it
    /// once, with the fix, so its notices are not relayed.
    static func quiet(_ connection: PostgresConnection) -> PostgresConnection {
        connection.onNotice { _, _ in }
        return connection
    }

    /// Every database that accepts connections, drifted ones only.
    /// `open`: connections already open (boot's: the reconcile's to the admin
    /// database, one to the internal database), by database name, used instead
    /// of new ones: a backend start fewer each.
    static func drifted(server: InternalServer, logger: Logger, open: [String: PostgresConnection] = [:]) -> [CollationDrift] {
        var found: [CollationDrift] = []
        do {
            let adminDatabase = server.adminParameters().keywords.first { $0.0 == "dbname" }?.1 ?? "postgres"
            let admin = try open[adminDatabase] ?? PostgresConnection.connect(server.adminParameters())
            let names = try admin.query("SELECT datname FROM pg_catalog.pg_database WHERE datallowconn ORDER BY datname").compactMap { $0[0] }
            for name in names {
                do {
                    let connection = try quiet(name == adminDatabase ? admin : open[name] ?? PostgresConnection.connect(server.adminParameters(database: name)))
                    if let drift = try CollationDrift.inspect(connection, database: name) { found.append(drift) }
                } catch {
                    logger.warning("database \(name): cannot check its collation versions: \(error)")
                }
            }
        } catch {
            logger.warning("cannot check the collation versions: \(error)")
        }
        return found
    }

    /// At boot: the internal database is fixed (it is small, and nothing uses
    /// it yet); every other drifted database is reported with its fix.
    static func atBoot(server: InternalServer, logger: Logger, open: [String: PostgresConnection] = [:]) {
        let internalName = server.config.database.name
        for drift in drifted(server: server, logger: logger, open: open) {
            guard drift.database == internalName else {
                logger.warning(drift.warning())
                continue
            }
            do {
                let connection = try quiet(open[internalName] ?? PostgresConnection.connect(server.adminParameters(database: internalName)))
                logger.info(try drift.fix(connection))
            } catch {
                logger.warning(drift.warning() + " (rebuilding it at boot failed: \(error))")
            }
        }
    }

    /// External mode: only the internal database is ours to look at; fixed
    /// when the role may (it owns the database and the indexes), else reported.
    static func internalOnly(server: InternalServer, logger: Logger) {
        let name = server.config.database.name
        do {
            let connection = try quiet(PostgresConnection.connect(server.adminParameters(database: name)))
            guard let drift = try CollationDrift.inspect(connection, database: name) else { return }
            do {
                logger.info(try drift.fix(connection))
            } catch {
                logger.warning(drift.warning() + " (rebuilding it at boot failed: \(error); run the commands as the database's owner or a superuser)")
            }
        } catch {
            logger.warning("database \(name): cannot check its collation versions: \(error)")
        }
    }

    /// For `check`: one line per drifted database, or one saying there is none.
    static func report(server: InternalServer, logger: Logger, internalOnly: Bool) -> [(ok: Bool, text: String)] {
        let drifts: [CollationDrift]
        if internalOnly {
            let name = server.config.database.name
            guard let connection = try? quiet(PostgresConnection.connect(server.adminParameters(database: name))) else { return [] }
            drifts = (try? CollationDrift.inspect(connection, database: name)).flatMap { $0.map { [$0] } } ?? []
        } else {
            drifts = drifted(server: server, logger: logger)
        }
        if drifts.isEmpty { return [(true, "every database's recorded collation versions match the C library's")] }
        return drifts.map { drift in
            (true, "warning: " + drift.warning() + (drift.database == server.config.database.name ? " (the next boot does this by itself)" : ""))
        }
    }

    /// `reindex --database NAME`.
    static func reindex(server: InternalServer, database: String, logger: Logger) -> Int32 {
        do {
            let connection = try quiet(PostgresConnection.connect(server.adminParameters(database: database)))
            guard let drift = try CollationDrift.inspect(connection, database: database) else {
                logger.info("database \(database): its recorded collation versions match the C library's; nothing to rebuild")
                return 0
            }
            logger.info(try drift.fix(connection))
            return 0
        } catch {
            logger.error("reindex --database \(database) on \(server.location) failed: \(error)")
            return ExitCode.databaseUnavailable
        }
    }
}
