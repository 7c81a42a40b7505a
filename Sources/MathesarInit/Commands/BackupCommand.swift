import Glibc

/// `mathesar-init backup [--output PATH|-]`. Three ways to reach the data:
/// - bundled, the container running (`docker exec`): the volume lock is held
///   by PID 1, so this process takes no lock and dumps through the running
///   server's socket in `$MATHESAR_RUN_DIR`;
/// - bundled, the container stopped (`docker run --rm ... backup`): a boot
///   without the app (lock, private server), the dump, a clean stop;
/// - external: the internal database through the configured connection.
public enum BackupCommand {
    public static func execute(output requested: String?) -> Int32 {
        var output: BackupOutput?
        return CommandContext.run(prepare: { config in
            if requested == "-" {
                guard isatty(1) == 0 else {
                    Logger(format: config.logFormat).error("backup --output -: standard output is a terminal; redirect it to a file (mathesar-init backup --output - > mathesar.tar)")
                    return ExitCode.usage
                }
                // The archive gets the real stdout; everything else (our log, the
                // tools' chatter) goes to stderr, so that stdout is the archive alone.
                // Before the event loop starts, which writes its log to fd 1.
                let archive = fcntl(1, F_DUPFD_CLOEXEC, 3)
                guard archive >= 0, dup2(2, 1) == 1 else {
                    Logger(format: config.logFormat).error("backup: cannot set up standard output: \(lastErrnoText())")
                    return ExitCode.internalError
                }
                output = .descriptor(archive)
            } else if let path = requested {
                output = .file(path.hasPrefix("/") ? path : currentDirectory() + "/" + path)
            }
            return nil
        }) { context in
            run(config: context.config, supervisor: context.supervisor, output: output)
        }
    }

    static func run(config: Configuration, supervisor: Supervisor, output requested: BackupOutput?) -> Int32 {
        let logger = supervisor.logger
        func failed(_ failure: Failure) -> Int32 {
            logger.error(failure.message)
            return failure.code
        }
        if config.database.mode == .bundled {
            switch ClusterDirectory.classify(config.pgdata) {
            case .cluster: break
            case .empty:
                return failed(Failure(ExitCode.volumeUnusable, "backup: \(config.pgdata) holds no cluster yet (the container has never booted on this volume?); nothing to back up"))
            default:
                return failed(Failure(ExitCode.volumeUnusable, "backup: \(config.pgdata) is not a PostgreSQL cluster; nothing was backed up"))
            }
            if case .some(.some(let holder)) = VolumeLock.holder(path: config.lockPath) {
                return live(config: config, supervisor: supervisor, output: requested, holder: holder)
            }
            // Stopped: a boot without the app, then the backup, then a clean stop.
            logger.info("backup: the volume is not in use; starting its PostgreSQL privately")
            return BootSequence(config: config, supervisor: supervisor, goal: .backup(requested)).run()
        }
        // External: the server is elsewhere; nothing here to lock or start.
        let secrets: [(name: String, value: String)]
        switch BackupSecrets.collect(config: config) {
        case .success(let found): secrets = found
        case .failure(let failure): return failed(failure)
        }
        let binaries: ServerBinaries
        switch ServerBinaries.locate(configured: config.pgBinDirectory, searchPath: config.environment["PATH"]) {
        case .success(let found): binaries = found
        case .failure(let failure): return failed(failure)
        }
        let password = config.storedDatabasePassword()
        if let password { logger.redact(password) }
        for secret in secrets { logger.redact(secret.value) }
        let tools = ClientTools(binaries: binaries, host: config.database.host!, port: config.database.port, user: config.database.user,
                                password: password, sslMode: config.database.sslMode, searchPath: config.environment["PATH"])
        return perform(BackupRun(supervisor: supervisor, tools: tools, config: config, secrets: secrets), requested, logger)
    }

    /// Beside a running PID 1: its server, through the socket in the run directory.
    static func live(config: Configuration, supervisor: Supervisor, output: BackupOutput?, holder: String) -> Int32 {
        let logger = supervisor.logger
        let socketDirectory = config.runDirectory + "/postgresql"
        let socket = socketDirectory + "/.s.PGSQL.\(config.database.port)"
        guard FileIO.exists(socket) else {
            logger.error("backup: the volume is in use (\(holder)) but its PostgreSQL has no socket at \(socket); if the container is still booting, retry once it is up; if this runs in another container, run the backup in the container that uses the volume (docker exec)")
            return ExitCode.databaseUnavailable
        }
        let secrets: [(name: String, value: String)]
        switch BackupSecrets.collect(config: config) {
        case .success(let found): secrets = found
        case .failure(let failure):
            logger.error(failure.message)
            return failure.code
        }
        for secret in secrets { logger.redact(secret.value) }
        let binaries: ServerBinaries
        switch ServerBinaries.locate(configured: config.pgBinDirectory, searchPath: config.environment["PATH"]) {
        case .success(let found): binaries = found
        case .failure(let failure):
            logger.error(failure.message)
            return failure.code
        }
        logger.info("backup: the volume is in use (\(holder)); backing up through its server at \(socketDirectory)")
        let tools = ClientTools.bundled(binaries: binaries, socketDirectory: socketDirectory, port: config.database.port, searchPath: config.environment["PATH"])
        return perform(BackupRun(supervisor: supervisor, tools: tools, config: config, secrets: secrets), output, logger)
    }

    static func perform(_ backup: BackupRun, _ output: BackupOutput?, _ logger: Logger) -> Int32 {
        do {
            let summary = try backup.run(output ?? .file(backup.defaultPath()))
            logger.info("backup: \(summary)")
            return 0
        } catch {
            switch error {
            case .failure(let failure):
                logger.error(failure.message)
                return failure.code
            case .stop(let signo):
                logger.info("backup: stopped by \(Signals.name(signo)); nothing was written")
                return 128 + signo
            }
        }
    }

    static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return "/" }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
