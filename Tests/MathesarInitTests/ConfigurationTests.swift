import Testing
@testable import MathesarInit

// The configuration function over a table of good and bad environments. The
// expectations come from the documented contract ("Environment", "Exit status"),
// not from the implementation's output.

/// Secret values used in the tables below; none may ever be printed.
private enum Secrets {
    static let key = "SK-env-3f9a1c"
    static let password = "PW-env-77b2e0"
    static let filePassword = "PW-file-a41d9e"
    static let fileKey = "SK-file-0c55b8"
    static let crlf = "PW-crlf-9d1e33"
    static let multiLine = "first-line-8e1f\nsecond-line-b7a2"
    static let urlPassword = "url-pw-5c6d7e"
    static let all = [key, password, filePassword, fileKey, crlf, "first-line-8e1f", "second-line-b7a2", urlPassword, "two-lines-d4c2"]
}

/// Files that `*_FILE` variables name, without touching the disk.
private let fakeFiles = FileReader(
    read: { path in
        switch path {
        case "/run/secrets/pw": .success(Array((Secrets.filePassword + "\n").utf8))
        case "/run/secrets/key": .success(Array((Secrets.fileKey + "\n").utf8))
        case "/run/secrets/no-newline": .success(Array(Secrets.filePassword.utf8))
        case "/run/secrets/crlf": .success(Array((Secrets.crlf + "\r\n").utf8))
        case "/run/secrets/two-newlines": .success(Array("two-lines-d4c2\n\n".utf8))
        case "/run/secrets/empty": .success([])
        case "/run/secrets/only-newline": .success([0x0A])
        case "/run/secrets/dir": .failure(.isDirectory)
        case "/run/secrets/locked": .failure(.unreadable("Permission denied"))
        default: .failure(.missing)
        }
    },
    list: { _ in nil })

private func load(_ environment: [String: String], arguments: [String] = [], isRoot: Bool = true)
    -> Result<Configuration, ConfigurationError>
{
    ConfigurationLoader.load(environment: environment, arguments: arguments, files: fakeFiles, isRoot: isRoot)
}

/// Everything the loader says about an environment, as a user could see it.
private func everythingPrinted(_ result: Result<Configuration, ConfigurationError>) -> String {
    switch result {
    case .failure(let error):
        return error.description + "\n" + error.problems.map { "\($0.variable) \($0.shownValue ?? "") \($0.reason) \($0.example ?? "")" }.joined(separator: "\n")
    case .success(let config):
        return config.entries.map { "\($0.variable) \($0.value) \($0.source)" }.joined(separator: "\n")
            + config.warnings.joined(separator: "\n")
            + ConfigCommand.render(config, format: .text)
            + ConfigCommand.render(config, format: .json)
    }
}

private func entry(_ config: Configuration, _ variable: String) -> ConfigEntry? {
    config.entries.first { $0.variable == variable }
}

// MARK: good environments

struct GoodEnvironment: Sendable, CustomTestStringConvertible {
    var name: String
    var environment: [String: String]
    var arguments: [String] = []
    var isRoot = true
    var check: @Sendable (Configuration) -> Void

    var testDescription: String { name }
}

