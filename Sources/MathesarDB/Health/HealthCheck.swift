import MathesarInit
import PostgresClient

/// `mathesar-init healthcheck`: exit 0 when the app runs and answers and (in
/// bundled mode) PostgreSQL accepts connections; else 1, with one line saying
/// what is not healthy. Read-only; run by the container runtime every interval.
public struct HealthCheck {
    let config: Configuration

    public init(config: Configuration) { self.config = config }

    public func run() -> (healthy: Bool, line: String) {
        guard let status = StatusFile.read(runDirectory: config.runDirectory) else {
            return (false, "unhealthy: no \(config.runDirectory)/status.json; is mathesar-init running as PID 1 with this MATHESAR_RUN_DIR?")
        }
        let phase = status["phase"]?.stringValue ?? "unknown"
        let app = status["services"]?["app"]
        guard phase == "running", app?["state"]?.stringValue == "running" else {
            var line = "unhealthy: phase \(phase)"
            if let state = app?["state"]?.stringValue { line += ", app \(state)" }
            if let restarts = app?["restarts"]?.numberValue, restarts > 0 { line += " (restarts: \(Int(restarts)))" }
            if let error = status["last_error"]?.stringValue { line += "; last error: \(error)" }
            return (false, line)
        }
        var notes: [String] = []
        if status["mode"]?.stringValue == DatabaseMode.bundled.rawValue {
            let ping = PostgresConnection.ping(ConnectionParameters(
                host: "127.0.0.1", port: config.database.port, database: "postgres", user: BundledServer.superuser,
                password: nil, connectTimeout: 3))
            guard ping == .ready else {
                let postgres = status["services"]?["postgres"]?["state"]?.stringValue ?? "unknown"
                return (false, "unhealthy: the bundled PostgreSQL does not accept connections on 127.0.0.1:\(config.database.port) (\(ping), process \(postgres))")
            }
            notes.append("PostgreSQL ready")
        }
        guard let url = HealthURL.parse(config.healthcheckURL) else {
            return (false, "unhealthy: MATHESAR_HEALTHCHECK_URL is not a valid http:// URL")
        }
        // The app refuses Host headers outside ALLOWED_HOSTS (400): send one it accepts.
        let host = AllowedHosts.healthcheckHost(urlHost: url.host, allowed: config.app.allowedHosts)
        let sentAs = host == (url.host.contains(":") ? "[\(url.host)]" : url.host) ? "" : " (Host: \(host))"
        switch HTTPProbe(url: url, timeout: 3, hostHeader: host).get() {
        case .status(let code) where (200..<400).contains(code):
            notes.append("\(config.healthcheckURL)\(sentAs) answered \(code)")
            return (true, "healthy: app running, " + notes.joined(separator: ", "))
        case .status(400):
            return (false, "unhealthy: \(config.healthcheckURL) answered 400 to Host: \(host):\(url.port); the app refuses that host name: add \(host) to ALLOWED_HOSTS (or point MATHESAR_HEALTHCHECK_URL at a host ALLOWED_HOSTS names)")
        case .status(let code):
            return (false, "unhealthy: \(config.healthcheckURL) answered \(code)")
        case .failed(let why):
            return (false, "unhealthy: \(config.healthcheckURL): \(why)")
        }
    }
}
