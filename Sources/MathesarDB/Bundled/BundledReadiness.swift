import MathesarInit
import PostgresClient

/// `__bundled-ready`: waits until the bundled server accepts connections on
/// its socket, then makes the role, its password and the internal database
/// match the configuration, on every boot (so a changed POSTGRES_PASSWORD
/// takes effect, unlike the official image, which ignores it after initdb).
struct BundledReadiness {
    let server: InternalServer
    let logger: Logger

    func run() -> Int32 {
        let admin = server.adminParameters()
        // 4096 PBKDF2 rounds, done while the server is still starting.
        guard let password = PreparedPassword.prepare(password: server.password ?? "", secretsDirectory: server.config.secretsDirectory) else {
            logger.error("cannot compute the SCRAM verifier of POSTGRES_PASSWORD (OpenSSL failed)")
            return ExitCode.internalError
        }
        waitForPidFileReady()
        // The pid file said ready, so the first connection normally succeeds; a
        // ping loop covers the rest (a server that restarted, an old pid file).
        let connection = try? PostgresConnection.connect(admin)
        if connection == nil {
            let outcome = Waiter(maxDelay: 0.1).wait(for: admin, timeout: nil) { result, elapsed in
                let state = result == .rejecting ? "starting up or recovering" : "not answering yet"
                logger.info("waiting for the bundled PostgreSQL: \(state) (\(Int(elapsed)) s)")
            }
            guard outcome == .ready else {
                logger.error("cannot reach the bundled PostgreSQL on \(server.socketDirectory ?? "?"): invalid connection parameters")
                return ExitCode.databaseUnavailable
            }
        }
        var internalDB: PostgresConnection?
        do {
            let connection = try connection ?? PostgresConnection.connect(admin)
            let notes = try RoleReconciler(connection: connection, logger: logger).reconcile(
                role: server.config.database.user, password: password, database: server.config.database.name)
            password.persist(secretsDirectory: server.config.secretsDirectory)
            for note in notes { logger.info(note) }
            // One connection per database for the rest of the helper's work (a backend
            // start costs several ms on a warm boot): the reconcile's to the admin database,
            // one to the internal database (the reconcile made sure it exists) for its
            // collation check and its migration state.
            let name = server.config.database.name
            internalDB = try? PostgresConnection.connect(server.adminParameters(database: name))
            CollationSurvey.atBoot(server: server, logger: logger,
                                   open: ["postgres": connection].merging(internalDB.map { [name: $0] } ?? [:]) { a, _ in a })
        } catch {
            logger.error("reconciling the role and database on the bundled PostgreSQL failed: \(error)")
            return ExitCode.databaseUnavailable
        }
        return MigrationState.wanted(server) ? MigrationState.report(server, logger: logger, open: internalDB) : 0
    }

    /// `__server-ready`: the wait alone, for a server that is not the app's yet (restore).
    func waitUntilReady() -> Int32 {
        waitForPidFileReady()
        let admin = server.adminParameters()
        let outcome = Waiter(maxDelay: 0.1).wait(for: admin, timeout: 600) { _, _ in }
        guard outcome == .ready else {
            logger.error("the PostgreSQL server on \(server.config.pgdata) did not accept connections")
            return ExitCode.databaseUnavailable
        }
        return 0
    }

    /// The postmaster writes "ready" into postmaster.pid once it accepts
    /// connections (pg_ctl -w reads the same). Waiting for that, rather than
    /// pinging, keeps the server from logging "FATAL: the database system is
    /// starting up" at every boot; inotify wakes this at once when the file
    /// changes, so no backoff overshoots the ~30 ms of a warm start.
    private func waitForPidFileReady() {
        let directory = server.config.pgdata
        let path = directory + "/postmaster.pid"
        let expectedPID = server.environment[DatabaseHelper.Variable.postmasterPID]
        let watch = FileWatch(directory: directory)
        let start = Instant.now()
        var nextProgress = 5.0
        while Instant.now().seconds(since: start) < 3600 {
            if let text = readTextFile(path) {
                let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
                let ours = expectedPID == nil || lines.first.map(String.init) == expectedPID
                if ours, lines.count >= 8, lines[7].hasPrefix("ready") { return }
            }
            let elapsed = Instant.now().seconds(since: start)
            if elapsed >= nextProgress {
                logger.info("waiting for the bundled PostgreSQL to finish starting (\(Int(elapsed)) s; crash recovery can take a while)")
                nextProgress += 10
            }
            watch.waitForChange(atMost: 0.1)
        }
    }
}
