import Glibc

/// The supervisor's decisions as a pure state machine: events in (a child
/// started or exited, a signal arrived, time passed), actions out (start,
/// signal, end a task, exit). It makes no syscalls, so restart, backoff,
/// crash-loop, shutdown and boot-task rules are tested with made-up times;
/// `Supervisor` performs the actions. During boot, the one-shot child boot
/// waits for is the machine's `task` (see SupervisorMachine+Task.swift).
public struct SupervisorMachine {
    public enum Action: Equatable, Sendable {
        case start(ServiceName)
        /// A signal to the service's running main process, or to its process group.
        case signal(ServiceName, Int32, SignalTarget)
        /// The service's main process has exited: SIGKILL what is left of its
        /// process group (each child leads its own, id = its pid) now, before
        /// anything is restarted or PID 1 exits. A pgid is not reused while
        /// the group has members, so this reaches only the leftovers.
        case killGroup(ServiceName, group: pid_t)
        case exit(Int32)
        case log(LogLevel, String)
        /// A signal to the running task's main process, or to its process group.
        case signalTask(Int32, SignalTarget)
        /// The task's main process has exited (or was given up on): SIGKILL
        /// what is left of its group, and hand boot the outcome.
        case endTask(TaskOutcome, group: pid_t)
    }

    /// Who gets a signal (contract, "PID 1 duties").
    public enum SignalTarget: Equatable, Sendable {
        /// The main process alone, so that a master (gunicorn's, the postmaster)
        /// stops or reconfigures its own workers.
        case mainProcess
        /// The whole process group: at a deadline, nothing in it may survive.
        case processGroup
    }

    struct Stopping: Equatable {
        var began: Instant
        /// Decided by a failure; else taken from the app's exit, else 128+signal.
        var code: Int32?
        var signal: Int32?
        var databaseSignaled = false
        var appKilled = false
        var quitSent = false
        var killSent = false
    }

    enum Phase: Equatable {
        case supervising
        case stopping(Stopping)
        case finished(Int32)
    }

    public let policy: RestartPolicy
    public let timings: SupervisionTimings
    public internal(set) var services: Services
    var phase: Phase = .supervising
    /// The one-shot child boot waits for, if any.
    public internal(set) var task: Task?
    /// Where boot is; status.json shows it until the app has started.
    public var bootPhase = BootPhase.starting
    public private(set) var lastError: String?
    /// When the stop (a signal or a failure) began: the exit line says how long it took.
    public private(set) var stopBegan: Instant?

    public init(policy: RestartPolicy, timings: SupervisionTimings) {
        self.policy = policy
        self.timings = timings
        services = Services(backoff: timings.backoffInitial)
    }

    public var phaseName: String {
        switch phase {
        case .supervising: "running"
        case .stopping: "stopping"
        case .finished: "stopped"
        }
    }

    public var isStopping: Bool {
        if case .supervising = phase { false } else { true }
    }

    /// status.json's phase: boot's until the app has started, then the supervisor's.
    public var statusPhase: String {
        services.app.state == .notStarted && !isStopping ? bootPhase.rawValue : phaseName
    }

    // MARK: events

    public mutating func started(_ name: ServiceName, pid: pid_t, at now: Instant) {
        if case .waitingToRestart = services[name].state { services[name].restarts += 1 }
        services[name].state = .running(pid: pid, since: now)
        // The status of an earlier run must not become the exit code of a stop
        // in which this run never ends (killed at the deadline, stuck in the kernel).
        services[name].lastStatus = nil
    }

    /// A service could not be started at all (its program is missing, ...).
    public mutating func startFailed(_ name: ServiceName, code: Int32, message: String, at now: Instant) -> [Action] {
        services[name].state = .stopped
        lastError = message
        return [.log(.error, message)] + beginStop(code: code, signal: nil, at: now)
    }

    public mutating func exited(pid: pid_t, status: ExitStatus, at now: Instant) -> [Action] {
        if let task, task.pid == pid { return taskExited(task, status: status) }
        guard let name = services.named(pid: pid), case .running(_, let since) = services[name].state else { return [] }
        if let task { return serviceLostDuringTask(task, name, pid: pid, status: status, at: now) }
        services[name].lastStatus = status
        services[name].state = .stopped
        // Workers the main process left behind must not outlive it, be it
        // into the next run (a port still bound, PostgreSQL's shared memory
        // still attached) or past PID 1's exit.
        let leftovers = Action.killGroup(name, group: pid)
        return [leftovers] + afterExit(name, status: status, since: since, at: now)
    }

