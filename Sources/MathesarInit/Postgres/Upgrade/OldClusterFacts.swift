/// What the new cluster must share with the old one, read from the old cluster
/// by its own server in single-user mode with one query: encoding, locale,
/// the bootstrap superuser, data checksums and WAL segment size. Single-user
/// mode also finishes crash recovery and ends with a shutdown checkpoint,
/// leaving the cluster cleanly shut down as pg_upgrade requires; it needs no
/// socket, port or password. (pg_control does not hold the locale.)
public struct OldClusterFacts: Equatable, Sendable {
    public var encoding: String
    public var collate: String
    public var ctype: String
    /// `c` (libc), `i` (ICU), `b` (builtin, PostgreSQL 17+).
    public var localeProvider: String
    /// The ICU or builtin locale, when the provider is not libc.
    public var providerLocale: String
    public var icuRules: String
    /// The bootstrap superuser (oid 10): pg_upgrade needs the same name in both clusters.
    public var installUser: String
    public var dataChecksums: Bool
    public var walSegmentBytes: Int?

    /// The query for single-user mode, one line (a newline ends a statement there).
    public static func query(oldMajor: Int) -> String {
        let provider: String
        switch oldMajor {
        case ...14: provider = "'c', '', ''"
        case 15: provider = "datlocprovider, coalesce(daticulocale, ''), ''"
        case 16: provider = "datlocprovider, coalesce(daticulocale, ''), coalesce(daticurules, '')"
        default: provider = "datlocprovider, coalesce(datlocale, ''), coalesce(daticurules, '')"
        }
        let walSegment = oldMajor >= 11 ? "(SELECT setting FROM pg_catalog.pg_settings WHERE name = 'wal_segment_size')" : "''"
        return "SELECT concat_ws('|', 'msi', pg_encoding_to_char(encoding), datcollate, datctype, \(provider), (SELECT rolname FROM pg_catalog.pg_authid WHERE oid = 10), current_setting('data_checksums'), \(walSegment)) AS info FROM pg_catalog.pg_database WHERE datname = 'template0'\n"
    }

    /// The fields of the query's answer in single-user output, where it reads
    /// `	 1: info = "msi|UTF8|C.UTF-8|C.UTF-8|c|||postgres|off|16777216"	(typeid = 25, ...)`.
    public static func parseSingleUserOutput(_ lines: [String]) -> [String]? {
        for line in lines {
            guard let start = line.firstRange(of: "info = \"msi|") else { continue }
            let rest = line[start.upperBound...]
            guard let end = rest.lastIndex(of: "\"") else { continue }
            let fields = rest[..<end].split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            if fields.count == 9 { return fields }
        }
        return nil
    }

    public init(fields: [String]) {
        encoding = fields[0]
        collate = fields[1]
        ctype = fields[2]
        localeProvider = fields[3]
        providerLocale = fields[4]
        icuRules = fields[5]
        installUser = fields[6]
        dataChecksums = fields[7] == "on"
        walSegmentBytes = Int(fields[8])
    }

    /// initdb's options for a new cluster pg_upgrade accepts for this old one.
    public func initdbArguments(newMajor: Int) -> [String] {
        var arguments = ["--username=\(installUser)", "--encoding=\(encoding)", "--lc-collate=\(collate)", "--lc-ctype=\(ctype)"]
        switch localeProvider {
        case "i":
            arguments += ["--locale-provider=icu", "--icu-locale=\(providerLocale)"]
            if !icuRules.isEmpty && newMajor >= 16 { arguments.append("--icu-rules=\(icuRules)") }
        case "b":
            arguments += ["--locale-provider=builtin", "--builtin-locale=\(providerLocale)"]
        default:
            break
        }
        if dataChecksums {
            arguments.append("--data-checksums")
        } else if newMajor >= 18 {
            arguments.append("--no-data-checksums")  // the default became "on" in 18
        }
        if let bytes = walSegmentBytes, bytes != 16 << 20, bytes >= 1 << 20 {
            arguments.append("--wal-segsize=\(bytes >> 20)")
        }
        return arguments
    }

    /// For the log: "UTF8, locale C.UTF-8, data checksums off".
    public var description: String {
        var locale = collate == ctype ? "locale \(collate)" : "collation \(collate), ctype \(ctype)"
        if localeProvider == "i" { locale += ", ICU locale \(providerLocale)" }
        if localeProvider == "b" { locale += ", builtin locale \(providerLocale)" }
        return "\(encoding), \(locale), data checksums \(dataChecksums ? "on" : "off")"
    }
}
