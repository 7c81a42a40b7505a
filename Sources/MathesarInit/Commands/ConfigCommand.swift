import Glibc

/// `mathesar-init config`: every setting, its value (secrets redacted) and its source. Changes nothing.
public enum ConfigCommand {
    public static func execute(format: Command.ConfigFormat) -> Int32 {
        let environment = currentEnvironment()
        switch ConfigurationLoader.load(environment: environment, isRoot: geteuid() == 0) {
        case .failure(let error):
            Logger(format: CommandContext.requestedLogFormat(environment)).error(error.description)
            return ExitCode.configuration
        case .success(let config):
            let text = render(config, format: format, kept: keptSecrets(config))
            FileIO.writeAll(1, Array(text.utf8))
            for warning in config.warnings { Logger(format: config.logFormat).warning(warning) }
            return 0
        }
    }

    /// The generated secrets already in the volume (by variable). Reading only
    /// whether the files exist; `check` says the same in the same words.
    public static func keptSecrets(_ config: Configuration) -> Set<String> {
        Set(config.persistedSecrets.filter { FileIO.exists(config.secretsDirectory + "/" + $0.file) }.map(\.variable))
    }

    /// What `config` and `check` call a generated secret: kept in the volume, or still to be made.
    public static func generatedSecretSource(kept: Bool) -> String {
        kept ? "generated, kept in the volume" : "generated at first boot"
    }

    static let unsetValue = "(unset)"

    public static func render(_ config: Configuration, format: Command.ConfigFormat, kept: Set<String> = []) -> String {
        let secrets = Set(config.persistedSecrets.map(\.variable))
        func source(_ entry: ConfigEntry) -> String {
            entry.source == .generated && secrets.contains(entry.variable)
                ? generatedSecretSource(kept: kept.contains(entry.variable)) : entry.source.description
        }
        switch format {
        case .json:
            let settings = JSONValue.array(config.entries.map { entry in
                .object([("variable", .string(entry.variable)),
                         ("value", entry.value == unsetValue ? .null : .string(entry.value)),
                         ("source", .string(source(entry)))])
            })
            return JSONValue.object([("mode", .string(config.database.mode.rawValue)), ("settings", settings)]).encoded() + "\n"
        case .text:
            let width = config.entries.map(\.variable.count).max() ?? 0
            var out = "database mode: \(config.database.mode.rawValue)\n"
            for entry in config.entries {
                out += entry.variable + String(repeating: " ", count: width - entry.variable.count + 2)
                    + entry.value + "  [" + source(entry) + "]\n"
            }
            return out
        }
    }
}
