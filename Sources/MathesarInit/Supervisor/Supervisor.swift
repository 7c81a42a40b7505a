import Glibc

/// Performs what `SupervisorMachine` decides, with the `Runtime`'s processes
/// and signals, in one loop. Boot runs its one-shot steps through `runTask`,
/// so signals and child exits are decided by the machine before the app
/// starts as after.
public final class Supervisor: TaskRunner {
    public let runtime: Runtime
    public private(set) var machine: SupervisorMachine
    private var launchers: [ServiceName: () throws(Failure) -> ProcessSpec] = [:]
    private var status: StatusFile?
    private var statusBroken = false
    /// Shown in status.json before the app runs, and in the line of a stop during boot.
    public var bootPhase: BootPhase {
        get { machine.bootPhase }
        set { machine.bootPhase = newValue; writeStatus() }
    }
    public let mode: String
    /// The Mathesar SQL upgrade, once one was started (shown in status.json).
    public private(set) var sqlRun: SQLUpgradeRun?

    public var logger: Logger { runtime.logger }

    public init(runtime: Runtime, policy: RestartPolicy, timings: SupervisionTimings, mode: String) {
        self.runtime = runtime
        self.machine = SupervisorMachine(policy: policy, timings: timings)
        self.mode = mode
    }

    /// From now on, every change is written to status.json (once the run directory exists).
    public func attachStatusFile(_ file: StatusFile) {
        status = file
        writeStatus()
    }

    /// How to (re)start a service; called at its first start and every restart.
    public func setLauncher(_ name: ServiceName, _ make: @escaping () throws(Failure) -> ProcessSpec) {
        launchers[name] = make
    }

    public func pid(of name: ServiceName) -> pid_t? { machine.services[name].pid }

    /// Starts a service now (during boot).
    @discardableResult
    public func start(_ name: ServiceName) throws(Failure) -> pid_t {
        guard let make = launchers[name] else { throw Failure(ExitCode.internalError, "no launcher for \(name.rawValue)") }
        let pid = try runtime.spawn(try make())
        machine.started(name, pid: pid, at: .now())
        writeStatus()
        return pid
    }

    // MARK: the Mathesar SQL upgrade

    /// From now on, `source`'s stdout lines go to `run`: protocol lines become
    /// log lines of PID 1's own; the others are logged as the command's. With
    /// `readable` (`schema ...` for a person), stdout holds only the results,
    /// one readable line each, and the log goes to stderr.
    public func attach(_ run: SQLUpgradeRun, source: String, readable: Bool = false) {
        sqlRun = run
        runtime.setLineHandler(source: source) { [unowned self] line, fromStderr in
            guard !fromStderr else { return false }
            guard let handled = run.consume(line) else {
                guard readable else { return false }
                logger.child(source: source, line: line, fromStderr: true)
                return true
            }
            if let (level, message) = handled.log { log(level, message) }
            if readable { runtime.output.write(Array((handled.readable + "\n").utf8), toStderr: false) }
            writeStatus()
            return true
        }
        writeStatus()
    }

    /// The SQL upgrade has ended (`stopped`: by a stop): its summary, and status.json.
    public func finishSQLUpgrade(_ status: ExitStatus, stopped: Bool? = nil) {
        guard let run = sqlRun, run.state == .running else { return }
        let (level, text) = run.finish(status, stopping: stopped ?? machine.isStopping)
        log(level, text)
        writeStatus()
        sqlUpgradeFinished?(status, run.failedCount)
    }

    /// Called once the SQL upgrade has ended, with its status and how many databases failed.
    public var sqlUpgradeFinished: ((ExitStatus, Int) -> Void)?

    private func log(_ level: LogLevel, _ message: String) {
        switch level {
        case .error: logger.error(message)
        case .warning: logger.warning(message)
        default: logger.info(message)
        }
    }

    // MARK: boot

    /// Runs a one-shot child (initdb, the database helper, the migrate command)
    /// to its end, in the one loop: the machine decides what a stop signal,
    /// a forwarded signal (to its main process when `forwardSignals`) or the
    /// exit of a service means for it (see SupervisorMachine+Task.swift).
    /// A service that exits meanwhile interrupts boot with `serviceLost`'s failure.
    @discardableResult
    public func runTask(_ spec: ProcessSpec, forwardSignals: Bool = false,
                        serviceLost: (ServiceName, ExitStatus, [String]) -> Failure = Supervisor.serviceLostDuringBoot) throws(Interruption) -> TaskResult {
        let pid: pid_t
        do {
            pid = try runtime.spawn(spec)
        } catch {
            throw .failure(error)
        }
        machine.taskStarted(pid: pid, source: spec.source, forwardsSignals: forwardSignals)
        switch loop() {
        case .task(.finished(let status)):
            return TaskResult(status: status, lines: runtime.recentLines(of: pid))
        case .task(.interrupted(.stop(let signo))):
            throw .stop(signal: signo)
        case .task(.interrupted(.serviceLost(let name, let status, let lost))):
            throw .failure(serviceLost(name, status, runtime.recentLines(of: lost)))
        case .exit(let code):
            // Only a stop exits, and a stop during a task ends the task first.
            throw .failure(Failure(ExitCode.internalError, "supervision ended (\(code)) while \(spec.source) ran"))
        }
    }

