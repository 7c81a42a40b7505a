/// What the app is told besides the database: where uploads go, which host
/// names it answers, how many gunicorn workers it runs, and where a volume
/// from Mathesar's own image kept its key.
public struct AppSettings: Sendable, Equatable {
    /// `MEDIA_ROOT` as passed to the app: the user's value as given, else `$MATHESAR_DATA_DIR/media/`.
    public var mediaRoot: String
    /// `ALLOWED_HOSTS` to pass; nil passes nothing (the user's value, if any, is in the environment already).
    public var allowedHostsToPass: String?
    /// The host patterns the app accepts (Django's `ALLOWED_HOSTS` semantics), for `healthcheck`.
    public var allowedHosts: [String]
    /// Hosts of `DOMAIN_NAME` (lowercase; IPv6 in brackets), empty when unset.
    public var domainHosts: [String]
    /// `WEB_CONCURRENCY` to pass; nil when the user set it (passed as given).
    public var webConcurrencyToPass: String?
    /// `MATHESAR_LEGACY_SECRETS_DIR`: where Mathesar's image kept `secret_key.txt`.
    public var legacySecretsDirectory: String
    /// `MATHESAR_ALLOW_NEW_SECRET_KEY`: generate a key for a cluster that already holds data.
    public var allowNewSecretKey: Bool
}

/// Django's `ALLOWED_HOSTS` as Mathesar reads it: comma-separated patterns.
public enum AllowedHosts {
    /// Mathesar's own default when `ALLOWED_HOSTS` is unset.
    public static let appDefault = [".localhost", "127.0.0.1", "[::1]"]

    /// The entries of a comma-separated list, trimmed, empty ones dropped (as the app reads it).
    public static func split(_ value: String) -> [String] {
        value.split(separator: ",").map { String($0).trimmingSpaces() }.filter { !$0.isEmpty }
    }

    /// Why an entry can never match a Host header, or nil when it is fine.
    static func problem(_ entry: String) -> String? {
        if entry.contains("://") || entry.contains("/") {
            return "entry \"\(ConfigurationProblem.printable(entry))\" is a URL; give host names only (the app compares the Host header without scheme, port or path)"
        }
        if entry.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) {
            return "entry \"\(ConfigurationProblem.printable(entry))\" contains spaces or control characters"
        }
        if entry == "*" || entry.hasPrefix("[") { return nil }
        if entry.contains(":") {
            return "entry \"\(ConfigurationProblem.printable(entry))\" has a port; the app compares the Host header without its port, so this never matches: drop the port"
        }
        return nil
    }

    /// Whether `host` (no port; IPv6 in brackets) matches one pattern, as Django's `validate_host` decides.
    public static func matches(_ host: String, pattern: String) -> Bool {
        let host = host.lowercased(), pattern = pattern.lowercased()
        if pattern == "*" { return true }
        if pattern.hasPrefix(".") { return host == pattern.dropFirst() || host.hasSuffix(pattern) }
        return host == pattern
    }

    /// The Host header `healthcheck` sends to a URL whose host is `urlHost`:
    /// that host when the app accepts it, else the first entry that names a
    /// host (`.example.com` -> `example.com`).
    public static func healthcheckHost(urlHost: String, allowed: [String]) -> String {
        let bracketed = urlHost.contains(":") ? "[\(urlHost)]" : urlHost
        if allowed.contains(where: { matches(bracketed, pattern: $0) }) { return bracketed }
        for entry in allowed where entry != "*" {
            let name = entry.hasPrefix(".") ? String(entry.dropFirst()) : entry
            if !name.isEmpty { return name }
        }
        return bracketed
    }
}

/// `DOMAIN_NAME` (Mathesar's compose file gives it to its proxy): a URL or
/// `host[:port]`, or several separated by commas or spaces.
public enum DomainName {
    /// The host names it holds, or why it cannot be read.
    /// Why a value cannot be read.
    public struct Problem: Error, Equatable {
        public var reason: String
    }

    public static func hosts(_ value: String) -> Result<[String], Problem> {
        var hosts: [String] = []
        let parts = value.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" }).map(String.init)
        if parts.isEmpty { return .failure(Problem(reason: "holds no host name")) }
        for part in parts {
            switch host(of: part) {
            case .success(let host): if !hosts.contains(host) { hosts.append(host) }
            case .failure(let why): return .failure(why)
            }
        }
        return .success(hosts)
    }

