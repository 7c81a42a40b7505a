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
