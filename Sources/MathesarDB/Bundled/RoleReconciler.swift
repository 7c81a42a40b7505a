import Glibc
import MathesarInit
import PostgresClient

/// The app role's password as a SCRAM verifier, prepared before the server
/// is up. The verifier set at the last boot is kept in the volume (the same
/// secret-equivalent pg_authid holds in PGDATA); when it still matches the
/// password and pg_authid, boot changes nothing.
struct PreparedPassword {
    let verifier: String
    /// The verifier from the last boot still matches the password.
    let reused: Bool

    static func fileName(in secretsDirectory: String) -> String { secretsDirectory + "/postgres_password.scram" }

    static func prepare(password: String, secretsDirectory: String) -> PreparedPassword? {
        if let stored = readTextFile(fileName(in: secretsDirectory))?.split(separator: "\n").first.map(String.init),
           ScramVerifier.matches(stored, password: password) {
            return PreparedPassword(verifier: stored, reused: true)
        }
        return ScramVerifier.make(password: password).map { PreparedPassword(verifier: $0, reused: false) }
    }

    func persist(secretsDirectory: String) {
        guard !reused else { return }
        _ = AtomicFile.write(path: PreparedPassword.fileName(in: secretsDirectory), contents: Array((verifier + "\n").utf8),
                             mode: 0o600, durable: false)
    }
}

/// Makes the bundled server's role and internal database match the
/// configuration. Idempotent: every boot runs it; an unchanged setup costs
/// one query.
struct RoleReconciler {
    let connection: PostgresConnection
    let logger: Logger

    /// Returns what it changed, for the log.
    func reconcile(role: String, password: PreparedPassword, database: String) throws(PostgresError) -> [String] {
        var notes: [String] = []
        let state = try connection.query("""
            SELECT (SELECT rolpassword FROM pg_catalog.pg_authid WHERE rolname = $1),
                   (SELECT rolsuper AND rolcanlogin FROM pg_catalog.pg_roles WHERE rolname = $1),
                   (SELECT pg_catalog.pg_get_userbyid(datdba) FROM pg_catalog.pg_database WHERE datname = $2)
            """, [role, database])[0]
        let quotedRole = PostgresConnection.quoteIdentifier(role)
        // The password travels only as its verifier, and the statement is kept
        // out of the server log even if it fails. synchronous_commit off: a
        // change lost in a crash right after is made again at the next boot.
        var statements = ["SET log_statement = 'none'", "SET log_min_error_statement = 'panic'",
                          "SET log_min_duration_statement = -1", "SET synchronous_commit = off"]
        if state[1] == nil {
            statements.append("CREATE ROLE \(quotedRole) LOGIN SUPERUSER")
            notes.append("created role \(role)")
        }
        if state[1] != "t" || state[0] != password.verifier {
            statements.append("ALTER ROLE \(quotedRole) WITH LOGIN SUPERUSER PASSWORD \(PostgresConnection.quoteLiteral(password.verifier))")
            try connection.execute(statements.joined(separator: "; "))
        }
        switch state[2] {
        case nil:
            try connection.execute("CREATE DATABASE \(PostgresConnection.quoteIdentifier(database)) OWNER \(quotedRole)")
            notes.append("created database \(database) owned by \(role)")
        case let owner? where owner != role:
            try connection.execute("ALTER DATABASE \(PostgresConnection.quoteIdentifier(database)) OWNER TO \(quotedRole)")
            notes.append("database \(database) now owned by \(role) (was \(owner))")
        default:
            break
        }
        return notes
    }
}