private let goodEnvironments: [GoodEnvironment] = [
    GoodEnvironment(name: "empty POSTGRES_HOST means bundled (Compose passes unset variables as \"\")", environment: ["POSTGRES_HOST": ""]) { c in
        #expect(c.database.mode == .bundled)
        #expect(c.database.host == nil)
        #expect(c.database.password == .persisted(name: "postgres_password"))
    },
    GoodEnvironment(name: "POSTGRES_HOST set means external", environment: ["POSTGRES_HOST": "db.example.com", "POSTGRES_PASSWORD": Secrets.password]) { c in
        #expect(c.database.mode == .external)
        #expect(c.database.host == "db.example.com")
        #expect(c.database.password == .given(Secrets.password, .environment))
        #expect(c.database.sslMode == "prefer")
    },
    GoodEnvironment(name: "external server on a socket directory", environment: ["POSTGRES_HOST": "/var/run/postgresql", "POSTGRES_PASSWORD": Secrets.password]) { c in
        #expect(c.database.mode == .external)
        #expect(c.database.host == "/var/run/postgresql")
    },
    GoodEnvironment(name: "external password from POSTGRES_PASSWORD_FILE, trailing newline stripped", environment: ["POSTGRES_HOST": "db", "POSTGRES_PASSWORD_FILE": "/run/secrets/pw"]) { c in
        #expect(c.database.password == .given(Secrets.filePassword, .file("/run/secrets/pw")))
        #expect(entry(c, "POSTGRES_PASSWORD")?.source == .file("/run/secrets/pw"))
    },
    GoodEnvironment(name: "secret file without a trailing newline is taken as is", environment: ["POSTGRES_HOST": "db", "POSTGRES_PASSWORD_FILE": "/run/secrets/no-newline"]) { c in
        #expect(c.database.password?.givenValue == Secrets.filePassword)
    },
    GoodEnvironment(name: "secret file ending in CRLF loses both characters", environment: ["POSTGRES_HOST": "db", "POSTGRES_PASSWORD_FILE": "/run/secrets/crlf"]) { c in
        #expect(c.database.password?.givenValue == Secrets.crlf)
    },
    GoodEnvironment(name: "SECRET_KEY from the environment", environment: ["SECRET_KEY": Secrets.key]) { c in
        #expect(c.secretKey == .given(Secrets.key, .environment))
        #expect(entry(c, "SECRET_KEY")?.source == .environment)
    },
    GoodEnvironment(name: "SECRET_KEY from SECRET_KEY_FILE", environment: ["SECRET_KEY_FILE": "/run/secrets/key"]) { c in
        #expect(c.secretKey == .given(Secrets.fileKey, .file("/run/secrets/key")))
    },
    GoodEnvironment(name: "bundled with a given password keeps it", environment: ["POSTGRES_PASSWORD": Secrets.password]) { c in
        #expect(c.database.mode == .bundled)
        #expect(c.database.password == .given(Secrets.password, .environment))
    },
    GoodEnvironment(name: "partial POSTGRES_* settings do not switch to external", environment: ["POSTGRES_USER": "alice", "POSTGRES_DB": "books", "POSTGRES_PORT": "6543"]) { c in
        #expect(c.database.mode == .bundled)
        #expect(c.database.user == "alice")
        #expect(c.database.name == "books")
        #expect(c.database.port == 6543)
    },
    GoodEnvironment(name: "PGDATA follows MATHESAR_DATA_DIR, paths normalized", environment: ["MATHESAR_DATA_DIR": "/data//mathesar/"]) { c in
        #expect(c.dataDirectory == "/data/mathesar")
        #expect(c.pgdata == "/data/mathesar/postgres")
        #expect(c.secretsDirectory == "/data/mathesar/secrets")
    },
    GoodEnvironment(name: "explicit PGDATA outside the data directory", environment: ["PGDATA": "/srv/pg/data", "MATHESAR_RUN_DIR": "/tmp/run"]) { c in
        #expect(c.pgdata == "/srv/pg/data")
        #expect(c.runDirectory == "/tmp/run")
        #expect(entry(c, "PGDATA")?.source == .environment)
    },
    GoodEnvironment(name: "app command from the arguments wins over MATHESAR_APP_COMMAND", environment: ["MATHESAR_APP_COMMAND": "from-env --flag"], arguments: ["gunicorn", "config.wsgi"]) { c in
        #expect(c.appCommand == ["gunicorn", "config.wsgi"])
        #expect(entry(c, "app command")?.source == .commandLine)
    },
    GoodEnvironment(name: "MATHESAR_APP_COMMAND split with shell quoting", environment: ["MATHESAR_APP_COMMAND": #"gunicorn config.wsgi -b '0.0.0.0:8000' --name "my app""#]) { c in
        #expect(c.appCommand == ["gunicorn", "config.wsgi", "-b", "0.0.0.0:8000", "--name", "my app"])
    },
    GoodEnvironment(name: "MATHESAR_MIGRATE_COMMAND split into words", environment: ["MATHESAR_MIGRATE_COMMAND": "python -m mathesar.install --skip-confirm"]) { c in
        #expect(c.migrateCommand == ["python", "-m", "mathesar.install", "--skip-confirm"])
    },
    GoodEnvironment(name: "MATHESAR_APP_USER applies when root", environment: ["MATHESAR_APP_USER": "mathesar:mathesar"], isRoot: true) { c in
        #expect(c.appUser == "mathesar:mathesar")
        #expect(c.warnings.isEmpty)
    },
    GoodEnvironment(name: "MATHESAR_APP_USER ignored with a warning when not root", environment: ["MATHESAR_APP_USER": "mathesar"], isRoot: false) { c in
        #expect(c.appUser == nil)
        #expect(c.warnings.count == 1)
        #expect(c.warnings.first?.contains("MATHESAR_APP_USER") == true)
    },
    GoodEnvironment(name: "restart policies, timeouts and log format", environment: [
        "MATHESAR_RESTART": "always", "MATHESAR_STOP_TIMEOUT": "2.5", "MATHESAR_DB_WAIT_TIMEOUT": "0", "MATHESAR_LOG_FORMAT": "json",
    ]) { c in
        #expect(c.restart == .always)
        #expect(c.stopTimeout == 2.5)
        #expect(c.databaseWaitTimeout == 0)
        #expect(c.logFormat == .json)
        #expect(c.timings.stopTimeout == 2.5)
    },
    GoodEnvironment(name: "MATHESAR_RESTART=never", environment: ["MATHESAR_RESTART": "never"]) { c in
        #expect(c.restart == .never)
    },
    GoodEnvironment(name: "external with sslmode verify-full", environment: ["POSTGRES_HOST": "db", "POSTGRES_PASSWORD": Secrets.password, "POSTGRES_SSLMODE": "verify-full"]) { c in
        #expect(c.database.sslMode == "verify-full")
    },
    GoodEnvironment(name: "bundled with sslmode disable", environment: ["POSTGRES_SSLMODE": "disable"]) { c in
        #expect(c.database.sslMode == "disable")
    },
    GoodEnvironment(name: "the retired schema-bundle variables warn that they are no longer used, even with values once refused", environment: ["MATHESAR_SCHEMA_DIR": "/schema/absent", "MATHESAR_SCHEMA_DATABASES": "sales,mysql://db/crm"]) { c in
        #expect(c.warnings.count == 2)
        for name in ["MATHESAR_SCHEMA_DATABASES", "MATHESAR_SCHEMA_DIR"] {
            #expect(c.warnings.contains { $0.hasPrefix("\(name) is no longer used") && !$0.contains("did you mean") })
        }
    },
    GoodEnvironment(name: "the SQL upgrade command is split like the migrate command", environment: ["MATHESAR_SQL_UPGRADE_COMMAND": "python '/code/my app/mathesar_sql.py'"]) { c in
        #expect(c.sqlUpgradeCommand == ["python", "/code/my app/mathesar_sql.py"])
    },
    GoodEnvironment(name: "a custom health check URL", environment: ["MATHESAR_HEALTHCHECK_URL": "http://localhost:9000/health"]) { c in
        #expect(c.healthcheckURL == "http://localhost:9000/health")
    },
    GoodEnvironment(name: "a misspelt MATHESAR_* variable warns with a suggestion", environment: ["MATHESAR_RESTRAT": "never"]) { c in
        #expect(c.restart == .onFailure)
        #expect(c.warnings.count == 1)
        #expect(c.warnings.first?.contains("MATHESAR_RESTRAT") == true)
        #expect(c.warnings.first?.contains("did you mean MATHESAR_RESTART") == true)
    },
    GoodEnvironment(name: "an unrelated MATHESAR_* variable warns without a far-fetched suggestion", environment: ["MATHESAR_COMPLETELY_OTHER_THING": "1"]) { c in
        #expect(c.warnings.count == 1)
        #expect(c.warnings.first?.contains("MATHESAR_COMPLETELY_OTHER_THING") == true)
        #expect(c.warnings.first?.contains("did you mean") == false)
    },
    GoodEnvironment(name: "variables outside MATHESAR_* are passed on without warnings", environment: ["HOME": "/root", "DJANGO_SETTINGS_MODULE": "config.settings"]) { c in
        #expect(c.warnings.isEmpty)
        #expect(c.environment["DJANGO_SETTINGS_MODULE"] == "config.settings")
    },
]

@Test(arguments: goodEnvironments)
func acceptsGoodEnvironment(_ good: GoodEnvironment) throws {
    let result = load(good.environment, arguments: good.arguments, isRoot: good.isRoot)
    guard case .success(let config) = result else {
        Issue.record("expected a valid configuration, got: \(result)")
        return
    }
    good.check(config)
    let printed = everythingPrinted(result)
    for secret in Secrets.all { #expect(!printed.contains(secret), "a secret is printed") }
}

@Test func appliesEveryContractDefault() throws {
    let config = try load([:]).get()
    #expect(config.database.mode == .bundled)
    #expect(config.database.host == nil)
    #expect(config.database.port == 5432)
    #expect(config.database.name == "mathesar_django")
    #expect(config.database.user == "mathesar")
    #expect(config.database.password == .persisted(name: "postgres_password"))
    #expect(config.database.sslMode == "prefer")
    #expect(config.secretKey == .persisted(name: "secret_key"))
    #expect(config.dataDirectory == "/var/lib/mathesar")
    #expect(config.pgdata == "/var/lib/mathesar/postgres")
    #expect(config.runDirectory == "/run/mathesar")
    #expect(config.pgBinDirectory == nil)
    #expect(config.appCommand == nil)
    #expect(config.appUser == nil)
    #expect(config.migrateCommand == nil)
    #expect(config.restart == .onFailure)
    #expect(config.stopTimeout == 9)
    #expect(config.databaseWaitTimeout == 60)
    #expect(config.healthcheckURL == "http://127.0.0.1:8000/")
    #expect(config.logFormat == .text)
    #expect(config.warnings.isEmpty)
    #expect(entry(config, "SECRET_KEY")?.source == .generated)
    #expect(entry(config, "POSTGRES_PASSWORD")?.source == .generated)
    #expect(entry(config, "POSTGRES_PORT") == ConfigEntry(variable: "POSTGRES_PORT", value: "5432", source: .defaultValue))
    #expect(entry(config, "MATHESAR_STOP_TIMEOUT") == ConfigEntry(variable: "MATHESAR_STOP_TIMEOUT", value: "9", source: .defaultValue))
}

// MARK: bad environments

struct BadEnvironment: Sendable, CustomTestStringConvertible {
    var name: String
    var environment: [String: String]
    /// The variable each problem names, in any order.
    var problems: [String]
    var arguments: [String] = []

    var testDescription: String { name }
}

private let external = ["POSTGRES_HOST": "db", "POSTGRES_PASSWORD": Secrets.password]

private let badEnvironments: [BadEnvironment] = [
    BadEnvironment(name: "external without a password", environment: ["POSTGRES_HOST": "db"], problems: ["POSTGRES_PASSWORD"]),
    BadEnvironment(name: "external with an empty password", environment: ["POSTGRES_HOST": "db", "POSTGRES_PASSWORD": ""], problems: ["POSTGRES_PASSWORD"]),
    BadEnvironment(name: "SECRET_KEY and SECRET_KEY_FILE both set", environment: ["SECRET_KEY": Secrets.key, "SECRET_KEY_FILE": "/run/secrets/key"], problems: ["SECRET_KEY"]),
    BadEnvironment(name: "POSTGRES_PASSWORD and POSTGRES_PASSWORD_FILE both set", environment: ["POSTGRES_HOST": "db", "POSTGRES_PASSWORD": Secrets.password, "POSTGRES_PASSWORD_FILE": "/run/secrets/pw"], problems: ["POSTGRES_PASSWORD"]),
    BadEnvironment(name: "secret file missing", environment: ["SECRET_KEY_FILE": "/run/secrets/absent"], problems: ["SECRET_KEY_FILE"]),
    BadEnvironment(name: "secret file is a directory", environment: ["SECRET_KEY_FILE": "/run/secrets/dir"], problems: ["SECRET_KEY_FILE"]),
    BadEnvironment(name: "secret file unreadable", environment: ["POSTGRES_HOST": "db", "POSTGRES_PASSWORD_FILE": "/run/secrets/locked"], problems: ["POSTGRES_PASSWORD_FILE"]),
    BadEnvironment(name: "secret file empty", environment: ["SECRET_KEY_FILE": "/run/secrets/empty"], problems: ["SECRET_KEY_FILE"]),
    BadEnvironment(name: "secret file holding only a newline", environment: ["SECRET_KEY_FILE": "/run/secrets/only-newline"], problems: ["SECRET_KEY_FILE"]),
    BadEnvironment(name: "only one trailing newline is stripped", environment: ["SECRET_KEY_FILE": "/run/secrets/two-newlines"], problems: ["SECRET_KEY_FILE"]),
    BadEnvironment(name: "secret file path relative", environment: ["SECRET_KEY_FILE": "run/secrets/key"], problems: ["SECRET_KEY_FILE"]),
    BadEnvironment(name: "SECRET_KEY with a line break", environment: ["SECRET_KEY": Secrets.multiLine], problems: ["SECRET_KEY"]),
    BadEnvironment(name: "port not a number", environment: ["POSTGRES_PORT": "fivefourthreetwo"], problems: ["POSTGRES_PORT"]),
    BadEnvironment(name: "port zero", environment: ["POSTGRES_PORT": "0"], problems: ["POSTGRES_PORT"]),
    BadEnvironment(name: "port above 65535", environment: ["POSTGRES_PORT": "65536"], problems: ["POSTGRES_PORT"]),
    BadEnvironment(name: "stop timeout zero", environment: ["MATHESAR_STOP_TIMEOUT": "0"], problems: ["MATHESAR_STOP_TIMEOUT"]),
    BadEnvironment(name: "stop timeout not a number", environment: ["MATHESAR_STOP_TIMEOUT": "9s"], problems: ["MATHESAR_STOP_TIMEOUT"]),
    BadEnvironment(name: "stop timeout infinite", environment: ["MATHESAR_STOP_TIMEOUT": "inf"], problems: ["MATHESAR_STOP_TIMEOUT"]),
    BadEnvironment(name: "stop timeout NaN", environment: ["MATHESAR_STOP_TIMEOUT": "nan"], problems: ["MATHESAR_STOP_TIMEOUT"]),
    BadEnvironment(name: "database wait timeout negative", environment: ["MATHESAR_DB_WAIT_TIMEOUT": "-5"], problems: ["MATHESAR_DB_WAIT_TIMEOUT"]),
    BadEnvironment(name: "unknown restart policy", environment: ["MATHESAR_RESTART": "sometimes"], problems: ["MATHESAR_RESTART"]),
    BadEnvironment(name: "restart policy with an underscore", environment: ["MATHESAR_RESTART": "on_failure"], problems: ["MATHESAR_RESTART"]),
    BadEnvironment(name: "unknown log format", environment: ["MATHESAR_LOG_FORMAT": "xml"], problems: ["MATHESAR_LOG_FORMAT"]),
    BadEnvironment(name: "unknown sslmode", environment: external.merging(["POSTGRES_SSLMODE": "required"]) { $1 }, problems: ["POSTGRES_SSLMODE"]),
    BadEnvironment(name: "bundled with sslmode require", environment: ["POSTGRES_SSLMODE": "require"], problems: ["POSTGRES_SSLMODE"]),
    BadEnvironment(name: "bundled with sslmode verify-full", environment: ["POSTGRES_HOST": "", "POSTGRES_SSLMODE": "verify-full"], problems: ["POSTGRES_SSLMODE"]),
    BadEnvironment(name: "relative data directory", environment: ["MATHESAR_DATA_DIR": "data"], problems: ["MATHESAR_DATA_DIR"]),
    BadEnvironment(name: "data directory with ..", environment: ["MATHESAR_DATA_DIR": "/var/lib/../mathesar"], problems: ["MATHESAR_DATA_DIR"]),
    BadEnvironment(name: "data directory is the root", environment: ["MATHESAR_DATA_DIR": "/"], problems: ["MATHESAR_DATA_DIR"]),
    BadEnvironment(name: "relative PGDATA", environment: ["PGDATA": "postgres"], problems: ["PGDATA"]),
    BadEnvironment(name: "PGDATA equal to the data directory", environment: ["MATHESAR_DATA_DIR": "/data", "PGDATA": "/data/"], problems: ["PGDATA"]),
    BadEnvironment(name: "PGDATA a parent of the data directory", environment: ["MATHESAR_DATA_DIR": "/data/mathesar", "PGDATA": "/data"], problems: ["PGDATA"]),
    BadEnvironment(name: "run directory equal to the data directory", environment: ["MATHESAR_DATA_DIR": "/data", "MATHESAR_RUN_DIR": "/data"], problems: ["MATHESAR_RUN_DIR"]),
    BadEnvironment(name: "relative run directory", environment: ["MATHESAR_RUN_DIR": "run"], problems: ["MATHESAR_RUN_DIR"]),
    BadEnvironment(name: "app command with an unterminated single quote", environment: ["MATHESAR_APP_COMMAND": "gunicorn 'config.wsgi"], problems: ["MATHESAR_APP_COMMAND"]),
    BadEnvironment(name: "app command with a trailing backslash", environment: ["MATHESAR_APP_COMMAND": "gunicorn config.wsgi \\"], problems: ["MATHESAR_APP_COMMAND"]),
    BadEnvironment(name: "migrate command with an unterminated double quote", environment: ["MATHESAR_MIGRATE_COMMAND": "python -c \"print(1)"], problems: ["MATHESAR_MIGRATE_COMMAND"]),
    BadEnvironment(name: "https health check URL", environment: ["MATHESAR_HEALTHCHECK_URL": "https://127.0.0.1:8000/"], problems: ["MATHESAR_HEALTHCHECK_URL"]),
    BadEnvironment(name: "POSTGRES_HOST with a space", environment: ["POSTGRES_HOST": "db host", "POSTGRES_PASSWORD": Secrets.password], problems: ["POSTGRES_HOST"]),
    BadEnvironment(name: "POSTGRES_USER with a quote", environment: ["POSTGRES_USER": "ma\"thesar"], problems: ["POSTGRES_USER"]),
    BadEnvironment(name: "POSTGRES_DB longer than 63 bytes", environment: ["POSTGRES_DB": String(repeating: "d", count: 64)], problems: ["POSTGRES_DB"]),
    BadEnvironment(name: "MATHESAR_APP_USER with a space", environment: ["MATHESAR_APP_USER": "math esar"], problems: ["MATHESAR_APP_USER"]),
    BadEnvironment(name: "unknown pg_upgrade mode", environment: ["MATHESAR_PG_UPGRADE_MODE": "move"], problems: ["MATHESAR_PG_UPGRADE_MODE"]),
    BadEnvironment(name: "keep-old flag not a boolean", environment: ["MATHESAR_PG_UPGRADE_KEEP_OLD": "maybe"], problems: ["MATHESAR_PG_UPGRADE_KEEP_OLD"]),
    BadEnvironment(name: "several bad variables reported together", environment: [
        "POSTGRES_HOST": "db", "POSTGRES_PORT": "http", "MATHESAR_RESTART": "sometimes",
        "MATHESAR_LOG_FORMAT": "yaml", "MATHESAR_STOP_TIMEOUT": "-1", "SECRET_KEY_FILE": "/run/secrets/absent",
    ], problems: ["POSTGRES_PASSWORD", "POSTGRES_PORT", "MATHESAR_RESTART", "MATHESAR_LOG_FORMAT", "MATHESAR_STOP_TIMEOUT", "SECRET_KEY_FILE"]),
]

@Test(arguments: badEnvironments)
func rejectsBadEnvironmentNamingEachVariable(_ bad: BadEnvironment) throws {
    let result = load(bad.environment, arguments: bad.arguments)
    guard case .failure(let error) = result else {
        Issue.record("expected problems with \(bad.problems), got a valid configuration")
        return
    }
    #expect(error.problems.map(\.variable).sorted() == bad.problems.sorted())
    let printed = everythingPrinted(result)
    for problem in error.problems {
        #expect(error.description.contains(problem.variable))
    }
    for secret in Secrets.all { #expect(!printed.contains(secret), "a secret is printed") }
}

@Test func showsEachBadNonSecretValueInItsProblem() throws {
    let bad = ["POSTGRES_PORT": "http", "MATHESAR_RESTART": "sometimes", "MATHESAR_LOG_FORMAT": "yaml", "MATHESAR_STOP_TIMEOUT": "-1"]
    guard case .failure(let error) = load(bad) else {
        Issue.record("expected problems")
        return
    }
    #expect(error.problems.count == bad.count)
    for problem in error.problems {
        #expect(problem.shownValue == bad[problem.variable])
        #expect(problem.description.contains("\"\(bad[problem.variable]!)\""))
    }
}

@Test func namesTheMissingSecretFileInItsProblem() throws {
    guard case .failure(let error) = load(["SECRET_KEY_FILE": "/run/secrets/absent"]) else {
        Issue.record("expected a problem")
        return
    }
    #expect(error.description.contains("/run/secrets/absent"))
}

@Test func neverShowsASecretGivenInTheEnvironmentWhenItIsBad() throws {
    // Both set: the problem must say so without echoing either the value or the file content.
    guard case .failure(let error) = load(["SECRET_KEY": Secrets.key, "SECRET_KEY_FILE": "/run/secrets/key"]) else {
        Issue.record("expected a problem")
        return
    }
    #expect(error.problems.allSatisfy { $0.shownValue == nil })
    #expect(!error.description.contains(Secrets.key))
    #expect(error.description.contains("SECRET_KEY_FILE"))
}

// MARK: config output

@Test func rendersSecretsRedactedWithTheirSourcesAsText() throws {
    let config = try load(["SECRET_KEY": Secrets.key, "POSTGRES_HOST": "db", "POSTGRES_PASSWORD_FILE": "/run/secrets/pw"],
                          arguments: ["gunicorn", "config.wsgi"]).get()
    let text = ConfigCommand.render(config, format: .text)
    let lines = text.split(separator: "\n").map(String.init)
    func line(_ variable: String) -> String? { lines.first { $0.hasPrefix(variable + " ") } }
    #expect(lines.first == "database mode: external")
    #expect(line("SECRET_KEY")?.contains("<redacted>") == true)
    #expect(line("SECRET_KEY")?.hasSuffix("[env]") == true)
    #expect(line("POSTGRES_PASSWORD")?.contains("<redacted>") == true)
    #expect(line("POSTGRES_PASSWORD")?.hasSuffix("[file:/run/secrets/pw]") == true)
    #expect(line("POSTGRES_PORT")?.hasSuffix("[default]") == true)
    #expect(line("POSTGRES_HOST")?.contains("db") == true)
    #expect(line("app command")?.hasSuffix("[command line]") == true)
    #expect(!text.contains(Secrets.key))
    #expect(!text.contains(Secrets.filePassword))
}

@Test func rendersGeneratedSecretsAsJSON() throws {
    let config = try load(["MATHESAR_LOG_FORMAT": "json"]).get()
    let text = ConfigCommand.render(config, format: .json)
    #expect(text.hasSuffix("}\n"))
    let json = try #require(JSONValue.parse(text))
    #expect(json["mode"] == .string("bundled"))
    guard case .array(let settings)? = json["settings"] else {
        Issue.record("no settings array in \(text)")
        return
    }
    func setting(_ variable: String) -> JSONValue? { settings.first { $0["variable"]?.stringValue == variable } }
    #expect(setting("SECRET_KEY")?["value"] == .string("<redacted>"))
    #expect(setting("SECRET_KEY")?["source"] == .string("generated at first boot"))
    #expect(setting("POSTGRES_PASSWORD")?["value"] == .string("<redacted>"))
    #expect(setting("POSTGRES_PASSWORD")?["source"] == .string("generated at first boot"))
    #expect(setting("MATHESAR_LOG_FORMAT")?["value"] == .string("json"))
    #expect(setting("MATHESAR_LOG_FORMAT")?["source"] == .string("env"))
    #expect(setting("POSTGRES_DB")?["source"] == .string("default"))
    #expect(setting("MATHESAR_MIGRATE_COMMAND")?["value"] == .null)  // unset is null, not a string
}

@Test func namesSecretsAlreadyInTheVolumeTheWayCheckDoes() throws {
    let config = try load([:]).get()
    let text = ConfigCommand.render(config, format: .text, kept: ["SECRET_KEY"])
    let lines = text.split(separator: "\n").map(String.init)
    #expect(lines.first { $0.hasPrefix("SECRET_KEY ") }?.hasSuffix("[generated, kept in the volume]") == true)
    #expect(lines.first { $0.hasPrefix("POSTGRES_PASSWORD ") }?.hasSuffix("[generated at first boot]") == true)
}

// MARK: what the app is told: uploads, hosts, workers, the legacy key

@Test func passesMediaRootInTheVolumeUnlessGiven() throws {
    let config = try load(["MATHESAR_DATA_DIR": "/data"]).get()
    #expect(config.app.mediaRoot == "/data/media/")
    #expect(entry(config, "MEDIA_ROOT") == ConfigEntry(variable: "MEDIA_ROOT", value: "/data/media/", source: .defaultValue))
    let given = try load(["MEDIA_ROOT": "/srv/uploads/"]).get()
    #expect(given.app.mediaRoot == "/srv/uploads/")
    #expect(entry(given, "MEDIA_ROOT")?.source == .environment)
    guard case .failure(let error) = load(["MEDIA_ROOT": "relative/media"]) else { Issue.record("relative MEDIA_ROOT accepted"); return }
    #expect(error.problems.map(\.variable) == ["MEDIA_ROOT"])
}

@Test func allowedHostsPassesNothingUnlessDomainNameIsSet() throws {
    let plain = try load([:]).get()
    #expect(plain.app.allowedHostsToPass == nil)
    #expect(plain.app.allowedHosts == [".localhost", "127.0.0.1", "[::1]"])
    #expect(entry(plain, "ALLOWED_HOSTS")?.source == .defaultValue)

    let domain = try load(["DOMAIN_NAME": "https://Mathesar.Example.com:8443/some/path"]).get()
    #expect(domain.app.domainHosts == ["mathesar.example.com"])
    #expect(domain.app.allowedHostsToPass == ".localhost, 127.0.0.1, [::1], mathesar.example.com")
    #expect(entry(domain, "ALLOWED_HOSTS")?.source == .generated)

    let hostPort = try load(["DOMAIN_NAME": "data.example.org:8000"]).get()
    #expect(hostPort.app.domainHosts == ["data.example.org"])
    let several = try load(["DOMAIN_NAME": "a.example.com, http://b.example.com [2001:db8::1]:80"]).get()
    #expect(several.app.domainHosts == ["a.example.com", "b.example.com", "[2001:db8::1]"])

    // The user's ALLOWED_HOSTS is theirs: passed as given (it is in the environment), DOMAIN_NAME not added.
    let given = try load(["ALLOWED_HOSTS": "mathesar.example.com", "DOMAIN_NAME": "other.example.com"]).get()
    #expect(given.app.allowedHostsToPass == nil)
    #expect(given.app.allowedHosts == ["mathesar.example.com"])
    #expect(given.warnings.contains { $0.contains("other.example.com") && $0.contains("ALLOWED_HOSTS") })
}

@Test(arguments: [
    ("DOMAIN_NAME", "ftp://example.com"), ("DOMAIN_NAME", "example.com:http"), ("DOMAIN_NAME", "exa mple!.com"),
    ("DOMAIN_NAME", "user@example.com"), ("DOMAIN_NAME", "2001:db8::1"), ("DOMAIN_NAME", "[2001:db8::1"),
    ("DOMAIN_NAME", "example.com:70000"), ("DOMAIN_NAME", "-bad-.example.com"),
    ("ALLOWED_HOSTS", "https://example.com"), ("ALLOWED_HOSTS", "example.com:8000"), ("ALLOWED_HOSTS", " , "),
    ("WEB_CONCURRENCY", "many"), ("WEB_CONCURRENCY", "0"),
    ("MATHESAR_ALLOW_NEW_SECRET_KEY", "perhaps"), ("MATHESAR_LEGACY_SECRETS_DIR", "code/.secrets"),
])
func refusesBadAppSettings(_ variable: String, _ value: String) {
    guard case .failure(let error) = load([variable: value]) else {
        Issue.record("\(variable)=\(value) accepted")
        return
    }
    #expect(error.problems.map(\.variable) == [variable])
    #expect(error.description.contains(variable))
}

@Test func healthcheckSendsAHostTheAppAccepts() {
    let appDefault = AllowedHosts.appDefault
    #expect(AllowedHosts.healthcheckHost(urlHost: "127.0.0.1", allowed: appDefault) == "127.0.0.1")
    #expect(AllowedHosts.healthcheckHost(urlHost: "127.0.0.1", allowed: [".example.com", "mathesar.example.org"]) == "example.com")
    #expect(AllowedHosts.healthcheckHost(urlHost: "127.0.0.1", allowed: ["*"]) == "127.0.0.1")
    #expect(AllowedHosts.healthcheckHost(urlHost: "127.0.0.1", allowed: ["*", "x.example.com"]) == "127.0.0.1")
    #expect(AllowedHosts.healthcheckHost(urlHost: "127.0.0.1", allowed: ["mathesar.example.com", "127.0.0.1"]) == "127.0.0.1")
    #expect(AllowedHosts.healthcheckHost(urlHost: "::1", allowed: appDefault) == "[::1]")
    #expect(AllowedHosts.healthcheckHost(urlHost: "localhost", allowed: appDefault) == "localhost")
    #expect(AllowedHosts.matches("app.example.com", pattern: ".example.com"))
    #expect(AllowedHosts.matches("example.com", pattern: ".example.com"))
    #expect(!AllowedHosts.matches("badexample.com", pattern: ".example.com"))
}

@Test func parsesTheCgroupCPULimit() {
    #expect(CPUCount.fromCPUMax("max 100000\n") == nil)
    #expect(CPUCount.fromCPUMax("200000 100000\n") == 2)
    #expect(CPUCount.fromCPUMax("150000 100000") == 2)  // 1.5 CPUs: rounded up
    #expect(CPUCount.fromCPUMax("50000 100000") == 1)
    #expect(CPUCount.fromCPUMax("") == nil)
    #expect(CPUCount.fromCPUMax("garbage") == nil)
    #expect(CPUCount.fromQuota(-1, period: 100000) == nil)
    #expect(CPUCount.fromQuota(300000, period: 100000) == 3)
    #expect(CPUCount.effective(cgroupLimit: 2, limitOrigin: "cpu.max", host: 16) == CPUCount(count: 2, origin: "the cgroup limit cpu.max"))
    #expect(CPUCount.effective(cgroupLimit: nil, limitOrigin: "cpu.max", host: 4).count == 4)
    #expect(CPUCount.effective(cgroupLimit: 8, limitOrigin: "cpu.max", host: 4).count == 4)  // never more than the host has
    #expect(CPUCount.effective(cgroupLimit: 2, limitOrigin: "cpu.max", host: 16).webConcurrency == 5)
    #expect(CPUCount.allowedCPUs(status: "Name:\tx\nCpus_allowed:\tff,0000000f\nCpus_allowed_list:\t0-3\n") == 12)
}

private func files(cpuMax: String?) -> FileReader {
    FileReader(read: { path in
        if path == CPUCount.cgroupV2File, let cpuMax { return .success(Array(cpuMax.utf8)) }
        return .failure(.missing)
    }, list: { _ in nil })
}

@Test func webConcurrencyDefaultsToTwiceTheCPUsPlusOne() throws {
    let limited = try ConfigurationLoader.load(environment: [:], files: files(cpuMax: "100000 100000\n")).get()
    #expect(limited.app.webConcurrencyToPass == "3")
    #expect(entry(limited, "WEB_CONCURRENCY")?.value.hasPrefix("3 (2 x 1 CPUs + 1") == true)
    // No cgroup file: the CPUs this process may use.
    let host = CPUCount.hostCount()
    let unlimited = try ConfigurationLoader.load(environment: [:], files: files(cpuMax: nil)).get()
    #expect(unlimited.app.webConcurrencyToPass == String(2 * host + 1))
    let unlimitedMax = try ConfigurationLoader.load(environment: [:], files: files(cpuMax: "max 100000\n")).get()
    #expect(unlimitedMax.app.webConcurrencyToPass == String(2 * host + 1))
    // The user's own value is passed as given.
    let given = try load(["WEB_CONCURRENCY": "7"]).get()
    #expect(given.app.webConcurrencyToPass == nil)
    #expect(entry(given, "WEB_CONCURRENCY") == ConfigEntry(variable: "WEB_CONCURRENCY", value: "7", source: .environment))
}

@Test func legacyKeySettingsHaveDefaults() throws {
    let config = try load([:]).get()
    #expect(config.app.legacySecretsDirectory == "/code/.secrets")
    #expect(config.app.allowNewSecretKey == false)
    let set = try load(["MATHESAR_LEGACY_SECRETS_DIR": "/old/.secrets/", "MATHESAR_ALLOW_NEW_SECRET_KEY": "true"]).get()
    #expect(set.app.legacySecretsDirectory == "/old/.secrets")
    #expect(set.app.allowNewSecretKey)
    #expect(!config.warnings.contains { $0.contains("MATHESAR_LEGACY_SECRETS_DIR") })
}

// MARK: PostgreSQL's multi-line messages

@Test func keepsAServerMessageTogether() {
    var lines = ServerMessageLines()
    let p = "2026-12-01 10:00:39.254 UTC [9710] "
    #expect(lines.classify(p + "ERROR:  duplicate key value violates unique constraint \"t_pkey\"") == (.error, nil))
    #expect(lines.classify(p + "DETAIL:  Key (a)=(1) already exists.") == (.error, "DETAIL:  Key (a)=(1) already exists."))
    #expect(lines.classify(p + "STATEMENT:  select 1 +") == (.error, "STATEMENT:  select 1 +"))
    #expect(lines.classify("\t\t  nosuch") == (.error, "\t\t  nosuch"))
    // The next message starts fresh; a DETAIL of another backend is not taken as this one's.
    #expect(lines.classify(p + "LOG:  checkpoint starting: time") == (.info, nil))
    #expect(lines.classify("2026-12-01 10:00:40.000 UTC [9999] DETAIL:  other") == (nil, nil))
    #expect(lines.classify(p + "WARNING:  something") == (.warning, nil))
    #expect(lines.classify(p + "HINT:  do this") == (.warning, "HINT:  do this"))
    // Without log_line_prefix, and with Debian's user@database prefix.
    #expect(lines.classify("FATAL:  role \"x\" does not exist") == (.error, nil))
    #expect(lines.classify("HINT:  create it") == (.error, "HINT:  create it"))
    let debian = "2026-12-01 10:00:39.254 UTC [12] mathesar@mathesar_django "
    #expect(lines.classify(debian + "ERROR:  relation \"x\" does not exist at character 15") == (.error, nil))
    #expect(lines.classify(debian + "STATEMENT:  select * from x") == (.error, "STATEMENT:  select * from x"))
    // Anything else is not part of a message.
    #expect(lines.classify("some other output") == (nil, nil))
    #expect(lines.classify("\tindented, but no message before") == (nil, nil))
}
