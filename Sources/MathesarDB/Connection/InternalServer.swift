import MathesarInit
import PostgresClient

/// How the helper reaches the internal server (bundled or external), and the
/// internal steps of boot it runs there (`run`).
public struct InternalServer {
    public let config: Configuration
    public let mode: DatabaseMode
    /// The bundled server's socket directory.
    public let socketDirectory: String?
    /// The helper's environment (internal MSI_* variables included).
    public let environment: [String: String]

    public init(config: Configuration, environment: [String: String]) {
        self.config = config
        self.environment = environment
        self.mode = config.database.mode
        self.socketDirectory = environment[DatabaseHelper.Variable.socketDirectory]
            ?? (mode == .bundled ? config.runDirectory + "/postgresql" : nil)
    }

    var password: String? { config.database.password?.givenValue }

    /// Where the server is, for messages (never with a password).
    public var location: String {
        switch mode {
        case .bundled: "the bundled PostgreSQL (\(socketDirectory ?? "?"))"
        case .external: "\(config.database.host ?? "?"):\(config.database.port)"
        }
    }

    /// Administration connection: bundled as the bootstrap superuser over the
    /// private socket; external as the configured role.
    public func adminParameters(database: String? = nil) -> ConnectionParameters {
        switch mode {
        case .bundled:
            return ConnectionParameters(host: socketDirectory!, port: config.database.port, database: database ?? "postgres",
                                        user: BundledServer.superuser, password: nil, connectTimeout: 5)
        case .external:
            return appParameters(database: database)
        }
    }

    /// The app's own connection (the role and password it is given).
    public func appParameters(database: String? = nil) -> ConnectionParameters {
        let db = config.database
        let host = mode == .bundled ? "127.0.0.1" : db.host!
        return ConnectionParameters(host: host, port: db.port, database: database ?? db.name, user: db.user,
                                    password: password, sslMode: mode == .bundled ? "disable" : db.sslMode,
                                    connectTimeout: 10)
    }
}

extension InternalServer {
    /// One internal step of boot on this server, logging as the helper.
    public func run(_ step: DatabaseHelper.Step, logger: Logger) -> Int32 {
        switch step {
        case .bundledReady: return BundledReadiness(server: self, logger: logger).run()
        case .externalReady: return ExternalReadiness(server: self, logger: logger).run()
        case .upgradeVerify: return UpgradeVerification(server: self, logger: logger).run()
        case .hostsProbe: return HostsProbe(config: config, logger: logger).run()
        case .serverReady: return BundledReadiness(server: self, logger: logger).waitUntilReady()
        case .reindex: return CollationSurvey.reindex(server: self, database: environment[DatabaseHelper.Variable.reindexDatabase] ?? "", logger: logger)
        case .migrationState: return MigrationState.report(self, logger: logger)
        case .sealTemplate: return TemplateSeal.run(self, logger: logger)
        }
    }
}