    private mutating func afterExit(_ name: ServiceName, status: ExitStatus, since: Instant, at now: Instant) -> [Action] {
        switch phase {
        case .finished:
            return []
        case .stopping(var stop):
            if name == .app && stop.code == nil { stop.code = status.code }
            phase = .stopping(stop)
            // A failed fast shutdown (its checkpoint hit a full disk, ...) leaves a
            // cluster that needs crash recovery: say so, it is not a clean stop.
            // After SIGQUIT or SIGKILL the warning was already given.
            if name == .postgres, !status.succeeded, !stop.quitSent, !stop.killSent {
                return [.log(.warning, "PostgreSQL did not shut down cleanly (\(status)); it will run crash recovery at the next start")]
                    + advanceStop(at: now)
            }
            return advanceStop(at: now)
        case .supervising:
            if name == .schema {
                // One-shot and beside the app: its end, however it ends, changes nothing else.
                return status.succeeded ? [] : [.log(.warning, "schema: MATHESAR_SQL_UPGRADE_COMMAND \(status); the app keeps running (its lines above say why)")]
            }
            if name == .app && !policy.restarts(after: status) {
                let note = Action.log(.info, "app \(status); MATHESAR_RESTART=\(policy.rawValue), stopping")
                return [note] + beginStop(code: status.code, signal: nil, at: now)
            }
            return scheduleRestart(name, status: status, ranFor: now.seconds(since: since), at: now)
        }
    }

    /// A signal PID 1 passes on (SIGHUP, SIGUSR1, ...): to the app's main
    /// process, as Docker and tini do; gunicorn's master handles its workers.
    /// During boot, to the task's main process when it is one of the app's commands.
    public func forward(_ signo: Int32) -> [Action] {
        if let task { return task.forwardsSignals && task.ending == nil ? [.signalTask(signo, .mainProcess)] : [] }
        return services.app.isRunning ? [.signal(.app, signo, .mainProcess)] : []
    }

    public mutating func stopRequested(by signal: Int32, at now: Instant) -> [Action] {
        if let task { return stopTask(task, by: signal, at: now) }
        guard case .supervising = phase else {
            return [.log(.info, "\(Signals.name(signal)) received while stopping; the stop is already under way")]
        }
        // The signal to the app first: the log line can wait, the app should not.
        return beginStop(code: nil, signal: signal, at: now) + [.log(.info, "\(Signals.name(signal)) received, stopping")]
    }

    /// Ends supervision with `code` (crash loop, boot failure), stopping what runs.
    public mutating func fail(code: Int32, message: String, at now: Instant) -> [Action] {
        lastError = message
        guard case .supervising = phase else { return [] }
        return beginStop(code: code, signal: nil, at: now)
    }

    /// Ends supervision normally with `code` (e.g. `migrate` is done), stopping what runs.
    public mutating func finish(code: Int32, at now: Instant) -> [Action] {
        guard case .supervising = phase else { return [] }
        return beginStop(code: code, signal: nil, at: now)
    }

    /// Called when `nextDeadline` has passed.
    public mutating func tick(at now: Instant) -> [Action] {
        if let task { return tickTask(task, at: now) }
        switch phase {
        case .finished:
            return []
        case .supervising:
            var actions: [Action] = []
            for name in ServiceName.allCases {
                if case .waitingToRestart(let at) = services[name].state, at <= now {
                    actions.append(.start(name))
                }
            }
            return actions
        case .stopping(var stop):
            var actions: [Action] = []
            // Compared as instants, exactly as `nextDeadline` computes them: comparing
            // elapsed seconds as doubles can miss a deadline by a rounding error, and
            // then `tick(at: nextDeadline)` does nothing and the caller spins.
            func due(_ offset: Double) -> Bool { now >= stop.began.adding(seconds: offset) }
            let front = ServiceName.front.filter { services[$0].isRunning }
            if due(timings.appDeadline), !front.isEmpty, !stop.appKilled {
                stop.appKilled = true
                for name in front {
                    actions.append(.log(.warning, "\(name.rawValue) did not stop within \(formatDuration(timings.appDeadline)) of SIGTERM; sending SIGKILL"))
                    actions.append(.signal(name, SIGKILL, .processGroup))
                }
            }
            if due(timings.quitAt), services.postgres.isRunning, !stop.quitSent {
                stop.quitSent = true
                actions.append(.log(.warning, "PostgreSQL fast shutdown did not finish in time; sending SIGQUIT (crash recovery at next start)"))
                actions.append(.signal(.postgres, SIGQUIT, .mainProcess))
            }
            if due(timings.stopTimeout), !stop.killSent {
                stop.killSent = true
                for name in ServiceName.allCases where services[name].isRunning {
                    actions.append(.signal(name, SIGKILL, .processGroup))
                }
            }
            phase = .stopping(stop)
            if due(timings.stopTimeout + 1) {
                // A child stuck in the kernel (uninterruptible sleep) must not keep the container up.
                let code = finalCode(stop)
                phase = .finished(code)
                actions.append(.exit(code))
            }
            return actions
        }
    }

