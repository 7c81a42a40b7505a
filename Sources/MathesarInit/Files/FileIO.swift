import Glibc

/// Small file helpers on raw syscalls (no Foundation in PID 1).
public enum FileIO {
    public enum ReadError: Error, Equatable {
        case missing
        case isDirectory
        case unreadable(String)
        case tooLarge
    }

    /// The bytes of a file, at most `limit` of them.
    public static func read(_ path: String, limit: Int = 1 << 20) -> Result<[UInt8], ReadError> {
        // O_NONBLOCK: opening a FIFO without a writer would otherwise wait forever.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            return .failure(errno == ENOENT || errno == ENOTDIR ? .missing : .unreadable(lastErrnoText()))
        }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) == 0 {
            if (st.st_mode & S_IFMT) == S_IFDIR { return .failure(.isDirectory) }
            if (st.st_mode & S_IFMT) != S_IFREG { return .failure(.unreadable("it is not a regular file (a FIFO, socket or device)")) }
        }
        return readAll(fd, limit: limit)
    }

    /// Everything left to read on an open descriptor, at most `limit` bytes
    /// (the one read loop: `read` and `FileSystem.readPrivateFile` share it).
    public static func readAll(_ fd: Int32, limit: Int) -> Result<[UInt8], ReadError> {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EISDIR { return .failure(.isDirectory) }
                return .failure(.unreadable(lastErrnoText()))
            }
            if n == 0 { return .success(bytes) }
            bytes.append(contentsOf: chunk[0..<n])
            if bytes.count > limit { return .failure(.tooLarge) }
        }
    }

    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Names in a directory, without "." and "..", or nil when it cannot be listed.
    public static func list(_ path: String) -> [String]? {
        guard let dir = opendir(path) else { return nil }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Writes all bytes to a descriptor, retrying on EINTR and short writes.
    @discardableResult
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN {
                    var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&p, 1, 1000)
                    continue
                }
                return false
            }
            offset += n
        }
        return true
    }
}

/// The contents of a text file, or nil.
public func readTextFile(_ path: String) -> String? {
    guard case .success(let bytes) = FileIO.read(path) else { return nil }
    return String(decoding: bytes, as: UTF8.self)
}
