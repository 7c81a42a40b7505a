import Glibc

/// `mathesar-init reindex --database NAME`: the fix boot and `check` name for
/// a database whose collation changed. Like `backup`: beside a running PID 1
/// through its socket, with the volume stopped by a private boot, or against
/// the external server. The work is the helper's (it needs libpq).
public enum ReindexCommand {
    public static func execute(database: String) -> Int32 {
        CommandContext.run { context in reindex(database, context) }
    }

    private static func reindex(_ database: String, _ context: CommandContext) -> Int32 {
        let (config, supervisor, logger) = (context.config, context.supervisor, context.logger)
        var socketDirectory: String?
        if config.database.mode == .bundled {
            guard case .cluster = ClusterDirectory.classify(config.pgdata) else {
                logger.error("reindex: \(config.pgdata) holds no cluster; nothing to rebuild")
                return ExitCode.volumeUnusable
            }
            guard case .some(.some(let holder)) = VolumeLock.holder(path: config.lockPath) else {
                return BootSequence(config: config, supervisor: supervisor, goal: .reindex(database: database)).run()
            }
            socketDirectory = config.runDirectory + "/postgresql"
            logger.info("reindex: the volume is in use (\(holder)); working through its server at \(socketDirectory!)")
        }
        // The helper gets the password resolved, as at boot (it reads no secret file itself).
        let helper = DatabaseHelper(path: SelfExecutable.databaseHelperPath(), config: config,
                                    secrets: ResolvedSecrets(secretKey: "", databasePassword: config.storedDatabasePassword()),
                                    socketDirectory: socketDirectory)
        do {
            let result = try supervisor.runTask(helper.spec(.reindex, extra: [DatabaseHelper.Variable.reindexDatabase: database]))
            return result.status.succeeded ? 0 : ExitCode.databaseUnavailable
        } catch {
            return supervisor.shutdown(after: error)
        }
    }
}
