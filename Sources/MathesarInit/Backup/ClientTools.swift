/// PostgreSQL's client programs (psql, pg_dump, pg_dumpall, pg_restore) as
/// backup and restore run them. The connection goes in PG* variables, never
/// in argv: the password is a secret, and a database name with `=` in it
/// would be read as a connection string if it were given as `--dbname`.
public struct ClientTools {
    public let binaries: ServerBinaries
    /// Bundled: the server's socket directory. External: the configured host.
    public let host: String
    public let port: Int
    public let user: String
    public let password: String?
    public let sslMode: String?
    public let searchPath: String

    public init(binaries: ServerBinaries, host: String, port: Int, user: String, password: String?, sslMode: String?, searchPath: String?) {
        self.binaries = binaries
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.sslMode = sslMode
        self.searchPath = searchPath ?? CommandResolver.defaultSearchPath
    }

    /// The bundled server over its private socket, as the bootstrap superuser.
    public static func bundled(binaries: ServerBinaries, socketDirectory: String, port: Int, searchPath: String?) -> ClientTools {
        ClientTools(binaries: binaries, host: socketDirectory, port: port, user: BundledServer.superuser, password: nil, sslMode: nil, searchPath: searchPath)
    }

    /// A clean environment: none of the caller's PG* variables, no ~/.pgpass or service file.
    public func environment(database: String) -> [String: String] {
        var env = ["PATH": searchPath, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "HOME": "/nonexistent",
                   "PGPASSFILE": "/nonexistent/.pgpass", "PGSYSCONFDIR": "/nonexistent", "PGAPPNAME": "mathesar-init",
                   "PGHOST": host, "PGPORT": String(port), "PGUSER": user, "PGDATABASE": database, "PGCONNECT_TIMEOUT": "10"]
        if let password { env["PGPASSWORD"] = password }
        if let sslMode { env["PGSSLMODE"] = sslMode }
        return env
    }

    public func spec(_ program: String, _ arguments: [String], database: String, source: String) -> ProcessSpec {
        let path = binaries.path(program)
        return ProcessSpec(source: source, executable: path, arguments: [path] + arguments,
                           environment: environment(database: database), workingDirectory: "/", output: .captured)
    }

    /// One query's result into `file`: unaligned, tuples only, records separated by NUL (names may hold newlines).
    public func query(_ sql: String, database: String, into file: String) -> ProcessSpec {
        spec("psql", ["--no-psqlrc", "--quiet", "--no-align", "--tuples-only", "--record-separator-zero",
                      "--set=ON_ERROR_STOP=1", "--output=\(file)", "--command=\(sql)"], database: database, source: "psql")
    }

    /// `dbname='NAME'` as a connection string, for the programs that take a
    /// database only as an argument (pg_restore -d): quoted, so that no name
    /// is read as other connection parameters.
    public static func conninfoDatabase(_ name: String) -> String {
        "dbname='" + name.replacingAll("\\", with: "\\\\").replacingAll("'", with: "\\'") + "'"
    }
}
