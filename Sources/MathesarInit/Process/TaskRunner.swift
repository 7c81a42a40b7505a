import Glibc

/// Why a boot step stopped early: a stop signal arrived while it ran, or it failed.
public enum Interruption: Error {
    case stop(signal: Int32)
    case failure(Failure)
}

/// How a one-shot child ended, and its last lines (all of them for short output).
public struct TaskResult {
    public var status: ExitStatus
    public var lines: [String]

    public init(status: ExitStatus, lines: [String]) {
        self.status = status
        self.lines = lines
    }
}

/// Runs one-shot children (initdb, pg_upgrade, `postgres --version`, the
/// database helper) to their end. The postgres code depends on this, not on
/// the supervisor: at boot the supervisor runs them (a stop signal
/// interrupts), in `check` a `DirectTaskRunner` does.
public protocol TaskRunner: AnyObject {
    func run(_ spec: ProcessSpec) throws(Interruption) -> TaskResult
    /// Children still running, which a postmaster.pid may name without being stale.
    var liveChildren: [pid_t] { get }
}

/// Runs a child outside supervision and waits for that child only: for
/// commands that are not PID 1's boot (`check`), where no signal is handled.
public final class DirectTaskRunner: TaskRunner {
    private let spawner: Spawner
    public var liveChildren: [pid_t] { [] }

    public init() {
        spawner = Spawner(selfPath: SelfExecutable.path(), isRoot: geteuid() == 0)
    }

    public func run(_ spec: ProcessSpec) throws(Interruption) -> TaskResult {
        var captured = spec
        if captured.output == .inherit { captured.output = .captured }
        let spawned: Spawner.Spawned
        do { spawned = try spawner.spawn(captured) } catch { throw .failure(error) }
        var text: [UInt8] = []
        var open = [spawned.stdoutFD, spawned.stderrFD].compactMap { $0 }
        for fd in open { _ = fcntl(fd, F_SETFL, 0) }  // blocking: poll says when
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !open.isEmpty {
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            guard poll(&fds, nfds_t(fds.count), -1) >= 0 || errno == EINTR else { break }
            for entry in fds where entry.revents != 0 {
                let n = read(entry.fd, &buffer, buffer.count)
                if n > 0 {
                    text += buffer[0..<n]
                } else if n == 0 || errno != EINTR {
                    close(entry.fd)
                    open.removeAll { $0 == entry.fd }
                }
            }
        }
        var raw: Int32 = 0
        while waitpid(spawned.pid, &raw, 0) < 0 && errno == EINTR {}
        let lines = String(decoding: text, as: UTF8.self).split(separator: "\n").map(String.init)
        return TaskResult(status: ExitStatus(waitStatus: raw), lines: Array(lines.suffix(Runtime.recentLineCount)))
    }
}
