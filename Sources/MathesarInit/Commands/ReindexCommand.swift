import Glibc

/// `mathesar-init reindex --database NAME`: the fix boot and `check` name for
/// a database whose collation changed. Like `backup`: beside a running PID 1
/// through its socket, with the volume stopped by a private boot, or against
/// the external server. The work is the helper's (it needs libpq).
public enum ReindexCommand {
    public static func execute(database: String) -> Int32 {
        let environment = currentEnvironment()
        let config: Configuration
        switch ConfigurationLoader.load(environment: environment, arguments: [], isRoot: geteuid() == 0) {
        case .success(let loaded): config = loaded
        case .failure(let error):
            Logger(format: RunCommand.requestedLogFormat(environment)).error(error.description)
            return ExitCode.configuration
        }
        let runtime: Runtime
        do {
            runtime = try Runtime(logFormat: config.logFormat)
        } catch {
            Logger(format: config.logFormat).error(error.message)
            return error.code
        }
        let supervisor = Supervisor(runtime: runtime, policy: .never, timings: config.timings, mode: config.database.mode.rawValue)
        defer { runtime.flushOutput() }
        var socketDirectory: String?
        if config.database.mode == .bundled {
            guard case .cluster = ClusterDirectory.classify(config.pgdata) else {
                runtime.logger.error("reindex: \(config.pgdata) holds no cluster; nothing to rebuild")
                return ExitCode.volumeUnusable
            }
            guard case .some(.some(let holder)) = VolumeLock.holder(path: config.lockPath) else {
                return BootSequence(config: config, supervisor: supervisor, goal: .reindex(database: database)).run()
            }
            socketDirectory = config.runDirectory + "/postgresql"
            runtime.logger.info("reindex: the volume is in use (\(holder)); working through its server at \(socketDirectory!)")
        }
        // The helper gets the password resolved, as at boot (it reads no secret file itself).
        var password = config.database.password?.givenValue
        if password == nil, case .persisted(let name)? = config.database.password, case .success(let value?) = BackupSecrets.read(config.secretsDirectory, name) {
            password = value
        }
        let helper = DatabaseHelper(path: SelfExecutable.databaseHelperPath(), config: config,
                                    secrets: ResolvedSecrets(secretKey: "", databasePassword: password), socketDirectory: socketDirectory)
        do {
            let result = try supervisor.runTask(helper.spec(.reindex, extra: [DatabaseHelper.Variable.reindexDatabase: database]))
            return result.status.succeeded ? 0 : ExitCode.databaseUnavailable
        } catch {
            return supervisor.shutdown(after: error)
        }
    }
}
