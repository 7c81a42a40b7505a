/// One line of `MATHESAR_SQL_UPGRADE_COMMAND`'s output. The command (an
/// app-side script using the app's own models) prints one JSON object per
/// database on stdout:
/// - `upgrade`:   `{"database", "id", "from", "to", "result": "upgraded"|"current"|"failed", "ms", "error"?}`
/// - `status`:    `{"database", "id", "version", "app_version", "needs_upgrade"}`
/// - `uninstall`: `{"database", "id", "result": "uninstalled"|"failed", "ms", "error"?}`
/// Anything else it prints is passed through to the log as it is.
public enum SQLUpgradeLine: Equatable, Sendable {
    case result(SQLDatabaseResult)
    case status(SQLDatabaseStatus)

    /// nil when the line is not one of the protocol's objects.
    public static func parse(_ line: String) -> SQLUpgradeLine? {
        guard line.hasPrefix("{"), let object = JSONValue.parse(line), let database = object["database"]?.stringValue else { return nil }
        let id = object["id"]?.numberValue.map { Int($0) }
        if let result = object["result"]?.stringValue {
            return .result(SQLDatabaseResult(
                database: database, id: id, from: object["from"]?.stringValue, to: object["to"]?.stringValue,
                outcome: SQLDatabaseResult.Outcome(rawValue: result) ?? .failed,
                milliseconds: object["ms"]?.numberValue.map { Int($0) },
                error: object["error"]?.stringValue ?? (SQLDatabaseResult.Outcome(rawValue: result) == nil ? "unknown result \"\(result)\"" : nil)))
        }
        if object["needs_upgrade"] != nil || object["version"] != nil {
            var needs = false
            if case .bool(let value)? = object["needs_upgrade"] { needs = value }
            return .status(SQLDatabaseStatus(database: database, id: id, version: object["version"]?.stringValue,
                                             appVersion: object["app_version"]?.stringValue, needsUpgrade: needs))
        }
        return nil
    }
}

/// What the command did to one database.
public struct SQLDatabaseResult: Equatable, Sendable {
    public enum Outcome: String, Sendable {
        case upgraded, current, failed, uninstalled
    }

    public var database: String
    public var id: Int?
    public var from: String?
    public var to: String?
    public var outcome: Outcome
    public var milliseconds: Int?
    public var error: String?

    public init(database: String, id: Int? = nil, from: String? = nil, to: String? = nil, outcome: Outcome,
                milliseconds: Int? = nil, error: String? = nil) {
        self.database = database
        self.id = id
        self.from = from
        self.to = to
        self.outcome = outcome
        self.milliseconds = milliseconds
        self.error = error
    }

    var took: String { milliseconds.map { " (\($0) ms)" } ?? "" }
    var versions: String { "\(from ?? "none") -> \(to ?? "?")" }

    /// The line boot logs, and its level; nil for a database already current
    /// (those are counted in the summary instead: one line each would be noise).
    public var logLine: (LogLevel, String)? {
        switch outcome {
        case .upgraded: (.info, "schema: \(database) \(versions)\(took)")
        case .uninstalled: (.info, "schema: \(database) uninstalled\(took)")
        case .current: nil
        case .failed: (.warning, "schema: \(database) was not upgraded (\(versions)): \(error ?? "no reason given"); the app keeps serving, that database keeps the SQL it had, and Mathesar's UI can retry")
        }
    }

    /// The line `schema upgrade|uninstall` prints for a person.
    public var readableLine: String {
        switch outcome {
        case .upgraded: "\(database): upgraded \(versions)\(took)"
        case .current: "\(database): current (\(to ?? from ?? "?"))"
        case .uninstalled: "\(database): uninstalled\(took)"
        case .failed: "\(database): failed: \(error ?? "no reason given")"
        }
    }

    public func json(redacting secrets: [String]) -> JSONValue {
        var pairs: [(String, JSONValue)] = [("database", .string(database))]
        if let id { pairs.append(("id", .number(Double(id)))) }
        pairs.append(("from", from.map { .string($0) } ?? .null))
        pairs.append(("to", to.map { .string($0) } ?? .null))
        pairs.append(("result", .string(outcome.rawValue)))
        if let milliseconds { pairs.append(("ms", .number(Double(milliseconds)))) }
        if let error { pairs.append(("error", .string(SQLDatabaseResult.redact(error, secrets)))) }
        return .object(pairs)
    }

    static func redact(_ text: String, _ secrets: [String]) -> String {
        var text = text
        for secret in secrets where secret.count >= 4 && text.contains(secret) {
            text = text.replacingAll(secret, with: "<redacted>")
        }
        return text
    }
}

/// The recorded Mathesar SQL version of one database (`status`).
public struct SQLDatabaseStatus: Equatable, Sendable {
    public var database: String
    public var id: Int?
    public var version: String?
    public var appVersion: String?
    public var needsUpgrade: Bool

    public var readableLine: String {
        let recorded = version.map { "Mathesar SQL \($0)" } ?? "no Mathesar SQL recorded"
        return needsUpgrade
            ? "\(database): \(recorded); the app is \(appVersion ?? "?"): needs an upgrade (mathesar-init schema upgrade --database \(database))"
            : "\(database): \(recorded): current"
    }
}
