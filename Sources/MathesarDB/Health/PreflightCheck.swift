import Glibc
import MathesarInit
import PostgresClient

/// `mathesar-init check`: every check boot would make, without changing
/// anything (not even the lock file or a missing directory), all reported at
/// once, one line each.
public struct PreflightCheck {
    public struct Finding {
        var ok: Bool
        var subject: String
        var detail: String
        /// The exit code boot would fail with.
        var code: Int32 = 0
    }

    let environment: [String: String]

    public init(environment: [String: String]) { self.environment = environment }

    /// The findings and the exit code: 0 when all pass, else the code of the
    /// first problem in boot order.
    public func run() -> ([Finding], Int32) {
        let isRoot = geteuid() == 0
        let config: Configuration
        switch ConfigurationLoader.load(environment: environment, isRoot: isRoot) {
        case .failure(let error):
            // The variable is the subject; the detail does not say it again.
            let findings = error.problems.map { p in
                Finding(ok: false, subject: p.variable,
                        detail: (p.shownValue.map { "\"\($0)\": " } ?? "") + p.reason + (p.example.map { " (example: \($0))" } ?? ""),
                        code: ExitCode.configuration)
            }
            return (findings, ExitCode.configuration)
        case .success(let loaded):
            config = loaded
        }
        var findings = [Finding(ok: true, subject: "configuration", detail: "\(config.entries.count) settings valid; \(config.database.mode.rawValue) database")]
        for warning in config.warnings { findings.append(Finding(ok: true, subject: "warning", detail: warning)) }
        func problem(_ subject: String, _ detail: String, _ code: Int32) { findings.append(Finding(ok: false, subject: subject, detail: detail, code: code)) }
        func ok(_ subject: String, _ detail: String) { findings.append(Finding(ok: true, subject: subject, detail: detail)) }

        var appUser: UserIdentity?
        if isRoot, let name = config.appUser {
            switch UserDatabase.lookupOnSystem(name) {
            case .success(let user): appUser = user; ok("app user", "\(user.name) (uid \(user.uid), gid \(user.gid))")
            case .failure: problem("app user", "MATHESAR_APP_USER=\(name): no such account in /etc/passwd; create it or give an existing one", ExitCode.configuration)
            }
        }
        for (subject, command) in [("app command", config.appCommand), ("migrate command", config.migrateCommand)] {
            guard let command, let program = command.first else {
                if subject == "app command" { ok(subject, "not set here (the image's CMD gives it at run time)") }
                continue
            }
            switch CommandResolver.resolve(program, searchPath: environment["PATH"], user: appUser) {
            case .success(let path): ok(subject, path)
            case .failure(let why): problem(subject, why.message, subject == "app command" ? why.exitCode : ExitCode.configuration)
            }
        }

        if let why = DataVolume.inspect(config.dataDirectory) {
            problem("data volume", why, ExitCode.volumeUnusable)
        } else {
            ok("data volume", FileIO.exists(config.dataDirectory) ? "\(config.dataDirectory) writable" : "\(config.dataDirectory) will be created")
        }
        switch VolumeLock.holder(path: config.lockPath) {
        case .some(.some(let holder)): problem("volume lock", "\(config.dataDirectory) is in use by another mathesar-init (\(holder)); stop it or use another volume", ExitCode.volumeUnusable)
        default: ok("volume lock", "free")
        }
        let secretFiles = config.persistedSecrets
        let secretProblems = SecretStore.inspect(directory: config.secretsDirectory, names: secretFiles)
        for p in secretProblems { problem(p.variable, p.description, ExitCode.configuration) }
        if secretProblems.isEmpty {
            let kept = ConfigCommand.keptSecrets(config)
            let persisted = secretFiles.map { "\($0.variable) \(ConfigCommand.generatedSecretSource(kept: kept.contains($0.variable)))" }
            ok("secrets", (persisted + (secretFiles.count < 2 ? ["the rest from the environment"] : [])).joined(separator: "; "))
        }
        if let warning = DataDirectoryMount.warning(config: config) { ok("warning", warning) }
        var clusterExists = false
        if config.database.mode == .bundled, case .cluster = ClusterDirectory.classify(config.pgdata) { clusterExists = true }
        switch SecretKeySource.decide(config: config, clusterExists: clusterExists) {
        case .failure(let failure): problem("SECRET_KEY", failure.message, failure.code)
        case .success(.legacy(let path, _)): ok("SECRET_KEY", "taken from \(path) (Mathesar's image) at the next boot and copied into the volume")
        case .success: break
        }
        if let why = DataVolume.inspect(config.runDirectory) { problem("run directory", why, ExitCode.volumeUnusable) }
        else { ok("run directory", config.runDirectory) }

        switch config.database.mode {
        case .bundled: checkBundled(config, isRoot: isRoot, ok: ok, problem: problem)
        case .external: checkExternal(config, ok: ok, problem: problem)
        }
        let code = findings.first { !$0.ok }?.code ?? 0
        return (findings, code)
    }

