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
        // Below this, boot would fail part-way with misleading errors (no user
        // "postgres", an unreadable secret) after writing to the volume.
        var files = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &files) == 0, files.rlim_cur < minimumOpenFiles {
            Logger(format: config.logFormat).error("the open-file limit (ulimit -n) is \(files.rlim_cur); mathesar-init needs at least \(minimumOpenFiles) and the bundled PostgreSQL at least 64; nothing was started or written. Raise it (docker run --ulimit nofile=1024)")
            return ExitCode.internalError
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
        let stopped = supervisor.machine.stopBegan.map { " (stopped in \(formatDuration(Instant.now().seconds(since: $0))))" }
        runtime.logger.info("exiting with status \(code)\(stopped ?? "")")
        runtime.flushOutput()
        return code
    }

    /// Descriptors PID 1 may hold at once: stdio, the signalfd, the volume lock,
    /// two pipes for each of the app, PostgreSQL and a boot helper, and a file it reads.
    static let minimumOpenFiles: rlim_t = 16

    /// The log format for reporting a configuration that did not load.
    static func requestedLogFormat(_ environment: [String: String]) -> LogFormat {
        LogFormat(rawValue: environment["MATHESAR_LOG_FORMAT"] ?? "") ?? .text
    }
}
