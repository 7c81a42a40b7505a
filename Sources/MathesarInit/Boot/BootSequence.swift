import Glibc

/// The boot sequence of the contract, one named phase at a time: checks that
/// write nothing, then the volume, secrets, database, migrations, and the app.
/// Each phase logs one line with its duration; a failure stops what was
/// started, in reverse order, and exits with the phase's code.
public final class BootSequence {
    public enum Goal: Equatable {
        /// Boot, then supervise the app.
        case run
        /// Boot the database, migrate, stop (`mathesar-init migrate`).
        case migrate
        /// Boot the database, run `MATHESAR_SQL_UPGRADE_COMMAND ACTION [--database NAME]`, stop.
        case schema(Command.SchemaAction, database: String?)
        /// `prepare`: initdb, migrate, seal the template's role, stop (see PrepareCommand).
        case prepare
    }

    let config: Configuration
    let supervisor: Supervisor
    let goal: Goal
    let isRoot = geteuid() == 0
    var logger: Logger { supervisor.logger }

    var appUser: UserIdentity?
    public internal(set) var serverUser: UserIdentity?
    public internal(set) var server: BundledServer?
    public internal(set) var serverMajor: Int?
    var clusterState: ClusterState = .empty
    var lock: VolumeLock?
    var appEnvironment: [String: String] = [:]
    var helper: DatabaseHelper?
    /// A major-version upgrade to run, finish or undo (see BootSequence+Upgrade.swift).
    var upgrade: ClusterUpgrade?
    /// Where SECRET_KEY comes from, decided in preflight (see BootSequence+Adoption.swift).
    var secretKeySource: SecretKeySource = .generate
    /// The bundled role's password changed at this boot (the reconcile said so).
    var passwordChanged = false
    /// The template a first boot copies, or why not (see BootSequence+Template.swift).
    var template: TemplateChoice?
    var copyNote: String?
    /// MATHESAR_MIGRATE's facts for this boot (see BootSequence+Migrate.swift).
    let migration = MigrationFacts()

    public init(config: Configuration, supervisor: Supervisor, goal: Goal) {
        self.config = config
        self.supervisor = supervisor
        self.goal = goal
    }

    /// Runs the whole sequence and supervision; returns PID 1's exit code.
    public func run() -> Int32 {
        do {
            try phase("preflight") { () throws(Supervisor.Interruption) in try preflight() }
            try phase("volume") { () throws(Supervisor.Interruption) in try prepareVolume() }
            try phase("database") { () throws(Supervisor.Interruption) in
                supervisor.bootPhase = "database"
                return config.database.mode == .bundled ? try startBundledDatabase() : try waitForExternalDatabase()
            }
            if case .schema(let action, let database) = goal {
                supervisor.bootPhase = "schema"
                let code = try runSchemaCommand(action, database: database)
                return supervisor.stopAll(code: code)
            }
            supervisor.bootPhase = "migrating"
            if let command = config.migrateCommand {
                try phase("migrate") { () throws(Supervisor.Interruption) in try migrateIfNeeded(command) }
            }
            if passwordChanged {
                try phase("credentials") { () throws(Supervisor.Interruption) in try updateStoredPassword() }
            }
            if goal == .prepare {
                try phase("template") { () throws(Supervisor.Interruption) in try sealTemplate() }
                return supervisor.stopAll(code: 0)
            }
            if goal == .migrate {
                if let command = config.sqlUpgradeCommand {
                    try phase("schema") { () throws(Supervisor.Interruption) in try upgradeSQLInForeground(command) }
                }
                logger.info("migrate: done; stopping")
                return supervisor.stopAll(code: 0)
            }
            if let command = config.sqlUpgradeCommand {
                try phase("schema") { () throws(Supervisor.Interruption) in try startSQLUpgrade(command) }
            }
            watchForListeningApp()
            try phase("app") { () throws(Supervisor.Interruption) in try startApp() }
        } catch {
            return supervisor.shutdown(after: error)
        }
        return supervisor.supervise()
    }

    /// Runs one phase and logs its end with its duration.
    private func phase(_ name: String, _ body: () throws(Supervisor.Interruption) -> String) throws(Supervisor.Interruption) {
        let start = Instant.now()
        let summary = try body()
        logger.info("\(name): \(summary) (\(formatDuration(Instant.now().seconds(since: start))))")
    }

