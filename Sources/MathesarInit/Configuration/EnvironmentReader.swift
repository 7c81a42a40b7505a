/// Reads files named by `*_FILE` variables and schema bundles; the real one
/// reads the disk, tests may give another.
public struct FileReader: Sendable {
    public var read: @Sendable (String) -> Result<[UInt8], FileIO.ReadError>
    public var list: @Sendable (String) -> [String]?

    public init(read: @escaping @Sendable (String) -> Result<[UInt8], FileIO.ReadError>,
                list: @escaping @Sendable (String) -> [String]?) {
        self.read = read
        self.list = list
    }

    public static let system = FileReader(read: { FileIO.read($0, limit: 1 << 20) }, list: { FileIO.list($0) })
}

/// Typed reads of environment variables that collect every problem instead of
/// stopping at the first, and record each value's source for `config`. Each
/// read takes its limits and its default from the variable's `ConfigVariable` entry.
struct EnvironmentReader {
    let environment: [String: String]
    let files: FileReader
    var problems: [ConfigurationProblem] = []
    var entries: [ConfigEntry] = []

    init(environment: [String: String], files: FileReader) {
        self.environment = environment
        self.files = files
    }

    /// The value when set and non-empty (Compose passes unset variables as "").
    func raw(_ variable: ConfigVariable) -> String? { raw(name: variable.name) }

    func raw(name: String) -> String? {
        guard let value = environment[name], !value.isEmpty else { return nil }
        return value
    }

    mutating func problem(_ variable: ConfigVariable, _ value: String?, _ reason: String, example: String? = nil) {
        problem(name: variable.name, value, reason, example: example)
    }

    mutating func problem(name: String, _ value: String?, _ reason: String, example: String? = nil) {
        problems.append(ConfigurationProblem(variable: name, value: value, reason: reason, example: example))
    }

    mutating func record(_ variable: ConfigVariable, _ value: String, _ source: SettingSource) {
        record(name: variable.name, value, source)
    }

    mutating func record(name: String, _ value: String, _ source: SettingSource) {
        entries.append(ConfigEntry(variable: name, value: value, source: source))
    }

    /// An unset variable without a literal default: what `config` shows for it, if anything.
    mutating func recordUnset(_ variable: ConfigVariable) {
        if case .unset(_, let shown?) = variable.info.default { record(variable, shown, .defaultValue) }
    }

