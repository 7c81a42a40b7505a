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
/// stopping at the first, and record each value's source for `config`.
struct EnvironmentReader {
    let environment: [String: String]
    let files: FileReader
    var problems: [ConfigurationProblem] = []
    var entries: [ConfigEntry] = []
    /// Names read, to spot unknown MATHESAR_* variables.
    var known: Set<String> = []

    init(environment: [String: String], files: FileReader) {
        self.environment = environment
        self.files = files
    }

    /// The value when set and non-empty (Compose passes unset variables as "").
    mutating func raw(_ name: String) -> String? {
        known.insert(name)
        guard let value = environment[name], !value.isEmpty else { return nil }
        return value
    }

    mutating func problem(_ name: String, _ value: String?, _ reason: String, example: String? = nil) {
        problems.append(ConfigurationProblem(variable: name, value: value, reason: reason, example: example))
    }

    mutating func record(_ name: String, _ value: String, _ source: SettingSource) {
        entries.append(ConfigEntry(variable: name, value: value, source: source))
    }

    /// A plain string with a default; control characters are refused.
    mutating func string(_ name: String, default fallback: String, maxBytes: Int = 4096, example: String) -> String {
        guard let value = raw(name) else {
            record(name, fallback, .defaultValue)
            return fallback
        }
        if value.utf8.count > maxBytes {
            problem(name, value, "is \(value.utf8.count) bytes long; at most \(maxBytes) are allowed", example: example)
        } else if value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F || (0x80..<0xA0).contains($0.value) }) {
            problem(name, value, "contains control characters", example: example)
        }
        record(name, value, .environment)
        return value
    }

    mutating func choice<T: RawRepresentable & CaseIterable>(_ name: String, default fallback: T) -> T where T.RawValue == String {
        let valid = T.allCases.map(\.rawValue)
        guard let value = raw(name) else {
            record(name, fallback.rawValue, .defaultValue)
            return fallback
        }
        guard let parsed = T(rawValue: value) ?? T(rawValue: value.lowercased()) else {
            problem(name, value, "must be one of \(valid.joined(separator: ", "))", example: "\(name)=\(valid.last!)")
            return fallback
        }
        record(name, parsed.rawValue, .environment)
        return parsed
    }

    /// A number of seconds in `range`.
    mutating func seconds(_ name: String, default fallback: Double, range: ClosedRange<Double>, example: String) -> Double {
        guard let value = raw(name) else {
            record(name, EnvironmentReader.format(fallback), .defaultValue)
            return fallback
        }
        guard let parsed = Double(value), parsed.isFinite, range.contains(parsed) else {
            problem(name, value, "must be a number of seconds from \(EnvironmentReader.format(range.lowerBound)) to \(EnvironmentReader.format(range.upperBound))", example: "\(name)=\(example)")
            return fallback
        }
        record(name, EnvironmentReader.format(parsed), .environment)
        return parsed
    }

    mutating func integer(_ name: String, default fallback: Int, range: ClosedRange<Int>, example: String) -> Int {
        guard let value = raw(name) else {
            record(name, String(fallback), .defaultValue)
            return fallback
        }
        guard let parsed = Int(value), range.contains(parsed) else {
            problem(name, value, "must be a whole number from \(range.lowerBound) to \(range.upperBound)", example: "\(name)=\(example)")
            return fallback
        }
        record(name, String(parsed), .environment)
        return parsed
    }

    mutating func boolean(_ name: String, default fallback: Bool) -> Bool {
        guard let value = raw(name) else {
            record(name, fallback ? "true" : "false", .defaultValue)
            return fallback
        }
        switch value.lowercased() {
        case "1", "true", "yes", "on": record(name, "true", .environment); return true
        case "0", "false", "no", "off": record(name, "false", .environment); return false
        default:
            problem(name, value, "must be true or false (also 1/0, yes/no, on/off)", example: "\(name)=true")
            return fallback
        }
    }

    /// An absolute path, normalized (no trailing slash, no "." or ".." parts).
    mutating func path(_ name: String, default fallback: String?, example: String) -> String? {
        guard let value = raw(name) else {
            if let fallback { record(name, fallback, .defaultValue) }
            return fallback
        }
        guard let normalized = EnvironmentReader.normalizedPath(value) else {
            problem(name, value, "must be an absolute path without control characters, \".\" or \"..\" parts", example: "\(name)=\(example)")
            return fallback
        }
        record(name, normalized, .environment)
        return normalized
    }

    /// A command split with shell quoting rules.
    mutating func command(_ name: String, example: String) -> [String]? {
        guard let value = raw(name) else { return nil }
        switch ShellWords.split(value) {
        case .success(let words) where words.isEmpty:
            return nil
        case .success(let words):
            record(name, value, .environment)
            return words
        case .failure(.unterminatedQuote(let quote)):
            problem(name, value, "has an unterminated \(quote) quote (it is split like a shell command, but no shell runs it)", example: "\(name)=\(example)")
        case .failure(.trailingBackslash):
            problem(name, value, "ends with a backslash that escapes nothing", example: "\(name)=\(example)")
        }
        return nil
    }

    /// `X` or `X_FILE` (the Docker-secrets convention); never both.
    mutating func secret(_ name: String, example: String) -> SecretSetting? {
        let fileName = name + "_FILE"
        let direct = raw(name)
        let filePath = raw(fileName)
        if direct != nil && filePath != nil {
            problem(name, nil, "is set together with \(fileName); set only one of them", example: "\(fileName)=/run/secrets/\(example)")
            return nil
        }
        if let direct {
            if let reason = EnvironmentReader.secretProblem(direct) {
                problem(name, nil, reason)
                return nil
            }
            record(name, "<redacted>", .environment)
            return .given(direct, .environment)
        }
        guard let filePath else { return nil }
        guard EnvironmentReader.normalizedPath(filePath) != nil else {
            problem(fileName, filePath, "must be an absolute path to a file holding the secret", example: "\(fileName)=/run/secrets/\(example)")
            return nil
        }
        switch files.read(filePath) {
        case .success(let bytes):
            var trimmed = bytes
            if trimmed.last == 0x0A {
                trimmed.removeLast()
                if trimmed.last == 0x0D { trimmed.removeLast() }
            }
            guard !trimmed.contains(0), let text = String(validating: trimmed, as: UTF8.self) else {
                problem(fileName, filePath, "the file is not UTF-8 text or contains a NUL byte")
                return nil
            }
            if let reason = EnvironmentReader.secretProblem(text) {
                problem(fileName, filePath, "the file's content " + reason.replacingAll("is empty", with: "is empty after removing its trailing newline"))
                return nil
            }
            record(name, "<redacted>", .file(filePath))
            return .given(text, .file(filePath))
        case .failure(.missing):
            problem(fileName, filePath, "no such file; mount the secret there or fix the path", example: "\(fileName)=/run/secrets/\(example)")
        case .failure(.isDirectory):
            problem(fileName, filePath, "is a directory; it must name a file holding the secret", example: "\(fileName)=/run/secrets/\(example)")
        case .failure(.tooLarge):
            problem(fileName, filePath, "the file is larger than 1 MiB; it must hold only the secret")
        case .failure(.unreadable(let why)):
            problem(fileName, filePath, "cannot be read (\(why)); check its mode and owner")
        }
        return nil
    }

    static func secretProblem(_ value: String) -> String? {
        if value.isEmpty { return "is empty" }
        if value.utf8.count > 4096 { return "is longer than 4096 bytes" }
        if value.unicodeScalars.contains(where: { $0 == "\n" || $0 == "\r" || $0.value == 0 }) {
            return "contains a line break or NUL; a secret must be a single line"
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
