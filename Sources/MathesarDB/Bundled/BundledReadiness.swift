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
        waitForPidFileReady()
        let outcome = Waiter(maxDelay: 0.1).wait(for: admin, timeout: nil) { result, elapsed in
            let state = result == .rejecting ? "starting up or recovering" : "not answering yet"
            logger.info("waiting for the bundled PostgreSQL: \(state) (\(Int(elapsed)) s)")
        }
        guard outcome == .ready else {
            logger.error("cannot reach the bundled PostgreSQL on \(server.socketDirectory ?? "?"): invalid connection parameters")
            return ExitCode.databaseUnavailable
        }
        do {
            let connection = try PostgresConnection.connect(admin)
            let notes = try RoleReconciler(connection: connection, logger: logger).reconcile(
                role: server.config.database.user, password: server.password ?? "", database: server.config.database.name)
            for note in notes { logger.info(note) }
            return 0
        } catch {
            logger.error("reconciling the role and database on the bundled PostgreSQL failed: \(error)")
            return ExitCode.databaseUnavailable
        }
    }

    /// The postmaster writes "ready" into postmaster.pid once it accepts
    /// connections (as pg_ctl -w reads it). Waiting for that first keeps
    /// pings from landing during startup, which the server would log as
    /// "FATAL: the database system is starting up" at every boot. A ping
    /// still confirms readiness afterwards.
    private func waitForPidFileReady() {
        let path = server.config.pgdata + "/postmaster.pid"
        let start = Instant.now()
        var delay = 0.002
        var nextProgress = 5.0
        while Instant.now().seconds(since: start) < 3600 {
            if let text = readTextFile(path) {
                let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
                if lines.count >= 8, lines[7].hasPrefix("ready") { return }
            }
            let elapsed = Instant.now().seconds(since: start)
            if elapsed >= nextProgress {
                logger.info("waiting for the bundled PostgreSQL to finish starting (\(Int(elapsed)) s; crash recovery can take a while)")
                nextProgress += 10
            }
            Waiter.pause(delay)
            delay = min(delay * 2, 0.05)
        }
    }
}