    /// A plain string with a default; control characters are refused.
    /// `derived`: the default when the table's is made from other values.
    mutating func string(_ variable: ConfigVariable, derived: String? = nil, example: String) -> String {
        guard case .text(let maxBytes) = variable.info.kind, let fallback = derived ?? variable.defaultValue else {
            preconditionFailure("\(variable.name) is not text with a default")
        }
        guard let value = raw(variable) else {
            record(variable, fallback, .defaultValue)
            return fallback
        }
        if value.utf8.count > maxBytes {
            problem(variable, value, "is \(value.utf8.count) bytes long; at most \(maxBytes) are allowed", example: example)
        } else if value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F || (0x80..<0xA0).contains($0.value) }) {
            problem(variable, value, "contains control characters", example: example)
        }
        record(variable, value, .environment)
        return value
    }

    mutating func choice<T: RawRepresentable & CaseIterable>(_ variable: ConfigVariable, as _: T.Type) -> T where T.RawValue == String {
        guard variable.info.kind == .choice, let fallback = variable.defaultValue.flatMap(T.init(rawValue:)) else {
            preconditionFailure("\(variable.name) is not a choice with a default of \(T.self)")
        }
        let valid = T.allCases.map(\.rawValue)
        guard let value = raw(variable) else {
            record(variable, fallback.rawValue, .defaultValue)
            return fallback
        }
        guard let parsed = T(rawValue: value) ?? T(rawValue: value.lowercased()) else {
            problem(variable, value, "must be one of \(valid.joined(separator: ", "))", example: "\(variable.name)=\(valid.last!)")
            return fallback
        }
        record(variable, parsed.rawValue, .environment)
        return parsed
    }

    /// A number of seconds in the variable's range.
    mutating func seconds(_ variable: ConfigVariable, example: String) -> Double {
        guard case .seconds(let range) = variable.info.kind, let fallback = variable.defaultValue.flatMap(Double.init) else {
            preconditionFailure("\(variable.name) is not seconds with a default")
        }
        guard let value = raw(variable) else {
            record(variable, EnvironmentReader.format(fallback), .defaultValue)
            return fallback
        }
        guard let parsed = Double(value), parsed.isFinite, range.contains(parsed) else {
            problem(variable, value, "must be a number of seconds from \(EnvironmentReader.format(range.lowerBound)) to \(EnvironmentReader.format(range.upperBound))", example: "\(variable.name)=\(example)")
            return fallback
        }
        record(variable, EnvironmentReader.format(parsed), .environment)
        return parsed
    }

    mutating func integer(_ variable: ConfigVariable, example: String) -> Int {
        guard case .integer(let range) = variable.info.kind, let fallback = variable.defaultValue.flatMap({ Int($0) }) else {
            preconditionFailure("\(variable.name) is not a whole number with a default")
        }
        guard let value = raw(variable) else {
            record(variable, String(fallback), .defaultValue)
            return fallback
        }
        guard let parsed = Int(value), range.contains(parsed) else {
            problem(variable, value, "must be a whole number from \(range.lowerBound) to \(range.upperBound)", example: "\(variable.name)=\(example)")
            return fallback
        }
        record(variable, String(parsed), .environment)
        return parsed
    }

    mutating func boolean(_ variable: ConfigVariable) -> Bool {
        guard variable.info.kind == .boolean, let fallback = variable.defaultValue.map({ $0 == "true" }) else {
            preconditionFailure("\(variable.name) is not a boolean with a default")
        }
        guard let value = raw(variable) else {
            record(variable, fallback ? "true" : "false", .defaultValue)
            return fallback
        }
        switch value.lowercased() {
        case "1", "true", "yes", "on": record(variable, "true", .environment); return true
        case "0", "false", "no", "off": record(variable, "false", .environment); return false
        default:
            problem(variable, value, "must be true or false (also 1/0, yes/no, on/off)", example: "\(variable.name)=true")
            return fallback
        }
    }

    /// An absolute path, normalized (no trailing slash, no "." or ".." parts).
    /// Unset: the table's default, else `derived` (made from another variable), else nil.
    mutating func path(_ variable: ConfigVariable, derived: String? = nil, example: String) -> String? {
        precondition(variable.info.kind == .path, "\(variable.name) is not a path")
        let fallback = variable.defaultValue ?? derived
        guard let value = raw(variable) else {
            if let fallback { record(variable, fallback, .defaultValue) } else { recordUnset(variable) }
            return fallback
        }
        guard let normalized = EnvironmentReader.normalizedPath(value) else {
            problem(variable, value, "must be an absolute path without control characters, \".\" or \"..\" parts", example: "\(variable.name)=\(example)")
            return fallback
        }
        record(variable, normalized, .environment)
        return normalized
    }

    /// A command split with shell quoting rules.
    mutating func command(_ variable: ConfigVariable, example: String) -> [String]? {
        precondition(variable.info.kind == .command, "\(variable.name) is not a command")
        guard let value = raw(variable) else {
            recordUnset(variable)
            return nil
        }
        switch ShellWords.split(value) {
        case .success(let words) where words.isEmpty:
            return nil
        case .success(let words):
            record(variable, value, .environment)
            return words
        case .failure(.unterminatedQuote(let quote)):
            problem(variable, value, "has an unterminated \(quote) quote (it is split like a shell command, but no shell runs it)", example: "\(variable.name)=\(example)")
        case .failure(.trailingBackslash):
            problem(variable, value, "ends with a backslash that escapes nothing", example: "\(variable.name)=\(example)")
        }
        return nil
    }

    static func normalizedPath(_ value: String) -> String? {
        guard value.hasPrefix("/"), value.utf8.count <= 1024,
              !value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
        else { return nil }
        let parts = value.split(separator: "/")
        if parts.contains(where: { $0 == "." || $0 == ".." }) { return nil }
        return "/" + parts.joined(separator: "/")
    }

    static func format(_ seconds: Double) -> String {
        seconds.rounded() == seconds ? String(Int(seconds)) : String(seconds)
    }
}
