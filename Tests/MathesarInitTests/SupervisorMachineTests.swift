import Glibc
import Testing
@testable import MathesarInit

// The supervisor's decisions with made-up times. Expected values follow
// the documented contract ("PID 1 duties", "Exit status"): backoff 0.5 s
// doubling to 30 s, reset after 60 s of stable running, 5 exits within 60 s is
// a crash loop (exit 75), the app stopped before PostgreSQL.

private let appPID: pid_t = 100
private let postgresPID: pid_t = 200

private func at(_ seconds: Double) -> Instant { Instant(nanoseconds: 1_000_000_000_000).adding(seconds: seconds) }

private func machine(_ policy: RestartPolicy = .onFailure, stopTimeout: Double = 9, postgres: Bool = false, appAt start: Double? = 0) -> SupervisorMachine {
    var m = SupervisorMachine(policy: policy, timings: SupervisionTimings(stopTimeout: stopTimeout))
    if postgres { m.started(.postgres, pid: postgresPID, at: at(0)) }
    if let start { m.started(.app, pid: appPID, at: at(start)) }
    return m
}

/// The actions without log lines and without the clearing of an exited
/// process's group (which follows every exit; tests of its own check it).
private func effects(_ actions: [SupervisorMachine.Action]) -> [SupervisorMachine.Action] {
    actions.filter {
        switch $0 {
        case .log, .killGroup: false
        default: true
        }
    }
}

private func restartDelay(_ m: SupervisorMachine, _ name: ServiceName = .app, exitedAt: Double) -> Double? {
    guard case .waitingToRestart(let when) = m.services[name].state else { return nil }
    return when.seconds(since: at(exitedAt))
}

/// Ticks at each deadline until the machine says to exit; its code.
private func runOutTheClock(_ m: inout SupervisorMachine) -> Int32? {
    for _ in 0..<20 {
        guard let deadline = m.nextDeadline else { return nil }
        for case .exit(let code) in m.tick(at: deadline) { return code }
    }
    return nil  // the deadline never moved on
}

// MARK: idle

@Test func schedulesNoTimerWhileEverythingRuns() {
    var m = SupervisorMachine(policy: .onFailure, timings: SupervisionTimings())
    #expect(m.nextDeadline == nil)
    m.started(.postgres, pid: postgresPID, at: at(0))
    m.started(.app, pid: appPID, at: at(1))
    #expect(m.nextDeadline == nil)
    #expect(m.tick(at: at(1000)).isEmpty)
}

@Test func ignoresTheExitOfAProcessItDoesNotSupervise() {
    var m = machine(postgres: true)
    #expect(m.exited(pid: 4242, status: .exited(1), at: at(5)).isEmpty)
    #expect(m.services[.app].pid == appPID)
    #expect(m.nextDeadline == nil)
}

// MARK: restart policy

struct PolicyCase: Sendable, CustomTestStringConvertible {
    var policy: RestartPolicy
    var status: ExitStatus
    var restarts: Bool
    var testDescription: String { "\(policy.rawValue), app \(status)" }
}

@Test(arguments: [
    PolicyCase(policy: .onFailure, status: .exited(1), restarts: true),
    PolicyCase(policy: .onFailure, status: .signaled(SIGKILL), restarts: true),
    PolicyCase(policy: .onFailure, status: .exited(0), restarts: false),
    PolicyCase(policy: .always, status: .exited(0), restarts: true),
    PolicyCase(policy: .always, status: .exited(2), restarts: true),
    PolicyCase(policy: .never, status: .exited(0), restarts: false),
    PolicyCase(policy: .never, status: .exited(3), restarts: false),
    PolicyCase(policy: .never, status: .signaled(SIGSEGV), restarts: false),
])
func restartsTheAppPerPolicy(_ c: PolicyCase) {
    var m = machine(c.policy)
    let actions = effects(m.exited(pid: appPID, status: c.status, at: at(10)))
    if c.restarts {
        #expect(actions.isEmpty)
        #expect(restartDelay(m, exitedAt: 10) == 0.5)
        #expect(m.nextDeadline == at(10.5))
        #expect(m.tick(at: at(10.4)).isEmpty)
        #expect(m.tick(at: at(10.5)) == [.start(.app)])
    } else {
        // Nothing else runs: the container ends with the app's status.
        #expect(actions == [.exit(c.status.code)])
        #expect(m.nextDeadline == nil)
    }
}

