/// The command line of the contract, parsed.
public enum Command: Equatable {
    case run(appCommand: [String])
    case check
    case config(format: ConfigFormat)
    case migrate
    case healthcheck
    /// `schema status|upgrade|uninstall`: runs `MATHESAR_SQL_UPGRADE_COMMAND` on demand.
    case schema(SchemaAction, database: String?)
    /// `backup [--output PATH|-]`: nil writes the default file in the volume.
    case backup(output: String?)
    /// `restore PATH`: into an empty volume.
    case restore(path: String)
    /// `reindex --database NAME`: after a collation change.
    case reindex(database: String)
    case version
    case help

    public enum ConfigFormat: String, Equatable { case text, json }
    public enum SchemaAction: String, Equatable, CaseIterable, Sendable { case status, upgrade, uninstall }

    /// Whether the command needs libpq, and so runs in `mathesar-init-db`.
    public var needsDatabaseHelper: Bool {
        switch self {
        case .check, .healthcheck: true
        default: false
        }
    }

    public static let usage = """
        usage: mathesar-init [run] [--] [APP COMMAND ...]   boot, then supervise the app (default)
               mathesar-init check                          preflight: validate config, volume, binaries, database
               mathesar-init config [--format text|json]    effective configuration with sources
               mathesar-init migrate                        boot the database, run migrations, stop, exit
               mathesar-init healthcheck                    exit 0 when the app and database are healthy
               mathesar-init schema status                  each user database's Mathesar SQL version
               mathesar-init schema upgrade [--database NAME]
                                                            upgrade the Mathesar SQL in one or all of them
               mathesar-init schema uninstall --database NAME
                                                            remove the Mathesar SQL from one of them
               mathesar-init backup [--output PATH|-]       a consistent backup of the databases and the secrets
               mathesar-init restore PATH                   restore such a backup into an empty volume
               mathesar-init reindex --database NAME        rebuild what a collation change broke, record the new version
               mathesar-init version
        Configuration comes from the environment; see `mathesar-init config` and the README.
        """

    /// Every subcommand's name, for "did you mean".
    public static let subcommands = ["run", "check", "config", "migrate", "healthcheck", "schema", "backup", "restore", "reindex", "version", "help"]

    /// The subcommand `word` is probably a typo of (one letter off for short
    /// names, two for longer ones), or nil. Whether `word` is a program after
    /// all is for the caller to check: then it is the app command.
    public static func suggestion(for word: String) -> String? {
        guard !word.contains("/"), !word.hasPrefix("-"), !subcommands.contains(word) else { return nil }
        let best = subcommands.min { ConfigurationLoader.editDistance($0, word) < ConfigurationLoader.editDistance($1, word) }!
        return ConfigurationLoader.editDistance(best, word) <= (best.count <= 4 ? 1 : 2) ? best : nil
    }

    /// Parses argv without the program name. Errors are for exit status 64.
    public static func parse(_ arguments: [String]) -> Result<Command, Failure> {
        func bad(_ message: String) -> Result<Command, Failure> {
            .failure(Failure(ExitCode.usage, "\(message)\n\(usage)"))
        }
        func noMore(_ rest: ArraySlice<String>, _ command: Command, _ name: String) -> Result<Command, Failure> {
            rest.isEmpty ? .success(command) : bad("\(name) takes no arguments, got: \(rest.joined(separator: " "))")
        }
        guard let first = arguments.first else { return .success(.run(appCommand: [])) }
        let rest = arguments.dropFirst()
        switch first {
        case "run":
            return .success(.run(appCommand: Array(rest.first == "--" ? rest.dropFirst() : rest)))
        case "--":
            return .success(.run(appCommand: Array(rest)))
        case "check": return noMore(rest, .check, "check")
        case "migrate": return noMore(rest, .migrate, "migrate")
        case "healthcheck": return noMore(rest, .healthcheck, "healthcheck")
        case "version", "--version": return noMore(rest, .version, "version")
        case "help", "--help", "-h": return .success(.help)
        case "config":
            var format = ConfigFormat.text
            var items = Array(rest)
            while !items.isEmpty {
                let item = items.removeFirst()
                if item == "--format", let value = items.first {
                    items.removeFirst()
                    guard let parsed = ConfigFormat(rawValue: value) else { return bad("config --format must be text or json, got: \(value)") }
                    format = parsed
                } else if item.hasPrefix("--format="), let parsed = ConfigFormat(rawValue: String(item.dropFirst(9))) {
                    format = parsed
                } else {
                    return bad("config: unexpected argument \(item)")
                }
            }
            return .success(.config(format: format))
        case "schema":
            var items = Array(rest)
            guard let actionName = items.first, let action = SchemaAction(rawValue: actionName) else {
                return bad("schema needs an action: status, upgrade or uninstall")
            }
            items.removeFirst()
            var database: String?
            while !items.isEmpty {
                let item = items.removeFirst()
                var value: String?
                if item == "--database", !items.isEmpty {
                    value = items.removeFirst()
                } else if item.hasPrefix("--database=") {
                    value = String(item.dropFirst(11))
                } else {
                    return bad("schema \(actionName): unexpected argument \(item)")
                }
                guard let name = value, !name.isEmpty, !name.hasPrefix("-") else { return bad("schema \(actionName): --database needs a database name") }
                guard action != .status else { return bad("schema status takes no --database: it lists every user database") }
                database = name
            }
            if action == .uninstall && database == nil { return bad("schema uninstall needs --database NAME (the database's name in Mathesar; see mathesar-init schema status)") }
            return .success(.schema(action, database: database))
        case "backup":
            var items = Array(rest)
            var output: String?
            while !items.isEmpty {
                let item = items.removeFirst()
                if (item == "--output" || item == "-o"), let value = items.first {
                    items.removeFirst()
                    output = value
                } else if item.hasPrefix("--output=") {
                    output = String(item.dropFirst(9))
                } else {
                    return bad("backup: unexpected argument \(item)")
                }
                if output?.isEmpty == true { return bad("backup --output needs a file name, or - for standard output") }
            }
            return .success(.backup(output: output))
        case "restore":
            guard rest.count == 1, let path = rest.first, !path.isEmpty, path == "-" || !path.hasPrefix("-") else {
                return bad("restore needs exactly one argument: the backup archive's path")
            }
            if path == "-" { return bad("restore reads a file, not standard input: it checks the whole archive before it changes anything; save the archive to a file first") }
            return .success(.restore(path: path))
        case "reindex":
            var items = Array(rest)
            var database: String?
            while !items.isEmpty {
                let item = items.removeFirst()
                if item == "--database", let value = items.first {
                    items.removeFirst()
                    database = value
                } else if item.hasPrefix("--database=") {
                    database = String(item.dropFirst(11))
                } else {
                    return bad("reindex: unexpected argument \(item)")
                }
            }
            guard let name = database, !name.isEmpty, !name.hasPrefix("-") else { return bad("reindex needs --database NAME (the databases a collation change affects are listed by boot and by check)") }
            return .success(.reindex(database: name))
        default:
            if first.hasPrefix("-") { return bad("unknown option \(first)") }
            return .success(.run(appCommand: arguments))
        }
    }
}
