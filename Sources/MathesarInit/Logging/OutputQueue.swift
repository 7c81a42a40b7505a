import Glibc

/// PID 1's stdout and stderr. Lines are queued and written only when `poll`
/// says the descriptor can take them, in pieces no larger than PIPE_BUF, so a
/// slow log reader never blocks the supervisor. Past `limit` bytes queued,
/// new lines are dropped and counted; the count is reported once there is room.
public final class OutputQueue: LogSink {
    static let chunk = 4096
    let limit: Int
    private var queues: [[UInt8]] = [[], []]
    private var dropped = [0, 0]

    public init(limit: Int = 4 << 20) { self.limit = limit }

    public func write(_ line: [UInt8], toStderr: Bool) {
        let q = toStderr ? 1 : 0
        if queues[q].count + line.count > limit {
            dropped[q] += 1
            return
        }
        if dropped[q] > 0 {
            queues[q] += Array("mathesar-init | warning: \(dropped[q]) log lines dropped: the log reader is too slow\n".utf8)
            dropped[q] = 0
        }
        queues[q] += line
    }

    /// Whether children's output for this stream should still be read; past
    /// half the limit PID 1 stops reading and the child waits on its pipe.
    func hasRoom(toStderr: Bool) -> Bool {
        queues[toStderr ? 1 : 0].count < limit / 2
    }

    /// Descriptors (1, 2) that have something to write.
    var pendingDescriptors: [Int32] {
        (0...1).filter { !queues[$0].isEmpty }.map { Int32($0 + 1) }
    }

    /// Writes what `fd` can take now; a descriptor whose reader is gone is discarded.
    func writeReady(fd: Int32) {
        guard fd == 1 || fd == 2 else { return }
        let q = Int(fd) - 1
        var written = 0
        while written < queues[q].count {
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            guard poll(&p, 1, 0) == 1, p.revents & Int16(POLLOUT) != 0 else { break }
            let count = min(OutputQueue.chunk, queues[q].count - written)
            let n = queues[q].withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, count) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                written = queues[q].count  // the reader is gone: discard
                break
            }
            written += n
        }
        if written > 0 { queues[q].removeFirst(written) }
    }

    /// Before exit: write everything, waiting at most until `deadline`.
    public func drain(until deadline: Instant) {
        while let fd = pendingDescriptors.first {
            let remaining = deadline.milliseconds(since: Instant.now())
            if remaining <= 0 { break }
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            _ = poll(&p, 1, Int32(min(100, remaining)))
            writeReady(fd: fd)
            if p.revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 { queues[Int(fd) - 1].removeAll() }
        }
    }
}
