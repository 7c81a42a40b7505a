import Glibc

/// The signals PID 1 gives a meaning to (contract, "PID 1 duties").
public enum Signals {
    /// Passed on to the app's main process.
    public static let forwarded: [Int32] = [SIGHUP, SIGUSR1, SIGUSR2, SIGWINCH, SIGTTIN, SIGTTOU]
    /// Start the orderly shutdown.
    public static let stop: [Int32] = [SIGTERM, SIGINT, SIGQUIT]

    public static func isForwarded(_ signo: Int32) -> Bool { forwarded.contains(signo) }
    public static func isStop(_ signo: Int32) -> Bool { stop.contains(signo) }

    public static func name(_ signo: Int32) -> String {
        switch signo {
        case SIGHUP: "SIGHUP"
        case SIGINT: "SIGINT"
        case SIGQUIT: "SIGQUIT"
        case SIGILL: "SIGILL"
        case SIGTRAP: "SIGTRAP"
        case SIGABRT: "SIGABRT"
        case SIGBUS: "SIGBUS"
        case SIGFPE: "SIGFPE"
        case SIGKILL: "SIGKILL"
        case SIGUSR1: "SIGUSR1"
        case SIGSEGV: "SIGSEGV"
        case SIGUSR2: "SIGUSR2"
        case SIGPIPE: "SIGPIPE"
        case SIGALRM: "SIGALRM"
        case SIGTERM: "SIGTERM"
        case SIGCHLD: "SIGCHLD"
        case SIGCONT: "SIGCONT"
        case SIGSTOP: "SIGSTOP"
        case SIGTSTP: "SIGTSTP"
        case SIGTTIN: "SIGTTIN"
        case SIGTTOU: "SIGTTOU"
        case SIGWINCH: "SIGWINCH"
        default: "signal \(signo)"
        }
    }
}
