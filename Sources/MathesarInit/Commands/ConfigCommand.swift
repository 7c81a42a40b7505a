import Glibc

/// `mathesar-init config`: every setting, its value (secrets redacted) and its source. Changes nothing.
public enum ConfigCommand {
    public static func execute(format: Command.ConfigFormat) -> Int32 {
        let environment = currentEnvironment()
        switch ConfigurationLoader.load(environment: environment, isRoot: geteuid() == 0) {
        case .failure(let error):
            Logger(format: RunCommand.requestedLogFormat(environment)).error(error.description)
            return ExitCode.configuration
        case .success(let config):
            let text = render(config, format: format)
            FileIO.writeAll(1, Array(text.utf8))
            for warning in config.warnings { Logger(format: config.logFormat).warning(warning) }
            return 0
        }
    }

    public static func render(_ config: Configuration, format: Command.ConfigFormat) -> String {
        switch format {
        case .json:
            let settings = JSONValue.array(config.entries.map { entry in
                .object([("variable", .string(entry.variable)), ("value", .string(entry.value)), ("source", .string(entry.source.description))])
            })
            return JSONValue.object([("mode", .string(config.database.mode.rawValue)), ("settings", settings)]).encoded() + "\n"
        case .text:
            let width = config.entries.map(\.variable.count).max() ?? 0
            var out = "database mode: \(config.database.mode.rawValue)\n"
            for entry in config.entries {
                out += entry.variable + String(repeating: " ", count: width - entry.variable.count + 2)
                    + entry.value + "  [" + entry.source.description + "]\n"
            }
            return out
        }
    }
}
