/// Every variable of the configuration, in the order `config` lists them and
/// the documentation's table shows them. The loader reads each through its
/// case (its kind gives the limits, its default the value when unset), the
/// unknown-variable warning knows them from here, and docs/configuration.md's
/// table is `ConfigVariable.markdownTable` (a test keeps it current). Adding
/// a variable is a case here, its arm in `info`, and the line that reads it.
public enum ConfigVariable: String, CaseIterable, Sendable {
    case secretKey = "SECRET_KEY"
    case postgresHost = "POSTGRES_HOST"
    case postgresPort = "POSTGRES_PORT"
    case postgresDB = "POSTGRES_DB"
    case postgresUser = "POSTGRES_USER"
    case postgresPassword = "POSTGRES_PASSWORD"
    case postgresSSLMode = "POSTGRES_SSLMODE"
    case databaseURL = "DATABASE_URL"
    case port = "PORT"
    case dataDirectory = "MATHESAR_DATA_DIR"
    case pgdata = "PGDATA"
    case runDirectory = "MATHESAR_RUN_DIR"
    case pgBinDirectory = "MATHESAR_PG_BINDIR"
    case pgOldBinDirectory = "MATHESAR_PG_OLD_BINDIR"
    case upgradeMode = "MATHESAR_PG_UPGRADE_MODE"
    case keepOldCluster = "MATHESAR_PG_UPGRADE_KEEP_OLD"
    case appCommand = "MATHESAR_APP_COMMAND"
    case appUser = "MATHESAR_APP_USER"
    case appAllowSetuid = "MATHESAR_APP_ALLOW_SETUID"
    case migrateCommand = "MATHESAR_MIGRATE_COMMAND"
    case sqlUpgradeCommand = "MATHESAR_SQL_UPGRADE_COMMAND"
    case restart = "MATHESAR_RESTART"
    case stopTimeout = "MATHESAR_STOP_TIMEOUT"
    case databaseWaitTimeout = "MATHESAR_DB_WAIT_TIMEOUT"
    case healthcheckURL = "MATHESAR_HEALTHCHECK_URL"
    case logFormat = "MATHESAR_LOG_FORMAT"
    case mediaRoot = "MEDIA_ROOT"
    case allowedHosts = "ALLOWED_HOSTS"
    case domainName = "DOMAIN_NAME"
    case webConcurrency = "WEB_CONCURRENCY"
    case legacySecretsDirectory = "MATHESAR_LEGACY_SECRETS_DIR"
    case allowNewSecretKey = "MATHESAR_ALLOW_NEW_SECRET_KEY"

    /// What a variable holds, as the loader checks it.
    public enum Kind: Sendable, Equatable {
        /// Printable text up to this many bytes.
        case text(maxBytes: Int)
        /// `X` or `X_FILE` (the Docker-secrets convention); never shown.
        case secret
        /// An absolute path, normalized.
        case path
        /// A whole number in the range.
        case integer(ClosedRange<Int>)
        /// A number of seconds in the range.
        case seconds(ClosedRange<Double>)
        case boolean
        /// One of the values of its enum.
        case choice
        /// Split with shell quoting rules, never run through a shell.
        case command
        /// A host name, an IP address or a socket directory.
        case host
        /// A user name or uid, optionally with a group.
        case account
        /// Several entries separated by commas (or spaces).
        case list
    }

    /// The value when the variable is unset.
    public enum Default: Sendable, Equatable {
        /// This value, as `config` shows it.
        case value(String)
        /// Made at load or at boot (the docs say how).
        case derived(docs: String)
        /// Nothing; `config` shows `shown` (or no line when nil).
        case unset(docs: String, shown: String?)
    }

    public struct Info: Sendable {
        public var kind: Kind
        public var `default`: Default
        /// The documentation's line: what it does, what is valid.
        public var meaning: String
    }

    public var name: String { rawValue }
    public var isSecret: Bool { info.kind == .secret }
    /// The `_FILE` variant of a secret.
    public var fileName: String? { isSecret ? rawValue + "_FILE" : nil }

    /// The literal default (nil when derived or unset).
    public var defaultValue: String? {
        if case .value(let value) = info.default { value } else { nil }
    }