@Test func stopsPostgresBeforeExitingWhenTheAppIsNotRestarted() {
    var m = machine(.never, postgres: true)
    #expect(effects(m.exited(pid: appPID, status: .exited(4), at: at(10))) == [.signal(.postgres, SIGINT, .mainProcess)])
    #expect(effects(m.exited(pid: postgresPID, status: .exited(0), at: at(11))) == [.exit(4)])
}

@Test func countsRestarts() {
    var m = machine(.always)
    _ = m.exited(pid: appPID, status: .exited(0), at: at(10))
    #expect(m.services[.app].restarts == 0)
    #expect(m.tick(at: at(10.5)) == [.start(.app)])
    m.started(.app, pid: appPID + 1, at: at(10.5))
    #expect(m.services[.app].restarts == 1)
    #expect(m.services[.app].pid == appPID + 1)
    #expect(m.nextDeadline == nil)
}

// MARK: backoff

@Test func restartsWithDoublingBackoffCappedAtThirtySeconds() {
    // Each run lasts 50 s: never stable (60 s), never 5 exits within 60 s.
    var m = machine(.always)
    var now = 0.0
    var pid = appPID
    var delays: [Double] = []
    for _ in 0..<9 {
        now += 50
        _ = m.exited(pid: pid, status: .exited(1), at: at(now))
        delays.append(restartDelay(m, exitedAt: now)!)
        now += delays.last!
        #expect(m.tick(at: at(now)) == [.start(.app)])
        pid += 1
        m.started(.app, pid: pid, at: at(now))
    }
    #expect(delays == [0.5, 1, 2, 4, 8, 16, 30, 30, 30])
}

@Test func resetsBackoffAfterSixtySecondsOfStableRunning() {
    var m = machine(.onFailure)
    var pid = appPID
    var now = 0.0
    func crash(after running: Double) -> Double {
        now += running
        _ = m.exited(pid: pid, status: .exited(1), at: at(now))
        let delay = restartDelay(m, exitedAt: now)!
        now += delay
        pid += 1
        m.started(.app, pid: pid, at: at(now))
        return delay
    }
    #expect(crash(after: 1) == 0.5)
    #expect(crash(after: 1) == 1)
    #expect(crash(after: 1) == 2)
    #expect(crash(after: 59.9) == 4)  // not yet stable: keeps doubling
    #expect(crash(after: 60) == 0.5)  // stable: starts over
    #expect(crash(after: 1) == 1)
}

// MARK: crash loop

@Test func endsACrashLoopAfterFiveExitsWithinSixtySeconds() {
    var m = machine(.always)
    var pid = appPID
    var now = 0.0
    for exit in 1...5 {
        now += 0.1
        let actions = m.exited(pid: pid, status: .exited(1), at: at(now))
        if exit < 5 {
            #expect(effects(actions).isEmpty)
            now += restartDelay(m, exitedAt: now)!
            pid += 1
            m.started(.app, pid: pid, at: at(now))
        } else {
            #expect(effects(actions) == [.exit(ExitCode.crashLoop)])
            #expect(actions.contains { if case .log(.error, let text) = $0 { text.contains("crash loop") } else { false } })
        }
    }
    #expect(m.lastError?.contains("crash loop") == true)
    #expect(m.nextDeadline == nil)
}