    private func fail(_ code: Int32, _ message: String) -> Supervisor.Interruption {
        .failure(Failure(code, message))
    }

    // MARK: preflight (reads only)

    private func preflight() throws(Supervisor.Interruption) -> String {
        for warning in config.warnings { logger.warning(warning) }
        var notes: [String] = []
        if isRoot, let name = config.appUser {
            switch UserDatabase.lookupOnSystem(name) {
            case .success(let user):
                appUser = user
                notes.append("app runs as \(user.name) (uid \(user.uid))")
            case .failure(let why):
                throw fail(ExitCode.configuration, "MATHESAR_APP_USER=\"\(ConfigurationProblem.printable(name))\": \(Self.describe(why)); create the account in the image or give an existing one")
            }
        }
        if goal == .run {
            guard let command = config.appCommand, !command.isEmpty else {
                throw fail(ExitCode.configuration, "no app command: give it as arguments (the image's CMD) or set MATHESAR_APP_COMMAND (example: MATHESAR_APP_COMMAND=\"gunicorn config.wsgi -b 0.0.0.0:8000\")")
            }
            if case .failure(let problem) = CommandResolver.resolve(command[0], searchPath: config.environment["PATH"], user: appUser) {
                throw fail(problem.exitCode, "app command: \(problem.message)")
            }
        }
        if let migrate = config.migrateCommand,
           case .failure(let problem) = CommandResolver.resolve(migrate[0], searchPath: config.environment["PATH"], user: appUser) {
            throw fail(ExitCode.configuration, "MATHESAR_MIGRATE_COMMAND: \(problem.message)")
        }
        try preflightSQLUpgrade()
        let secretProblems = SecretStore.inspect(directory: config.secretsDirectory, names: config.persistedSecrets)
        if !secretProblems.isEmpty {
            throw fail(ExitCode.configuration, ConfigurationError(problems: secretProblems).description)
        }
        if config.database.mode == .bundled {
            notes.append(try inspectBundledServer())
        } else {
            notes.append("external PostgreSQL at \(config.database.host!):\(config.database.port) (POSTGRES_HOST is set; the bundled server is not started)")
        }
        notes += try inspectAdoption()
        return notes.joined(separator: "; ")
    }

    static func describe(_ error: UserDatabase.LookupError) -> String {
        switch error {
        case .unknownUser(let name): "no user \(name) in /etc/passwd"
        case .unknownGroup(let name): "no group \(name) in /etc/group"
        case .malformed(let spec): "\(spec) is not NAME, UID, NAME:GROUP or UID:GID"
        }
    }

    /// Finds the server and decides what to do with PGDATA, without writing.
    private func inspectBundledServer() throws(Supervisor.Interruption) -> String {
        if isRoot {
            switch UserDatabase.lookupOnSystem("postgres") {
            case .success(let user): serverUser = user
            case .failure:
                throw fail(ExitCode.configuration, "the bundled PostgreSQL must run as the OS user postgres, which does not exist; install the postgresql package (it creates the user) or run the container as a non-root user")
            }
        }
        let binaries: ServerBinaries
        switch ServerBinaries.locate(configured: config.pgBinDirectory, searchPath: config.environment["PATH"]) {
        case .success(let found): binaries = found
        case .failure(let failure): throw .failure(failure)
        }
        let major = try serverVersion(binaries)
        serverMajor = major
        server = BundledServer(pgdata: config.pgdata, binaries: binaries, serverUser: serverUser,
                               runDirectory: config.runDirectory, port: config.database.port,
                               searchPath: config.environment["PATH"])
        clusterState = ClusterDirectory.classify(config.pgdata)
        let modeNote = "bundled PostgreSQL \(major) from \(binaries.directory) (POSTGRES_HOST is not set)"
        if let pending = try inspectPendingUpgrade(serverMajor: major, binaries: binaries) { return modeNote + "; " + pending }
        switch ClusterDirectory.plan(for: clusterState, pgdata: config.pgdata, serverMajor: major) {
        case .failure(let failure): throw .failure(failure)
        case .success(.initialize): return modeNote + "; \(config.pgdata) is empty: " + inspectTemplate(serverMajor: major)
        case .success(.use): return modeNote + "; existing cluster in \(config.pgdata)"
        case .success(.upgrade(let found)): return modeNote + "; " + (try inspectUpgrade(from: found, to: major, binaries: binaries))
        }
    }

