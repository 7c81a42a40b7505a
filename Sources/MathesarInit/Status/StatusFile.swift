import Glibc

/// `$MATHESAR_RUN_DIR/status.json`: phase, pids, restart counts, last error;
/// rewritten atomically (temporary file + rename) on every change, read by
/// `healthcheck`.
public final class StatusFile {
    public let path: String
    private var last: Snapshot?

    public init(runDirectory: String) {
        path = runDirectory + "/status.json"
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
        var object = snapshot.json()
        if case .object(var pairs) = object {
            pairs.append(("updated", .string(WallClock.timestamp())))
            object = .object(pairs)
        }
        return AtomicFile.write(path: path, contents: Array((object.encoded() + "\n").utf8), mode: 0o644, durable: false) == nil
    }

    /// The status as written by a running PID 1 (for `healthcheck`).
    public static func read(runDirectory: String) -> JSONValue? {
        readTextFile(runDirectory + "/status.json").flatMap(JSONValue.parse)
    }
}