@Test func stopsPostgresAfterACrashLoopThenExits75() {
    var m = machine(.always, postgres: true)
    var pid = appPID
    var now = 0.0
    var last: [SupervisorMachine.Action] = []
    for _ in 1...5 {
        now += 0.1
        last = effects(m.exited(pid: pid, status: .signaled(SIGSEGV), at: at(now)))
        if case .waitingToRestart(let when) = m.services[.app].state {
            now = when.seconds(since: at(0))
            pid += 1
            m.started(.app, pid: pid, at: at(now))
        }
    }
    #expect(last == [.signal(.postgres, SIGINT, .mainProcess)])
    #expect(effects(m.exited(pid: postgresPID, status: .exited(0), at: at(now + 1))) == [.exit(ExitCode.crashLoop)])
}

@Test func doesNotCountExitsOlderThanSixtySecondsTowardsACrashLoop() {
    var m = machine(.always)
    var pid = appPID
    // Exits at 1, 2.5, 4.5, 7.5 (0.5, 1, 2 s backoff), then one at 61.5: only 4 fall within 60 s of it.
    let runs = [1.0, 1, 1, 1, 50]
    var now = 0.0
    for running in runs {
        now += running
        #expect(effects(m.exited(pid: pid, status: .exited(1), at: at(now))).isEmpty)
        now += restartDelay(m, exitedAt: now)!
        pid += 1
        m.started(.app, pid: pid, at: at(now))
    }
    #expect(m.services[.app].restarts == 5)
}

// MARK: stop

@Test func stopsTheAppFirstAndPostgresOnlyAfterTheAppIsGone() {
    var m = machine(postgres: true)
    #expect(effects(m.stopRequested(by: SIGTERM, at: at(100))) == [.signal(.app, SIGTERM, .mainProcess)])
    #expect(m.isStopping)
    #expect(effects(m.exited(pid: appPID, status: .signaled(SIGTERM), at: at(101))) == [.signal(.postgres, SIGINT, .mainProcess)])
    #expect(effects(m.exited(pid: postgresPID, status: .exited(0), at: at(102))) == [.exit(143)])
    #expect(m.nextDeadline == nil)
}

@Test(arguments: [ExitStatus.exited(0), .exited(3), .signaled(SIGTERM), .signaled(SIGKILL)])
func exitsWithTheAppsStatusWhenStopped(_ status: ExitStatus) {
    var m = machine()
    _ = m.stopRequested(by: SIGINT, at: at(10))
    #expect(effects(m.exited(pid: appPID, status: status, at: at(11))) == [.exit(status.code)])
}

@Test func doesNotRestartAnAppThatExitsDuringTheStop() {
    var m = machine(.always, postgres: true)
    _ = m.stopRequested(by: SIGTERM, at: at(10))
    _ = m.exited(pid: appPID, status: .exited(1), at: at(11))
    #expect(m.services[.app].state == .stopped)
    #expect(!m.tick(at: at(11.5)).contains(.start(.app)))
}

@Test func ignoresASecondStopSignal() {
    var m = machine(postgres: true)
    _ = m.stopRequested(by: SIGTERM, at: at(10))
    #expect(effects(m.stopRequested(by: SIGINT, at: at(11))).isEmpty)
    // The first signal still decides the deadlines.
    #expect(m.nextDeadline == at(10 + m.timings.appDeadline))
}