    private func serverVersion(_ binaries: ServerBinaries) throws(Supervisor.Interruption) -> Int {
        switch try binaries.majorVersion(supervisor: supervisor, user: serverUser) {
        case .success(let major): return major
        case .failure(let failure): throw .failure(failure)
        }
    }

    // MARK: volume and secrets

    private func prepareVolume() throws(Supervisor.Interruption) -> String {
        do {
            try DataVolume.prepare(config.dataDirectory)
            lock = try VolumeLock.acquire(path: config.lockPath)
            let store = SecretStore(directory: config.secretsDirectory, owner: appUser)
            var generated: [String] = []
            func resolve(_ setting: SecretSetting?) throws(Failure) -> String? {
                switch setting {
                case .given(let value, _)?: return value
                case .persisted(let name)?:
                    let (value, made) = try store.resolve(name)
                    if made { generated.append(name) }
                    return value
                case nil: return nil
                }
            }
            let key = try resolveSecretKey(store)
            if key.generated, case .persisted(let name) = config.secretKey { generated.append(name) }
            let secrets = ResolvedSecrets(secretKey: key.value, databasePassword: try resolve(config.database.password))
            logger.redact(secrets.secretKey)
            if let password = secrets.databasePassword { logger.redact(password) }
            try DataVolume.ownedDirectory(config.mediaDirectory, mode: 0o755, owner: appUser)
            try DataVolume.makeDirectories(config.runDirectory, mode: 0o755)
            appEnvironment = AppEnvironment.build(config: config, secrets: secrets, user: appUser)
            helper = DatabaseHelper(path: SelfExecutable.databaseHelperPath(), appEnvironment: appEnvironment,
                                    config: config, socketDirectory: server?.socketDirectory)
            supervisor.attachStatusFile(StatusFile(runDirectory: config.runDirectory, redactor: logger.redactor, group: appUser?.gid))
            let made = generated.isEmpty ? "" : "; generated \(generated.joined(separator: " and ")) (kept in \(config.secretsDirectory))"
            return "\(config.dataDirectory) locked\(made)"
        } catch {
            throw .failure(error)
        }
    }

    // MARK: database

    private func startBundledDatabase() throws(Supervisor.Interruption) -> String {
        guard let server, let major = serverMajor, let helper else { throw fail(ExitCode.internalError, "bundled server not inspected") }
        var notes: [String] = []
        do {
            let removed = server.removeInitLeftovers()
            if !removed.isEmpty {
                logger.warning("removed what an interrupted first boot left: \(removed.joined(separator: ", "))")
            }
            notes += try prepareExistingCluster()
            if ClusterDirectory.classify(config.pgdata) == .empty {
                let start = Instant.now()
                let target = try server.prepareInitDirectory()
                let copied = try copyTemplate(into: target, server: server)
                if copied == nil {
                    let result: Supervisor.TaskResult
                    do {
                        result = try supervisor.runTask(server.initdbSpec(target: target))
                    } catch {
                        // Stopped mid-initdb, or initdb could not start: leave no temporary directory behind.
                        FileSystem.removeTree(target)
                        throw error
                    }
                    guard result.status.succeeded else {
                        FileSystem.removeTree(target)
                        throw Failure(ExitCode.volumeUnusable, "initdb \(result.status); nothing was left in \(config.pgdata). Its last lines:\n  " + result.lines.suffix(8).joined(separator: "\n  "))
                    }
                }
                try server.finishInit(target: target)
                if let copied {
                    notes.append(try seedFromTemplate(copied, seconds: Instant.now().seconds(since: start)))
                } else {
                    notes.append("created a PostgreSQL \(major) cluster in \(formatDuration(Instant.now().seconds(since: start)))")
                }
            }
            let fixed = try server.fixOwnership()
            if fixed > 0 { notes.append("fixed ownership or mode of \(fixed) entries in \(config.pgdata)") }
            try server.prepareSocketDirectory()
            if let why = try server.clearStalePidFile(liveChildren: supervisor.runtime.liveChildren) {
                logger.warning("removed \(config.pgdata)/postmaster.pid: \(why)")
            }
        } catch let failure as Failure {
            throw .failure(failure)
        } catch let interruption as Supervisor.Interruption {
            throw interruption
        } catch {
            throw fail(ExitCode.internalError, "\(error)")
        }

        supervisor.setLauncher(.postgres) { () throws(Failure) in
            _ = try? server.clearStalePidFile(liveChildren: self.supervisor.runtime.liveChildren)
            return server.serverSpec()
        }
        let postmaster: pid_t
        do {
            postmaster = try supervisor.start(.postgres)
        } catch {
            throw .failure(error)
        }
        let ready = try supervisor.runTask(helper.spec(.bundledReady, extra: migrationStateRequest().merging([DatabaseHelper.Variable.postmasterPID: String(postmaster)]) { $1 }), serviceLost: { _, status, lines in
            Failure(ExitCode.databaseUnavailable, "PostgreSQL \(status) while starting; its last lines:\n  " + lines.suffix(12).joined(separator: "\n  "))
        })
        try requireHelperSuccess(ready, step: "waiting for the bundled PostgreSQL")
        migration.databaseFingerprint = DatabaseHelper.migrationFingerprint(in: ready.lines)
        passwordChanged = ready.lines.contains { $0.contains(DatabaseHelper.passwordChangedNote(config.database.user)) }
        notes += try finishUpgrade()
        notes.append("PostgreSQL \(major) ready on 127.0.0.1:\(config.database.port) and \(server.socketDirectory); role \(config.database.user) and database \(config.database.name) reconciled")
        return notes.joined(separator: "; ")
    }

