import Glibc

/// The boot sequence of the contract, one named phase at a time: checks that
/// write nothing, then the volume, secrets, database, migrations, and the app.
/// Each phase returns what the next needs (`Preflight` -> `PreparedVolume` ->
/// `RunningDatabase`) and logs one line with its duration; a failure stops
/// what was started, in reverse order, and exits with the phase's code.
public final class BootSequence {
    public enum Goal: Equatable {
        /// Boot, then supervise the app.
        case run
        /// Boot the database, migrate, stop (`mathesar-init migrate`).
        case migrate
        /// Boot the database, run `MATHESAR_SQL_UPGRADE_COMMAND ACTION [--database NAME]`, stop.
        case schema(Command.SchemaAction, database: String?)
        /// Boot the database, write a backup (BootSequence+Backup.swift), stop.
        case backup(BackupOutput?)
        /// Boot the database, rebuild one database after a collation change, stop.
        case reindex(database: String)
    }

    let config: Configuration
    let supervisor: Supervisor
    let goal: Goal
    let isRoot = geteuid() == 0
    var logger: Logger { supervisor.logger }
    /// Held for the life of PID 1: one container per volume.
    private var lock: VolumeLock?

    public init(config: Configuration, supervisor: Supervisor, goal: Goal) {
        self.config = config
        self.supervisor = supervisor
        self.goal = goal
    }

    /// Runs the whole sequence and supervision; returns PID 1's exit code.
    public func run() -> Int32 {
        do {
            let checked = try phase(.preflight) { () throws(Interruption) in try preflight() }
            let volume = try phase(.volume) { () throws(Interruption) in try prepareVolume(checked) }
            let database = try phase(.database) { () throws(Interruption) in try startDatabase(checked, volume) }
            if case .schema(let action, let database) = goal {
                supervisor.bootPhase = .schema
                let code = try runSchemaCommand(action, database: database, app: volume.app)
                return supervisor.stopAll(code: code)
            }
            if case .backup(let output) = goal {
                try phase(.backup) { () throws(Interruption) in ((), try runBackupGoal(output, checked)) }
                return supervisor.stopAll(code: 0)
            }
            if case .reindex(let name) = goal {
                supervisor.bootPhase = .reindex
                return supervisor.stopAll(code: try runReindexGoal(name, volume.helper))
            }
            if let command = config.migrateCommand {
                try phase(.migrate) { () throws(Interruption) in ((), try runMigrateCommand(command, app: volume.app)) }
            }
            if database.passwordChanged {
                try phase(.credentials) { () throws(Interruption) in ((), try updateStoredPassword(app: volume.app)) }
            }
            if goal == .migrate {
                if let command = config.sqlUpgradeCommand {
                    try phase(.schema) { () throws(Interruption) in ((), try upgradeSQLInForeground(command, app: volume.app)) }
                }
                logger.info("migrate: done; stopping")
                return supervisor.stopAll(code: 0)
            }
            if let command = config.sqlUpgradeCommand {
                try phase(.schema) { () throws(Interruption) in ((), try startSQLUpgrade(command, app: volume.app)) }
            }
            watchForListeningApp(volume.helper)
            try phase(.app) { () throws(Interruption) in ((), try startApp(volume.app)) }
        } catch {
            return supervisor.shutdown(after: error)
        }
        return supervisor.supervise()
    }

    /// Runs one phase, logs its end with its duration, and hands on what it made.
    private func phase<Made>(_ name: BootPhase, _ body: () throws(Interruption) -> (Made, String)) throws(Interruption) -> Made {
        supervisor.bootPhase = name
        let start = Instant.now()
        let (made, summary) = try body()
        logger.info("\(name.rawValue): \(summary) (\(formatDuration(Instant.now().seconds(since: start))))")
        return made
    }

    func fail(_ code: Int32, _ message: String) -> Interruption {
        .failure(Failure(code, message))
    }

    // MARK: volume and secrets

    /// What the volume phase made: the secrets, and how the app and the
    /// database helper are run with them.
    struct PreparedVolume {
        var secrets: ResolvedSecrets
        var app: AppProcess
        var helper: DatabaseHelper
    }

    private func prepareVolume(_ checked: Preflight) throws(Interruption) -> (PreparedVolume, String) {
        do {
            try DataVolume.prepare(config.dataDirectory)
            lock = try VolumeLock.acquire(path: config.lockPath)
            let store = SecretStore(directory: config.secretsDirectory, owner: checked.appUser)
            var generated: [String] = []
            let key = try resolveSecretKey(store, source: checked.secretKeySource)
            if key.generated, case .persisted(let name) = config.secretKey { generated.append(name) }
            var password: String?
            switch config.database.password {
            case .given(let value, _)?: password = value
            case .persisted(let name)?:
                let (value, made) = try store.resolve(name)
                if made { generated.append(name) }
                password = value
            case nil: break
            }
            let secrets = ResolvedSecrets(secretKey: key.value, databasePassword: password)
            logger.redact(secrets.secretKey)
            if let password { logger.redact(password) }
            try DataVolume.ownedDirectory(config.mediaDirectory, mode: 0o755, owner: checked.appUser)
            try DataVolume.makeDirectories(config.runDirectory, mode: 0o755)
            let app = AppProcess(environment: AppEnvironment.build(config: config, secrets: secrets, user: checked.appUser),
                                 user: checked.appUser, allowSetuid: config.appAllowSetuid)
            let helper = DatabaseHelper(path: SelfExecutable.databaseHelperPath(), config: config, secrets: secrets,
                                        socketDirectory: checked.bundled?.server.socketDirectory)
            supervisor.attachStatusFile(StatusFile(runDirectory: config.runDirectory, redactor: logger.redactor, group: checked.appUser?.gid))
            let made = generated.isEmpty ? "" : "; generated \(generated.joined(separator: " and ")) (kept in \(config.secretsDirectory))"
            return (PreparedVolume(secrets: secrets, app: app, helper: helper), "\(config.dataDirectory) locked\(made)")
        } catch {
            throw .failure(error)
        }
    }
}