@Test(arguments: [1.0, 2.5, 9, 30])
func escalatesTheStopOnSchedule(stopTimeout: Double) {
    var m = machine(stopTimeout: stopTimeout, postgres: true)
    let t = m.timings
    #expect(0 < t.appDeadline && t.appDeadline < t.quitAt && t.quitAt < t.stopTimeout)
    let began = 100.0
    #expect(effects(m.stopRequested(by: SIGTERM, at: at(began))) == [.signal(.app, SIGTERM, .mainProcess)])

    // The app ignores SIGTERM: SIGKILL exactly at its deadline, nothing before.
    #expect(m.nextDeadline == at(began + t.appDeadline))
    #expect(effects(m.tick(at: at(began + t.appDeadline - 0.001))).isEmpty)
    #expect(effects(m.tick(at: m.nextDeadline!)) == [.signal(.app, SIGKILL, .processGroup)])

    // PostgreSQL gets its fast shutdown only once the app is gone.
    #expect(effects(m.exited(pid: appPID, status: .signaled(SIGKILL), at: at(began + t.appDeadline + 0.01))) == [.signal(.postgres, SIGINT, .mainProcess)])

    // PostgreSQL does not finish: SIGQUIT at quitAt, SIGKILL at the stop timeout.
    #expect(m.nextDeadline == at(began + t.quitAt))
    #expect(effects(m.tick(at: m.nextDeadline!)) == [.signal(.postgres, SIGQUIT, .mainProcess)])
    #expect(m.nextDeadline == at(began + t.stopTimeout))
    #expect(effects(m.tick(at: m.nextDeadline!)) == [.signal(.postgres, SIGKILL, .processGroup)])

    // Stuck in the kernel: PID 1 exits anyway one second later, with the app's status.
    #expect(m.nextDeadline == at(began + t.stopTimeout + 1))
    #expect(effects(m.tick(at: m.nextDeadline!)) == [.exit(128 + SIGKILL)])
    #expect(m.nextDeadline == nil)
}

@Test func killsEverythingAtTheStopTimeoutAndExitsOneSecondLater() {
    var m = machine(stopTimeout: 9, postgres: true)
    _ = m.stopRequested(by: SIGTERM, at: at(0))
    _ = m.tick(at: at(m.timings.appDeadline))      // SIGKILL to the app, which stays stuck
    _ = m.tick(at: at(m.timings.quitAt))           // SIGQUIT to PostgreSQL, which never got SIGINT
    #expect(effects(m.tick(at: at(9))) == [.signal(.app, SIGKILL, .processGroup), .signal(.postgres, SIGKILL, .processGroup)])
    #expect(effects(m.tick(at: at(9.5))).isEmpty)
    // The app never exited, so its status is unknown: the stop signal decides.
    #expect(effects(m.tick(at: at(10))) == [.exit(128 + SIGTERM)])
}

@Test func reportsAKilledStuckAppByTheStopSignalNotAnEarlierRun() {
    // A status from a run before the restart must not become the exit code
    // of a stop in which the current run never ended.
    var m = machine(.always)
    _ = m.exited(pid: appPID, status: .exited(7), at: at(10))
    m.started(.app, pid: appPID + 1, at: at(10.5))
    _ = m.stopRequested(by: SIGTERM, at: at(20))
    #expect(runOutTheClock(&m) == 128 + SIGTERM)
}

@Test func cancelsARestartDuringBackoffAndExitsAtOnceWithTheAppsLastStatus() {
    var m = machine(.onFailure)
    _ = m.exited(pid: appPID, status: .exited(3), at: at(10))
    #expect(m.nextDeadline == at(10.5))
    #expect(effects(m.stopRequested(by: SIGTERM, at: at(10.2))) == [.exit(3)])
    #expect(m.nextDeadline == nil)
    #expect(m.tick(at: at(10.5)).isEmpty)
}

@Test func cancelsARestartDuringBackoffAndStopsPostgres() {
    var m = machine(.onFailure, postgres: true)
    _ = m.exited(pid: appPID, status: .signaled(SIGSEGV), at: at(10))
    #expect(effects(m.stopRequested(by: SIGTERM, at: at(10.2))) == [.signal(.postgres, SIGINT, .mainProcess)])
    #expect(!m.tick(at: at(10.5)).contains(.start(.app)))
    #expect(effects(m.exited(pid: postgresPID, status: .exited(0), at: at(11))) == [.exit(128 + SIGSEGV)])
}

@Test(arguments: [SIGTERM, SIGINT, SIGQUIT])
func exits128PlusTheSignalWhenStoppedBeforeTheAppStarted(_ signal: Int32) {
    var m = machine(appAt: nil)
    #expect(effects(m.stopRequested(by: signal, at: at(1))) == [.exit(128 + signal)])
}

