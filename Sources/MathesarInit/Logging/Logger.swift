/// `MATHESAR_LOG_FORMAT`.
public enum LogFormat: String, Sendable, CaseIterable {
    case text, json
}

public enum LogLevel: String, Sendable {
    case debug, info, warning, error
}

/// Where formatted lines go: straight to the descriptor (subcommands, helpers),
/// or through PID 1's queue that never blocks the supervisor.
public protocol LogSink: AnyObject {
    func write(_ line: [UInt8], toStderr: Bool)
}

/// Writes with blocking `write(2)`; for processes that are not the supervisor.
public final class DirectSink: LogSink {
    public init() {}
    public func write(_ line: [UInt8], toStderr: Bool) {
        FileIO.writeAll(toStderr ? 2 : 1, line)
    }
}

/// Formats our own lines and children's lines, tagged with their source.
/// Text: `source | message`, sources padded so that columns line up.
/// JSON: one object a line with time, source, level, message.
public final class Logger {
    public static let ownSource = "mathesar-init"
    public let format: LogFormat
    /// A helper run by PID 1 prints bare messages ("warning: ..."), which PID 1
    /// tags and formats like its own lines, so that the log reads as one.
    public let relayed: Bool
    /// PostgreSQL's multi-line messages (Postgres/ServerMessageLines.swift).
    private var serverMessages = ServerMessageLines()
    /// Sees each line of the app (boot waits for it to say it listens).
    public var appLineObserver: ((String) -> Void)?
    let sink: any LogSink
    /// Secrets that must never reach a log line, masked if they do; shared
    /// with status.json so that what is stored is masked the same way.
    public let redactor: Redactor

    public init(format: LogFormat, sink: any LogSink = DirectSink(), relayed: Bool = false, redactor: Redactor = Redactor()) {
        self.format = format
        self.sink = sink
        self.relayed = relayed
        self.redactor = redactor
    }

    /// Registers a secret value; see `Redactor` for the forms masked.
    public func redact(_ secret: String) {
        redactor.add(secret)
    }

    public func info(_ message: String) { own(.info, message) }
    public func warning(_ message: String) { own(.warning, message) }
    public func error(_ message: String) { own(.error, message) }

    /// A multi-line message stays one JSON object; in text, its later lines
    /// are indented under the first.
    func own(_ level: LogLevel, _ message: String) {
        guard format == .text, !relayed, message.contains("\n") else {
            return emit(source: Logger.ownSource, level: level, message: message, toStderr: true)
        }
        for (i, line) in message.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            emit(source: Logger.ownSource, level: i == 0 ? level : .info, message: (i == 0 ? "" : "  ") + line, toStderr: true)
        }
    }

    /// A line a child wrote (without its newline).
    public func child(source: String, line: String, fromStderr: Bool) {
        if source == Logger.ownSource {
            for level in [LogLevel.warning, .error] where line.hasPrefix(level.rawValue + ": ") {
                return emit(source: source, level: level, message: String(line.dropFirst(level.rawValue.count + 2)), toStderr: true)
            }
            return emit(source: source, level: .info, message: line, toStderr: true)
        }
        if source == "app", let observer = appLineObserver { observer(line) }
        if source == "postgres" {
            // A message's DETAIL/HINT/STATEMENT lines stay under its first line, with its level.
            let (level, continuation) = serverMessages.classify(line)
            let message = continuation.map { format == .text ? "  " + $0 : $0 } ?? line
            return emit(source: source, level: level ?? Logger.postgresLevel(line), message: message, toStderr: fromStderr)
        }
        emit(source: source, level: .info, message: line, toStderr: fromStderr)
    }

    func emit(source: String, level: LogLevel, message: String, toStderr: Bool) {
        let message = redactor.mask(message)
        var out: String
        if relayed {
            out = (level == .warning || level == .error ? level.rawValue + ": " : "") + message + "\n"
            return sink.write(Array(out.utf8), toStderr: toStderr)
        }
        switch format {
        case .text:
            let pad = max(0, Logger.ownSource.count - source.count)
            out = source + String(repeating: " ", count: pad) + " | "
            if level == .warning || level == .error, source == Logger.ownSource { out += level.rawValue + ": " }
            out += message
        case .json:
            out = JSONValue.object([
                ("time", .string(WallClock.timestamp())),
                ("source", .string(source)),
                ("level", .string(level.rawValue)),
                ("message", .string(message)),
            ]).encoded()
        }
        out += "\n"
        sink.write(Array(out.utf8), toStderr: toStderr)
    }

    /// PostgreSQL prefixes its lines with a severity; keep it in JSON logs.
    static func postgresLevel(_ line: String) -> LogLevel {
        for (prefix, level) in [("ERROR:", LogLevel.error), ("FATAL:", .error), ("PANIC:", .error), ("WARNING:", .warning)]
        where line.hasPrefix(prefix) || line.contains(" " + prefix) {
            return level
        }
        return .info
    }
}

extension String {
    /// All occurrences replaced (no Foundation).
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
