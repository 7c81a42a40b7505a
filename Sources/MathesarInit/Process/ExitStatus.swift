import CSystemShims

/// How a child ended, decoded from waitpid's status word.
public enum ExitStatus: Equatable, Sendable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    public init(waitStatus: Int32) {
        if msi_wifsignaled(waitStatus) != 0 {
            self = .signaled(msi_wtermsig(waitStatus))
        } else {
            self = .exited(msi_wexitstatus(waitStatus))
        }
    }

    /// The shell convention, which is also what PID 1 exits with: the code, or 128+N.
    public var code: Int32 {
        switch self {
        case .exited(let code): code
        case .signaled(let signo): 128 + signo
        }
    }

    public var succeeded: Bool { self == .exited(0) }

    public var description: String {
        switch self {
        case .exited(let code): "exited with status \(code)"
        case .signaled(let signo): "killed by \(Signals.name(signo))"
        }
    }
}
