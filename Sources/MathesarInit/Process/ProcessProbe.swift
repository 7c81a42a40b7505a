import Glibc

/// Questions about processes PID 1 did not start, asked without signalling them.
public enum ProcessProbe {
    /// Whether a process with this pid exists in our PID namespace (kill with signal 0).
    public static func exists(_ pid: pid_t) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }

    /// The process's working directory and command name, from /proc.
    public static func workingDirectoryAndCommand(_ pid: pid_t) -> (cwd: String, command: String)? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/\(pid)/cwd", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        let cwd = buffer.withUnsafeBufferPointer { String(decoding: $0[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        return (cwd, (readTextFile("/proc/\(pid)/comm") ?? "").trimmingSpaces())
    }
}