@Test func stopsBootsPostgresWhenStoppedBeforeTheAppStarted() {
    var m = machine(postgres: true, appAt: nil)
    #expect(effects(m.stopRequested(by: SIGINT, at: at(1))) == [.signal(.postgres, SIGINT, .mainProcess)])
    #expect(effects(m.exited(pid: postgresPID, status: .exited(0), at: at(2))) == [.exit(130)])
}

@Test func keepsAFailureCodeWhateverTheAppExitsWith() {
    var m = machine(postgres: true)
    #expect(effects(m.fail(code: ExitCode.migrationFailed, message: "schema upgrade failed", at: at(5))) == [.signal(.app, SIGTERM, .mainProcess)])
    _ = m.exited(pid: appPID, status: .exited(0), at: at(6))
    #expect(effects(m.exited(pid: postgresPID, status: .exited(0), at: at(7))) == [.exit(ExitCode.migrationFailed)])
    #expect(m.lastError == "schema upgrade failed")
}

@Test func exitsWithTheStartFailureCodeWhenTheAppCannotBeStarted() {
    var m = machine(.always)
    _ = m.exited(pid: appPID, status: .exited(1), at: at(1))
    #expect(m.tick(at: at(1.5)) == [.start(.app)])
    #expect(effects(m.startFailed(.app, code: ExitCode.commandNotFound, message: "gunicorn: command not found", at: at(1.5))) == [.exit(127)])
}

// MARK: PostgreSQL

@Test func restartsPostgresWithBackoffAfterAnUnexpectedExit() {
    var m = machine(.never, postgres: true)
    #expect(effects(m.exited(pid: postgresPID, status: .signaled(SIGKILL), at: at(10))).isEmpty)
    #expect(m.services[.app].pid == appPID)  // the app keeps running
    #expect(restartDelay(m, .postgres, exitedAt: 10) == 0.5)
    #expect(m.nextDeadline == at(10.5))
    #expect(m.tick(at: at(10.5)) == [.start(.postgres)])
    m.started(.postgres, pid: postgresPID + 1, at: at(10.5))
    #expect(m.services[.postgres].restarts == 1)
    #expect(effects(m.exited(pid: postgresPID + 1, status: .exited(1), at: at(11))).isEmpty)
    #expect(restartDelay(m, .postgres, exitedAt: 11) == 1)
}

@Test func endsAPostgresCrashLoopByStoppingTheApp() {
    var m = machine(.always, postgres: true)
    var pid = postgresPID
    var now = 0.0
    var last: [SupervisorMachine.Action] = []
    for _ in 1...5 {
        now += 0.1
        last = effects(m.exited(pid: pid, status: .exited(1), at: at(now)))
        if case .waitingToRestart(let when) = m.services[.postgres].state {
            now = when.seconds(since: at(0))
            pid += 1
            m.started(.postgres, pid: pid, at: at(now))
        }
    }
    #expect(last == [.signal(.app, SIGTERM, .mainProcess)])
    #expect(effects(m.exited(pid: appPID, status: .signaled(SIGTERM), at: at(now + 1))) == [.exit(ExitCode.crashLoop)])
}

// MARK: signal targets (the app's main process, its group only at a deadline)

@Test func sendsTheStopSignalToTheAppsMainProcessOnlySoThatAMasterStopsItsOwnWorkers() {
    var m = machine(postgres: true)
    #expect(effects(m.stopRequested(by: SIGQUIT, at: at(1))) == [.signal(.app, SIGTERM, .mainProcess)])
}

@Test func killsTheAppsWholeProcessGroupAtItsDeadline() {
    var m = machine(postgres: true)
    _ = m.stopRequested(by: SIGTERM, at: at(0))
    #expect(effects(m.tick(at: at(m.timings.appDeadline))) == [.signal(.app, SIGKILL, .processGroup)])
}

@Test(arguments: Signals.forwarded)
func forwardsSignalsToTheAppsMainProcessNotItsGroup(_ signo: Int32) {
    let m = machine(postgres: true)
    #expect(m.forward(signo) == [.signal(.app, signo, .mainProcess)])
}

