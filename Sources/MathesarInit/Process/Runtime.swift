import CSystemShims
import Glibc

/// What the event loop reports to the code driving it.
public enum RuntimeEvent: Equatable {
    /// One of our children ended (orphans are reaped and counted, not reported).
    case exited(pid: pid_t, status: ExitStatus)
    /// A signal for PID 1 (SIGCHLD and SIGPIPE are handled inside).
    case signal(Int32, sender: pid_t)
}

/// PID 1's event loop: one `poll` over the signalfd, the children's output
/// pipes and PID 1's own stdout/stderr. It owns spawning and the reaper, so
/// every child is started and collected here and nowhere else. Idle, it
/// sleeps in `poll` with no timeout: no timer fires while nothing happens.
public final class Runtime {
    public let logger: Logger
    public let output: OutputQueue
    public let isPID1: Bool
    private let signals: SignalChannel
    private let reaper = Reaper()
    private let spawner: Spawner
    private var streams: [Int32: OutputStream] = [:]
    private var children: [pid_t: Child] = [:]
    private var lineHandlers: [String: (_ line: String, _ fromStderr: Bool) -> Bool] = [:]

    struct OutputStream {
        var pid: pid_t
        var source: String
        var toStderr: Bool
        var logged: Bool
        var buffer = LineBuffer()
    }

    struct Child {
        var source: String
        var recentLines: [String] = []
    }

    static let recentLineCount = 20

    public init(logFormat: LogFormat) throws(Failure) {
        Runtime.ensureStandardDescriptors()
        signals = try SignalChannel()
        isPID1 = getpid() == 1
        if !isPID1 && msi_set_child_subreaper() != 0 {
            throw Failure(ExitCode.internalError, "cannot become a child subreaper: \(lastErrnoText())")
        }
        output = OutputQueue()
        logger = Logger(format: logFormat, sink: output)
        spawner = Spawner(selfPath: SelfExecutable.path(), isRoot: geteuid() == 0)
    }

