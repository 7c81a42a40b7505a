import MathesarInit
import PostgresClient

/// One database the schema is managed in: its connection, and the label
/// every message names it by (the database name, or the URL without its
/// password).
final class SchemaDatabase {
    let label: String
    let connection: PostgresConnection
    /// The file being applied; notices it raises are relayed with its name.
    var currentFile: String?

    private init(label: String, connection: PostgresConnection, logger: Logger) {
        self.label = label
        self.connection = connection
        connection.onNotice { [weak self] severity, message in
            guard let self, let file = self.currentFile else { return }  // our own IF NOT EXISTS chatter
            let line = "schema: \(self.label) \(file): \(severity): \(message)"
            if severity == "WARNING" { logger.warning(line) } else { logger.info(line) }
        }
    }

    /// A `--database` / `MATHESAR_SCHEMA_DATABASES` entry: a database on the
    /// internal server, or a libpq URL.
    static func open(entry: String, server: InternalServer, logger: Logger) -> Result<SchemaDatabase, Failure> {
        let (parameters, expandURL) = server.parameters(forTarget: entry)
        let isName = !SchemaTarget.isURL(entry)
        return open(label: SchemaTarget.redacted(entry), parameters: parameters, expandURL: expandURL,
                    server: server, actAsAppRole: isName, logger: logger)
    }

    static func open(label: String, parameters: ConnectionParameters, expandURL: Bool, server: InternalServer,
                     actAsAppRole: Bool, logger: Logger) -> Result<SchemaDatabase, Failure> {
        let connection: PostgresConnection
        do {
            connection = try PostgresConnection.connect(parameters, expandDatabaseURL: expandURL)
        } catch {
            return .failure(connectFailure(label: label, error: error, server: server, isURL: expandURL))
        }
        let database = SchemaDatabase(label: label, connection: connection, logger: logger)
        if actAsAppRole && server.mode == .bundled {
            // On the bundled server the helper connects as the bootstrap superuser;
            // the schema's objects should belong to the role Mathesar connects as,
            // as if Mathesar had installed them itself.
            do {
                let role = server.config.database.user
                if try connection.query("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1", [role]).count == 1 {
                    try connection.execute("SET ROLE \(PostgresConnection.quoteIdentifier(role))")
                }
            } catch {
                return .failure(Failure(ExitCode.databaseUnavailable, "schema: database \(label): cannot act as role \(server.config.database.user): \(error)"))
            }
        }
        return .success(database)
    }

    static func connectFailure(label: String, error: PostgresError, server: InternalServer, isURL: Bool) -> Failure {
        var message = "schema: cannot connect to database \(label)"
        if !isURL { message += " on \(server.location)" }
        message += ": \(error.message)"
        if error.sqlState == "3D000" {
            message += "; create it first, or correct the name (--database, MATHESAR_SCHEMA_DATABASES)"
        } else if error.isAuthentication {
            message += isURL ? "; check the user and password in the URL" : "; check POSTGRES_USER and POSTGRES_PASSWORD"
        } else if !isURL && server.mode == .bundled {
            message += "; the bundled PostgreSQL runs only while mathesar-init runs: run this inside the running container (docker exec)"
        }
        return Failure(ExitCode.databaseUnavailable, message)
    }
}
