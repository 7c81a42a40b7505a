import Glibc

/// The Mathesar SQL of the user databases, upgraded through the app's own
/// installer (`MATHESAR_SQL_UPGRADE_COMMAND`): beside the app at boot, in the
/// foreground for `migrate`, and on demand for `schema status|upgrade|uninstall`.
/// mathesar-init keeps no ledger: the app records each database's version,
/// and the command skips those already current; at boot it runs when the app
/// changed (see BootSequence+Migrate.swift).
extension BootSequence {
    static let sqlSource = "schema"
    static let sqlVariable = "MATHESAR_SQL_UPGRADE_COMMAND"

    /// Before anything is written: `schema` needs the command, and a command
    /// that names no program is refused like the migrate command's.
    func preflightSQLUpgrade(appUser: UserIdentity?) throws(Interruption) {
        guard let command = config.sqlUpgradeCommand else {
            if case .schema(let action, _) = goal {
                throw .failure(Failure(ExitCode.configuration, "schema \(action.rawValue): \(Self.sqlVariable) is not set, and it is what this command runs: it names the app's script that installs the Mathesar SQL through the app's own models (the Mathesar image sets it); set it, e.g. \(Self.sqlVariable)=\"python /code/mathesar_sql.py\""))
            }
            return
        }
        if case .failure(let problem) = CommandResolver.resolve(command[0], searchPath: config.environment["PATH"], user: appUser) {
            throw .failure(Failure(ExitCode.configuration, "\(Self.sqlVariable): \(problem.message)"))
        }
    }

    /// The app's environment, user and working directory: the command loads the app's own models.
    func sqlSpec(_ command: [String], _ arguments: [String], app: AppProcess) throws(Interruption) -> ProcessSpec {
        switch app.spec(source: Self.sqlSource, command: command, arguments: arguments, mayGainPrivileges: false) {
        case .success(let spec): return spec
        case .failure(let problem): throw .failure(Failure(ExitCode.configuration, "\(Self.sqlVariable): \(problem.message)"))
        }
    }

    func newRun(_ action: Command.SchemaAction, app: AppProcess) -> SQLUpgradeRun {
        SQLUpgradeRun(action: action.rawValue, secrets: [app.environment["SECRET_KEY"], app.environment["POSTGRES_PASSWORD"]].compactMap { $0 })
    }

    /// `run`: started beside the app, which does not wait for it.
    func startSQLUpgrade(_ command: [String], app: AppProcess) throws(Interruption) -> String {
        if let skipped = sqlUpgradeSkipReason() { return skipped }
        let spec = try sqlSpec(command, ["upgrade"], app: app)
        supervisor.sqlUpgradeFinished = { [unowned self] status, failed in recordSQLUpgrade(status, failed: failed) }
        supervisor.attach(newRun(.upgrade, app: app), source: Self.sqlSource)
        supervisor.setLauncher(.schema) { () throws(Failure) in spec }
        do {
            let pid = try supervisor.start(.schema)
            return "\(Self.sqlVariable) started beside the app (pid \(pid)); each database is logged as it is done"
        } catch {
            // Not fatal: the app serves with the SQL the databases have.
            logger.warning("schema: \(error.message); the Mathesar SQL of the user databases was not upgraded, the app starts anyway")
            supervisor.finishSQLUpgrade(.exited(error.code), stopped: false)
            return "not started"
        }
    }

    /// `migrate`: after the migrate command, waited for. A failure is a
    /// warning, as at boot: the internal database is migrated, and the app
    /// (or the next boot) can retry the user databases.
    func upgradeSQLInForeground(_ command: [String], app: AppProcess) throws(Interruption) -> String {
        if let skipped = sqlUpgradeSkipReason() { return skipped }
        let run = newRun(.upgrade, app: app)
        let status = try runSQL(command, ["upgrade"], app: app, run: run, readable: false)
        recordSQLUpgrade(status, failed: run.failedCount)
        if !status.succeeded {
            logger.warning("schema: \(Self.sqlVariable) \(status); the user databases keep the Mathesar SQL they had")
        }
        return "\(run.results.count) database\(run.results.count == 1 ? "" : "s"), \(run.failedCount) failed"
    }

