import Glibc

/// Boot's one-shot children (initdb, the database helper, the migrate
/// command, `postgres --version`, ...), which boot waits for one at a time.
/// While one runs, the machine decides for it as for the app: a stop signal
/// sends SIGTERM to its main process and interrupts boot, SIGKILL goes to its
/// group at the app's deadline, and a service that exits (PostgreSQL during
/// boot) is not restarted but interrupts boot the same way.
extension SupervisorMachine {
    public struct Task: Equatable, Sendable {
        public var pid: pid_t
        /// Its log tag, for the machine's lines about it.
        public var source: String
        /// Forwarded signals (SIGHUP, ...) reach its main process: the app's own commands.
        public var forwardsSignals: Bool
        /// Once it is being stopped: why boot ends after it.
        var ending: TaskEnding?
        var stopBegan: Instant?
        var killedAt: Instant?

        /// SIGKILL at the app's deadline; 1 s later, boot stops waiting for it.
        func deadline(_ timings: SupervisionTimings) -> Instant? {
            if let killedAt { return killedAt.adding(seconds: 1) }
            return stopBegan?.adding(seconds: timings.appDeadline)
        }
    }

    /// Why boot does not go on after a task.
    public enum TaskEnding: Equatable, Sendable {
        case stop(signal: Int32)
        /// A service exited during boot (`pid` was its main process).
        case serviceLost(ServiceName, ExitStatus, pid: pid_t)
    }

    public enum TaskOutcome: Equatable, Sendable {
        /// It ran to its end by itself.
        case finished(ExitStatus)
        /// It was stopped; boot ends.
        case interrupted(TaskEnding)
    }

    /// Boot waits for this child from now on.
    public mutating func taskStarted(pid: pid_t, source: String, forwardsSignals: Bool) {
        task = Task(pid: pid, source: source, forwardsSignals: forwardsSignals)
    }

    mutating func taskExited(_ task: Task, status: ExitStatus) -> [Action] {
        self.task = nil
        return [.endTask(task.ending.map(TaskOutcome.interrupted) ?? .finished(status), group: task.pid)]
    }

    /// No restart during boot: the service is stopped, its leftovers killed,
    /// and the task is stopped so that boot can end.
    mutating func serviceLostDuringTask(_ task: Task, _ name: ServiceName, pid: pid_t, status: ExitStatus, at now: Instant) -> [Action] {
        services[name].lastStatus = status
        services[name].state = .stopped
        let leftovers = Action.killGroup(name, group: pid)
        guard task.ending == nil else { return [leftovers] }
        return [leftovers] + beginStoppingTask(task, .serviceLost(name, status, pid: pid), at: now)
    }

    mutating func stopTask(_ task: Task, by signal: Int32, at now: Instant) -> [Action] {
        // Already being stopped: its deadline stands.
        guard task.ending == nil else { return [] }
        let note = Action.log(.info, "\(Signals.name(signal)) received during boot (\(bootPhase.rawValue)); stopping \(task.source)")
        return [note] + beginStoppingTask(task, .stop(signal: signal), at: now)
    }

    /// The app's rules: SIGTERM to the main process, which stops its own children.
    private mutating func beginStoppingTask(_ task: Task, _ ending: TaskEnding, at now: Instant) -> [Action] {
        var stopping = task
        stopping.ending = ending
        stopping.stopBegan = now
        self.task = stopping
        return [.signalTask(SIGTERM, .mainProcess)]
    }

    mutating func tickTask(_ task: Task, at now: Instant) -> [Action] {
        guard let ending = task.ending, let deadline = task.deadline(timings), now >= deadline else { return [] }
        guard task.killedAt == nil else {
            // Stuck in the kernel: boot ends without it (its group is killed once more).
            self.task = nil
            return [.endTask(.interrupted(ending), group: task.pid)]
        }
        var killed = task
        killed.killedAt = now
        self.task = killed
        return [.log(.warning, "\(task.source) did not stop within \(formatDuration(timings.appDeadline)) of SIGTERM; sending SIGKILL"),
                .signalTask(SIGKILL, .processGroup)]
    }
}
