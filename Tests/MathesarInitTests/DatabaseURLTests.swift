import Testing
@testable import MathesarInit

// DATABASE_URL and PORT (the PaaS conventions) as the contract defines them:
// the URL is the same as the POSTGRES_* it names, conflicts name both
// variables, and nothing printed about a URL ever holds its password.

private let password = "pw-7d1c9e"

private func load(_ environment: [String: String]) -> Result<Configuration, ConfigurationError> {
    ConfigurationLoader.load(environment: environment, files: FileReader(read: { _ in .failure(.missing) }, list: { _ in nil }))
}

private func printed(_ result: Result<Configuration, ConfigurationError>) -> String {
    switch result {
    case .failure(let error): return error.description
    case .success(let config):
        return config.entries.map { "\($0.variable)=\($0.value)" }.joined(separator: "\n") + config.warnings.joined(separator: "\n")
            + ConfigCommand.render(config, format: .text) + ConfigCommand.render(config, format: .json)
    }
}

@Suite struct DatabaseURLParsing {
    @Test(arguments: [
        ("postgres://u:\(password)@db.example.com:6543/appdb", "db.example.com", 6543, "u", password, "appdb", nil as String?),
        ("postgresql://u:\(password)@db/appdb?sslmode=require", "db", nil, "u", password, "appdb", "require"),
        ("POSTGRES://u:\(password)@10.0.0.7", "10.0.0.7", nil, "u", password, nil, nil),
        ("postgres://u:\(password)@[2001:db8::1]:5433/d", "2001:db8::1", 5433, "u", password, "d", nil),
        ("postgres://u:\(password)@%2Fvar%2Frun%2Fpostgresql/d", "/var/run/postgresql", nil, "u", password, "d", nil),
        ("postgres://my%20user:\(password)@db/my%2Ddb", "db", nil, "my user", password, "my-db", nil),
        ("postgres://:\(password)@db/", "db", nil, nil, password, nil, nil),
    ] as [(String, String, Int?, String?, String?, String?, String?)])
    func forms(url: String, host: String, port: Int?, user: String?, pw: String?, db: String?, ssl: String?) throws {
        let parsed = try DatabaseURL.parse(url).get()
        #expect(parsed == DatabaseURL(host: host, port: port, user: user, password: pw, database: db, sslMode: ssl))
    }

    @Test func percentEncodedPasswordDecodes() throws {
        // ":" "@" "/" "%" "?" "#" and a non-ASCII letter, all encoded
        let parsed = try DatabaseURL.parse("postgres://u:p%3Aa%40s%2Fs%25w%3Fo%23r%C3%A9d@db/x").get()
        #expect(parsed.password == "p:a@s/s%w?o#réd")
    }

    @Test func unencodedAtAndSlashInThePasswordStillParse() throws {
        // the last "@" ends the user part, as its owner meant
        let parsed = try DatabaseURL.parse("postgres://u:p@ss/w@db:5432/x").get()
        #expect(parsed.password == "p@ss/w" && parsed.host == "db" && parsed.port == 5432 && parsed.database == "x")
    }

    @Test(arguments: [
        ("mysql://u:\(password)@db/x", "scheme"),
        ("db.example.com", "postgres://"),
        ("postgres://u:\(password)@/x", "no host"),
        ("postgres://u:\(password)@db:port/x", "port"),
        ("postgres://u:\(password)@db:70000/x", "port"),
        ("postgres://u:\(password)@a,b/x", "several hosts"),
        ("postgres://u:\(password)@db/x/y", "path"),
        ("postgres://u:\(password)@db/x?sslmode=sometimes", "sslmode"),
        ("postgres://u:\(password)@db/x?application_name=a", "parameter"),
        ("postgres://u:pw%zz\(password)@db/x", "percent-escape in the password"),
        ("postgres://u:\(password)@[::1/x", "IPv6"),
        ("postgres://u:\(password)@db%20name/x", "host"),
        // a forgotten "@": the password would be the port
        ("postgres://u:\(password)", "port"),
    ])
    func badURLs(url: String, reasonMentions: String) {
        guard case .failure(let why) = DatabaseURL.parse(url) else {
            Issue.record("\(url) parsed"); return
        }
        #expect(why.reason.contains(reasonMentions), "\(why.reason)")
        #expect(!why.reason.contains(password))
        let shown = DatabaseURL.redacted(url)
        #expect(!shown.contains(password), "\(shown)")
    }

    @Test func redactedKeepsWhatIsNotSecret() {
        #expect(DatabaseURL.redacted("postgres://u:\(password)@db:5432/x") == "postgres://u:<redacted>@db:5432/x")
        #expect(DatabaseURL.redacted("postgres://db:5432/x") == "postgres://db:5432/x")
        #expect(DatabaseURL.redacted("postgres://u:\(password)") == "postgres://<redacted>")
    }
}