    private func checkBundled(_ config: Configuration, isRoot: Bool, ok: (String, String) -> Void, problem: (String, String, Int32) -> Void) {
        var serverUser: UserIdentity?
        if isRoot {
            switch UserDatabase.lookupOnSystem("postgres") {
            case .success(let user): serverUser = user; ok("postgres user", "uid \(user.uid)")
            case .failure: problem("postgres user", "the OS user postgres does not exist; install the postgresql package", ExitCode.configuration)
            }
        }
        let binaries: ServerBinaries
        switch ServerBinaries.locate(configured: config.pgBinDirectory, searchPath: environment["PATH"]) {
        case .success(let found): binaries = found
        case .failure(let failure):
            problem("server binaries", failure.message, failure.code)
            return
        }
        var major: Int?
        if let fromPath = binaries.majorVersionFromPath {
            major = fromPath
        } else if case .success(let found)? = try? binaries.majorVersion(tasks: DirectTaskRunner(), user: serverUser) {
            major = found
        }
        guard let major else {
            problem("server binaries", "\(binaries.path("postgres")) --version did not give a version", ExitCode.configuration)
            return
        }
        ok("server binaries", "PostgreSQL \(major) in \(binaries.directory) (\(binaries.origin))")
        // Adoption of a pg_createcluster layout, an interrupted or pending upgrade.
        let upgrade = UpgradeCheck.report(config: config, serverBinaries: binaries, serverMajor: major)
        for finding in upgrade {
            if finding.problem { problem("PGDATA", finding.text, finding.code ?? ExitCode.volumeUnusable) } else { ok("PGDATA", finding.text) }
        }
        let journalPending = FileIO.exists(UpgradePaths(pgdata: config.pgdata).journal)
        switch ClusterDirectory.plan(for: ClusterDirectory.classify(config.pgdata), pgdata: config.pgdata, serverMajor: major) {
        case .failure(let failure): problem("PGDATA", failure.message, failure.code)
        case .success(.initialize) where !journalPending:
            ok("PGDATA", "\(config.pgdata) \(FileIO.exists(config.pgdata) ? "is empty" : "does not exist yet"): a new cluster will be created at first boot")
        case .success(.use): ok("PGDATA", "PostgreSQL \(major) cluster in \(config.pgdata)")
        case .success: break  // an upgrade or a journal: the findings above say what happens
        }
        // With the container running, its server answers on the run directory's
        // socket; stopped, boot does this check (check starts no server).
        let server = InternalServer(config: config, environment: environment)
        if let socket = server.socketDirectory, FileIO.exists(socket + "/.s.PGSQL.\(config.database.port)") {
            for line in CollationSurvey.report(server: server, logger: Logger(format: .text, relayed: true), internalOnly: false) { ok("collation", line.text) }
        }
    }

    private func checkExternal(_ config: Configuration, ok: (String, String) -> Void, problem: (String, String, Int32) -> Void) {
        let server = InternalServer(config: config, environment: environment)
        // One short wait: check reports, it does not wait for a server to come up.
        switch ExternalDatabaseCheck(server: server).run(waitTimeout: min(config.databaseWaitTimeout, 3), progress: { _ in }) {
        case .success(let notes):
            ok("database", notes.joined(separator: "; "))
            for line in CollationSurvey.report(server: server, logger: Logger(format: .text, relayed: true), internalOnly: true) { ok("collation", line.text) }
        case .failure(let failure): problem("database", failure.message, failure.code)
        }
    }

    public static func render(_ findings: [Finding]) -> String {
        findings.map { f in (f.ok ? "ok       " : "PROBLEM  ") + f.subject + ": " + oneLine(f.detail) }.joined(separator: "\n") + "\n"
    }

    /// One check, one line: libpq's messages carry newlines ("...\nIs the server
    /// running...") and tabs; they become "; " and a space.
    static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: { $0 == "\n" || $0 == "\r" })
            .map { line in String(line.map { $0 == "\t" ? " " : $0 }).split(separator: " ").joined(separator: " ") }
            .filter { !$0.isEmpty }
            .joined(separator: "; ")
    }
}
