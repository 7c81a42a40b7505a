/// How the app and the commands that load its code (the migrate command, the
/// SQL upgrade command) are run: one environment, one account.
struct AppProcess {
    /// From `AppEnvironment.build` (below).
    var environment: [String: String]
    var user: UserIdentity?
    /// `MATHESAR_APP_ALLOW_SETUID`, for the app and the migrate command.
    var allowSetuid: Bool

    /// `command` resolved on the environment's PATH, as the app user finds it.
    func spec(source: String, command: [String], arguments: [String] = [], stdin: ProcessSpec.Stdin = .null,
              mayGainPrivileges: Bool = true) -> Result<ProcessSpec, CommandResolver.Problem> {
        CommandResolver.resolve(command[0], searchPath: environment["PATH"], user: user).map { executable in
            var spec = ProcessSpec(source: source, executable: executable, arguments: command + arguments,
                                   environment: environment, user: user, workingDirectory: nil, stdin: stdin)
            spec.allowPrivilegeGain = mayGainPrivileges && allowSetuid
            return spec
        }
    }
}

/// The environment handed to the app (and to the migrate command and the
/// database helper): the user's environment plus the resolved values, with
/// the `*_FILE` indirections removed.
public enum AppEnvironment {
    public static func build(config: Configuration, secrets: ResolvedSecrets, user: UserIdentity?) -> [String: String] {
        var env = config.environment
        env["SECRET_KEY_FILE"] = nil
        env["POSTGRES_PASSWORD_FILE"] = nil
        // The app gets the POSTGRES_* a DATABASE_URL implies (below), not the URL with its password.
        env["DATABASE_URL"] = nil
        // gunicorn with no -b binds 0.0.0.0:$PORT; the default keeps it on 8000.
        if env["PORT"]?.isEmpty ?? true { env["PORT"] = "8000" }
        env["SECRET_KEY"] = secrets.secretKey
        let db = config.database
        env["POSTGRES_HOST"] = db.mode == .bundled ? "127.0.0.1" : db.host
        env["POSTGRES_PORT"] = String(db.port)
        env["POSTGRES_DB"] = db.name
        env["POSTGRES_USER"] = db.user
        env["POSTGRES_PASSWORD"] = secrets.databasePassword
        env["POSTGRES_SSLMODE"] = db.sslMode
        // Uploads in the volume; the user's own value is kept as given.
        env["MEDIA_ROOT"] = config.app.mediaRoot
        if let hosts = config.app.allowedHostsToPass { env["ALLOWED_HOSTS"] = hosts }
        if let workers = config.app.webConcurrencyToPass { env["WEB_CONCURRENCY"] = workers }
        if env["PATH"] == nil { env["PATH"] = CommandResolver.defaultSearchPath }
        if let user {
            env["HOME"] = user.home
            env["USER"] = user.name
            env["LOGNAME"] = user.name
        }
        return env
    }
}

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
