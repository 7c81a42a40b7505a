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
        case .check, .healthcheck:
            return ExitCode.internalError
        }
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
