import Glibc
import Testing
@testable import MathesarInit

// Boot's one-shot tasks (initdb, the database helper, the migrate command) as
// the machine decides for them, with made-up times: a stop signal or a lost
// service stops the task as the app is stopped (SIGTERM to its main process,
// SIGKILL to its group at the app's deadline), and boot ends once it has exited.

private let taskPID: pid_t = 300
private let postgresPID: pid_t = 200

private func at(_ seconds: Double) -> Instant { Instant(nanoseconds: 1_000_000_000_000).adding(seconds: seconds) }

/// A machine during boot: PostgreSQL running (optionally), a task started at 0.
private func booting(stopTimeout: Double = 9, postgres: Bool = true, forwards: Bool = false) -> SupervisorMachine {
    var m = SupervisorMachine(policy: .onFailure, timings: SupervisionTimings(stopTimeout: stopTimeout))
    m.bootPhase = .database
    if postgres { m.started(.postgres, pid: postgresPID, at: at(0)) }
    m.taskStarted(pid: taskPID, source: "initdb", forwardsSignals: forwards)
    return m
}

private func withoutLogs(_ actions: [SupervisorMachine.Action]) -> [SupervisorMachine.Action] {
    actions.filter { if case .log = $0 { false } else { true } }
}

@Test func aTaskThatEndsByItselfHandsBootItsStatusAndItsGroupIsCleared() {
    var m = booting()
    #expect(m.nextDeadline == nil)  // no timer while it runs
    #expect(m.exited(pid: taskPID, status: .exited(3), at: at(2)) == [.endTask(.finished(.exited(3)), group: taskPID)])
    #expect(m.task == nil)
    #expect(m.services.postgres.isRunning)
}

@Test func aStopDuringATaskSendsSIGTERMToItsMainProcessAndSaysWhere() {
    var m = booting()
    let actions = m.stopRequested(by: SIGTERM, at: at(1))
    #expect(actions == [.log(.info, "SIGTERM received during boot (database); stopping initdb"), .signalTask(SIGTERM, .mainProcess)])
    // Boot is not stopping yet: the task's exit comes first, then boot's own stop.
    #expect(!m.isStopping)
    #expect(m.exited(pid: taskPID, status: .signaled(SIGTERM), at: at(1.5)) == [.endTask(.interrupted(.stop(signal: SIGTERM)), group: taskPID)])
}

@Test func aTaskThatIgnoresSIGTERMIsKilledAsAGroupAtTheAppsDeadline() {
    var m = booting(stopTimeout: 9)
    _ = m.stopRequested(by: SIGINT, at: at(1))
    let deadline = at(1).adding(seconds: m.timings.appDeadline)
    #expect(m.nextDeadline == deadline)
    #expect(m.tick(at: at(2)).isEmpty)
    let actions = m.tick(at: deadline)
    #expect(withoutLogs(actions) == [.signalTask(SIGKILL, .processGroup)])
    #expect(actions.contains(.log(.warning, "initdb did not stop within 6.3 s of SIGTERM; sending SIGKILL")))
    #expect(m.exited(pid: taskPID, status: .signaled(SIGKILL), at: deadline.adding(seconds: 0.1)) == [.endTask(.interrupted(.stop(signal: SIGINT)), group: taskPID)])
}

@Test func aTaskStuckAfterSIGKILLIsGivenUpOneSecondLater() {
    var m = booting()
    _ = m.stopRequested(by: SIGTERM, at: at(0))
    let killedAt = m.nextDeadline!
    _ = m.tick(at: killedAt)
    #expect(m.nextDeadline == killedAt.adding(seconds: 1))
    #expect(m.tick(at: killedAt.adding(seconds: 1)) == [.endTask(.interrupted(.stop(signal: SIGTERM)), group: taskPID)])
    #expect(m.task == nil)
}

@Test func aSecondStopSignalDuringATasksStopChangesNothing() {
    var m = booting()
    _ = m.stopRequested(by: SIGTERM, at: at(1))
    let deadline = m.nextDeadline
    #expect(m.stopRequested(by: SIGINT, at: at(2)).isEmpty)
    #expect(m.nextDeadline == deadline)
}

@Test func forwardedSignalsReachOnlyATaskOfTheAppsCommands() {
    #expect(booting(forwards: true).forward(SIGHUP) == [.signalTask(SIGHUP, .mainProcess)])
    #expect(booting(forwards: false).forward(SIGHUP).isEmpty)
    var stopping = booting(forwards: true)
    _ = stopping.stopRequested(by: SIGTERM, at: at(1))
    #expect(stopping.forward(SIGUSR1).isEmpty)
}

@Test func aServiceLostDuringATaskIsNotRestartedAndStopsTheTask() {
    var m = booting()
    let actions = m.exited(pid: postgresPID, status: .exited(1), at: at(3))
    #expect(actions == [.killGroup(.postgres, group: postgresPID), .signalTask(SIGTERM, .mainProcess)])
    #expect(m.services.postgres.state == .stopped)
    #expect(m.services.postgres.lastStatus == .exited(1))
    #expect(m.exited(pid: taskPID, status: .exited(0), at: at(3.2))
            == [.endTask(.interrupted(.serviceLost(.postgres, .exited(1), pid: postgresPID)), group: taskPID)])
}

@Test func statusShowsTheBootPhaseUntilTheAppHasStarted() {
    var m = booting()
    #expect(m.statusPhase == "database")
    _ = m.exited(pid: taskPID, status: .exited(0), at: at(1))
    m.bootPhase = .app
    m.started(.app, pid: 100, at: at(2))
    #expect(m.statusPhase == "running")
}

@Test func aStopAfterTheTaskEndedIsTheSupervisorsStop() {
    var m = booting()
    _ = m.exited(pid: taskPID, status: .exited(0), at: at(1))
    // No task: PostgreSQL gets SIGINT at once (nothing runs in front of it).
    #expect(withoutLogs(m.stopRequested(by: SIGTERM, at: at(2))) == [.signal(.postgres, SIGINT, .mainProcess)])
    #expect(m.isStopping)
}