    /// A closed fd 0-2 would be reused by the next pipe and confuse children
    /// and the log; point it at /dev/null instead.
    static func ensureStandardDescriptors() {
        for fd: Int32 in 0...2 where fcntl(fd, F_GETFD) < 0 {
            let null = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY)
            if null >= 0 && null != fd {
                dup2(null, fd)
                close(null)
            }
        }
    }

    /// Starts a child; its output (if tagged) is read by this loop from now on.
    public func spawn(_ spec: ProcessSpec) throws(Failure) -> pid_t {
        let spawned = try spawner.spawn(spec)
        children[spawned.pid] = Child(source: spec.source)
        let logged = spec.output == .tagged
        if let fd = spawned.stdoutFD { streams[fd] = OutputStream(pid: spawned.pid, source: spec.source, toStderr: false, logged: logged) }
        if let fd = spawned.stderrFD { streams[fd] = OutputStream(pid: spawned.pid, source: spec.source, toStderr: true, logged: logged) }
        return spawned.pid
    }

    /// Sends a signal to a running child's process group (each child leads
    /// its own session), or to the process alone. A child already gone is not
    /// an error. Only for a child not yet reaped: its pid is still ours.
    public func signal(_ pid: pid_t, _ signo: Int32, group: Bool) {
        guard pid > 0 else { return }
        if kill(group ? -pid : pid, signo) != 0 && errno == ESRCH && group {
            _ = kill(pid, signo)  // it left its group (setpgid): the process at least
        }
    }

    /// SIGKILLs what is left of the process group a reaped child led. The
    /// kernel does not hand out a pid that is still some group's id, so the
    /// group is the leftovers or nothing (ESRCH), never a stranger; there is
    /// no fallback to the pid itself, which may be reused by now.
    public func killGroup(_ group: pid_t) {
        guard group > 1 else { return }
        _ = kill(-group, SIGKILL)
    }

    /// Lines of children with this log tag are first offered to `handler`
    /// (the SQL upgrade's JSON lines, which PID 1 reads); a line it returns
    /// true for is its business and is not logged as the child's.
    public func setLineHandler(source: String, _ handler: @escaping (_ line: String, _ fromStderr: Bool) -> Bool) {
        lineHandlers[source] = handler
    }

    /// The last lines a child wrote, for error messages.
    public func recentLines(of pid: pid_t) -> [String] {
        children[pid]?.recentLines ?? finishedLines[pid] ?? []
    }

    private var finishedLines: [pid_t: [String]] = [:]

    public var liveChildren: [pid_t] { Array(children.keys) }

    /// Sleeps until something happens or `deadline` passes; returns what happened
    /// (empty at the deadline). Output is pumped meanwhile.
    public func waitForEvents(until deadline: Instant?) -> [RuntimeEvent] {
        while true {
            var fds = [pollfd(fd: signals.fd, events: Int16(POLLIN), revents: 0)]
            for (fd, stream) in streams where output.hasRoom(toStderr: stream.toStderr) {
                fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0))
            }
            for fd in output.pendingDescriptors {
                fds.append(pollfd(fd: fd, events: Int16(POLLOUT), revents: 0))
            }
            var timeout: Int32 = -1
            if let deadline {
                let remaining = deadline.nanoseconds - Instant.now().nanoseconds
                if remaining <= 0 { return [] }
                timeout = Int32(min((remaining + 999_999) / 1_000_000, Int64(Int32.max)))
            }
            let ready = poll(&fds, nfds_t(fds.count), timeout)
            if ready < 0 {
                if errno == EINTR { continue }
                logger.error("poll failed: \(lastErrnoText())")
                return []
            }
            if ready == 0 { continue }  // the deadline check above returns

            var events: [RuntimeEvent] = []
            if fds[0].revents != 0 {
                for (signo, sender) in signals.drain() {
                    switch signo {
                    case SIGCHLD: events += reap()
                    case SIGPIPE: continue
                    default: events.append(.signal(signo, sender: sender))
                    }
                }
            }
            // Signals and exits go to the supervisor before any output is
            // pumped (a forwarded signal waits for nothing), but output is
            // serviced at least every other round, so a signal storm cannot starve it.
            if !events.isEmpty && !outputDeferred {
                outputDeferred = true
                return events
            }
            outputDeferred = false
            // A stream may have been closed by reap() above: decide by what was asked.
            for p in fds.dropFirst() where p.revents != 0 {
                if p.events == Int16(POLLOUT) {
                    output.writeReady(fd: p.fd)
                } else if streams[p.fd] != nil {
                    readStream(p.fd, drainAll: false)
                }
            }
            for fd in output.pendingDescriptors { output.writeReady(fd: fd) }
            if !events.isEmpty { return events }
        }
    }

    /// The last round returned events before servicing output.
    private var outputDeferred = false

    private func reap() -> [RuntimeEvent] {
        var events: [RuntimeEvent] = []
        for (pid, status) in reaper.reapAll() {
            guard children[pid] != nil else { continue }  // an orphan: reaped, nothing to report
            // The child is gone, so what it wrote is all in the pipes: read it
            // before reporting the exit, so that last lines are complete.
            for (fd, stream) in streams where stream.pid == pid { readStream(fd, drainAll: true) }
            finishedLines[pid] = children.removeValue(forKey: pid)?.recentLines
            if finishedLines.count > 32, let oldest = finishedLines.keys.min() { finishedLines[oldest] = nil }
            events.append(.exited(pid: pid, status: status))
        }
        return events
    }

    private func readStream(_ fd: Int32, drainAll: Bool) {
        var chunk = [UInt8](repeating: 0, count: 65536)
        repeat {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == EAGAIN { return }
            guard var stream = streams[fd] else { return }
            if n <= 0 {
                if let last = stream.buffer.finish() { emit(stream, last) }
                streams[fd] = nil
                close(fd)
                return
            }
            let lines = stream.buffer.append(chunk[0..<n])
            streams[fd] = stream
            for line in lines { emit(stream, line) }
        } while drainAll
    }

    private func emit(_ stream: OutputStream, _ line: String) {
        let handled = lineHandlers[stream.source]?(line, stream.toStderr) ?? false
        if stream.logged && !handled { logger.child(source: stream.source, line: line, fromStderr: stream.toStderr) }
        if children[stream.pid] != nil {
            children[stream.pid]!.recentLines.append(line)
            if children[stream.pid]!.recentLines.count > Runtime.recentLineCount {
                children[stream.pid]!.recentLines.removeFirst()
            }
        } else if finishedLines[stream.pid] != nil {
            finishedLines[stream.pid]!.append(line)
            if finishedLines[stream.pid]!.count > Runtime.recentLineCount { finishedLines[stream.pid]!.removeFirst() }
        }
    }

    /// Once boot is over, the code and constants only boot used need not stay
    /// in PID 1's resident set for the container's life: drop the clean,
    /// read-only file pages (they stay in the page cache and fault back in
    /// when touched) and trim malloc. Returns the bytes of mappings released.
    @discardableResult
    public func releaseBootMemory() -> Int {
        Int(msi_release_readonly_file_pages())
    }

    /// Before exit: flush the log, waiting at most `seconds`.
    public func flushOutput(within seconds: Double = 1) {
        output.drain(until: Instant.now().adding(seconds: seconds))
    }
}


