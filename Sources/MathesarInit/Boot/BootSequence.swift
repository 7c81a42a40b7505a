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
        /// `prepare`: initdb, migrate, seal the template's role, stop (see PrepareCommand).
        case prepare
    }

    let config: Configuration
    let supervisor: Supervisor
    let goal: Goal
    let isRoot = geteuid() == 0
    var logger: Logger { supervisor.logger }
    /// Held for the life of PID 1: one container per volume.
    private var lock: VolumeLock?
    /// MATHESAR_MIGRATE's facts for this boot (see BootSequence+Migrate.swift).
    let migration = MigrationFacts()
    /// `prepare`: the server the template was made with, for its manifest.
    var prepared: BundledPlan?

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
            let database = try phase(.database) { () throws(Interruption) in
                if let bundled = checked.bundled { return try startBundledDatabase(bundled, volume) }
                return try waitForExternalDatabase(volume.helper)
            }
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
                try phase(.migrate) { () throws(Interruption) in ((), try migrateIfNeeded(command, app: volume.app, helper: volume.helper, database: database)) }
            }
            if database.passwordChanged {
                try phase(.credentials) { () throws(Interruption) in ((), try updateStoredPassword(app: volume.app)) }
            }
            if goal == .prepare {
                try phase(.template) { () throws(Interruption) in ((), try sealTemplate(volume.helper)) }
                prepared = checked.bundled
                return supervisor.stopAll(code: 0)
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
            finishInterruptedRestore()
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

    /// A restore killed after its cluster's rename but before it removed its
    /// uploads' marker has finished: the marker goes, so that no later restore
    /// (after the cluster was moved away) takes these uploads for its own leftovers.
    private func finishInterruptedRestore() {
        guard config.database.mode == .bundled, FileIO.exists(config.pgdata + "/PG_VERSION"),
              FileIO.exists(config.dataDirectory + "/" + MediaTree.pendingName) else { return }
        let removed = MediaTree.removeLeftovers(data: config.dataDirectory, clusterInPlace: true)
        logger.info("volume: the last restore had put its cluster in place; removed its marker \(config.dataDirectory)/\(MediaTree.pendingName)"
                    + (removed.isEmpty ? "" : " and \(removed.joined(separator: ", "))") + "; the uploads in media/ are kept")
    }

    /// The external database phase: the helper waits for the server and checks the role.
    private func waitForExternalDatabase(_ helper: DatabaseHelper) throws(Interruption) -> (RunningDatabase, String) {
        let result = try supervisor.runTask(helper.spec(.externalReady, extra: migrationStateRequest()))
        try requireHelperSuccess(result, helper: helper, step: "checking the external database")
        return (RunningDatabase(migrationState: DatabaseHelper.migrationFingerprint(in: result.lines)), "external PostgreSQL at \(config.database.host!):\(config.database.port) ready; role \(config.database.user) can use \(config.database.name)")
    }

    /// The helper has already logged why it failed; pass its code on.
    func requireHelperSuccess(_ result: TaskResult, helper: DatabaseHelper, step: String) throws(Interruption) {
        switch result.status {
        case .exited(0):
            return
        case .exited(let code) where [ExitCode.databaseUnavailable, ExitCode.migrationFailed, ExitCode.configuration, ExitCode.volumeUnusable].contains(code):
            throw fail(code, "\(step) failed (see above)")
        default:
            throw fail(ExitCode.internalError, "the database helper \(result.status) while \(step); is \(helper.path) installed next to mathesar-init?")
        }
    }
}

/// How PID 1 runs `mathesar-init-db`, the libpq helper, for one step of boot.
/// Keeping libpq out of PID 1 keeps its 22 shared libraries out of the
/// process that stays resident, and a slow query can never stall signal
/// handling or the draining of PostgreSQL's log pipe.
public struct DatabaseHelper {
    /// The reconcile's note when the bundled role's password changed at this
    /// boot; PID 1 looks for it, since the app's stored copy must follow.
    public static func passwordChangedNote(_ role: String) -> String { "changed the password of role \(role)" }

