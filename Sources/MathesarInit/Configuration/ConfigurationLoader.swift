/// Builds the `Configuration` from the environment: a pure function of the
/// variables and the files they name, returning every problem at once.
public enum ConfigurationLoader {
    public static let sslModes = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]

    /// Every variable the contract defines; a MATHESAR_* name not in here is reported as a likely typo.
    public static let knownVariables: Set<String> = [
        "MEDIA_ROOT", "ALLOWED_HOSTS", "DOMAIN_NAME", "WEB_CONCURRENCY", "MATHESAR_LEGACY_SECRETS_DIR",
        "MATHESAR_ALLOW_NEW_SECRET_KEY",
        "SECRET_KEY", "SECRET_KEY_FILE", "POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_DB", "POSTGRES_USER",
        "POSTGRES_PASSWORD", "POSTGRES_PASSWORD_FILE", "POSTGRES_SSLMODE", "MATHESAR_DATA_DIR", "PGDATA",
        "MATHESAR_RUN_DIR", "MATHESAR_PG_BINDIR", "MATHESAR_APP_COMMAND", "MATHESAR_APP_USER",
        "MATHESAR_MIGRATE_COMMAND", "MATHESAR_SQL_UPGRADE_COMMAND", "MATHESAR_RESTART",
        "MATHESAR_STOP_TIMEOUT", "MATHESAR_DB_WAIT_TIMEOUT", "MATHESAR_HEALTHCHECK_URL", "MATHESAR_LOG_FORMAT",
        "MATHESAR_PG_OLD_BINDIR", "MATHESAR_PG_UPGRADE_MODE", "MATHESAR_PG_UPGRADE_KEEP_OLD",
        "MATHESAR_APP_ALLOW_SETUID", "MATHESAR_MIGRATE", "MATHESAR_APP_FINGERPRINT_PATHS", "MATHESAR_TEMPLATE_DIR",
    ]

    /// Variables earlier versions read, and why they are gone.
    public static let retiredVariables: [(name: String, why: String)] = [
        ("MATHESAR_SCHEMA_DIR", "Mathesar installs and upgrades its own SQL in each user database"),
        ("MATHESAR_SCHEMA_DATABASES", "the app knows its user databases; their Mathesar SQL is upgraded through the app's installer"),
    ]

    /// - Parameters:
    ///   - arguments: the app command from the command line (the image's CMD), if any.
    ///   - isRoot: whether PID 1 runs as root (decides whether `MATHESAR_APP_USER` applies).
    public static func load(
        environment: [String: String], arguments: [String] = [], files: FileReader = .system, isRoot: Bool = true
    ) -> Result<Configuration, ConfigurationError> {
        // A value that is not UTF-8 (kept as RawBytes escapes) is none of ours:
        // refuse it instead of reading a repaired copy.
        var readable = environment
        var undecodable: [ConfigurationProblem] = []
        for name in knownVariables.sorted() {
            guard let value = environment[name], RawBytes.hasEscapes(value) else { continue }
            readable[name] = nil
            let shown = name == "SECRET_KEY" || name == "POSTGRES_PASSWORD" ? nil : value
            undecodable.append(ConfigurationProblem(variable: name, value: shown, reason: "is not valid UTF-8 text"))
        }
        var env = EnvironmentReader(environment: readable, files: files)
        env.problems = undecodable
        var warnings: [String] = []

        // Database: bundled unless POSTGRES_HOST is set.
        let hostValue = env.raw("POSTGRES_HOST")
        let mode: DatabaseMode = hostValue == nil ? .bundled : .external
        if let hostValue {
            if !isValidHost(hostValue) {
                env.problem("POSTGRES_HOST", hostValue, "must be a host name, an IP address or an absolute socket directory", example: "POSTGRES_HOST=db.example.com")
            }
            env.record("POSTGRES_HOST", hostValue, .environment)
        } else {
            env.record("POSTGRES_HOST", "(unset: bundled PostgreSQL)", .defaultValue)
        }
        let port = env.integer("POSTGRES_PORT", default: 5432, range: 1...65535, example: "5432")
        let dbName = env.string("POSTGRES_DB", default: "mathesar_django", maxBytes: 63, example: "POSTGRES_DB=mathesar_django")
        let dbUser = env.string("POSTGRES_USER", default: "mathesar", maxBytes: 63, example: "POSTGRES_USER=mathesar")
        var password = env.secret("POSTGRES_PASSWORD", example: "postgres_password")
        if password == nil && !env.problems.contains(where: { $0.variable.hasPrefix("POSTGRES_PASSWORD") }) {
            if mode == .external {
                env.problem("POSTGRES_PASSWORD", nil, "is required when POSTGRES_HOST is set (external database); set POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE", example: "POSTGRES_PASSWORD_FILE=/run/secrets/postgres_password")
            } else {
                password = .persisted(name: "postgres_password")
                env.record("POSTGRES_PASSWORD", "<redacted>", .generated)
            }
        }
        let sslMode = env.string("POSTGRES_SSLMODE", default: "prefer", maxBytes: 16, example: "POSTGRES_SSLMODE=require")
        if !sslModes.contains(sslMode) {
            env.problem("POSTGRES_SSLMODE", sslMode, "must be one of \(sslModes.joined(separator: ", "))", example: "POSTGRES_SSLMODE=require")
        } else if mode == .bundled && ["require", "verify-ca", "verify-full"].contains(sslMode) {
            env.problem("POSTGRES_SSLMODE", sslMode, "asks for TLS, but the bundled PostgreSQL (POSTGRES_HOST is not set) is reachable only inside the container and has no certificate; unset it, or set POSTGRES_HOST to use an external server", example: "POSTGRES_SSLMODE=prefer")
        }
        for (name, value) in [("POSTGRES_DB", dbName), ("POSTGRES_USER", dbUser)] where value.contains("\"") || value.contains("\\") {
            env.problem(name, value, "must not contain quotes or backslashes", example: "\(name)=mathesar")
        }

        // The app's secret key.
        let secretKey = env.secret("SECRET_KEY", example: "secret_key") ?? {
            env.record("SECRET_KEY", "<redacted>", .generated)
            return .persisted(name: "secret_key")
        }()

        // Paths.
        let dataDirectory = env.path("MATHESAR_DATA_DIR", default: "/var/lib/mathesar", example: "/var/lib/mathesar")!
        if dataDirectory == "/" {
            env.problem("MATHESAR_DATA_DIR", dataDirectory, "must not be the root directory; give the volume's mount point", example: "MATHESAR_DATA_DIR=/var/lib/mathesar")
        }
        let pgdata = env.path("PGDATA", default: dataDirectory + "/postgres", example: "/var/lib/mathesar/postgres")!
        let runDirectory = env.path("MATHESAR_RUN_DIR", default: "/run/mathesar", example: "/run/mathesar")!
        if pgdata == dataDirectory || dataDirectory.hasPrefix(pgdata + "/") {
            env.problem("PGDATA", pgdata, "must be a directory of its own, not \(dataDirectory) (MATHESAR_DATA_DIR) or a parent of it", example: "PGDATA=\(dataDirectory)/postgres")
        }
        if pgdata == runDirectory || pgdata.hasPrefix(runDirectory + "/") || runDirectory == dataDirectory {
            env.problem("MATHESAR_RUN_DIR", runDirectory, "must be separate from the data volume and PGDATA (it holds sockets and status, usually on tmpfs)", example: "MATHESAR_RUN_DIR=/run/mathesar")
        }
        let pgBin = env.path("MATHESAR_PG_BINDIR", default: nil, example: "/usr/lib/postgresql/15/bin")
        if pgBin == nil, env.raw("MATHESAR_PG_BINDIR") == nil {
            env.record("MATHESAR_PG_BINDIR", "(newest /usr/lib/postgresql/*/bin, else PATH)", .defaultValue)
        }
        let pgOldBin = env.path("MATHESAR_PG_OLD_BINDIR", default: nil, example: "/usr/lib/postgresql/15/bin")
        if pgOldBin == nil, env.raw("MATHESAR_PG_OLD_BINDIR") == nil {
            env.record("MATHESAR_PG_OLD_BINDIR", "(/usr/lib/postgresql/OLD/bin, when an upgrade needs it)", .defaultValue)
        }
        let upgradeMode = env.choice("MATHESAR_PG_UPGRADE_MODE", default: UpgradeMode.auto)
        let keepOld = env.boolean("MATHESAR_PG_UPGRADE_KEEP_OLD", default: false)
        let allowSetuid = env.boolean("MATHESAR_APP_ALLOW_SETUID", default: false)

        // The app and its supervision.
        // Validated even when arguments take precedence: every value is checked.
        var appCommand = env.command("MATHESAR_APP_COMMAND", example: "gunicorn config.wsgi -b 0.0.0.0:8000")
        if appCommand == nil, env.raw("MATHESAR_APP_COMMAND") == nil { env.record("MATHESAR_APP_COMMAND", "(unset)", .defaultValue) }
        if !arguments.isEmpty {
            appCommand = arguments
            env.record("app command", arguments.joined(separator: " "), .commandLine)
        }
        var appUser = env.raw("MATHESAR_APP_USER")
        if let user = appUser {
            if user.utf8.count > 64 || user.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) {
                env.problem("MATHESAR_APP_USER", user, "must be a user name or uid (optionally NAME:GROUP or UID:GID)", example: "MATHESAR_APP_USER=mathesar")
                appUser = nil
            } else if !isRoot {
                warnings.append("MATHESAR_APP_USER=\(ConfigurationProblem.printable(user)) is ignored: PID 1 does not run as root, so every child runs as the current user")
                env.record("MATHESAR_APP_USER", user + " (ignored: not root)", .environment)
                appUser = nil
            } else {
                env.record("MATHESAR_APP_USER", user, .environment)
            }
        } else {
            env.record("MATHESAR_APP_USER", "(unset: the current user)", .defaultValue)
        }
        let migrate = env.command("MATHESAR_MIGRATE_COMMAND", example: "python -m mathesar.install --skip-confirm")
        if migrate == nil, env.raw("MATHESAR_MIGRATE_COMMAND") == nil { env.record("MATHESAR_MIGRATE_COMMAND", "(unset)", .defaultValue) }
        let sqlUpgrade = env.command("MATHESAR_SQL_UPGRADE_COMMAND", example: "python /code/mathesar_sql.py")
        if sqlUpgrade == nil, env.raw("MATHESAR_SQL_UPGRADE_COMMAND") == nil { env.record("MATHESAR_SQL_UPGRADE_COMMAND", "(unset)", .defaultValue) }
        let migrateMode = env.choice("MATHESAR_MIGRATE", default: MigrateMode.changed)
        var fingerprintPaths: [String] = []
        if let value = env.raw("MATHESAR_APP_FINGERPRINT_PATHS") {
            for part in value.split(separator: ":").map(String.init) {
                if let path = EnvironmentReader.normalizedPath(part) {
                    fingerprintPaths.append(path)
                } else {
                    env.problem("MATHESAR_APP_FINGERPRINT_PATHS", value, "must be absolute paths separated by \":\" (\"\(ConfigurationProblem.printable(part))\" is not one)", example: "MATHESAR_APP_FINGERPRINT_PATHS=/code/mathesar/__init__.py:/code/mathesar/migrations")
                }
            }
            env.record("MATHESAR_APP_FINGERPRINT_PATHS", value, .environment)
        } else {
            env.record("MATHESAR_APP_FINGERPRINT_PATHS", "(unset: the app's changes are not known, so MATHESAR_MIGRATE=changed runs the migrate command)", .defaultValue)
        }
        let templateDirectory = env.path("MATHESAR_TEMPLATE_DIR", default: Configuration.defaultTemplateDirectory, example: Configuration.defaultTemplateDirectory)
        let restart = env.choice("MATHESAR_RESTART", default: RestartPolicy.onFailure)
        let stopTimeout = env.seconds("MATHESAR_STOP_TIMEOUT", default: 9, range: 1...3600, example: "9")
        let waitTimeout = env.seconds("MATHESAR_DB_WAIT_TIMEOUT", default: 60, range: 0...86400, example: "120")
        let healthURL = env.string("MATHESAR_HEALTHCHECK_URL", default: "http://127.0.0.1:8000/", maxBytes: 2048, example: "MATHESAR_HEALTHCHECK_URL=http://127.0.0.1:8000/health")
        if HealthURL.parse(healthURL) == nil {
            env.problem("MATHESAR_HEALTHCHECK_URL", healthURL, "must be an http:// URL with a host, optional port and path (https is not supported: the check runs inside the container)", example: "MATHESAR_HEALTHCHECK_URL=http://127.0.0.1:8000/health")
        }
        let logFormat = env.choice("MATHESAR_LOG_FORMAT", default: LogFormat.text)
        let (app, appWarnings) = env.appSettings(dataDirectory: dataDirectory, cpus: CPUCount.detect(files: files))
        warnings += appWarnings

        // Variables of earlier versions: a warning, so that old compose files still boot.
        for (name, why) in retiredVariables where env.raw(name) != nil {
            warnings.append("\(name) is no longer used and is ignored: \(why); remove it")
        }

        for name in environment.keys.sorted() where name.hasPrefix("MATHESAR_") && !knownVariables.contains(name)
            && !retiredVariables.contains(where: { $0.name == name }) {
            let guess = knownVariables.min { editDistance($0, name) < editDistance($1, name) }!
            let hint = editDistance(guess, name) <= 3 ? "; did you mean \(guess)?" : ""
            warnings.append("unknown variable \(ConfigurationProblem.printable(name)) is ignored\(hint)")
        }

        if !env.problems.isEmpty { return .failure(ConfigurationError(problems: env.problems)) }
        var config = Configuration(
            database: DatabaseSettings(mode: mode, host: hostValue, port: port, name: dbName, user: dbUser, password: password, sslMode: sslMode),
            secretKey: secretKey,
            dataDirectory: dataDirectory, pgdata: pgdata, runDirectory: runDirectory,
            pgBinDirectory: pgBin, pgOldBinDirectory: pgOldBin, upgradeMode: upgradeMode, keepOldCluster: keepOld,
            appCommand: appCommand, appUser: appUser, appAllowSetuid: allowSetuid, migrateCommand: migrate, sqlUpgradeCommand: sqlUpgrade,
            restart: restart, stopTimeout: stopTimeout, databaseWaitTimeout: waitTimeout,
            healthcheckURL: healthURL, logFormat: logFormat, app: app,
            environment: environment, entries: env.entries, warnings: warnings)
        config.migrateMode = migrateMode
        config.appFingerprintPaths = fingerprintPaths
        config.templateDirectory = templateDirectory
        return .success(config)
    }

    static func isValidHost(_ host: String) -> Bool {
        if host.hasPrefix("/") { return EnvironmentReader.normalizedPath(host) != nil }
        guard host.utf8.count <= 253 else { return false }
        return host.unicodeScalars.allSatisfy { s in
            (s >= "a" && s <= "z") || (s >= "A" && s <= "Z") || (s >= "0" && s <= "9") || s == "." || s == "-" || s == ":" || s == "_"
        }
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in 1...max(b.count, 1) where !b.isEmpty {
                let saved = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = saved
            }
        }
        return row[b.count]
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = self[...]
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return String(s)
    }
}
