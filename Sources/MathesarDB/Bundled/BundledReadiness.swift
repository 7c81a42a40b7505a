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
}
