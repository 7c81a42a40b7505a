/// `MATHESAR_HEALTHCHECK_URL`, parsed: plain HTTP inside the container.
public struct HealthURL: Equatable, Sendable {
    public var host: String
    public var port: Int
    public var path: String

    public static func parse(_ text: String) -> HealthURL? {
        guard text.hasPrefix("http://") else { return nil }
        let rest = text.dropFirst(7)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        let path = slash == rest.endIndex ? "/" : String(rest[slash...])
        guard !authority.isEmpty, !authority.contains("@"), !path.contains(" ") else { return nil }
        var host = String(authority)
        var port = 80
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()), (1...65535).contains(p) else { return nil }
                port = p
            } else if !after.isEmpty { return nil }
        } else if authority.filter({ $0 == ":" }).count > 1 {
            return nil  // an IPv6 address needs brackets: http://[::1]:8000/
        } else if let colon = authority.lastIndex(of: ":") {
            guard let p = Int(authority[authority.index(after: colon)...]), (1...65535).contains(p) else { return nil }
            host = String(authority[..<colon])
            port = p
        }
        guard !host.isEmpty, ConfigurationLoader.isValidHost(host) else { return nil }
        return HealthURL(host: host, port: port, path: path)
    }
}
