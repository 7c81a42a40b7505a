import Glibc

/// `MATHESAR_MIGRATE`: when boot runs the migrate command.
public enum MigrateMode: String, CaseIterable, Sendable {
    /// Only when the app or the internal database changed since the last success.
    case changed
    case always
    case never
}

/// The app's side of `MATHESAR_MIGRATE=changed`: a fingerprint of what the
/// image installs, from the files `MATHESAR_APP_FINGERPRINT_PATHS` names
/// (for Mathesar: its version file and migration files) and the migrate
/// command itself. Read at every boot, so the paths should name source
/// files, not a whole tree.
public enum MigrationFingerprint {
    /// nil when no paths are configured: then the app's side is unknown, and
    /// `changed` cannot skip. A path that does not exist counts as such.
    /// Names count relative to each configured path, so that the same files
    /// elsewhere (another image layout) have the same fingerprint.
    public static func app(paths: [String], migrateCommand: [String]?) -> String? {
        guard !paths.isEmpty else { return nil }
        var text = Array("command \((migrateCommand ?? []).joined(separator: " "))\n".utf8)
        for (index, path) in paths.enumerated() { add(path, name: "\(index)", to: &text) }
        return String(SHA256.hex(text).prefix(16))
    }

    private static func add(_ path: String, name: String, to text: inout [UInt8]) {
        var st = stat()
        guard stat(path, &st) == 0 else {
            text += Array("missing \(name)\n".utf8)
            return
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            text += Array("dir \(name)\n".utf8)
            for entry in (FileIO.list(path) ?? []).sorted() where entry != "__pycache__" && !entry.hasSuffix(".pyc") {
                add(path + "/" + entry, name: name + "/" + entry, to: &text)
            }
        } else if (st.st_mode & S_IFMT) == S_IFREG {
            text += Array("file \(name) \(st.st_size)\n".utf8)
            if case .success(let bytes) = FileIO.read(path, limit: 16 << 20) { text += bytes }
        }
    }
}

/// What the volume remembers of the last successful runs, in
/// `$MATHESAR_DATA_DIR/migrate-state.json`: the app's and the internal
/// database's fingerprints after the migrate command last succeeded, and the
/// app's fingerprint when the Mathesar SQL upgrade last finished. Removed
/// (durably) before the migrate command runs, written only after it
/// succeeds: a failed or interrupted run leaves no record, and the next boot
/// runs it again.
public final class MigrationRecord {
    public let path: String
    public private(set) var app: String?
    public private(set) var database: String?
    public private(set) var sqlApp: String?

    public init(dataDirectory: String) {
        path = dataDirectory + "/migrate-state.json"
        if let text = readTextFile(path), let json = JSONValue.parse(text) {
            app = json["app"]?.stringValue
            database = json["database"]?.stringValue
            sqlApp = json["sql_upgrade_app"]?.stringValue
        }
    }

    public var hasMigrateRecord: Bool { app != nil && database != nil }

    /// Before the migrate command runs: forget its last success (durably, so
    /// that a crash during the run cannot leave the old record behind).
    public func forgetMigrate() throws(Failure) {
        guard hasMigrateRecord else { return }
        app = nil
        database = nil
        try save()
    }

    public func recordMigrate(app: String, database: String) throws(Failure) {
        self.app = app
        self.database = database
        try save()
    }

    public func recordSQLUpgrade(app: String) throws(Failure) {
        sqlApp = app
        try save()
    }

    /// A first boot from a template: what `prepare` ran is this cluster's history.
    public func seed(app: String, database: String) throws(Failure) {
        self.app = app
        self.database = database
        sqlApp = app  // a template has no user databases
        try save()
    }

    private func save() throws(Failure) {
        func optional(_ value: String?) -> JSONValue { value.map { .string($0) } ?? .null }
        let json = JSONValue.object([("app", optional(app)), ("database", optional(database)), ("sql_upgrade_app", optional(sqlApp))])
        if let problem = AtomicFile.write(path: path, contents: Array((json.encoded() + "\n").utf8), mode: 0o600, durable: true) {
            throw Failure(ExitCode.volumeUnusable, "cannot record the migration state in \(path): \(problem)")
        }
    }
}