    /// A one-shot task of boot, as the postgres code runs it.
    public func run(_ spec: ProcessSpec) throws(Interruption) -> TaskResult { try runTask(spec) }

    public var liveChildren: [pid_t] { runtime.liveChildren }

    public static func serviceLostDuringBoot(_ name: ServiceName, _ status: ExitStatus, _ lines: [String]) -> Failure {
        let tail = lines.isEmpty ? "" : "; its last lines:\n  " + lines.suffix(10).joined(separator: "\n  ")
        return Failure(ExitCode.databaseUnavailable, "\(name.rawValue) \(status) during boot\(tail)")
    }

    /// Stops whatever boot started, in order, and returns the exit code.
    public func shutdown(after interruption: Interruption) -> Int32 {
        let now = Instant.now()
        let actions: [SupervisorMachine.Action]
        switch interruption {
        case .stop(let signo):
            actions = machine.stopRequested(by: signo, at: now)
        case .failure(let failure):
            logger.error(failure.message)
            actions = machine.fail(code: failure.code, message: failure.message, at: now)
        }
        if case .exit(let code)? = perform(actions) { return finish(code) }
        return loopToExit()
    }

    /// Stops whatever runs, in order, and returns `code` (boot's work is done).
    public func stopAll(code: Int32) -> Int32 {
        if case .exit(let exit)? = perform(machine.finish(code: code, at: .now())) { return finish(exit) }
        return loopToExit()
    }

    // MARK: supervision

    /// Supervises until the machine decides to exit; returns the exit code.
    public func supervise() -> Int32 {
        writeStatus()
        runtime.releaseBootMemory()
        return loopToExit()
    }

    /// What ends a wait in the loop.
    enum LoopEnd {
        /// The machine says PID 1 exits with this code.
        case exit(Int32)
        /// The task boot waits for has ended.
        case task(SupervisorMachine.TaskOutcome)
    }

    /// The one event loop, for boot's tasks and for supervision: events go to
    /// the machine, its actions are performed, until one ends the wait.
    private func loop() -> LoopEnd {
        while true {
            let events = runtime.waitForEvents(until: machine.nextDeadline)
            var actions: [SupervisorMachine.Action] = []
            for event in events {
                let now = Instant.now()
                switch event {
                case .exited(let pid, let status):
                    if pid == machine.services.schema.pid { finishSQLUpgrade(status) }
                    actions += machine.exited(pid: pid, status: status, at: now)
                case .signal(let signo, _) where Signals.isStop(signo):
                    actions += machine.stopRequested(by: signo, at: now)
                case .signal(let signo, _) where Signals.isForwarded(signo):
                    actions += machine.forward(signo)
                case .signal:
                    continue
                }
            }
            if let deadline = machine.nextDeadline, deadline <= Instant.now() {
                actions += machine.tick(at: .now())
            }
            if let end = perform(actions) { return end }
            writeStatus()
        }
    }

    /// Supervises to the machine's exit; the exit code.
    private func loopToExit() -> Int32 {
        while true {
            if case .exit(let code) = loop() { return finish(code) }
        }
    }

    /// Performs actions; returns what ends the wait, if one does.
    private func perform(_ actions: [SupervisorMachine.Action]) -> LoopEnd? {
        var pending = actions[...]
        while let action = pending.popFirst() {
            switch action {
            case .log(let level, let message):
                log(level, message)
            case .start(let name):
                do {
                    try start(name)
                    if machine.services[name].restarts > 0 {
                        logger.info("\(name.rawValue) restarted (restart \(machine.services[name].restarts))")
                    }
                } catch {
                    pending += machine.startFailed(name, code: error.code, message: error.message, at: .now())
                }
            case .signal(let name, let signo, let target):
                guard let pid = machine.services[name].pid else { continue }
                runtime.signal(pid, signo, group: target == .processGroup)
            case .signalTask(let signo, let target):
                guard let pid = machine.task?.pid else { continue }
                runtime.signal(pid, signo, group: target == .processGroup)
            case .killGroup(_, let group):
                runtime.killGroup(group)
            case .endTask(let outcome, let group):
                runtime.killGroup(group)
                return .task(outcome)
            case .exit(let code):
                return .exit(code)
            }
        }
        return nil
    }

    private func finish(_ code: Int32) -> Int32 {
        writeStatus(phase: "stopped")
        return code
    }

    // MARK: status.json

    public func writeStatus(phase: String? = nil) {
        guard let status, !statusBroken else { return }
        let snapshot = StatusFile.Snapshot(
            phase: phase ?? machine.statusPhase,
            mode: mode,
            services: ServiceName.allCases.map { name in
                let service = machine.services[name]
                let state: String
                switch service.state {
                case .notStarted: state = "not-started"
                case .running: state = "running"
                case .waitingToRestart: state = "restarting"
                case .stopped: state = "stopped"
                }
                return (name.rawValue, service.pid, state, service.restarts)
            },
            lastError: machine.lastError,
            sql: sqlRun?.json)
        if !status.write(snapshot) {
            statusBroken = true
            logger.warning("cannot write \(status.path); healthcheck will report unhealthy")
        }
    }
}
