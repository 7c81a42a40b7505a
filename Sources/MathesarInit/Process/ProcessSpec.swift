/// Everything needed to start one child.
public struct ProcessSpec: Sendable {
    public enum Stdin: Equatable, Sendable {
        case null, inherit
        /// Read from this file, opened by PID 1 (the child's account needs no access to it).
        case file(String)
    }
    public enum Output: Sendable {
        /// stdout/stderr go through PID 1, each line tagged with `source`.
        case tagged
        /// The child writes to PID 1's own stdout/stderr.
        case inherit
        /// Lines are kept (see `Runtime.recentLines`) but not logged: output PID 1 parses.
        case captured
    }

    /// Log tag: `app`, `postgres`, `migrate`, `initdb`, ...
    public var source: String
    /// Absolute path of the program (see `CommandResolver`).
    public var executable: String
    /// argv, argv[0] included.
    public var arguments: [String]
    public var environment: [String: String]
    /// Run as this account (needs root); nil keeps PID 1's.
    public var user: UserIdentity?
    public var workingDirectory: String?
    public var stdin: Stdin
    public var output: Output
    /// With `user`: the program may gain privileges at exec (setuid bits, file
    /// capabilities); off by default (see `PrivilegeDrop`).
    public var allowPrivilegeGain = false

    public init(
        source: String, executable: String, arguments: [String], environment: [String: String],
        user: UserIdentity? = nil, workingDirectory: String? = nil, stdin: Stdin = .null, output: Output = .tagged
    ) {
        self.source = source
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.user = user
        self.workingDirectory = workingDirectory
        self.stdin = stdin
        self.output = output
    }
}
