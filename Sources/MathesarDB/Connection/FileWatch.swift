import Glibc

/// Sleeps until something in a directory changes (inotify), or a timeout:
/// the helper's way to notice postmaster.pid turning "ready" without polling.
final class FileWatch {
    private let fd: Int32

    init(directory: String) {
        fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        if fd >= 0 {
            _ = inotify_add_watch(fd, directory, UInt32(IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO))
        }
    }

    /// Returns when a change was seen or after `seconds` (also the fallback
    /// when inotify is unavailable).
    func waitForChange(atMost seconds: Double) {
        guard fd >= 0 else {
            Waiter.pause(seconds)
            return
        }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        _ = poll(&p, 1, Int32(seconds * 1000))
        var buffer = [UInt8](repeating: 0, count: 4096)
        while buffer.withUnsafeMutableBytes({ read(fd, $0.baseAddress, $0.count) }) > 0 {}
    }

    deinit {
        if fd >= 0 { close(fd) }
    }
}
