import Glibc

/// The CPUs the container may use, for gunicorn's worker count
/// (`WEB_CONCURRENCY` = 2 x CPUs + 1, as Mathesar's documentation advises).
/// A container limited with `--cpus` still sees every host CPU in
/// `sysconf`; its cgroup says what it may actually use, so that comes first.
public struct CPUCount: Equatable, Sendable {
    public var count: Int
    /// Where the number came from, for `config`.
    public var origin: String

    public var webConcurrency: Int { 2 * count + 1 }

    public static let cgroupV2File = "/sys/fs/cgroup/cpu.max"
    public static let cgroupV1Quota = "/sys/fs/cgroup/cpu/cpu.cfs_quota_us"
    public static let cgroupV1Period = "/sys/fs/cgroup/cpu/cpu.cfs_period_us"

    /// CPUs allowed by cgroup v2's `cpu.max` ("QUOTA PERIOD" or "max PERIOD"),
    /// rounded up; nil when unlimited or unreadable.
    public static func fromCPUMax(_ text: String) -> Int? {
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" })
        guard let first = fields.first, first != "max" else { return nil }
        let period = fields.count > 1 ? Int(fields[1]) : 100_000
        return fromQuota(Int(first), period: period)
    }

    /// cgroup v1: `cpu.cfs_quota_us` (-1 when unlimited) over `cpu.cfs_period_us`, rounded up.
    public static func fromQuota(_ quota: Int?, period: Int?) -> Int? {
        guard let quota, let period, quota > 0, period > 0 else { return nil }
        return (quota + period - 1) / period
    }

    /// The cgroup limit when there is one (never more than the host has), else the host's count.
    public static func effective(cgroupLimit: Int?, limitOrigin: String, host: Int) -> CPUCount {
        let host = max(1, host)
        if let limit = cgroupLimit, limit >= 1, limit < host {
            return CPUCount(count: limit, origin: "the cgroup limit \(limitOrigin)")
        }
        return CPUCount(count: host, origin: "the CPUs this process may run on")
    }

    /// Reads the cgroup files through `files`, the host's count from the kernel.
    public static func detect(files: FileReader) -> CPUCount {
        func text(_ path: String) -> String? {
            guard case .success(let bytes) = files.read(path) else { return nil }
            return String(decoding: bytes, as: UTF8.self)
        }
        if let v2 = text(cgroupV2File) {
            return effective(cgroupLimit: fromCPUMax(v2), limitOrigin: cgroupV2File, host: hostCount())
        }
        let quota = text(cgroupV1Quota).flatMap { Int($0.trimmingSpaces().split(separator: "\n").first ?? "") }
        let period = text(cgroupV1Period).flatMap { Int($0.trimmingSpaces().split(separator: "\n").first ?? "") }
        return effective(cgroupLimit: fromQuota(quota, period: period), limitOrigin: cgroupV1Quota, host: hostCount())
    }

    /// CPUs in this process's affinity mask (what `taskset` or `--cpuset-cpus`
    /// allow: `Cpus_allowed` in /proc/self/status), else the online CPUs.
    public static func hostCount(status: String? = readTextFile("/proc/self/status")) -> Int {
        if let status, let bits = allowedCPUs(status: status), bits > 0 { return bits }
        return max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }

    /// The number of bits set in `Cpus_allowed:` (comma-separated hex words).
    static func allowedCPUs(status: String) -> Int? {
        for line in status.split(separator: "\n") where line.hasPrefix("Cpus_allowed:") {
            var bits = 0
            for c in line.dropFirst("Cpus_allowed:".count) where c != "," && c != " " && c != "\t" {
                guard let nibble = c.hexDigitValue else { return nil }
                bits += nibble.nonzeroBitCount
            }
            return bits
        }
        return nil
    }
}
