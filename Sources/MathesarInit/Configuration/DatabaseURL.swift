/// `DATABASE_URL`, the PaaS convention (Heroku, Render, Railway, DigitalOcean
/// App Platform): `postgres://USER:PASSWORD@HOST:PORT/DB?sslmode=MODE`, the
/// same as setting the `POSTGRES_*` variables it names.
///
/// A pure parser: no environment, no files. Nothing it reports ever contains
/// the password, not even when the URL is malformed (`redacted` is what a
/// message may show of the value).
public struct DatabaseURL: Equatable, Sendable {
    public var host: String
    public var port: Int?
    public var user: String?
    public var password: String?
    public var database: String?
    public var sslMode: String?

    /// Why a value is not a usable URL (never contains the password).
    public struct Invalid: Error, Equatable, Sendable {
        public var reason: String
    }

    /// The variables a URL stands for, in the order `config` lists them.
    public static let impliedVariables = [
        "POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_PASSWORD_FILE", "POSTGRES_DB",
    ]

    public static func parse(_ value: String) -> Result<DatabaseURL, Invalid> {
        func invalid(_ reason: String) -> Result<DatabaseURL, Invalid> { .failure(Invalid(reason: reason)) }
        guard let (schemePart, afterScheme) = splitScheme(value) else {
            return invalid("must start with postgres:// or postgresql://")
        }
        let scheme = schemePart.lowercased()
        guard scheme == "postgres" || scheme == "postgresql" else {
            return invalid("has the scheme \"\(ConfigurationProblem.printable(String(scheme.prefix(20))))\"; it must be postgres:// or postgresql://")
        }
        var rest = afterScheme
        if let hash = rest.lastIndex(of: "#") { rest = rest[..<hash] }

        // The last "@" ends the user part: a password with an unencoded "@"
        // or "/" still parses the way its owner meant.
        var result = DatabaseURL(host: "")
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            let (userPart, passwordPart) = userInfo.firstIndex(of: ":").map {
                (userInfo[..<$0], Optional(userInfo[userInfo.index(after: $0)...]))
            } ?? (userInfo, nil)
            guard let user = percentDecoded(userPart) else { return invalid("has a bad percent-escape in the user name") }
            result.user = user.isEmpty ? nil : user
            if let passwordPart {
                guard let password = percentDecoded(passwordPart) else {
                    return invalid("has a bad percent-escape in the password (each % must be followed by two hex digits; write a literal % as %25)")
                }
                result.password = password.isEmpty ? nil : password
            }
        }

