import MathesarInit
import PostgresClient

/// `__external-ready`: waits for the external server until
/// `MATHESAR_DB_WAIT_TIMEOUT`, then proves the configured role can use the
/// internal database: SUPERUSER or owner (Mathesar's requirement).
struct ExternalReadiness {
    let server: InternalServer
    let logger: Logger

    func run() -> Int32 {
        switch ExternalDatabaseCheck(server: server).run(waitTimeout: server.config.databaseWaitTimeout, progress: { logger.info($0) }) {
        case .success(let notes):
            for note in notes { logger.info(note) }
            CollationSurvey.internalOnly(server: server, logger: logger)
            return MigrationState.wanted(server) ? MigrationState.report(server, logger: logger) : 0
        case .failure(let failure):
            logger.error(failure.message)
            return failure.code
        }
    }
}

/// The external server's checks, shared by boot and `check`.
struct ExternalDatabaseCheck {
    let server: InternalServer

    var db: DatabaseSettings { server.config.database }

    func run(waitTimeout: Double, progress: (String) -> Void) -> Result<[String], Failure> {
        let params = server.appParameters()
        let where_ = "\(db.host!):\(db.port)"
        // The first progress line comes after a second, so that even a short MATHESAR_DB_WAIT_TIMEOUT says why it waits.
        let outcome = Waiter(maxDelay: 1, firstProgress: 1).wait(for: params, timeout: waitTimeout) { result, elapsed in
            let state = result == .rejecting ? "it answers but rejects connections (starting up?)" : "no answer yet"
            let why = lastError(params)
            progress("waiting for PostgreSQL at \(where_) (POSTGRES_HOST, POSTGRES_PORT): \(state)\(why.map { " (last error: \($0))" } ?? ""); \(Int(elapsed)) s of \(Int(waitTimeout)) s (MATHESAR_DB_WAIT_TIMEOUT)\(loopbackHint(why).map { ". " + $0 } ?? "")")
        }
        switch outcome {
        case .ready: break
        case .invalidParameters:
            return .failure(Failure(ExitCode.configuration, "PostgreSQL connection settings for \(where_) are invalid (POSTGRES_HOST, POSTGRES_PORT, POSTGRES_SSLMODE)"))
        case .timedOut(let last):
            var state = last == .rejecting ? "it answered but kept rejecting connections" : "it never answered"
            // PQping says only "no response"; a connection attempt says why (refused, DNS, TLS ...).
            let why = lastError(params)
            if let why { state += " (last error: \(why))" }
            let advice = loopbackHint(why) ?? "Check POSTGRES_HOST and POSTGRES_PORT, that the server runs and that this container can reach it, or raise MATHESAR_DB_WAIT_TIMEOUT"
            return .failure(Failure(ExitCode.databaseUnavailable, "PostgreSQL at \(where_) was not ready within \(Int(waitTimeout)) s (MATHESAR_DB_WAIT_TIMEOUT): \(state). \(advice)"))
        }
        do {
            let connection = try PostgresConnection.connect(params)
            return privileges(connection)
        } catch {
            return connectFailed(error)
        }
    }

    /// Why a connection fails now, as one line (libpq's message spans several), or nil when it succeeds.
    private func lastError(_ params: ConnectionParameters) -> String? {
        do {
            _ = try PostgresConnection.connect(params)
            return nil
        } catch {
            return error.message.split(whereSeparator: { $0 == "\n" }).map { String($0.drop { $0 == " " || $0 == "\t" }) }
                .filter { !$0.isEmpty }.joined(separator: "; ")
        }
    }

    /// For a loopback POSTGRES_HOST where nothing listens: inside a container
    /// that is the container itself, not the machine it runs on.
    func loopbackHint(_ error: String?) -> String? {
        guard let host = db.host, ExternalDatabaseCheck.isLoopback(host),
              let error, error.contains("Connection refused") || error.contains("Cannot assign requested address") else { return nil }
        let inContainer = FileIO.exists("/.dockerenv") || FileIO.exists("/run/.containerenv")
        return "Nothing listens on \(host):\(db.port) \(inContainer ? "in this container" : "here")"
            + (inContainer ? ", and inside a container " : "; if this runs in a container, note that inside it ")
            + "\(host) is the container itself, not the machine it runs on. Set POSTGRES_HOST to where the database runs: "
            + "the host machine's name or address (host.docker.internal with Docker Desktop; on Linux add --add-host=host.docker.internal:host-gateway), "
            + "or the database's service name in a compose file (e.g. POSTGRES_HOST=db); or unset POSTGRES_HOST to use the bundled PostgreSQL"
    }

