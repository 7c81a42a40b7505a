import Glibc

/// This process's environment as a dictionary. Values that are not UTF-8 are
/// kept byte for byte (see `RawBytes`), not repaired into U+FFFD: children get
/// them unchanged, and configuration refuses them in its own variables.
public func currentEnvironment() -> [String: String] {
    var result: [String: String] = [:]
    var cursor = environ
    while let entry = cursor.pointee {
        let text = RawBytes.decode(UnsafeRawPointer(entry).assumingMemoryBound(to: UInt8.self), count: strlen(entry))
        // Split on the first "=" scalar: a combining mark after it would hide it from Character search.
        let scalars = text.unicodeScalars
        if let eq = scalars.firstIndex(of: "=") {
            result[String(scalars[..<eq])] = String(scalars[scalars.index(after: eq)...])
        }
        cursor += 1
    }
    return result
}

/// Builds the `Configuration` from the environment: a pure function of the
/// variables and the files they name, returning every problem at once. Which
/// variables exist, their kinds and defaults are `ConfigVariable`'s; each
/// section below reads its own.
public enum ConfigurationLoader {
    public static let sslModes = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]

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
        var env = readable(environment, files: files)
        var warnings: [String] = []
        let database = loadDatabase(&env)
        // The app's secret key.
        let secretKey = env.secret(.secretKey, example: "secret_key") ?? {
            env.record(.secretKey, "<redacted>", .generated)
            return .persisted(name: "secret_key")
        }()
        let paths = loadPaths(&env)
        let run = loadSupervision(&env, arguments: arguments, isRoot: isRoot, warnings: &warnings)
        let (app, appWarnings) = env.appSettings(dataDirectory: paths.dataDirectory, cpus: CPUCount.detect(files: files))
        warnings += appWarnings
        warnings += unknownVariableWarnings(environment, env)

        if !env.problems.isEmpty { return .failure(ConfigurationError(problems: env.problems)) }
        var config = Configuration(
            database: database, secretKey: secretKey,
            dataDirectory: paths.dataDirectory, pgdata: paths.pgdata, runDirectory: paths.runDirectory,
            pgBinDirectory: paths.pgBin, pgOldBinDirectory: paths.pgOldBin, upgradeMode: paths.upgradeMode, keepOldCluster: paths.keepOld,
            appCommand: run.appCommand, appUser: run.appUser, appAllowSetuid: run.allowSetuid, migrateCommand: run.migrate,
            sqlUpgradeCommand: run.sqlUpgrade, restart: run.restart, stopTimeout: run.stopTimeout, databaseWaitTimeout: run.waitTimeout,
            healthcheckURL: run.healthURL, logFormat: run.logFormat, app: app,
            environment: environment, entries: inTableOrder(env.entries), warnings: warnings)
        config.migrateMode = run.migrateMode
        config.appFingerprintPaths = run.fingerprintPaths
        config.templateDirectory = run.templateDirectory
        return .success(config)
    }

    /// A value that is not UTF-8 (kept as RawBytes escapes) is none of ours:
    /// refuse it instead of reading a repaired copy.
    private static func readable(_ environment: [String: String], files: FileReader) -> EnvironmentReader {
        var readable = environment
        var undecodable: [ConfigurationProblem] = []
        for name in ConfigVariable.allNames.sorted() {
            guard let value = environment[name], RawBytes.hasEscapes(value) else { continue }
            readable[name] = nil
            // DATABASE_URL holds a password too
            let shown = ConfigVariable(rawValue: name)?.isSecret == true || name == ConfigVariable.databaseURL.name ? nil : value
            undecodable.append(ConfigurationProblem(variable: name, value: shown, reason: "is not valid UTF-8 text"))
        }
        // DATABASE_URL stands for the POSTGRES_* it names (read as if set).
        let (expanded, urlProblems) = DatabaseURL.expand(readable)
        var env = EnvironmentReader(environment: expanded, files: files)
        env.problems = undecodable + urlProblems
        if let url = readable[ConfigVariable.databaseURL.name], !url.isEmpty {
            env.record(.databaseURL, DatabaseURL.redacted(url), .environment)
        } else {
            env.recordUnset(.databaseURL)
        }
        return env
    }

    /// Bundled unless POSTGRES_HOST is set.
    private static func loadDatabase(_ env: inout EnvironmentReader) -> DatabaseSettings {
        let hostValue = env.raw(.postgresHost)
        let mode: DatabaseMode = hostValue == nil ? .bundled : .external
        if let hostValue {
            if !isValidHost(hostValue) {
                env.problem(.postgresHost, hostValue, "must be a host name, an IP address or an absolute socket directory", example: "POSTGRES_HOST=db.example.com")
            }
            env.record(.postgresHost, hostValue, .environment)
        } else {
            env.recordUnset(.postgresHost)
        }
        let port = env.integer(.postgresPort, example: "5432")
        let dbName = env.string(.postgresDB, example: "POSTGRES_DB=mathesar_django")
        let dbUser = env.string(.postgresUser, example: "POSTGRES_USER=mathesar")
        var password = env.secret(.postgresPassword, example: "postgres_password")
        if password == nil && !env.problems.contains(where: { $0.variable.hasPrefix("POSTGRES_PASSWORD") }) {
            if mode == .external {
                env.problem(.postgresPassword, nil, "is required when POSTGRES_HOST is set (external database); set POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE", example: "POSTGRES_PASSWORD_FILE=/run/secrets/postgres_password")
            } else {
                password = .persisted(name: "postgres_password")
                env.record(.postgresPassword, "<redacted>", .generated)
            }
        }
        let sslMode = env.string(.postgresSSLMode, example: "POSTGRES_SSLMODE=require")
        if !sslModes.contains(sslMode) {
            env.problem(.postgresSSLMode, sslMode, "must be one of \(sslModes.joined(separator: ", "))", example: "POSTGRES_SSLMODE=require")
        } else if mode == .bundled && ["require", "verify-ca", "verify-full"].contains(sslMode) {
            env.problem(.postgresSSLMode, sslMode, "asks for TLS, but the bundled PostgreSQL (POSTGRES_HOST is not set) is reachable only inside the container and has no certificate; unset it, or set POSTGRES_HOST to use an external server", example: "POSTGRES_SSLMODE=prefer")
        }
        for (variable, value) in [(ConfigVariable.postgresDB, dbName), (.postgresUser, dbUser)] where value.contains("\"") || value.contains("\\") {
            env.problem(variable, value, "must not contain quotes or backslashes", example: "\(variable.name)=mathesar")
        }
        return DatabaseSettings(mode: mode, host: hostValue, port: port, name: dbName, user: dbUser, password: password, sslMode: sslMode)
    }

    private struct Paths {
        var dataDirectory, pgdata, runDirectory: String
        var pgBin, pgOldBin: String?
        var upgradeMode: UpgradeMode
        var keepOld: Bool
    }

    /// The volume, the bundled cluster, the run directory and the server binaries.
    private static func loadPaths(_ env: inout EnvironmentReader) -> Paths {
        let dataDirectory = env.path(.dataDirectory, example: "/var/lib/mathesar")!
        if dataDirectory == "/" {
            env.problem(.dataDirectory, dataDirectory, "must not be the root directory; give the volume's mount point", example: "MATHESAR_DATA_DIR=/var/lib/mathesar")
        }
        let pgdata = env.path(.pgdata, derived: dataDirectory + "/postgres", example: "/var/lib/mathesar/postgres")!
        let runDirectory = env.path(.runDirectory, example: "/run/mathesar")!
        if pgdata == dataDirectory || dataDirectory.hasPrefix(pgdata + "/") {
            env.problem(.pgdata, pgdata, "must be a directory of its own, not \(dataDirectory) (MATHESAR_DATA_DIR) or a parent of it", example: "PGDATA=\(dataDirectory)/postgres")
        }
        if pgdata == runDirectory || pgdata.hasPrefix(runDirectory + "/") || runDirectory == dataDirectory {
            env.problem(.runDirectory, runDirectory, "must be separate from the data volume and PGDATA (it holds sockets and status, usually on tmpfs)", example: "MATHESAR_RUN_DIR=/run/mathesar")
        }
        let pgBin = env.path(.pgBinDirectory, example: "/usr/lib/postgresql/15/bin")
        let pgOldBin = env.path(.pgOldBinDirectory, example: "/usr/lib/postgresql/15/bin")
        let upgradeMode = env.choice(.upgradeMode, as: UpgradeMode.self)
        let keepOld = env.boolean(.keepOldCluster)
        return Paths(dataDirectory: dataDirectory, pgdata: pgdata, runDirectory: runDirectory, pgBin: pgBin, pgOldBin: pgOldBin,
                     upgradeMode: upgradeMode, keepOld: keepOld)
    }

    private struct Supervision {
        var appCommand: [String]?
        var appUser: String?
        var allowSetuid: Bool
        var migrate, sqlUpgrade: [String]?
        var restart: RestartPolicy
        var stopTimeout, waitTimeout: Double
        var healthURL: String
        var logFormat: LogFormat
        var migrateMode: MigrateMode
        var fingerprintPaths: [String]
        var templateDirectory: String?
    }

    /// The app, the commands run before it, and its supervision.
    private static func loadSupervision(_ env: inout EnvironmentReader, arguments: [String], isRoot: Bool, warnings: inout [String]) -> Supervision {
        let allowSetuid = env.boolean(.appAllowSetuid)
        // Validated even when arguments take precedence: every value is checked.
        var appCommand = env.command(.appCommand, example: "gunicorn config.wsgi -b 0.0.0.0:8000")
        if !arguments.isEmpty {
            appCommand = arguments
            env.record(name: commandLineEntry, arguments.joined(separator: " "), .commandLine)
        }
        var appUser = env.raw(.appUser)
        if let user = appUser {
            if user.utf8.count > 64 || user.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) {
                env.problem(.appUser, user, "must be a user name or uid (optionally NAME:GROUP or UID:GID)", example: "MATHESAR_APP_USER=mathesar")
                appUser = nil
            } else if !isRoot {
                warnings.append("MATHESAR_APP_USER=\(ConfigurationProblem.printable(user)) is ignored: PID 1 does not run as root, so every child runs as the current user")
                env.record(.appUser, user + " (ignored: not root)", .environment)
                appUser = nil
            } else {
                env.record(.appUser, user, .environment)
            }
        } else {
            env.recordUnset(.appUser)
        }
        let migrate = env.command(.migrateCommand, example: "python -m mathesar.install --skip-confirm")
        let sqlUpgrade = env.command(.sqlUpgradeCommand, example: "python /code/mathesar_sql.py")
        let migrateMode = env.choice(.migrate, as: MigrateMode.self)
        var fingerprintPaths: [String] = []
        if let value = env.raw(.appFingerprintPaths) {
            for part in value.split(separator: ":").map(String.init) {
                if let path = EnvironmentReader.normalizedPath(part) {
                    fingerprintPaths.append(path)
                } else {
                    env.problem(.appFingerprintPaths, value, "must be absolute paths separated by \":\" (\"\(ConfigurationProblem.printable(part))\" is not one)", example: "MATHESAR_APP_FINGERPRINT_PATHS=/code/mathesar/__init__.py:/code/mathesar/migrations")
                }
            }
            env.record(.appFingerprintPaths, value, .environment)
        } else {
            env.recordUnset(.appFingerprintPaths)
        }
        let templateDirectory = env.path(.templateDirectory, example: Configuration.defaultTemplateDirectory)
        let restart = env.choice(.restart, as: RestartPolicy.self)
        let stopTimeout = env.seconds(.stopTimeout, example: "9")
        let waitTimeout = env.seconds(.databaseWaitTimeout, example: "120")
        // PORT (PaaS convention): where the app listens, so where healthcheck asks.
        let appPort = env.integer(.port, example: "8000")
        let healthURL = env.string(.healthcheckURL, derived: "http://127.0.0.1:\(appPort)/", example: "MATHESAR_HEALTHCHECK_URL=http://127.0.0.1:8000/health")
        if HealthURL.parse(healthURL) == nil {
            env.problem(.healthcheckURL, healthURL, "must be an http:// URL with a host, optional port and path (https is not supported: the check runs inside the container)", example: "MATHESAR_HEALTHCHECK_URL=http://127.0.0.1:8000/health")
        }
        let logFormat = env.choice(.logFormat, as: LogFormat.self)
        return Supervision(appCommand: appCommand, appUser: appUser, allowSetuid: allowSetuid, migrate: migrate, sqlUpgrade: sqlUpgrade,
                           restart: restart, stopTimeout: stopTimeout, waitTimeout: waitTimeout, healthURL: healthURL, logFormat: logFormat,
                           migrateMode: migrateMode, fingerprintPaths: fingerprintPaths, templateDirectory: templateDirectory)
    }

    /// The `config` line of an app command given as arguments.
    static let commandLineEntry = "app command"

    /// Retired variables are a warning, so that old compose files still boot;
    /// an unknown MATHESAR_* name is reported as a likely typo.
    private static func unknownVariableWarnings(_ environment: [String: String], _ env: EnvironmentReader) -> [String] {
        var warnings: [String] = []
        for (name, why) in retiredVariables where env.raw(name: name) != nil {
            warnings.append("\(name) is no longer used and is ignored: \(why); remove it")
        }
        for name in environment.keys.sorted() where name.hasPrefix("MATHESAR_") && !ConfigVariable.allNames.contains(name)
            && !retiredVariables.contains(where: { $0.name == name }) {
            let guess = ConfigVariable.allNames.sorted().min { editDistance($0, name) < editDistance($1, name) }!
            let hint = editDistance(guess, name) <= 3 ? "; did you mean \(guess)?" : ""
            warnings.append("unknown variable \(ConfigurationProblem.printable(name)) is ignored\(hint)")
        }
        return warnings
    }

    /// `config` lists the variables in the table's order; the command line's
    /// app command right after MATHESAR_APP_COMMAND.
    private static func inTableOrder(_ entries: [ConfigEntry]) -> [ConfigEntry] {
        func rank(_ entry: ConfigEntry) -> Int {
            let variable = entry.variable == commandLineEntry ? ConfigVariable.appCommand : ConfigVariable.named(entry.variable)
            return variable.flatMap { ConfigVariable.allCases.firstIndex(of: $0) } ?? ConfigVariable.allCases.count
        }
        return entries.enumerated().sorted { (rank($0.element), $0.offset) < (rank($1.element), $1.offset) }.map(\.element)
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

/// The two secrets' rule, beside the sections that read them (`load` for
/// `SECRET_KEY`, `loadDatabase` for `POSTGRES_PASSWORD`).
extension EnvironmentReader {
    /// `X` or `X_FILE` (the Docker-secrets convention); never both.
    mutating func secret(_ variable: ConfigVariable, example: String) -> SecretSetting? {
        guard let fileName = variable.fileName else { preconditionFailure("\(variable.name) is not a secret") }
        let direct = raw(variable)
        let filePath = raw(name: fileName)
        if direct != nil && filePath != nil {
            problem(variable, nil, "is set together with \(fileName); set only one of them", example: "\(fileName)=/run/secrets/\(example)")
            return nil
        }
        if let direct {
            if let reason = EnvironmentReader.secretProblem(direct) {
                problem(variable, nil, reason)
                return nil
            }
            record(variable, "<redacted>", .environment)
            return .given(direct, .environment)
        }
        guard let filePath else { return nil }
        guard EnvironmentReader.normalizedPath(filePath) != nil else {
            problem(name: fileName, filePath, "must be an absolute path to a file holding the secret", example: "\(fileName)=/run/secrets/\(example)")
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
                problem(name: fileName, filePath, "the file is not UTF-8 text or contains a NUL byte")
                return nil
            }
            if let reason = EnvironmentReader.secretProblem(text) {
                problem(name: fileName, filePath, "the file's content " + reason.replacingAll("is empty", with: "is empty after removing its trailing newline"))
                return nil
            }
            record(variable, "<redacted>", .file(filePath))
            return .given(text, .file(filePath))
        case .failure(.missing):
            problem(name: fileName, filePath, "no such file; mount the secret there or fix the path", example: "\(fileName)=/run/secrets/\(example)")
        case .failure(.isDirectory):
            problem(name: fileName, filePath, "is a directory; it must name a file holding the secret", example: "\(fileName)=/run/secrets/\(example)")
        case .failure(.tooLarge):
            problem(name: fileName, filePath, "the file is larger than 1 MiB; it must hold only the secret")
        case .failure(.unreadable(let why)):
            problem(name: fileName, filePath, "cannot be read (\(why)); check its mode and owner")
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
}
