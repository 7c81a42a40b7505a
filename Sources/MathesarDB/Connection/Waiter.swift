import Glibc
import MathesarInit
import PostgresClient

/// Waits for a server with `PQping`: a short backoff (5 ms, doubling up to a
/// cap), never a `sleep 1` loop, with a progress line every few seconds.
struct Waiter {
    var initialDelay = 0.005
    var maxDelay: Double
    var progressEvery = 5.0
    /// When the first progress line comes; `progressEvery` when nil.
    var firstProgress: Double? = nil

    enum Outcome: Equatable {
        case ready
        case timedOut(last: PingResult)
        case invalidParameters
    }

    /// `timeout` nil waits without end (the bundled server, watched by PID 1).
    func wait(for parameters: ConnectionParameters, timeout: Double?, progress: (PingResult, Double) -> Void) -> Outcome {
        let start = Instant.now()
        var delay = initialDelay
        var nextProgress = firstProgress ?? progressEvery
        while true {
            let result = PostgresConnection.ping(parameters)
            switch result {
            case .ready: return .ready
            case .invalidParameters: return .invalidParameters
            case .rejecting, .noResponse: break
            }
            let elapsed = Instant.now().seconds(since: start)
            if let timeout, elapsed >= timeout { return .timedOut(last: result) }
            if elapsed >= nextProgress {
                progress(result, elapsed)
                nextProgress = (elapsed / progressEvery).rounded(.down) * progressEvery + progressEvery
            }
            var pause = delay
            if let timeout { pause = min(pause, max(0.001, timeout - elapsed)) }
            Waiter.pause(pause)
            delay = min(delay * 2, maxDelay)
        }
    }

    static func pause(_ seconds: Double) {
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}