/// Starts children with posix_spawn: clean signal mask, default dispositions,
/// their own session and process group, only fds 0-2.
struct Spawner {
    let selfPath: String
    let isRoot: Bool

    struct Spawned {
        var pid: pid_t
        /// Read ends of the child's stdout and stderr pipes (tagged output only).
        var stdoutFD: Int32?
        var stderrFD: Int32?
    }

    func spawn(_ spec: ProcessSpec) throws(Failure) -> Spawned {
        var executable = spec.executable
        var arguments = spec.arguments
        if let user = spec.user, isRoot, user.uid != 0 || user.gid != 0 {
            (executable, arguments) = PrivilegeDrop.wrap(
                executable: spec.executable, arguments: spec.arguments, user: user, selfPath: selfPath,
                allowPrivilegeGain: spec.allowPrivilegeGain)
        }

        var stdio: [Int32] = [spec.stdin == .inherit ? 0 : -1, 1, 2]
        if case .file(let path) = spec.stdin {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw Failure(ExitCode.internalError, "cannot open \(path) for \(spec.source): \(lastErrnoText())") }
            stdio[0] = fd
        }
        defer { if case .file = spec.stdin { close(stdio[0]) } }
        var readEnds: [Int32] = []
        var writeEnds: [Int32] = []
        if spec.output != .inherit {
            for target in 1...2 {
                var fds: [Int32] = [-1, -1]
                guard msi_pipe_cloexec(&fds) == 0 else {
                    for fd in readEnds + writeEnds { close(fd) }
                    throw Failure(ExitCode.internalError, "cannot create a pipe for \(spec.source): \(lastErrnoText())")
                }
                _ = fcntl(fds[0], F_SETFL, O_NONBLOCK)
                readEnds.append(fds[0])
                writeEnds.append(fds[1])
                stdio[target] = fds[1]
            }
        }
        defer { for fd in writeEnds { close(fd) } }

        var pid: pid_t = 0
        let rc = withCStringArray(arguments) { argv in
            withCStringArray(environmentStrings(spec.environment)) { envp in
                stdio.withUnsafeBufferPointer { fds in
                    if let cwd = spec.workingDirectory {
                        return msi_spawn(&pid, executable, argv, envp, fds.baseAddress, cwd)
                    }
                    return msi_spawn(&pid, executable, argv, envp, fds.baseAddress, nil)
                }
            }
        }
        guard rc == 0 else {
            for fd in readEnds { close(fd) }
            let code = rc == ENOENT ? ExitCode.commandNotFound : ExitCode.commandNotExecutable
            throw Failure(code, "cannot start \(spec.source) (\(spec.executable)): \(errnoText(rc))")
        }
        return Spawned(pid: pid, stdoutFD: readEnds.first, stderrFD: readEnds.last)
    }
}

/// The environment as `KEY=VALUE` strings, sorted so children see a stable order.
func environmentStrings(_ environment: [String: String]) -> [String] {
    environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
}