        var query: Substring = ""
        if let q = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: q)...]
            rest = rest[..<q]
        }
        var authority = rest
        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            path = rest[rest.index(after: slash)...]
        }

        // Host: a name, an IPv4 address, [an IPv6 address], or a percent-encoded socket directory.
        var hostPart = authority
        var portPart: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return invalid("has an IPv6 address without its closing ]") }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return invalid("has text after the IPv6 address; only :PORT may follow it") }
                portPart = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            hostPart = authority[..<colon]
            portPart = authority[authority.index(after: colon)...]
        }
        if hostPart.contains(",") {
            return invalid("names several hosts; mathesar-init connects to one (give one HOST[:PORT])")
        }
        guard let host = percentDecoded(hostPart), !host.isEmpty else {
            return invalid("names no host (postgres://USER:PASSWORD@HOST:PORT/DB); for the bundled PostgreSQL, unset DATABASE_URL")
        }
        guard ConfigurationLoader.isValidHost(host) else {
            return invalid("has the host \"\(ConfigurationProblem.printable(host))\"; it must be a host name, an IP address or a percent-encoded absolute socket directory")
        }
        result.host = host
        if let portPart, !portPart.isEmpty {
            // Not echoed: in a URL with a forgotten "@", this is the password.
            guard portPart.allSatisfy(\.isASCII), let port = Int(portPart), (1...65535).contains(port) else {
                return invalid("has a port that is not a number from 1 to 65535 (the text after the host's last \":\")")
            }
            result.port = port
        }

        if path.contains("/") { return invalid("has a path with more than one part; it must be /DATABASE") }
        guard let database = percentDecoded(path) else { return invalid("has a bad percent-escape in the database name") }
        result.database = database.isEmpty ? nil : database

        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let name = pair.split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""
            let raw = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).dropFirst().first ?? ""
            guard name == "sslmode" else {
                return invalid("has the parameter \"\(ConfigurationProblem.printable(String(name.prefix(40))))\"; the only one understood is sslmode")
            }
            guard let mode = percentDecoded(raw), ConfigurationLoader.sslModes.contains(mode) else {
                return invalid("has sslmode=\(ConfigurationProblem.printable(String(raw.prefix(20)))); it must be one of \(ConfigurationLoader.sslModes.joined(separator: ", "))")
            }
            result.sslMode = mode
        }
        return .success(result)
    }

    /// The `POSTGRES_*` variables this URL stands for.
    public var variables: [String: String] {
        var out = ["POSTGRES_HOST": host]
        if let port { out["POSTGRES_PORT"] = String(port) }
        if let user { out["POSTGRES_USER"] = user }
        if let password { out["POSTGRES_PASSWORD"] = password }
        if let database { out["POSTGRES_DB"] = database }
        if let sslMode { out["POSTGRES_SSLMODE"] = sslMode }
        return out
    }

    /// What a message or `config` may show of a value: the user part after
    /// the first ":" replaced; without an "@", everything after the host's
    /// ":" too (a URL that forgot its "@" has the password there).
    public static func redacted(_ value: String) -> String {
        let (prefix, rest): (String, Substring) = splitScheme(value).map { ($0.0 + "://", $0.1) } ?? ("", value[...])
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            let user = userInfo.firstIndex(of: ":").map { userInfo[..<$0] + ":<redacted>" } ?? String(userInfo)
            return ConfigurationProblem.printable(prefix + user + rest[at...])
        }
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        if let colon = rest[..<authorityEnd].lastIndex(of: ":"),
           !rest[rest.index(after: colon)..<authorityEnd].allSatisfy(\.isNumber) || prefix.isEmpty {
            return ConfigurationProblem.printable(String(prefix) + "<redacted>")
        }
        return ConfigurationProblem.printable(value)
    }

    /// ("postgres", "u:p@h/d") for "postgres://u:p@h/d"; nil without "://".
    static func splitScheme(_ value: String) -> (Substring, Substring)? {
        var i = value.startIndex
        while let colon = value[i...].firstIndex(of: ":") {
            if value[colon...].hasPrefix("://") {
                return (value[..<colon], value[value.index(colon, offsetBy: 3)...])
            }
            i = value.index(after: colon)
        }
        return nil
    }

    /// Percent-decoding as UTF-8; nil for a bad escape or bytes that are not UTF-8.
    static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var i = text.utf8.startIndex
        let utf8 = text.utf8
        while i < utf8.endIndex {
            let byte = utf8[i]
            if byte == UInt8(ascii: "%") {
                let h = utf8.index(after: i)
                guard h < utf8.endIndex, utf8.index(after: h) < utf8.endIndex,
                      let high = hexValue(utf8[h]), let low = hexValue(utf8[utf8.index(after: h)]) else { return nil }
                bytes.append(high << 4 | low)
                i = utf8.index(h, offsetBy: 2)
            } else {
                bytes.append(byte)
                i = utf8.index(after: i)
            }
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else { return nil }
        return decoded
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension DatabaseURL {
    /// The environment with `DATABASE_URL` replaced by the `POSTGRES_*` it
    /// implies, and the problems that forbid it (a bad URL; a variable it would
    /// also set). The loader then reads the result as if the user had set those.
    static func expand(_ environment: [String: String]) -> (environment: [String: String], problems: [ConfigurationProblem]) {
        guard let value = environment["DATABASE_URL"], !value.isEmpty else { return (environment, []) }
        let shown = redacted(value)
        let url: DatabaseURL
        switch parse(value) {
        case .failure(let why):
            return (environment, [ConfigurationProblem(variable: "DATABASE_URL", value: shown, reason: why.reason,
                                                       example: "DATABASE_URL=postgres://mathesar:PASSWORD@db.example.com:5432/mathesar_django?sslmode=require")])
        case .success(let parsed): url = parsed
        }
        var problems: [ConfigurationProblem] = []
        let implied = impliedVariables + (url.sslMode == nil ? [] : ["POSTGRES_SSLMODE"])
        for name in implied {
            guard let other = environment[name], !other.isEmpty else { continue }
            let secret = name == "POSTGRES_PASSWORD"
            problems.append(ConfigurationProblem(variable: "DATABASE_URL", value: shown,
                reason: "and \(name)\(secret ? "" : "=\"\(ConfigurationProblem.printable(other))\"") are both set; the URL already says where the database is and how to log in: set only one of them"))
        }
        if url.password == nil {
            problems.append(ConfigurationProblem(variable: "DATABASE_URL", value: shown,
                reason: "has no password; an external database needs one: postgres://USER:PASSWORD@HOST/DB (percent-encode : @ / % in it)"))
        }
        // The URL wins over the variables it conflicts with, so that a conflict
        // is reported once (here), not again as what they would have meant.
        var expanded = environment
        for name in implied { expanded[name] = nil }
        for (name, implied) in url.variables { expanded[name] = implied }
        expanded["DATABASE_URL"] = nil
        return (expanded, problems)
    }
}
