import Glibc

/// A point on the monotonic clock, in nanoseconds. Plain integers keep the
/// supervisor's state machine testable with made-up times.
public struct Instant: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public static func now() -> Instant {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Instant(nanoseconds: Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec))
    }

    public static func < (a: Instant, b: Instant) -> Bool { a.nanoseconds < b.nanoseconds }

    public func adding(seconds: Double) -> Instant {
        Instant(nanoseconds: nanoseconds + Int64(seconds * 1_000_000_000))
    }

    public func adding(milliseconds: Int64) -> Instant {
        Instant(nanoseconds: nanoseconds + milliseconds * 1_000_000)
    }

    /// Seconds from `earlier` to self.
    public func seconds(since earlier: Instant) -> Double {
        Double(nanoseconds - earlier.nanoseconds) / 1_000_000_000
    }

    public func milliseconds(since earlier: Instant) -> Int64 {
        (nanoseconds - earlier.nanoseconds) / 1_000_000
    }

    public var description: String { "\(Double(nanoseconds) / 1e9)s" }
}

/// Human durations for log lines: "840 ms", "2 s", "1.25 s".
public func formatDuration(_ seconds: Double) -> String {
    let milliseconds = Int((seconds * 1000).rounded())
    if milliseconds < 1000 { return "\(milliseconds) ms" }
    let hundredths = Int((seconds * 100).rounded())
    var fraction = hundredths % 100 == 0 ? "" : "." + (hundredths % 100 < 10 ? "0" : "") + String(hundredths % 100)
    while fraction.hasSuffix("0") { fraction.removeLast() }
    return "\(hundredths / 100)\(fraction) s"
}
