import MathesarInit
import PostgresClient

/// Makes the bundled server's role and internal database match the
/// configuration. Idempotent: every boot runs it.
struct RoleReconciler {
    let connection: PostgresConnection
    let logger: Logger

    /// Returns what it changed, for the log.
    func reconcile(role: String, password: String, database: String) throws(PostgresError) -> [String] {
        var notes: [String] = []
        // The statement that sets the password carries only its SCRAM verifier,
        // and is kept out of the server log even if it fails.
        // synchronous_commit off: every boot runs this again, so a change lost
        // in a crash right after is simply made again; boot need not wait for
        // the WAL flush of each statement.
        try connection.execute("SET log_statement = 'none'; SET log_min_error_statement = 'panic'; SET log_min_duration_statement = -1; SET synchronous_commit = off")
        let quotedRole = PostgresConnection.quoteIdentifier(role)
        if try connection.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role]).isEmpty {
            try connection.execute("CREATE ROLE \(quotedRole) LOGIN SUPERUSER")
            notes.append("created role \(role)")
        }
        // Set on every boot: the verifier is salted, so comparing would cost a
        // PBKDF2 run; setting it costs one catalog update.
        let verifier = try connection.scramVerifier(password: password, user: role)
        try connection.execute("ALTER ROLE \(quotedRole) WITH LOGIN SUPERUSER PASSWORD \(PostgresConnection.quoteLiteral(verifier))")
        let owner = try connection.query("SELECT pg_catalog.pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1", [database])
        if owner.isEmpty {
            try connection.execute("CREATE DATABASE \(PostgresConnection.quoteIdentifier(database)) OWNER \(quotedRole)")
            notes.append("created database \(database) owned by \(role)")
        } else if owner[0][0] != role {
            try connection.execute("ALTER DATABASE \(PostgresConnection.quoteIdentifier(database)) OWNER TO \(quotedRole)")
            notes.append("database \(database) now owned by \(role) (was \(owner[0][0] ?? "?"))")
        }
        return notes
    }
}
