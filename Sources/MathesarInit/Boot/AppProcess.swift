/// How the app and the commands that load its code (the migrate command, the
/// SQL upgrade command) are run: one environment, one account.
struct AppProcess {
    /// From `AppEnvironment.build`.
    var environment: [String: String]
    var user: UserIdentity?
    /// `MATHESAR_APP_ALLOW_SETUID`, for the app and the migrate command.
    var allowSetuid: Bool

    /// `command` resolved on the environment's PATH, as the app user finds it.
    func spec(source: String, command: [String], arguments: [String] = [], stdin: ProcessSpec.Stdin = .null,
              mayGainPrivileges: Bool = true) -> Result<ProcessSpec, CommandResolver.Problem> {
        CommandResolver.resolve(command[0], searchPath: environment["PATH"], user: user).map { executable in
            var spec = ProcessSpec(source: source, executable: executable, arguments: command + arguments,
                                   environment: environment, user: user, workingDirectory: nil, stdin: stdin)
            spec.allowPrivilegeGain = mayGainPrivileges && allowSetuid
            return spec
        }
    }
}