@Test func forwardsNothingWhileTheAppIsNotRunning() {
    var m = machine(.always, postgres: true)
    _ = m.exited(pid: appPID, status: .exited(1), at: at(1))
    #expect(m.forward(SIGHUP).isEmpty)
}

@Test func givesPostgresItsShutdownSignalsOnTheMainProcessAndSIGKILLOnTheGroup() {
    var m = machine(postgres: true, appAt: nil)
    #expect(effects(m.stopRequested(by: SIGTERM, at: at(0))) == [.signal(.postgres, SIGINT, .mainProcess)])
    #expect(effects(m.tick(at: at(m.timings.quitAt))) == [.signal(.postgres, SIGQUIT, .mainProcess)])
    #expect(effects(m.tick(at: at(m.timings.stopTimeout))) == [.signal(.postgres, SIGKILL, .processGroup)])
}

@Test func killsWhatIsLeftOfTheAppsGroupBeforeItIsRestarted() {
    var m = machine(.always)
    let actions = m.exited(pid: appPID, status: .exited(1), at: at(10))
    #expect(actions.first == .killGroup(.app, group: appPID))
    // The restart comes at a later tick, after the group was cleared.
    #expect(m.tick(at: at(10.5)) == [.start(.app)])
}

@Test func killsWhatIsLeftOfTheAppsGroupBeforeExiting() {
    var m = machine(.never)
    let actions = m.exited(pid: appPID, status: .exited(0), at: at(10)).filter { if case .log = $0 { false } else { true } }
    #expect(actions == [.killGroup(.app, group: appPID), .exit(0)])
}

@Test func killsWhatIsLeftOfTheAppsGroupWhenItExitsDuringTheStopBeforePostgresIsSignaled() {
    var m = machine(postgres: true)
    _ = m.stopRequested(by: SIGTERM, at: at(0))
    let actions = m.exited(pid: appPID, status: .exited(0), at: at(1)).filter { if case .log = $0 { false } else { true } }
    #expect(actions == [.killGroup(.app, group: appPID), .signal(.postgres, SIGINT, .mainProcess)])
}

@Test func killsWhatIsLeftOfPostgresGroupBeforeItIsRestarted() {
    // Backends of a dead postmaster still hold its shared memory: a new one would refuse to start.
    var m = machine(postgres: true)
    #expect(m.exited(pid: postgresPID, status: .signaled(SIGKILL), at: at(5)).first == .killGroup(.postgres, group: postgresPID))
}

@Test func killsWhatIsLeftOfTheGroupOfAServiceLostDuringBoot() {
    var m = machine(postgres: true, appAt: nil)
    m.taskStarted(pid: 4242, source: "mathesar-init", forwardsSignals: false)
    let lost = m.exited(pid: postgresPID, status: .exited(1), at: at(5))
    #expect(lost.first == .killGroup(.postgres, group: postgresPID))
    #expect(m.services[.postgres].state == .stopped)
}

// MARK: the Mathesar SQL upgrade beside the app (the one-shot `schema` service)

private let schemaPID: pid_t = 300

private func machineWithSQLUpgrade(_ policy: RestartPolicy = .onFailure) -> SupervisorMachine {
    var m = machine(policy, postgres: true)
    m.started(.schema, pid: schemaPID, at: at(0))
    return m
}

@Test func neverRestartsTheSQLUpgradeWhateverItsStatus() {
    for status in [ExitStatus.exited(0), .exited(1), .signaled(SIGSEGV)] {
        var m = machineWithSQLUpgrade(.always)
        _ = m.exited(pid: schemaPID, status: status, at: at(5))
        #expect(m.services[.schema].state == .stopped)
        #expect(m.nextDeadline == nil)
        #expect(m.tick(at: at(100)).isEmpty)
    }
}

@Test func aSQLUpgradeThatSucceedsChangesNothingElse() {
    var m = machineWithSQLUpgrade()
    #expect(m.exited(pid: schemaPID, status: .exited(0), at: at(5)) == [.killGroup(.schema, group: schemaPID)])
    #expect(m.services[.app].pid == appPID && m.services[.postgres].pid == postgresPID)
}

