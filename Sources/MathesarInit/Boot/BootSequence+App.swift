/// The migrate command and the app: both run as the app user with the app's
/// environment, resolved on the app's PATH.
extension BootSequence {
    func runMigrateCommand(_ command: [String], app: AppProcess) throws(Interruption) -> String {
        let spec: ProcessSpec
        switch app.spec(source: "migrate", command: command) {
        case .success(let made): spec = made
        case .failure(let problem): throw fail(ExitCode.migrationFailed, "MATHESAR_MIGRATE_COMMAND: \(problem.message)")
        }
        let result = try supervisor.runTask(spec, forwardSignals: true)
        guard result.status.succeeded else {
            throw fail(ExitCode.migrationFailed, "MATHESAR_MIGRATE_COMMAND \(result.status); the app was not started. Its last lines:\n  " + result.lines.suffix(10).joined(separator: "\n  "))
        }
        return "\(command[0]) succeeded"
    }

    /// The app is a service: its launcher resolves the command again at every
    /// (re)start, so a program replaced in the meantime is the one started.
    func startApp(_ app: AppProcess) throws(Interruption) -> String {
        let command = config.appCommand!
        supervisor.setLauncher(.app) { () throws(Failure) in
            switch app.spec(source: "app", command: command, stdin: .inherit) {
            case .success(let spec): return spec
            case .failure(let problem): throw Failure(problem.exitCode, "app command: \(problem.message)")
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
