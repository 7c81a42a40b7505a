import Glibc
import MathesarDB
import MathesarInit

// `mathesar-init-db`'s entry point: the internal steps PID 1 runs during boot,
// and the commands `mathesar-init` hands over because they need libpq.

/// One internal step: the configuration from the environment PID 1 built for
/// the helper (see `DatabaseHelper`), and the server it names.
func runStep(_ step: DatabaseHelper.Step, environment: [String: String]) -> Int32 {
    let logger = Logger(format: .text, relayed: true)
    let config: Configuration
    switch ConfigurationLoader.load(environment: environment, isRoot: false) {
    case .success(let loaded): config = loaded
    case .failure(let error):
        logger.error(error.description)
        return ExitCode.configuration
    }
    return InternalServer(config: config, environment: environment).run(step, logger: logger)
}

func main(_ argv: [String]) -> Int32 {
    let arguments = Array(argv.dropFirst())
    let environment = currentEnvironment()
    if let first = arguments.first, let step = DatabaseHelper.Step(rawValue: first) {
        return runStep(step, environment: environment)
    }
    let command: Command
    switch Command.parse(arguments) {
    case .success(let parsed): command = parsed
    case .failure(let failure):
        FileIO.writeAll(2, Array("mathesar-init: \(failure.message)\n".utf8))
        return failure.code
    }
    switch command {
    case .version:
        FileIO.writeAll(1, Array("mathesar-init-db \(Version.current)\n".utf8))
        return 0
    case .check:
        let (findings, code) = PreflightCheck(environment: environment).run()
        FileIO.writeAll(1, Array(PreflightCheck.render(findings).utf8))
        return code
    case .healthcheck:
        let config: Configuration
        switch ConfigurationLoader.load(environment: environment, isRoot: geteuid() == 0) {
        case .success(let loaded): config = loaded
        case .failure(let error):
            FileIO.writeAll(1, Array("unhealthy: configuration invalid: \(error.problems.map(\.variable).joined(separator: ", "))\n".utf8))
            return 1
        }
        let (healthy, line) = HealthCheck(config: config).run()
        FileIO.writeAll(1, Array((line + "\n").utf8))
        return healthy ? 0 : 1
    default:
        FileIO.writeAll(2, Array("mathesar-init-db: run this through mathesar-init (\(Command.usage))\n".utf8))
        return ExitCode.usage
    }
}

// It holds the database password (and, for a schema upgrade, connections as the superuser).
PrivilegeDrop.keepMemoryPrivate()
exit(main(CommandLine.arguments))