    public var info: Info {
        switch self {
        case .secretKey:
            Info(kind: .secret, default: .derived(docs: "generated"),
                 meaning: #"Django's secret. Unset: read from `$MATHESAR_DATA_DIR/secrets/secret_key`, generated there on first boot (50 characters from `getrandom`, [a-zA-Z0-9], written atomically, mode 0600, directory 0700, owned by the app user). Given to the app as `SECRET_KEY`."#)
        case .postgresHost:
            Info(kind: .host, default: .unset(docs: "unset", shown: "(unset: bundled PostgreSQL)"),
                 meaning: #"unset/empty: the bundled PostgreSQL; set: an external server (host, IP, or socket directory)"#)
        case .postgresPort:
            Info(kind: .integer(1...65535), default: .value("5432"),
                 meaning: #"external server's port, or the bundled server's port on 127.0.0.1"#)
        case .postgresDB:
            Info(kind: .text(maxBytes: 63), default: .value("mathesar_django"),
                 meaning: #"the internal database"#)
        case .postgresUser:
            Info(kind: .text(maxBytes: 63), default: .value("mathesar"),
                 meaning: #"the app's role"#)
        case .postgresPassword:
            Info(kind: .secret, default: .derived(docs: "bundled: generated"),
                 meaning: #"bundled: generated and kept in `secrets/postgres_password`; external: required"#)
        case .postgresSSLMode:
            Info(kind: .text(maxBytes: 16), default: .value("prefer"),
                 meaning: #"passed to libpq and the app; `require`/`verify-*` with the bundled server is an error (it has no TLS)"#)
        case .databaseURL:
            Info(kind: .text(maxBytes: 4096), default: .unset(docs: "unset", shown: "(unset)"),
                 meaning: #"`postgres://` or `postgresql://USER:PASSWORD@HOST:PORT/DB?sslmode=MODE` (the PaaS convention): the same as setting the `POSTGRES_*` it names (percent-encoded parts decoded; an IPv6 host in `[...]`; a socket directory percent-encoded; `sslmode` is the only parameter). Set together with `POSTGRES_HOST`, `_PORT`, `_USER`, `_PASSWORD`, `_PASSWORD_FILE`, `_DB` (or `POSTGRES_SSLMODE` when the URL has `sslmode=`) it is an error naming both; a URL without a password, with several hosts or another parameter is an error. Messages and `config` show it with the password replaced by `<redacted>`; the app gets the `POSTGRES_*`, not the URL"#)
        case .port:
            Info(kind: .integer(1...65535), default: .value("8000"),
                 meaning: #"where the app listens (the PaaS convention): passed to the app (gunicorn given no `-b` binds `0.0.0.0:$PORT`, as the image's CMD does), and the port of `MATHESAR_HEALTHCHECK_URL`'s default"#)
        case .dataDirectory:
            Info(kind: .path, default: .value("/var/lib/mathesar"),
                 meaning: #"the volume: `postgres/`, `secrets/`, `media/`, `.mathesar-init.lock`"#)
        case .pgdata:
            Info(kind: .path, default: .derived(docs: "`$MATHESAR_DATA_DIR/postgres`"),
                 meaning: #"the bundled cluster"#)
        case .runDirectory:
            Info(kind: .path, default: .value("/run/mathesar"),
                 meaning: #"`status.json` and `postgresql/` (the server's socket, mode 0700)"#)
        case .pgBinDirectory:
            Info(kind: .path, default: .unset(docs: "newest `/usr/lib/postgresql/*/bin`, else `PATH`", shown: "(newest /usr/lib/postgresql/*/bin, else PATH)"),
                 meaning: #"bundled server binaries"#)
        case .pgOldBinDirectory:
            Info(kind: .path, default: .unset(docs: "`/usr/lib/postgresql/OLD/bin`", shown: "(/usr/lib/postgresql/OLD/bin, when an upgrade needs it)"),
                 meaning: #"old server binaries for a major-version upgrade"#)
        case .upgradeMode:
            Info(kind: .choice, default: .value("auto"),
                 meaning: #"`auto` (clone if the filesystem can, else copy), `clone`, `copy`, `link`"#)
        case .keepOldCluster:
            Info(kind: .boolean, default: .value("false"),
                 meaning: #"keep the old cluster after a verified upgrade"#)
        case .appCommand:
            Info(kind: .command, default: .unset(docs: "none", shown: "(unset)"),
                 meaning: #"the app command when no arguments are given; split with shell quoting rules, never run through a shell (`$` stays literal)"#)
        case .appUser:
            Info(kind: .account, default: .unset(docs: "unset", shown: "(unset: the current user)"),
                 meaning: #"run the app and the migrate command as this user (`NAME`, `UID`, `NAME:GROUP`, `UID:GID`) when PID 1 is root; ignored with a warning otherwise"#)
        case .appAllowSetuid:
            Info(kind: .boolean, default: .value("false"),
                 meaning: #"with `MATHESAR_APP_USER`: let the app and the migrate command gain privileges at exec (setuid programs such as `sudo`, file capabilities); by default they cannot (no_new_privs, empty capability bounding set)"#)
        case .migrateCommand:
            Info(kind: .command, default: .unset(docs: "none", shown: "(unset)"),
                 meaning: #"run once per boot after the database is ready, before the app"#)
        case .sqlUpgradeCommand:
            Info(kind: .command, default: .unset(docs: "none (the Mathesar images set it)", shown: "(unset)"),
                 meaning: #"the app's script that upgrades the Mathesar SQL of the user databases through the app's own models; run as `COMMAND upgrade` beside the app at each boot, and by `schema ...`; split like the migrate command, never through a shell"#)
        case .restart:
            Info(kind: .choice, default: .value("on-failure"),
                 meaning: #"`on-failure`, `always`, `never`"#)
        case .stopTimeout:
            Info(kind: .seconds(1...3600), default: .value("9"),
                 meaning: #"seconds for the whole shutdown"#)
        case .databaseWaitTimeout:
            Info(kind: .seconds(0...86400), default: .value("60"),
                 meaning: #"seconds to wait for an external server at boot"#)
        case .healthcheckURL:
            Info(kind: .text(maxBytes: 2048), default: .derived(docs: "`http://127.0.0.1:$PORT/`"),
                 meaning: #"what `healthcheck` asks (2xx and 3xx are healthy)"#)
        case .logFormat:
            Info(kind: .choice, default: .value("text"),
                 meaning: #"`text` (`source \| message`) or `json` (one object a line: `time`, `source`, `level`, `message`)"#)
        case .mediaRoot:
            Info(kind: .path, default: .derived(docs: "`$MATHESAR_DATA_DIR/media/`"),
                 meaning: #"where the app keeps uploads (CSV/TSV imports): passed to the app, so they live in the volume; the user's value is passed as given (an absolute path)"#)
        case .allowedHosts:
            Info(kind: .list, default: .unset(docs: "unset", shown: nil),
                 meaning: #"the host names the app answers (comma-separated, Django's patterns: `.example.com`, `*`); passed as given. Unset: nothing is passed (the app's own default `.localhost, 127.0.0.1, [::1]` applies), unless `DOMAIN_NAME` is set: then that default plus `DOMAIN_NAME`'s host. An entry with a scheme or a port is an error (it never matches)"#)
        case .domainName:
            Info(kind: .list, default: .unset(docs: "unset", shown: "(unset)"),
                 meaning: #"the address users open (Mathesar's compose file gives it to its proxy): a URL or `host[:port]`, several separated by commas; its host names are added to the app's default `ALLOWED_HOSTS` when `ALLOWED_HOSTS` is unset (with `ALLOWED_HOSTS` set, a warning when they are missing from it)"#)
        case .webConcurrency:
            Info(kind: .integer(1...1024), default: .derived(docs: "2 × CPUs + 1"),
                 meaning: #"gunicorn's worker count (as Mathesar's documentation advises); CPUs from the cgroup limit (`/sys/fs/cgroup/cpu.max`, or cgroup v1's CFS quota; rounded up) when there is one, else the CPUs PID 1 may run on. The user's value is passed as given (1–1024)"#)
        case .legacySecretsDirectory:
            Info(kind: .path, default: .value("/code/.secrets"),
                 meaning: #"where Mathesar's own image kept its key (`secret_key.txt`): read when `SECRET_KEY` is not set and the volume has no key yet (see "Keys of volumes from Mathesar's image")"#)
        case .allowNewSecretKey:
            Info(kind: .boolean, default: .value("false"),
                 meaning: #"`true`: generate a new key even though PGDATA already holds a cluster whose stored database passwords then become unreadable"#)

        }
    }

    /// Every name the configuration reads: the variables and the `_FILE` variants.
    public static let allNames: Set<String> = Set(allCases.flatMap { [$0.rawValue] + ($0.fileName.map { [$0] } ?? []) })

    /// The case for a name (`X_FILE` names its secret).
    public static func named(_ name: String) -> ConfigVariable? {
        ConfigVariable(rawValue: name) ?? allCases.first { $0.fileName == name }
    }

    /// The table of docs/configuration.md.
    public static var markdownTable: String {
        var lines = ["| variable | default | meaning |", "|---|---|---|"]
        for variable in allCases {
            let names = "`\(variable.name)`" + (variable.fileName.map { " / `\($0)`" } ?? "")
            let shownDefault: String
            switch variable.info.default {
            case .value(let value): shownDefault = "`\(value)`"
            case .derived(let docs), .unset(let docs, _): shownDefault = docs
            }
            lines.append("| \(names) | \(shownDefault) | \(variable.info.meaning) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
