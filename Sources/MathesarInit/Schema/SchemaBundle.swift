/// A directory of `NNNN_name.sql` files applied in numeric order, and an
/// optional `uninstall.sql` (`MATHESAR_SCHEMA_DIR`).
public struct SchemaBundle: Sendable {
    public struct File: Sendable, Equatable {
        public var version: Int
        public var name: String
        public var fileName: String
        public var sql: String
        /// SHA-256 of the file's bytes, hex.
        public var checksum: String
        /// First line `-- mathesar:no-transaction`: the file runs alone,
        /// outside a transaction (e.g. CREATE INDEX CONCURRENTLY).
        public var transactional: Bool
    }

    public static let noTransactionMarker = "-- mathesar:no-transaction"

    public var directory: String
    public var files: [File]
    public var uninstallSQL: String?

    public var latestVersion: Int { files.last?.version ?? 0 }

    public enum Problem: Error, Equatable, CustomStringConvertible {
        case notADirectory
        case badName(String)
        case duplicate(Int, [String])
        case gap(missing: Int)
        case unreadable(String, String)
        case notText(String)

        public var description: String {
            switch self {
            case .notADirectory: "is not a readable directory"
            case .badName(let name): "holds \(name), which is not named NNNN_name.sql (four digits, an underscore, a name of letters, digits, _ . -)"
            case .duplicate(let version, let names): "has two files numbered \(version): \(names.joined(separator: " and "))"
            case .gap(let missing): "has no file numbered \(SchemaBundle.fourDigits(missing)); numbers must run 0001, 0002, ... without gaps"
            case .unreadable(let name, let why): "\(name) cannot be read (\(why))"
            case .notText(let name): "\(name) is not UTF-8 text"
            }
        }
    }

    public static func load(directory: String, files reader: FileReader = .system) -> Result<SchemaBundle, Problem> {
        guard let names = reader.list(directory) else { return .failure(.notADirectory) }
        var files: [File] = []
        var uninstall: String?
        for name in names {
            if name == "uninstall.sql" {
                switch readText(directory + "/" + name, name, reader) {
                case .success(let (text, _)): uninstall = text
                case .failure(let problem): return .failure(problem)
                }
                continue
            }
            guard name.hasSuffix(".sql") else { continue }  // READMEs and the like
            guard let (version, stem) = parseName(name) else { return .failure(.badName(name)) }
            switch readText(directory + "/" + name, name, reader) {
            case .success(let (text, bytes)):
                let firstLine = text.split(maxSplits: 1, whereSeparator: \.isNewline).first.map { String($0).trimmingSpaces() } ?? ""
                files.append(File(version: version, name: stem, fileName: name, sql: text, checksum: SHA256.hex(bytes),
                                  transactional: firstLine != noTransactionMarker))
            case .failure(let problem):
                return .failure(problem)
            }
        }
        files.sort { ($0.version, $0.fileName) < ($1.version, $1.fileName) }  // names too: messages must not depend on listing order
        for (i, file) in files.enumerated() {
            if i > 0 && files[i - 1].version == file.version {
                return .failure(.duplicate(file.version, [files[i - 1].fileName, file.fileName]))
            }
            let expected = i == 0 ? 1 : files[i - 1].version + 1
            if file.version != expected { return .failure(.gap(missing: expected)) }
        }
        return .success(SchemaBundle(directory: directory, files: files, uninstallSQL: uninstall))
    }

    static func parseName(_ name: String) -> (Int, String)? {
        let base = name.dropLast(4)
        let digits = base.prefix(4)
        guard digits.count == 4, digits.allSatisfy(\.isASCII), let version = Int(digits), version > 0 else { return nil }
        let rest = base.dropFirst(4)
        guard rest.first == "_", rest.count > 1 else { return nil }
        let stem = rest.dropFirst()
        let allowed = stem.unicodeScalars.allSatisfy { s in
            (s >= "a" && s <= "z") || (s >= "A" && s <= "Z") || (s >= "0" && s <= "9") || s == "_" || s == "." || s == "-"
        }
        return allowed ? (version, String(stem)) : nil
    }

    static func readText(_ path: String, _ name: String, _ reader: FileReader) -> Result<(String, [UInt8]), Problem> {
        switch reader.read(path) {
        case .success(let bytes):
            guard let text = String(validating: bytes, as: UTF8.self), !bytes.contains(0) else { return .failure(.notText(name)) }
            return .success((text, bytes))
        case .failure(.missing): return .failure(.unreadable(name, "it disappeared"))
        case .failure(.isDirectory): return .failure(.unreadable(name, "it is a directory"))
        case .failure(.tooLarge): return .failure(.unreadable(name, "larger than 1 MiB"))
        case .failure(.unreadable(let why)): return .failure(.unreadable(name, why))
        }
    }

    static func fourDigits(_ n: Int) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, 4 - s.count)) + s
    }
}

/// An entry of `MATHESAR_SCHEMA_DATABASES` or `schema --database`: a database
/// name on the internal server, or a libpq URL.
public enum SchemaTarget {
    public static func isURL(_ entry: String) -> Bool {
        entry.hasPrefix("postgresql://") || entry.hasPrefix("postgres://")
    }

    public static func problem(_ entry: String) -> String? {
        if entry.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) { return "contains control characters" }
        if isURL(entry) { return nil }
        if entry.contains("://") { return "is a URL but not postgresql:// or postgres://" }
        if entry.utf8.count > 63 { return "is longer than 63 bytes, PostgreSQL's limit for a database name" }
        return nil
    }

    /// The entry with any password in it replaced by <redacted>.
    public static func redacted(_ entry: String) -> String {
        guard isURL(entry), let schemeEnd = entry.firstRange(of: "://") else { return entry }
        var result = entry
        let afterScheme = entry[schemeEnd.upperBound...]
        let authorityEnd = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? afterScheme.endIndex
        let authority = afterScheme[..<authorityEnd]
        if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
            result = String(entry[..<authority.index(after: colon)]) + "<redacted>" + String(entry[at...])
        }
        if let query = result.firstIndex(of: "?") {
            let params = result[result.index(after: query)...].split(separator: "&").map { param -> String in
                param.lowercased().hasPrefix("password=") ? "password=<redacted>" : String(param)
            }
            result = String(result[...query]) + params.joined(separator: "&")
        }
        return result
    }
}