@Suite struct DatabaseURLConfiguration {
    @Test func theURLIsTheSameAsItsVariables() throws {
        let url = "postgres://alice:p%40ss@db.internal:6000/mathesar?sslmode=verify-full"
        let viaURL = try load(["DATABASE_URL": url]).get()
        let viaVariables = try load([
            "POSTGRES_HOST": "db.internal", "POSTGRES_PORT": "6000", "POSTGRES_USER": "alice",
            "POSTGRES_PASSWORD": "p@ss", "POSTGRES_DB": "mathesar", "POSTGRES_SSLMODE": "verify-full",
        ]).get()
        #expect(viaURL.database == viaVariables.database)
        #expect(viaURL.database.mode == .external)
        // the app gets the POSTGRES_* the URL implies, never the URL with its password
        let env = AppEnvironment.build(config: viaURL, secrets: ResolvedSecrets(secretKey: "k", databasePassword: "p@ss"), user: nil)
        #expect(env["DATABASE_URL"] == nil)
        #expect(env["POSTGRES_HOST"] == "db.internal" && env["POSTGRES_PORT"] == "6000" && env["POSTGRES_DB"] == "mathesar")
        #expect(env["POSTGRES_USER"] == "alice" && env["POSTGRES_PASSWORD"] == "p@ss" && env["POSTGRES_SSLMODE"] == "verify-full")
    }

    @Test func defaultsFillWhatTheURLLeavesOut() throws {
        let config = try load(["DATABASE_URL": "postgres://:\(password)@db"]).get()
        #expect(config.database.port == 5432 && config.database.user == "mathesar" && config.database.name == "mathesar_django")
        #expect(config.database.sslMode == "prefer")
    }

    @Test(arguments: ["POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_PASSWORD_FILE", "POSTGRES_DB"])
    func conflictNamesBoth(other: String) {
        let result = load(["DATABASE_URL": "postgres://u:\(password)@db/x", other: other == "POSTGRES_PORT" ? "5432" : "value-\(other)"])
        guard case .failure(let error) = result else { Issue.record("\(other) with DATABASE_URL loaded"); return }
        #expect(error.problems.count == 1)
        #expect(error.problems[0].variable == "DATABASE_URL" && error.problems[0].reason.contains(other))
        #expect(!error.description.contains(password))
        if other == "POSTGRES_PASSWORD" { #expect(!error.description.contains("value-POSTGRES_PASSWORD")) }
    }

    @Test func sslmodeConflictsOnlyWhenTheURLHasOne() throws {
        _ = try load(["DATABASE_URL": "postgres://u:\(password)@db/x", "POSTGRES_SSLMODE": "require"]).get()
        guard case .failure(let error) = load(["DATABASE_URL": "postgres://u:\(password)@db/x?sslmode=disable", "POSTGRES_SSLMODE": "require"]) else {
            Issue.record("both sslmodes loaded"); return
        }
        #expect(error.problems.map(\.variable) == ["DATABASE_URL"] && error.description.contains("POSTGRES_SSLMODE"))
    }

    @Test func aURLWithoutPasswordIsRefused() {
        guard case .failure(let error) = load(["DATABASE_URL": "postgres://u@db/x"]) else { Issue.record("loaded"); return }
        #expect(error.description.contains("DATABASE_URL") && error.description.contains("no password"))
    }

    @Test(arguments: [
        "postgres://u:\(password)@db:x/d", "postgres://u:\(password)", "postgres://u:%zz\(password)@db/d",
        "postgres://u:\(password)@db/d?sslmode=sometimes", "http://u:\(password)@db/d", "postgres//u:\(password)@db/d",
        "postgres://u:\(password)@db/d?user=x", "postgres://u:\(password)@/d",
    ])
    func aBadURLNeverEchoesThePassword(url: String) {
        let result = load(["DATABASE_URL": url])
        guard case .failure = result else { Issue.record("\(url) loaded"); return }
        let text = printed(result)
        #expect(text.contains("DATABASE_URL"))
        #expect(!text.contains(password), "\(text)")
    }

    @Test func configShowsTheURLRedacted() throws {
        let config = try load(["DATABASE_URL": "postgres://u:\(password)@db/x"]).get()
        let text = printed(.success(config))
        #expect(text.contains("postgres://u:<redacted>@db/x"))
        #expect(!text.contains(password))
    }

    @Test func emptyURLIsUnset() throws {
        // Compose passes an unset variable as ""
        #expect(try load(["DATABASE_URL": ""]).get().database.mode == .bundled)
    }
}

@Suite struct PortVariable {
    @Test func defaultIs8000ForTheAppAndTheHealthcheck() throws {
        let config = try load([:]).get()
        #expect(config.healthcheckURL == "http://127.0.0.1:8000/")
        #expect(AppEnvironment.build(config: config, secrets: ResolvedSecrets(secretKey: "k", databasePassword: "p"), user: nil)["PORT"] == "8000")
    }

    @Test func givenPortReachesTheAppAndTheHealthcheck() throws {
        let config = try load(["PORT": "10000"]).get()
        #expect(config.healthcheckURL == "http://127.0.0.1:10000/")
        #expect(AppEnvironment.build(config: config, secrets: ResolvedSecrets(secretKey: "k", databasePassword: "p"), user: nil)["PORT"] == "10000")
    }

    @Test func anExplicitHealthcheckURLWins() throws {
        let config = try load(["PORT": "10000", "MATHESAR_HEALTHCHECK_URL": "http://127.0.0.1:9000/health"]).get()
        #expect(config.healthcheckURL == "http://127.0.0.1:9000/health")
    }

    @Test(arguments: ["0", "65536", "eighty", "-1", "80.5"])
    func badPortIsAProblemNamingIt(value: String) {
        guard case .failure(let error) = load(["PORT": value]) else { Issue.record("PORT=\(value) loaded"); return }
        #expect(error.problems.map(\.variable) == ["PORT"])
        #expect(error.description.contains("PORT=\"\(value)\"") && error.description.contains("1 to 65535"))
    }
}
