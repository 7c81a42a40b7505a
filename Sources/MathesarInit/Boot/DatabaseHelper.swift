/// How PID 1 runs `mathesar-init-db`, the libpq helper, for one step of boot.
/// Keeping libpq out of PID 1 keeps its 22 shared libraries out of the
/// process that stays resident, and a slow query can never stall signal
/// handling or the draining of PostgreSQL's log pipe.
public struct DatabaseHelper {
    /// The reconcile's note when the bundled role's password changed at this
    /// boot; PID 1 looks for it, since the app's stored copy must follow.
    public static func passwordChangedNote(_ role: String) -> String { "changed the password of role \(role)" }

    public let path: String
    public let environment: [String: String]

    /// Internal commands of the helper binary.
    public enum Step: String {
        case bundledReady = "__bundled-ready"
        case externalReady = "__external-ready"
        /// After a major-version upgrade: a check query in every database, then extension updates.
        case upgradeVerify = "__upgrade-verify"
        /// Beside the app: warn when it answers 400 to the host names users will open.
        case hostsProbe = "__hosts-probe"
        /// Only wait until the server on PGDATA accepts connections (restore's private server).
        case serverReady = "__server-ready"
        /// `reindex --database NAME`: rebuild after a collation change (the database in `Variable.reindexDatabase`).
        case reindex = "__reindex"
    }

    /// Variables that tell the helper about the bundled server.
    public enum Variable {
        public static let socketDirectory = "MSI_SOCKET_DIR"
        /// The postmaster's pid, so that a postmaster.pid left by an earlier server is not taken for this one's.
        public static let postmasterPID = "MSI_POSTMASTER_PID"
        public static let reindexDatabase = "MSI_REINDEX_DATABASE"
    }

    /// The helper's environment is the user's configuration as given (so its
    /// loader reads the same mode, names and ports as PID 1's), with the
    /// resolved database password in place of a `_FILE` or a generated one.
    /// Not the app's: that one points POSTGRES_HOST at 127.0.0.1.
    public init(path: String, config: Configuration, secrets: ResolvedSecrets, socketDirectory: String?) {
        self.path = path
        // The helper runs as root: nothing the app user controls may steer its
        // libpq (~/.pgpass, ~/.pg_service.conf, ~/.postgresql/ in the app's HOME),
        // nor a PG* variable; kept are PGDATA (the contract's) and PGSSL*
        // (the operator's TLS files, which verify-full against an external server needs).
        var env = config.environment.filter { !$0.key.hasPrefix("PG") || $0.key == "PGDATA" || $0.key.hasPrefix("PGSSL") }
        // The helper needs no app secret, and reads no secret file itself.
        for name in ["SECRET_KEY", "SECRET_KEY_FILE", "POSTGRES_PASSWORD_FILE"] { env[name] = nil }
        if env.removeValue(forKey: "DATABASE_URL") != nil {
            // The URL's POSTGRES_* as PID 1 read them (it allowed none beside it).
            let db = config.database
            env["POSTGRES_HOST"] = db.host
            env["POSTGRES_PORT"] = String(db.port)
            env["POSTGRES_USER"] = db.user
            env["POSTGRES_DB"] = db.name
            env["POSTGRES_SSLMODE"] = db.sslMode
        }
        env["POSTGRES_PASSWORD"] = secrets.databasePassword
        if env["PATH"] == nil { env["PATH"] = CommandResolver.defaultSearchPath }
        env["HOME"] = "/nonexistent"
        env["PGPASSFILE"] = "/nonexistent/.pgpass"  // not /dev/null: libpq warns that it is not a plain file
        if let socketDirectory { env[Variable.socketDirectory] = socketDirectory }
        self.environment = env
    }

    public func spec(_ step: Step, extra: [String: String] = [:]) -> ProcessSpec {
        ProcessSpec(source: Logger.ownSource, executable: path, arguments: [path, step.rawValue],
                    environment: environment.merging(extra) { $1 })
    }
}
