import Glibc

/// The children PID 1 supervises, in stop order: the app and, beside it,
/// the one-shot upgrade of the Mathesar SQL (`MATHESAR_SQL_UPGRADE_COMMAND`,
/// logged as `schema`), then PostgreSQL, which both need until they are gone.
public enum ServiceName: String, Sendable, CaseIterable {
    case app, schema, postgres

    /// Stopped first, together: SIGTERM to the main process, SIGKILL to the group at the app's deadline.
    static let front: [ServiceName] = [.app, .schema]
}

extension SupervisorMachine {
    public enum ServiceState: Equatable, Sendable {
        case notStarted
        case running(pid: pid_t, since: Instant)
        case waitingToRestart(at: Instant)
        case stopped
    }

    public struct Service: Equatable, Sendable {
        public var state: ServiceState = .notStarted
        public var restarts = 0
        public var lastStatus: ExitStatus?
        var recentExits: [Instant] = []
        var backoff: Double

        public var pid: pid_t? {
            if case .running(let pid, _) = state { pid } else { nil }
        }
        public var isRunning: Bool { pid != nil }
    }

    /// One `Service` for each `ServiceName`: every one is always there.
    public struct Services: Equatable, Sendable {
        public var app: Service
        public var schema: Service
        public var postgres: Service

        init(backoff: Double) {
            app = Service(backoff: backoff)
            schema = Service(backoff: backoff)
            postgres = Service(backoff: backoff)
        }

        public subscript(name: ServiceName) -> Service {
            get {
                switch name {
                case .app: app
                case .schema: schema
                case .postgres: postgres
                }
            }
            set {
                switch name {
                case .app: app = newValue
                case .schema: schema = newValue
                case .postgres: postgres = newValue
                }
            }
        }

        /// The service whose running main process this is.
        public func named(pid: pid_t) -> ServiceName? {
            ServiceName.allCases.first { self[$0].pid == pid }
        }

        public var anyRunning: Bool { ServiceName.allCases.contains { self[$0].isRunning } }
    }
}