    /// `schema ACTION`: results on stdout for a person; 0 when every database
    /// succeeded, 76 when one failed or the command did, 64 when it refused
    /// its arguments (an unknown database name).
    func runSchemaCommand(_ action: Command.SchemaAction, database: String?, app: AppProcess) throws(Interruption) -> Int32 {
        guard let command = config.sqlUpgradeCommand else { return ExitCode.internalError }  // preflight refused it
        let run = newRun(action, app: app)
        let status = try runSQL(command, [action.rawValue] + (database.map { ["--database", $0] } ?? []), app: app, run: run, readable: true)
        switch status {
        case .exited(0) where run.failedCount == 0:
            return 0
        case .exited(2):
            logger.error("schema \(action.rawValue): \(Self.sqlVariable) refused the request (exit 2; its lines above say why)")
            return ExitCode.usage
        default:
            if !status.succeeded { logger.error("schema \(action.rawValue): \(Self.sqlVariable) \(status) (its lines above say why)") }
            return ExitCode.migrationFailed
        }
    }

    private func runSQL(_ command: [String], _ arguments: [String], app: AppProcess, run: SQLUpgradeRun, readable: Bool) throws(Interruption) -> ExitStatus {
        let spec = try sqlSpec(command, arguments, app: app)
        supervisor.attach(run, source: Self.sqlSource, readable: readable)
        let result: TaskResult
        do {
            result = try supervisor.runTask(spec, forwardSignals: true)
        } catch {
            if case .stop = error { supervisor.finishSQLUpgrade(.signaled(SIGTERM), stopped: true) }
            throw error
        }
        supervisor.finishSQLUpgrade(result.status, stopped: false)
        return result.status
    }
}

extension BootSequence {
    /// The bundled role's password changed at this boot. Mathesar keeps its own
    /// copy (the stored connection of every database made with "create new"
    /// on the internal server), encrypted with SECRET_KEY: it is updated before
    /// the app starts, through the app's script, or boot says what to do.
    func updateStoredPassword(app: AppProcess) throws(Interruption) -> String {
        let role = config.database.user
        let what = "Mathesar's stored copy of it (the connections of databases made with \"create new\" on the internal server)"
        guard let command = config.sqlUpgradeCommand else {
            logger.warning("the password of role \(role) changed at this boot; \(what) still holds the old one, so those connections fail until it is updated: in Mathesar, enter the new password for role \(role) on the internal server 127.0.0.1:\(config.database.port), or set \(Self.sqlVariable) so that boot updates it")
            return "password of role \(role) changed; stored copy not updated (\(Self.sqlVariable) is not set)"
        }
        var spec = try sqlSpec(command, ["set-role-password"], app: app)
        // The new password by environment, never by argument.
        spec.environment["MSI_ROLE"] = role
        spec.environment["MSI_NEW_PASSWORD"] = app.environment["POSTGRES_PASSWORD"]
        let result = try supervisor.runTask(spec, forwardSignals: true)
        let updated = result.lines.lazy.compactMap { JSONValue.parse($0)?["updated"] }.first
        guard result.status.succeeded, case .number(let count)? = updated else {
            logger.warning("the password of role \(role) changed at this boot, and updating \(what) failed (\(Self.sqlVariable) set-role-password \(result.status)); those connections fail until it is updated: in Mathesar, enter the new password for role \(role) on the internal server, or fix what the lines above say and boot again")
            return "password of role \(role) changed; stored copy not updated"
        }
        return "password of role \(role) changed; updated in \(Int(count)) stored connection\(count == 1 ? "" : "s")"
    }
}