    /// One entry: `https://name[:port][/path]` or `name[:port]`.
    static func host(of entry: String) -> Result<String, Problem> {
        func fail(_ reason: String) -> Result<String, Problem> { .failure(Problem(reason: reason)) }
        var rest = Substring(entry)
        if let scheme = rest.firstRange(of: "://") {
            let name = rest[..<scheme.lowerBound].lowercased()
            guard name == "http" || name == "https" else {
                return fail("\"\(ConfigurationProblem.printable(entry))\" has the scheme \(ConfigurationProblem.printable(name)); use http:// or https://, or just the host name")
            }
            rest = rest[scheme.upperBound...]
        }
        if let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) { rest = rest[..<end] }
        if rest.contains("@") {
            return fail("\"\(ConfigurationProblem.printable(entry))\" holds a user name; give the host name only")
        }
        var host = rest
        var port: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return fail("\"\(ConfigurationProblem.printable(entry))\" opens an IPv6 address with [ but does not close it") }
            host = rest[...close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return fail("\"\(ConfigurationProblem.printable(entry))\" has text after the IPv6 address") }
                port = after.dropFirst()
            }
            let inner = host.dropFirst().dropLast()
            guard !inner.isEmpty, inner.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else {
                return fail("\"\(ConfigurationProblem.printable(entry))\" is not a valid IPv6 address in brackets")
            }
        } else if let colon = rest.firstIndex(of: ":") {
            host = rest[..<colon]
            port = rest[rest.index(after: colon)...]
        }
        if let port {
            guard let number = Int(port), (1...65535).contains(number) else {
                return fail("\"\(ConfigurationProblem.printable(entry))\" has the port \"\(ConfigurationProblem.printable(String(port)))\"; a port is a number from 1 to 65535 (an IPv6 address needs brackets: [2001:db8::1])")
            }
        }
        if !host.hasPrefix("[") {
            let labels = host.split(separator: ".", omittingEmptySubsequences: false)
            let valid = !host.isEmpty && host.utf8.count <= 253 && labels.allSatisfy { label in
                !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                    && label.unicodeScalars.allSatisfy { s in
                        (s >= "a" && s <= "z") || (s >= "A" && s <= "Z") || (s >= "0" && s <= "9") || s == "-" || s == "_"
                    }
            }
            guard valid else {
                return fail("\"\(ConfigurationProblem.printable(entry))\" is not a host name (letters, digits, '-' and '.' between labels)")
            }
        }
        return .success(host.lowercased())
    }
}

extension EnvironmentReader {
    /// Reads `MEDIA_ROOT`, `ALLOWED_HOSTS`, `DOMAIN_NAME`, `WEB_CONCURRENCY`,
    /// `MATHESAR_LEGACY_SECRETS_DIR` and `MATHESAR_ALLOW_NEW_SECRET_KEY`.
    /// Returns the settings and the warnings worth telling the user.
    mutating func appSettings(dataDirectory: String, cpus: CPUCount) -> (AppSettings, [String]) {
        var warnings: [String] = []
        // Uploads: in the volume unless the user points them elsewhere.
        var mediaRoot = dataDirectory + "/media/"
        if let given = raw(.mediaRoot) {
            if EnvironmentReader.normalizedPath(given) == nil {
                problem(.mediaRoot, given, "must be an absolute directory path (uploads are kept there)", example: "MEDIA_ROOT=\(dataDirectory)/media/")
            }
            mediaRoot = given
            record(.mediaRoot, given, .environment)
        } else {
            record(.mediaRoot, mediaRoot, .defaultValue)
        }

        var domainHosts: [String] = []
        if let domain = raw(.domainName) {
            switch DomainName.hosts(domain) {
            case .success(let hosts): domainHosts = hosts
            case .failure(let why):
                problem(.domainName, domain, why.reason + "; it must be a URL or host[:port] (the address users open)", example: "DOMAIN_NAME=https://mathesar.example.com")
            }
            record(.domainName, domain, .environment)
        } else {
            recordUnset(.domainName)
        }

        var allowed = AllowedHosts.appDefault
        var toPass: String?
        if let given = raw(.allowedHosts) {
            allowed = AllowedHosts.split(given)
            if allowed.isEmpty {
                problem(.allowedHosts, given, "holds no host name; the app would refuse every request", example: "ALLOWED_HOSTS=mathesar.example.com,127.0.0.1")
            }
            for entry in allowed {
                if let why = AllowedHosts.problem(entry) {
                    problem(.allowedHosts, given, why, example: "ALLOWED_HOSTS=mathesar.example.com,127.0.0.1")
                }
            }
            record(.allowedHosts, given, .environment)
            for host in domainHosts where !allowed.contains(where: { AllowedHosts.matches(host, pattern: $0) }) {
                warnings.append("DOMAIN_NAME names \(host), which ALLOWED_HOSTS does not include: the app answers 400 to requests for it; add it to ALLOWED_HOSTS")
            }
        } else if !domainHosts.isEmpty {
            allowed = AllowedHosts.appDefault + domainHosts.filter { !AllowedHosts.appDefault.contains($0) }
            toPass = allowed.joined(separator: ", ")
            record(.allowedHosts, toPass!, .generated)
        } else {
            record(.allowedHosts, "(unset: the app's default, \(AllowedHosts.appDefault.joined(separator: ", ")))", .defaultValue)
        }

        var concurrency: String?
        if let given = raw(.webConcurrency) {
            if Int(given.trimmingSpaces()).map({ (1...1024).contains($0) }) != true {
                problem(.webConcurrency, given, "must be a whole number of gunicorn workers from 1 to 1024", example: "WEB_CONCURRENCY=3")
            }
            record(.webConcurrency, given, .environment)
        } else {
            concurrency = String(cpus.webConcurrency)
            record(.webConcurrency, "\(concurrency!) (2 x \(cpus.count) CPUs + 1; CPUs from \(cpus.origin))", .defaultValue)
        }

        let legacy = path(.legacySecretsDirectory, example: "/code/.secrets")!
        let allowNew = boolean(.allowNewSecretKey)
        return (AppSettings(mediaRoot: mediaRoot, allowedHostsToPass: toPass, allowedHosts: allowed, domainHosts: domainHosts,
                           webConcurrencyToPass: concurrency, legacySecretsDirectory: legacy, allowNewSecretKey: allowNew), warnings)
    }
}