    /// The helper's line with the internal database's migration fingerprint;
    /// PID 1 reads the fingerprint back with `migrationFingerprint(in:)`.
    public static func migrationStateLine(database: String, migrations: Int, fingerprint: String) -> String {
        "internal database \(database): \(migrations) migration\(migrations == 1 ? "" : "s") recorded (migration state \(fingerprint))"
    }

    public static func migrationFingerprint(in lines: [String]) -> String? {
        let marker = "(migration state "
        for line in lines.reversed() {
            guard let range = line.firstRange(of: marker), line.hasSuffix(")") else { continue }
            return String(line[range.upperBound...].dropLast())
        }
        return nil
    }

    public let path: String
    public let environment: [String: String]

    /// Internal commands of the helper binary.
    public enum Step: String {
        case bundledReady = "__bundled-ready"
        case externalReady = "__external-ready"
        /// After a major-version upgrade: a check query in every database, then extension updates.
        case upgradeVerify = "__upgrade-verify"
        /// Beside the app: warn when it answers 400 to the host names users will open.
        case hostsProbe = "__hosts-probe"
        /// Only wait until the server on PGDATA accepts connections (restore's private server).
        case serverReady = "__server-ready"
        /// `reindex --database NAME`: rebuild after a collation change (the database in `Variable.reindexDatabase`).
        case reindex = "__reindex"
        /// After the migrate command: the internal database's migration fingerprint.
        case migrationState = "__migration-state"
        /// `prepare`: the template's role gets a password that can never log in.
        case sealTemplate = "__seal-template"
    }

    /// Variables that tell the helper about the bundled server.
    public enum Variable {
        public static let socketDirectory = "MSI_SOCKET_DIR"
        /// The postmaster's pid, so that a postmaster.pid left by an earlier server is not taken for this one's.
        public static let postmasterPID = "MSI_POSTMASTER_PID"
        public static let reindexDatabase = "MSI_REINDEX_DATABASE"
        /// "1": the readiness step also reports the internal database's migration fingerprint.
        public static let migrationState = "MSI_MIGRATION_STATE"
    }

    /// The helper's environment is the user's configuration as given (so its
    /// loader reads the same mode, names and ports as PID 1's), with the
    /// resolved database password in place of a `_FILE` or a generated one.
    /// Not the app's: that one points POSTGRES_HOST at 127.0.0.1.
    public init(path: String, config: Configuration, secrets: ResolvedSecrets, socketDirectory: String?) {
        self.path = path
        // The helper runs as root: nothing the app user controls may steer its
        // libpq (~/.pgpass, ~/.pg_service.conf, ~/.postgresql/ in the app's HOME),
        // nor a PG* variable; kept are PGDATA (the contract's) and PGSSL*
        // (the operator's TLS files, which verify-full against an external server needs).
        var env = config.environment.filter { !$0.key.hasPrefix("PG") || $0.key == "PGDATA" || $0.key.hasPrefix("PGSSL") }
        // The helper needs no app secret, and reads no secret file itself.
        for name in ["SECRET_KEY", "SECRET_KEY_FILE", "POSTGRES_PASSWORD_FILE"] { env[name] = nil }
        if env.removeValue(forKey: "DATABASE_URL") != nil {
            // The URL's POSTGRES_* as PID 1 read them (it allowed none beside it).
            let db = config.database
            env["POSTGRES_HOST"] = db.host
            env["POSTGRES_PORT"] = String(db.port)
            env["POSTGRES_USER"] = db.user
            env["POSTGRES_DB"] = db.name
            env["POSTGRES_SSLMODE"] = db.sslMode
        }
        env["POSTGRES_PASSWORD"] = secrets.databasePassword
        if env["PATH"] == nil { env["PATH"] = CommandResolver.defaultSearchPath }
        env["HOME"] = "/nonexistent"
        env["PGPASSFILE"] = "/nonexistent/.pgpass"  // not /dev/null: libpq warns that it is not a plain file
        if let socketDirectory { env[Variable.socketDirectory] = socketDirectory }
        self.environment = env
    }

    public func spec(_ step: Step, extra: [String: String] = [:]) -> ProcessSpec {
        ProcessSpec(source: Logger.ownSource, executable: path, arguments: [path, step.rawValue],
                    environment: environment.merging(extra) { $1 })
    }
}
