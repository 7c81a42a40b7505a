/// PostgreSQL writes one message as several lines: the first names its
/// severity (`ERROR:  ...`), the next ones repeat the line prefix
/// (`log_line_prefix`, a timestamp and pid by default) and add `DETAIL:`,
/// `HINT:`, `CONTEXT:`, `QUERY:`, `STATEMENT:` or `LOCATION:`, and a
/// statement of several lines goes on in tab-indented lines. Read one line
/// at a time, this keeps them together: a continuation line takes the level
/// of its message's first line and is shown under it without repeating the
/// prefix. Each message reaches the pipe in one write, so no timer is needed:
/// a line is classified the moment it arrives.
public struct ServerMessageLines {
    static let severities = ["LOG", "INFO", "NOTICE", "WARNING", "ERROR", "FATAL", "PANIC",
                             "DEBUG1", "DEBUG2", "DEBUG3", "DEBUG4", "DEBUG5"]
    static let continuations = ["DETAIL", "HINT", "CONTEXT", "QUERY", "STATEMENT", "LOCATION"]

    /// The prefix and level of the message being read, nil outside one.
    private var current: (prefix: String, level: LogLevel)?

    public init() {}

    /// The level of `line` (nil for a line that is not part of a message), and
    /// for a continuation line its text without the repeated prefix.
    public mutating func classify(_ line: String) -> (level: LogLevel?, continuation: String?) {
        if let current, line.hasPrefix("\t") { return (current.level, line) }
        guard let (prefix, keyword, rest) = ServerMessageLines.split(line) else {
            current = nil
            return (nil, nil)
        }
        if ServerMessageLines.continuations.contains(keyword) {
            if let current, current.prefix == prefix { return (current.level, keyword + ":  " + rest) }
            return (nil, nil)
        }
        let level: LogLevel = switch keyword {
        case "ERROR", "FATAL", "PANIC": .error
        case "WARNING": .warning
        default: .info
        }
        current = (prefix, level)
        return (level, nil)
    }

    /// `PREFIX KEYWORD:  TEXT`: the earliest keyword that starts the line or follows a space.
    static func split(_ line: String) -> (prefix: String, keyword: String, rest: String)? {
        var best: (index: String.Index, keyword: String)?
        for keyword in severities + continuations {
            guard let range = line.firstRange(of: keyword + ":  ") else { continue }
            if range.lowerBound != line.startIndex && line[line.index(before: range.lowerBound)] != " " { continue }
            if best == nil || range.lowerBound < best!.index { best = (range.lowerBound, keyword) }
        }
        guard let best else { return nil }
        let after = line.index(best.index, offsetBy: best.keyword.count + 3)
        return (String(line[..<best.index]), best.keyword, String(line[after...]))
    }
}