@Test func aFailedSQLUpgradeIsAWarningAndTheAppKeepsRunning() {
    var m = machineWithSQLUpgrade()
    let actions = m.exited(pid: schemaPID, status: .exited(1), at: at(5))
    #expect(effects(actions).isEmpty)
    #expect(actions.contains { if case .log(.warning, let text) = $0 { text.contains("MATHESAR_SQL_UPGRADE_COMMAND exited with status 1") && text.contains("app keeps running") } else { false } })
    #expect(!m.isStopping)
    #expect(m.services[.app].isRunning)
}

@Test func aFailedSQLUpgradeDoesNotCountTowardsACrashLoop() {
    var m = machineWithSQLUpgrade()
    _ = m.exited(pid: schemaPID, status: .exited(1), at: at(5))
    #expect(m.services[.schema].recentExits.isEmpty)
    #expect(m.lastError == nil)
}

@Test func stopsTheSQLUpgradeLikeTheAppAndPostgresOnlyOnceBothAreGone() {
    var m = machineWithSQLUpgrade()
    #expect(effects(m.stopRequested(by: SIGTERM, at: at(10))) == [.signal(.app, SIGTERM, .mainProcess), .signal(.schema, SIGTERM, .mainProcess)])
    #expect(effects(m.exited(pid: appPID, status: .signaled(SIGTERM), at: at(11))).isEmpty)  // the upgrade still runs
    #expect(m.exited(pid: schemaPID, status: .signaled(SIGTERM), at: at(12))
        == [.killGroup(.schema, group: schemaPID), .signal(.postgres, SIGINT, .mainProcess)])
    #expect(effects(m.exited(pid: postgresPID, status: .exited(0), at: at(13))) == [.exit(143)])
}

@Test func killsTheSQLUpgradesGroupAtTheAppsDeadline() {
    var m = machineWithSQLUpgrade()
    _ = m.stopRequested(by: SIGTERM, at: at(0))
    _ = m.exited(pid: appPID, status: .exited(0), at: at(1))
    #expect(m.nextDeadline == at(m.timings.appDeadline))
    #expect(effects(m.tick(at: at(m.timings.appDeadline))) == [.signal(.schema, SIGKILL, .processGroup)])
    #expect(effects(m.exited(pid: schemaPID, status: .signaled(SIGKILL), at: at(m.timings.appDeadline + 0.01))) == [.signal(.postgres, SIGINT, .mainProcess)])
}

@Test func theSQLUpgradesStatusNeverBecomesTheExitCode() {
    var m = machineWithSQLUpgrade()
    _ = m.stopRequested(by: SIGTERM, at: at(0))
    _ = m.exited(pid: schemaPID, status: .exited(9), at: at(1))
    _ = m.exited(pid: appPID, status: .exited(0), at: at(2))
    #expect(effects(m.exited(pid: postgresPID, status: .exited(0), at: at(3))) == [.exit(0)])
}

@Test func stopsTheSQLUpgradeWhenTheAppEndsForGood() {
    var m = machineWithSQLUpgrade(.never)
    #expect(effects(m.exited(pid: appPID, status: .exited(3), at: at(5))) == [.signal(.schema, SIGTERM, .mainProcess)])
    #expect(effects(m.exited(pid: schemaPID, status: .signaled(SIGTERM), at: at(6))) == [.signal(.postgres, SIGINT, .mainProcess)])
    #expect(effects(m.exited(pid: postgresPID, status: .exited(0), at: at(7))) == [.exit(3)])
}

@Test func aSQLUpgradeFinishedBeforeTheStopIsNotSignaled() {
    var m = machineWithSQLUpgrade()
    _ = m.exited(pid: schemaPID, status: .exited(0), at: at(5))
    #expect(effects(m.stopRequested(by: SIGTERM, at: at(10))) == [.signal(.app, SIGTERM, .mainProcess)])
}
