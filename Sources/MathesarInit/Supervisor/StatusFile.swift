import Glibc

/// `$MATHESAR_RUN_DIR/status.json`: phase, pids, restart counts, last error;
/// rewritten atomically (temporary file + rename) on every change, read by
/// `healthcheck`. The last error often quotes a child's last lines, so it is
/// masked like the log before it is stored, and the file is 0640: the
/// owner's, and readable by the app's group (root's when there is no app user).
public final class StatusFile {
    public static let mode: mode_t = 0o640
    public let path: String
    private let redactor: Redactor
    private let group: gid_t?
    private var last: Snapshot?

    /// `group`: the app user's group, given the file when PID 1 is root.
    public init(runDirectory: String, redactor: Redactor, group: gid_t?) {
        path = runDirectory + "/status.json"
        self.redactor = redactor
        self.group = group
    }

    public struct Snapshot: Equatable {
        public var phase: String
        public var mode: String
        public var services: [(name: String, pid: Int32?, state: String, restarts: Int)]
        public var lastError: String?
        /// The Mathesar SQL upgrade of the user databases, once one ran.
        public var sql: JSONValue?

        public init(phase: String, mode: String, services: [(name: String, pid: Int32?, state: String, restarts: Int)] = [],
                    lastError: String? = nil, sql: JSONValue? = nil) {
            self.phase = phase
            self.mode = mode
            self.services = services
            self.lastError = lastError
            self.sql = sql
        }

        public static func == (a: Snapshot, b: Snapshot) -> Bool {
            a.phase == b.phase && a.mode == b.mode && a.lastError == b.lastError && a.sql == b.sql
                && a.services.count == b.services.count
                && zip(a.services, b.services).allSatisfy { $0.name == $1.name && $0.pid == $1.pid && $0.state == $1.state && $0.restarts == $1.restarts }
        }

        func json() -> JSONValue {
            .object([
                ("phase", .string(phase)),
                ("mode", .string(mode)),
                ("pid", .number(Double(getpid()))),
                ("services", .object(services.map { s in
                    (s.name, .object([
                        ("state", .string(s.state)),
                        ("pid", s.pid.map { .number(Double($0)) } ?? .null),
                        ("restarts", .number(Double(s.restarts))),
                    ]))
                })),
                ("last_error", lastError.map { .string($0) } ?? .null),
                ("sql", sql ?? .null),
            ])
        }
    }

    /// Writes the snapshot if it differs from the last one written.
    /// A run directory that cannot be written is logged once by the caller.
    @discardableResult
    public func write(_ snapshot: Snapshot) -> Bool {
        // Compared before encoding: a forwarded signal changes nothing and costs nothing here.
        if snapshot == last { return true }
        last = snapshot
        var stored = snapshot
        stored.lastError = snapshot.lastError.map(redactor.mask)
        var object = stored.json()
        if case .object(var pairs) = object {
            pairs.append(("updated", .string(WallClock.timestamp())))
            object = .object(pairs)
        }
        // Masked again once encoded: a secret JSON-escaped on the way is caught too.
        let text = redactor.mask(object.encoded())
        let owner = geteuid() == 0 ? group.map { (uid: uid_t(0), gid: $0) } : nil
        return AtomicFile.write(path: path, contents: Array((text + "\n").utf8), mode: StatusFile.mode, durable: false, owner: owner) == nil
    }

    /// The status as written by a running PID 1 (for `healthcheck`).
    public static func read(runDirectory: String) -> JSONValue? {
        readTextFile(runDirectory + "/status.json").flatMap(JSONValue.parse)
    }
}
