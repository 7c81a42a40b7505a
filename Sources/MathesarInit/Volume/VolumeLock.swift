import Glibc

/// An exclusive `flock` on a file in the data volume, held for the life of
/// PID 1, so that two containers never use one volume. The kernel drops it
/// when the process dies, so a crashed container leaves no stale lock.
public final class VolumeLock {
    let fd: Int32
    public let path: String

    private init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    /// Takes the lock or fails with exit code 73, naming who holds it.
    /// Nothing is written unless the lock is ours.
    public static func acquire(path: String) throws(Failure) -> VolumeLock {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else {
            throw Failure(ExitCode.volumeUnusable, "cannot open the lock file \(path): \(lastErrnoText()); \(DataVolume.writableAdvice(AtomicFile.parentDirectory(of: path)))")
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let why = errno
            let holder = readHolder(fd)
            close(fd)
            if why == EWOULDBLOCK {
                throw Failure(ExitCode.volumeUnusable, "the data volume is in use by another mathesar-init (\(holder ?? "holder unknown")), lock \(path); stop that container first, or give this one its own volume")
            }
            throw Failure(ExitCode.volumeUnusable, "cannot lock \(path): \(errnoText(why))")
        }
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, host.count - 1)
        let hostName = host.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        let record = "host=\(hostName) pid=\(getpid()) since=\(WallClock.timestamp())\n"
        if ftruncate(fd, 0) == 0 { _ = pwrite(fd, record, record.utf8.count, 0) }
        return VolumeLock(fd: fd, path: path)
    }

    /// Who holds the lock, without taking it (for `check`); nil when it is free.
    public static func holder(path: String) -> String?? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return .some(nil) }  // no lock file: free
        defer { close(fd) }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return .some(nil)
        }
        return .some(readHolder(fd) ?? "holder unknown")
    }

    private static func readHolder(_ fd: Int32) -> String? {
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        let text = String(decoding: buffer[0..<n], as: UTF8.self).trimmingSpaces()
        return text.split(separator: "\n").first.map(String.init)
    }

    deinit { close(fd) }
}
