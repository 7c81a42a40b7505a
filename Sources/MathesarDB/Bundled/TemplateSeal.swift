import MathesarInit
import PostgresClient

/// `__seal-template`, the end of `prepare`: the template's role loses the
/// one-time password its migrate command used. A NULL password can never
/// authenticate (scram-sha-256 and md5 both fail for it), and the only other
/// way in is the bootstrap superuser over the 0700 socket; the first boot
/// sets the configured password in its reconcile. Then the migration
/// fingerprint that goes into the manifest.
enum TemplateSeal {
    static func run(_ server: InternalServer, logger: Logger) -> Int32 {
        let role = server.config.database.user
        do {
            let connection = try PostgresConnection.connect(server.adminParameters())
            try connection.execute("SET log_statement = 'none'; ALTER ROLE \(PostgresConnection.quoteIdentifier(role)) PASSWORD NULL")
            logger.info("role \(role) has no password in the template (the first boot sets it)")
        } catch {
            logger.error("sealing the template's role \(role) failed: \(error)")
            return ExitCode.databaseUnavailable
        }
        return MigrationState.report(server, logger: logger)
    }
}
