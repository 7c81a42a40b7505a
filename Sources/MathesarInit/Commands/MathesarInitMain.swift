import Glibc

/// `mathesar-init`'s entry point after the privilege-drop trampoline check.
public enum MathesarInitMain {
    public static func main(_ argv: [String]) -> Int32 {
        let command: Command
        switch Command.parse(Array(argv.dropFirst())) {
        case .success(let parsed): command = parsed
        case .failure(let failure):
            FileIO.writeAll(2, Array("mathesar-init: \(failure.message)\n".utf8))
            return failure.code
        }
        if case .run(let appCommand) = command, let first = appCommand.first, argv.count > 1, argv[1] == first,
           let typo = misspelledSubcommand(first) {
            FileIO.writeAll(2, Array("mathesar-init: unknown command \"\(first)\": did you mean \(typo)? (It is no program on PATH either; to run a program of that name as the app, use: mathesar-init run \(first))\n\(Command.usage)\n".utf8))
            return ExitCode.usage
        }
        if command.needsDatabaseHelper { return execDatabaseHelper(argv) }
        switch command {
        case .help:
            FileIO.writeAll(1, Array((Command.usage + "\n").utf8))
            return 0
        case .version:
            FileIO.writeAll(1, Array("mathesar-init \(Version.current)\n".utf8))
            return 0
        case .config(let format):
            return ConfigCommand.execute(format: format)
        case .run(let appCommand):
            return RunCommand.execute(appCommand: appCommand, goal: .run)
        case .migrate:
            return RunCommand.execute(appCommand: [], goal: .migrate)
        case .schema(let action, let database):
            return RunCommand.execute(appCommand: [], goal: .schema(action, database: database))
        case .backup(let output):
            return BackupCommand.execute(output: output)
        case .restore(let path):
            return RestoreCommand.execute(path: path)
        case .reindex(let database):
            return ReindexCommand.execute(database: database)
        case .check, .healthcheck:
            return ExitCode.internalError
        }
    }

    /// The subcommand a first word that is no program was probably meant to be.
    static func misspelledSubcommand(_ word: String) -> String? {
        guard let guess = Command.suggestion(for: word) else { return nil }
        if case .failure(.notFound) = CommandResolver.resolve(word, searchPath: currentEnvironment()["PATH"], user: nil) {
            return guess
        }
        return nil
    }

    /// `check` and `healthcheck` need libpq, which PID 1's binary
    /// does not load: become the helper, with the same arguments.
    static func execDatabaseHelper(_ argv: [String]) -> Int32 {
        let helper = SelfExecutable.databaseHelperPath()
        withCStringArray([helper] + argv.dropFirst()) { pointer in _ = execv(helper, pointer) }
        FileIO.writeAll(2, Array("mathesar-init: cannot run \(helper): \(lastErrnoText()); it must be installed next to mathesar-init\n".utf8))
        return ExitCode.internalError
    }
}
