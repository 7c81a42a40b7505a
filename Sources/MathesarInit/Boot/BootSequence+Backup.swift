/// `mathesar-init backup` and `reindex` with the container stopped: boot has
/// taken the volume lock and started the server privately; the caller stops it.
extension BootSequence {
    func runBackupGoal(_ output: BackupOutput?, _ checked: Preflight) throws(Interruption) -> String {
        guard let server = checked.bundled?.server else { throw .failure(Failure(ExitCode.internalError, "backup: bundled server not prepared")) }
        let secrets: [(name: String, value: String)]
        switch BackupSecrets.collect(config: config) {
        case .success(let found): secrets = found
        case .failure(let failure): throw .failure(failure)
        }
        let tools = ClientTools.bundled(binaries: server.binaries, socketDirectory: server.socketDirectory, port: config.database.port,
                                        searchPath: config.environment["PATH"])
        let backup = BackupRun(supervisor: supervisor, tools: tools, config: config, secrets: secrets)
        return try backup.run(output ?? .file(backup.defaultPath()))
    }

    func runReindexGoal(_ database: String, _ helper: DatabaseHelper) throws(Interruption) -> Int32 {
        let result = try supervisor.runTask(helper.spec(.reindex, extra: [DatabaseHelper.Variable.reindexDatabase: database]))
        return result.status.succeeded ? 0 : ExitCode.databaseUnavailable
    }
}
