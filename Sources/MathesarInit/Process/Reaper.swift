import Glibc

/// The one place that calls `waitpid`: collects every child that has ended,
/// ours and orphans re-parented to PID 1 (or to us as a subreaper) alike.
struct Reaper {
    /// Reaps until no ended child is left. Never blocks.
    func reapAll() -> [(pid: pid_t, status: ExitStatus)] {
        var ended: [(pid: pid_t, status: ExitStatus)] = []
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            if pid > 0 {
                ended.append((pid, ExitStatus(waitStatus: status)))
                continue
            }
            if pid < 0 && errno == EINTR { continue }
            return ended  // 0: children left but none ended; -1/ECHILD: no children
        }
    }
}
