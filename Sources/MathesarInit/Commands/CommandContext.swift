import Glibc

/// What the commands that work on the volume or the database start from
/// (`run`, `migrate`, `backup`, `restore`, `reindex`): the configuration from
/// this process's environment, the event loop and a supervisor for their
/// tasks. Each step that fails logs why, in the log format asked for, and
/// the command ends with that step's exit code.
struct CommandContext {
    let config: Configuration
    let runtime: Runtime
    let supervisor: Supervisor
    var logger: Logger { runtime.logger }

    /// Loads the configuration (`arguments`: the app command, for `run`), lets
    /// `prepare` look at it before anything is started (a code ends the
    /// command there), starts the event loop and a supervisor that restarts by
    /// `restart` (never, unless given), runs `body`, and flushes the log.
    static func run(arguments: [String] = [], restart: (Configuration) -> RestartPolicy = { _ in .never },
                    prepare: (Configuration) -> Int32? = { _ in nil },
                    _ body: (CommandContext) -> Int32) -> Int32 {
        let environment = currentEnvironment()
        let config: Configuration
        switch ConfigurationLoader.load(environment: environment, arguments: arguments, isRoot: geteuid() == 0) {
        case .success(let loaded): config = loaded
        case .failure(let error):
            Logger(format: requestedLogFormat(environment)).error(error.description)
            return ExitCode.configuration
        }
        if let code = prepare(config) { return code }
        let runtime: Runtime
        do {
            runtime = try Runtime(logFormat: config.logFormat)
        } catch {
            Logger(format: config.logFormat).error(error.message)
            return error.code
        }
        let supervisor = Supervisor(runtime: runtime, policy: restart(config), timings: config.timings,
                                    mode: config.database.mode.rawValue)
        let code = body(CommandContext(config: config, runtime: runtime, supervisor: supervisor))
        runtime.flushOutput()
        return code
    }

    /// The log format for reporting a configuration that did not load.
    static func requestedLogFormat(_ environment: [String: String]) -> LogFormat {
        LogFormat(rawValue: environment["MATHESAR_LOG_FORMAT"] ?? "") ?? .text
    }
}

extension Configuration {
    /// The database password as a command beside boot finds it: the one
    /// given, or the one boot generated and kept in the volume (nil when there
    /// is none yet).
    func storedDatabasePassword() -> String? {
        if let given = database.password?.givenValue { return given }
        if case .persisted(let name)? = database.password, case .success(let value?) = BackupSecrets.read(secretsDirectory, name) {
            return value
        }
        return nil
    }
}