    /// When `tick` must be called next; nil means sleep until an event.
    public var nextDeadline: Instant? {
        if let task { return task.deadline(timings) }
        switch phase {
        case .finished:
            return nil
        case .supervising:
            return ServiceName.allCases.compactMap { name -> Instant? in
                if case .waitingToRestart(let at) = services[name].state { return at }
                return nil
            }.min()
        case .stopping(let stop):
            var candidates: [Double] = []
            if ServiceName.front.contains(where: { services[$0].isRunning }) && !stop.appKilled { candidates.append(timings.appDeadline) }
            if services.postgres.isRunning && !stop.quitSent { candidates.append(timings.quitAt) }
            if !stop.killSent { candidates.append(timings.stopTimeout) }
            candidates.append(timings.stopTimeout + 1)
            return stop.began.adding(seconds: candidates.min()!)
        }
    }

    // MARK: rules

    private mutating func scheduleRestart(_ name: ServiceName, status: ExitStatus, ranFor: Double, at now: Instant) -> [Action] {
        var service = services[name]
        if ranFor >= timings.stableAfter {
            service.backoff = timings.backoffInitial
        }
        service.recentExits = service.recentExits.filter { now.seconds(since: $0) < timings.crashLoopWindow } + [now]
        if service.recentExits.count >= timings.crashLoopExits {
            services[name] = service
            let message = "crash loop: \(name.rawValue) exited \(service.recentExits.count) times within \(Int(timings.crashLoopWindow)) s (last: \(status)); giving up"
            lastError = message
            return [.log(.error, message)] + beginStop(code: ExitCode.crashLoop, signal: nil, at: now)
        }
        let delay = service.backoff
        service.backoff = min(service.backoff * 2, timings.backoffMax)
        service.state = .waitingToRestart(at: now.adding(seconds: delay))
        services[name] = service
        return [.log(.warning, "\(name.rawValue) \(status); restarting in \(formatDuration(delay))")]
    }

    private mutating func beginStop(code: Int32?, signal: Int32?, at now: Instant) -> [Action] {
        stopBegan = now
        for name in ServiceName.allCases {
            switch services[name].state {
            case .waitingToRestart, .notStarted: services[name].state = .stopped
            default: break
            }
        }
        phase = .stopping(Stopping(began: now, code: code, signal: signal))
        var actions: [Action] = []
        // The main process only: a master stops its own workers, and a worker
        // must not be cut off in the middle of a request. The SQL upgrade
        // beside the app is stopped the same way (each database's install is
        // one transaction: it rolls back).
        for name in ServiceName.front where services[name].isRunning {
            actions.append(.signal(name, SIGTERM, .mainProcess))
        }
        return actions + advanceStop(at: now)
    }

    /// The app (and the SQL upgrade) first; PostgreSQL once they are gone; exit once all are gone.
    private mutating func advanceStop(at now: Instant) -> [Action] {
        guard case .stopping(var stop) = phase else { return [] }
        var actions: [Action] = []
        if !ServiceName.front.contains(where: { services[$0].isRunning }), services.postgres.isRunning, !stop.databaseSignaled {
            stop.databaseSignaled = true
            actions.append(.signal(.postgres, SIGINT, .mainProcess))
        }
        phase = .stopping(stop)
        if !services.anyRunning {
            let code = finalCode(stop)
            phase = .finished(code)
            actions.append(.exit(code))
        }
        return actions
    }

    private func finalCode(_ stop: Stopping) -> Int32 {
        if let code = stop.code { return code }
        if let last = services.app.lastStatus { return last.code }
        return 128 + (stop.signal ?? SIGTERM)
    }
}
