import Glibc

/// `mathesar-init run` and `mathesar-init migrate`: PID 1's work.
public enum RunCommand {
    public static func execute(appCommand: [String], goal: BootSequence.Goal) -> Int32 {
        CommandContext.run(arguments: appCommand, restart: \.restart, prepare: { config in
            // Below this, boot would fail part-way with misleading errors (no user
            // "postgres", an unreadable secret) after writing to the volume.
            var files = rlimit()
            if getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &files) == 0, files.rlim_cur < minimumOpenFiles {
                Logger(format: config.logFormat).error("the open-file limit (ulimit -n) is \(files.rlim_cur); mathesar-init needs at least \(minimumOpenFiles) and the bundled PostgreSQL at least 64; nothing was started or written. Raise it (docker run --ulimit nofile=1024)")
                return ExitCode.internalError
            }
            return nil
        }) { context in
            let role = context.runtime.isPID1 ? "PID 1" : "pid \(getpid()), child subreaper"
            context.logger.info("mathesar-init \(Version.current) starting as \(role), uid \(geteuid())")
            let code = BootSequence(config: context.config, supervisor: context.supervisor, goal: goal).run()
            let stopped = context.supervisor.machine.stopBegan.map { " (stopped in \(formatDuration(Instant.now().seconds(since: $0))))" }
            context.logger.info("exiting with status \(code)\(stopped ?? "")")
            return code
        }
    }

    /// Descriptors PID 1 may hold at once: stdio, the signalfd, the volume lock,
    /// two pipes for each of the app, PostgreSQL and a boot helper, and a file it reads.
    static let minimumOpenFiles: rlim_t = 16
}