    private func waitForExternalDatabase() throws(Supervisor.Interruption) -> String {
        guard let helper else { throw fail(ExitCode.internalError, "helper not prepared") }
        let result = try supervisor.runTask(helper.spec(.externalReady, extra: migrationStateRequest()))
        try requireHelperSuccess(result, step: "checking the external database")
        migration.databaseFingerprint = DatabaseHelper.migrationFingerprint(in: result.lines)
        return "external PostgreSQL at \(config.database.host!):\(config.database.port) ready; role \(config.database.user) can use \(config.database.name)"
    }

    /// The helper has already logged why it failed; pass its code on.
    func requireHelperSuccess(_ result: Supervisor.TaskResult, step: String) throws(Supervisor.Interruption) {
        switch result.status {
        case .exited(0):
            return
        case .exited(let code) where [ExitCode.databaseUnavailable, ExitCode.migrationFailed, ExitCode.configuration, ExitCode.volumeUnusable].contains(code):
            throw fail(code, "\(step) failed (see above)")
        default:
            throw fail(ExitCode.internalError, "the database helper \(result.status) while \(step); is \(helper?.path ?? "mathesar-init-db") installed next to mathesar-init?")
        }
    }

    // MARK: migrations

    func runMigrateCommand(_ command: [String]) throws(Supervisor.Interruption) -> String {
        let executable: String
        switch CommandResolver.resolve(command[0], searchPath: appEnvironment["PATH"], user: appUser) {
        case .success(let path): executable = path
        case .failure(let problem): throw fail(ExitCode.migrationFailed, "MATHESAR_MIGRATE_COMMAND: \(problem.message)")
        }
        var spec = ProcessSpec(source: "migrate", executable: executable, arguments: command, environment: appEnvironment,
                               user: appUser, workingDirectory: nil)
        spec.allowPrivilegeGain = config.appAllowSetuid
        let result = try supervisor.runTask(spec, forwardSignals: true)
        guard result.status.succeeded else {
            throw fail(ExitCode.migrationFailed, "MATHESAR_MIGRATE_COMMAND \(result.status); the app was not started. Its last lines:\n  " + result.lines.suffix(10).joined(separator: "\n  "))
        }
        return "\(command[0]) succeeded"
    }

    // MARK: app

    private func startApp() throws(Supervisor.Interruption) -> String {
        let command = config.appCommand!
        let environment = appEnvironment
        let user = appUser
        let allowSetuid = config.appAllowSetuid
        supervisor.setLauncher(.app) { () throws(Failure) in
            switch CommandResolver.resolve(command[0], searchPath: environment["PATH"], user: user) {
            case .success(let path):
                var spec = ProcessSpec(source: "app", executable: path, arguments: command, environment: environment,
                                       user: user, workingDirectory: nil, stdin: .inherit)
                spec.allowPrivilegeGain = allowSetuid
                return spec
            case .failure(let problem):
                throw Failure(problem.exitCode, "app command: \(problem.message)")
            }
        }
        do {
            let pid = try supervisor.start(.app)
            return "started \(command[0]) (pid \(pid))"
        } catch {
            throw .failure(error)
        }
    }
}
