/// `MATHESAR_RESTART`: when the app is started again after it exits.
public enum RestartPolicy: String, Sendable, CaseIterable {
    case onFailure = "on-failure"
    case always
    case never

    public func restarts(after status: ExitStatus) -> Bool {
        switch self {
        case .always: true
        case .never: false
        case .onFailure: !status.succeeded
        }
    }
}

/// The restart and shutdown timings. Defaults follow the contract: backoff
/// 0.5 s doubling to 30 s, reset after 60 s of stable running; 5 exits within
/// 60 s is a crash loop.
public struct SupervisionTimings: Sendable, Equatable {
    public var backoffInitial: Double = 0.5
    public var backoffMax: Double = 30
    public var stableAfter: Double = 60
    public var crashLoopExits: Int = 5
    public var crashLoopWindow: Double = 60
    /// `MATHESAR_STOP_TIMEOUT`: the whole shutdown.
    public var stopTimeout: Double = 9

    public init(stopTimeout: Double = 9) { self.stopTimeout = stopTimeout }

    /// How the shutdown budget is split. The app gets the first part (SIGKILL
    /// at its end); PostgreSQL's fast shutdown gets what the app leaves, at
    /// least `databaseReserve`; SIGQUIT comes only in the last moment, so that
    /// a stop that fits the budget never needs crash recovery.
    public var appDeadline: Double { max(stopTimeout - databaseReserve, stopTimeout / 2) }
    public var databaseReserve: Double { min(3, max(0.5, stopTimeout * 0.3)) }
    public var quitAt: Double { stopTimeout - min(0.5, stopTimeout * 0.1) }
}
