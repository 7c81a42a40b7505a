/// One run of `MATHESAR_SQL_UPGRADE_COMMAND` (`upgrade`, `status` or
/// `uninstall`): reads its protocol lines as they come, logs each result,
/// and keeps what status.json shows under `sql`.
public final class SQLUpgradeRun {
    public enum State: String, Sendable {
        case running
        /// The command exited 0.
        case done
        /// It exited otherwise (the internal database or the app was unusable).
        case failed
        /// A stop ended it before it finished.
        case stopped
    }

    public let action: String
    public private(set) var state = State.running
    public private(set) var results: [SQLDatabaseResult] = []
    public private(set) var statuses: [SQLDatabaseStatus] = []
    /// Values that must never reach status.json (SECRET_KEY, the database password).
    let secrets: [String]
    let started = Instant.now()

    public init(action: String, secrets: [String]) {
        self.action = action
        self.secrets = secrets
    }

    public var failedCount: Int { results.filter { $0.outcome == .failed }.count }

    /// A protocol line, taken in: what boot logs for it (nil for a database
    /// already current, counted in the summary instead) and what `schema`
    /// prints for a person.
    public struct Handled {
        public var log: (level: LogLevel, message: String)?
        public var readable: String
    }

    /// A line the command printed on stdout; nil when it is not a protocol
    /// line, to be logged as the command's own.
    public func consume(_ line: String) -> Handled? {
        switch SQLUpgradeLine.parse(line) {
        case .result(let result)?:
            results.append(result)
            return Handled(log: result.logLine, readable: result.readableLine)
        case .status(let status)?:
            statuses.append(status)
            return Handled(log: nil, readable: status.readableLine)
        case nil:
            return nil
        }
    }

    /// The command has ended; the summary line to log.
    public func finish(_ status: ExitStatus, stopping: Bool) -> (LogLevel, String) {
        state = status.succeeded ? .done : (stopping ? .stopped : .failed)
        let took = formatDuration(Instant.now().seconds(since: started))
        if state == .stopped {
            return (.info, "schema: stopped before it finished (\(results.count) database\(results.count == 1 ? "" : "s") done, \(took)); the next boot goes on")
        }
        if action == "status" {
            return (.info, "schema: \(statuses.count) database\(statuses.count == 1 ? "" : "s"), \(statuses.filter(\.needsUpgrade).count) needing an upgrade (\(took))")
        }
        if results.isEmpty {
            return status.succeeded
                ? (.info, "schema: no user database is configured in the app; nothing to \(action) (\(took))")
                : (.warning, "schema: MATHESAR_SQL_UPGRADE_COMMAND \(status) before reporting any database (\(took))")
        }
        var counts: [String] = []
        for outcome in [SQLDatabaseResult.Outcome.upgraded, .uninstalled, .current, .failed] {
            let n = results.filter { $0.outcome == outcome }.count
            if n > 0 || outcome == .failed { counts.append("\(n) \(outcome.rawValue)") }
        }
        let level: LogLevel = failedCount > 0 || !status.succeeded ? .warning : .info
        let noun = "database\(results.count == 1 ? "" : "s")"
        return (level, "schema: Mathesar SQL of \(results.count) \(noun): \(counts.joined(separator: ", ")) (\(took))")
    }

    /// status.json's `sql` value.
    public var json: JSONValue {
        var pairs: [(String, JSONValue)] = [("command", .string(action)), ("state", .string(state.rawValue))]
        if action == "status" {
            pairs.append(("databases", .array(statuses.map { s in
                .object([("database", .string(s.database)), ("version", s.version.map { .string($0) } ?? .null),
                         ("needs_upgrade", .bool(s.needsUpgrade))])
            })))
        } else {
            pairs.append(("databases", .array(results.map { $0.json(redacting: secrets) })))
        }
        return .object(pairs)
    }
}