    static func isLoopback(_ host: String) -> Bool {
        let h = host.lowercased()
        return h == "localhost" || h.hasSuffix(".localhost") || h == "::1" || h == "[::1]" || h.hasPrefix("127.")
    }

    private func connectFailed(_ error: PostgresError) -> Result<[String], Failure> {
        let where_ = "\(db.host!):\(db.port)"
        if error.sqlState == "28P01" || error.sqlState == "28000" {
            return .failure(Failure(ExitCode.databaseUnavailable, "PostgreSQL at \(where_) refused role \(db.user): \(error.message). Check POSTGRES_USER and POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE)"))
        }
        if error.sqlState == "3D000" {
            return createMissingDatabase()
        }
        return .failure(Failure(ExitCode.databaseUnavailable, "cannot connect to PostgreSQL at \(where_) as \(db.user) (POSTGRES_SSLMODE=\(db.sslMode)): \(error.message)"))
    }

    /// The database does not exist: create it when the role may, else say how.
    private func createMissingDatabase() -> Result<[String], Failure> {
        let fix = "CREATE DATABASE \(PostgresConnection.quoteIdentifier(db.name)) OWNER \(PostgresConnection.quoteIdentifier(db.user));"
        do {
            let connection = try PostgresConnection.connect(server.appParameters(database: "postgres"))
            let rows = try connection.query("SELECT rolsuper OR rolcreatedb FROM pg_roles WHERE rolname = current_user")
            guard rows.first?.first == "t" else {
                return .failure(Failure(ExitCode.databaseUnavailable, "database \(db.name) (POSTGRES_DB) does not exist on \(db.host!):\(db.port) and role \(db.user) may not create it. As a superuser, run: \(fix)"))
            }
            try connection.execute("CREATE DATABASE \(PostgresConnection.quoteIdentifier(db.name))")
            let created = try PostgresConnection.connect(server.appParameters())
            return privileges(created).map { ["created database \(db.name) on \(db.host!):\(db.port)"] + $0 }
        } catch {
            return .failure(Failure(ExitCode.databaseUnavailable, "database \(db.name) (POSTGRES_DB) does not exist on \(db.host!):\(db.port) and could not be created (\(error.message)). As a superuser, run: \(fix)"))
        }
    }

    /// SUPERUSER or owner of the database, as Mathesar requires.
    private func privileges(_ connection: PostgresConnection) -> Result<[String], Failure> {
        do {
            let rows = try connection.query("""
                SELECT r.rolsuper, d.datdba = r.oid, pg_catalog.pg_get_userbyid(d.datdba)
                FROM pg_catalog.pg_roles r, pg_catalog.pg_database d
                WHERE r.rolname = current_user AND d.datname = current_database()
                """)
            guard let row = rows.first else {
                return .failure(Failure(ExitCode.databaseUnavailable, "cannot read role \(db.user)'s attributes on \(db.host!):\(db.port)"))
            }
            if row[0] == "t" { return .success(["role \(db.user) is SUPERUSER on \(db.host!):\(db.port)"]) }
            if row[1] == "t" { return .success(["role \(db.user) owns database \(db.name) on \(db.host!):\(db.port)"]) }
            let fix = "ALTER DATABASE \(PostgresConnection.quoteIdentifier(db.name)) OWNER TO \(PostgresConnection.quoteIdentifier(db.user));"
            return .failure(Failure(ExitCode.databaseUnavailable, "role \(db.user) is neither SUPERUSER nor the owner of database \(db.name) (owned by \(row[2] ?? "?")) on \(db.host!):\(db.port); Mathesar needs one of the two. As a superuser or the current owner, run: \(fix)"))
        } catch {
            return .failure(Failure(ExitCode.databaseUnavailable, "checking role \(db.user)'s privileges failed: \(error)"))
        }
    }
}
