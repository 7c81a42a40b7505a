/// Where a setting's value came from, as `config` shows it.
public enum SettingSource: Equatable, Sendable, CustomStringConvertible {
    case environment
    case file(String)
    case defaultValue
    /// Made by mathesar-init (secrets persisted in the volume, derived paths).
    case generated
    case commandLine

    public var description: String {
        switch self {
        case .environment: "env"
        case .file(let path): "file:\(path)"
        case .defaultValue: "default"
        case .generated: "generated"
        case .commandLine: "command line"
        }
    }
}

/// A secret as configured: given (env or file), or to be read from / made in the volume.
public enum SecretSetting: Equatable, Sendable {
    case given(String, SettingSource)
    /// Read `$MATHESAR_DATA_DIR/secrets/NAME`, generating it on first boot.
    case persisted(name: String)

    public var givenValue: String? {
        if case .given(let value, _) = self { value } else { nil }
    }
}

/// How the internal database is reached.
public enum DatabaseMode: String, Sendable {
    /// PostgreSQL runs inside the container, started and stopped by PID 1.
    case bundled
    /// `POSTGRES_HOST` names a server elsewhere; nothing is started.
    case external
}

/// `MATHESAR_PG_UPGRADE_MODE`: how pg_upgrade moves the data.
public enum UpgradeMode: String, Sendable, CaseIterable {
    /// clone where the filesystem supports it, else copy
    case auto, clone, copy, link
}

public struct DatabaseSettings: Sendable, Equatable {
    public var mode: DatabaseMode
    /// External: the host (or socket directory). Bundled: nil.
    public var host: String?
    public var port: Int
    public var name: String
    public var user: String
    public var password: SecretSetting?
    public var sslMode: String
}

/// The validated configuration: one immutable value built from the environment
/// (and the files its `*_FILE` variables name) by `ConfigurationLoader.load`.
public struct Configuration: Sendable {
    public var database: DatabaseSettings
    public var secretKey: SecretSetting
    public var dataDirectory: String
    public var pgdata: String
    public var runDirectory: String
    public var pgBinDirectory: String?
    public var pgOldBinDirectory: String?
    public var upgradeMode: UpgradeMode
    public var keepOldCluster: Bool
    /// From the command line, else `MATHESAR_APP_COMMAND`; nil when neither.
    public var appCommand: [String]?
    public var appUser: String?
    /// `MATHESAR_APP_ALLOW_SETUID`: the app and the migrate command may gain privileges at exec.
    public var appAllowSetuid: Bool
    public var migrateCommand: [String]?
    /// `MATHESAR_SQL_UPGRADE_COMMAND`: upgrades the Mathesar SQL of the user databases (run with `upgrade`, ...).
    public var sqlUpgradeCommand: [String]?
    public var restart: RestartPolicy
    public var stopTimeout: Double
    public var databaseWaitTimeout: Double
    public var healthcheckURL: String
    public var logFormat: LogFormat
    /// What the app is told besides the database (uploads, hosts, workers) and the legacy key's place.
    public var app: AppSettings
    /// The user's environment, passed on to children.
    public var environment: [String: String]
    /// Each variable, its printable value and its source, for `config`.
    public var entries: [ConfigEntry]
    /// Worth telling the user but not fatal (unknown MATHESAR_* names, ...).
    public var warnings: [String]
    /// `MATHESAR_MIGRATE`: when boot runs the migrate command and the Mathesar SQL upgrade.
    public var migrateMode: MigrateMode = .changed
    /// `MATHESAR_APP_FINGERPRINT_PATHS`: the files that say the app changed (see MigrationFingerprint).
    public var appFingerprintPaths: [String] = []
    /// `MATHESAR_TEMPLATE_DIR`: the template cluster a first boot copies (made by `prepare`); nil: always initdb.
    public var templateDirectory: String? = Configuration.defaultTemplateDirectory
    public static let defaultTemplateDirectory = "/usr/local/share/mathesar-init/template"

    public var timings: SupervisionTimings { SupervisionTimings(stopTimeout: stopTimeout) }
    public var lockPath: String { dataDirectory + "/.mathesar-init.lock" }
    public var secretsDirectory: String { dataDirectory + "/secrets" }
    public var mediaDirectory: String { dataDirectory + "/media" }

    /// The secrets kept in the volume (not given): their file in `secretsDirectory` and their variable.
    public var persistedSecrets: [(file: String, variable: String)] {
        var files: [(file: String, variable: String)] = []
        if case .persisted(let file) = secretKey { files.append((file, "SECRET_KEY")) }
        if case .persisted(let file)? = database.password { files.append((file, "POSTGRES_PASSWORD")) }
        return files
    }
}

/// One line of `mathesar-init config`.
public struct ConfigEntry: Equatable, Sendable {
    public var variable: String
    /// Printable; secrets are "<redacted>".
    public var value: String
    public var source: SettingSource
}
