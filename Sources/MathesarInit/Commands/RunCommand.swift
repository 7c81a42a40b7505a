import Glibc

/// `mathesar-init run` and `mathesar-init migrate`: PID 1's work.
public enum RunCommand {
    public static func execute(appCommand: [String], goal: BootSequence.Goal) -> Int32 {
        let environment = currentEnvironment()
        let config: Configuration
        switch ConfigurationLoader.load(environment: environment, arguments: appCommand, isRoot: geteuid() == 0) {
        case .success(let loaded):
            config = loaded
        case .failure(let error):
            Logger(format: requestedLogFormat(environment)).error(error.description)
            return ExitCode.configuration
        }
        let runtime: Runtime
        do {
            runtime = try Runtime(logFormat: config.logFormat)
        } catch {
            Logger(format: config.logFormat).error(error.message)
            return error.code
        }
        let role = runtime.isPID1 ? "PID 1" : "pid \(getpid()), child subreaper"
        runtime.logger.info("mathesar-init \(Version.current) starting as \(role), uid \(geteuid())")
        let supervisor = Supervisor(runtime: runtime, policy: config.restart, timings: config.timings,
                                    mode: config.database.mode.rawValue)
        let code = BootSequence(config: config, supervisor: supervisor, goal: goal).run()
        runtime.logger.info("exiting with status \(code)")
        runtime.flushOutput()
        return code
    }

    /// The log format for reporting a configuration that did not load.
    static func requestedLogFormat(_ environment: [String: String]) -> LogFormat {
        LogFormat(rawValue: environment["MATHESAR_LOG_FORMAT"] ?? "") ?? .text
    }
}
