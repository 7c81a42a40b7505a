import Glibc

/// Replace-by-rename writes: a reader sees the old file or the new one, never
/// a part. With `durable`, the data and the rename are fsynced so that a power
/// loss cannot leave an empty file (secrets, journals).
public enum AtomicFile {
    /// Returns nil on success, else what failed (without the contents).
    public static func write(path: String, contents: [UInt8], mode: mode_t, durable: Bool,
                             owner: (uid: uid_t, gid: gid_t)? = nil) -> String? {
        let dir = parentDirectory(of: path)
        let temporary = "\(path).tmp.\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else { return "cannot create \(temporary): \(lastErrnoText())" }
        var failure: String?
        if fchmod(fd, mode) != 0 { failure = "cannot set the mode of \(temporary): \(lastErrnoText())" }
        if failure == nil, let owner, fchown(fd, owner.uid, owner.gid) != 0 {
            failure = "cannot give \(temporary) to uid \(owner.uid): \(lastErrnoText())"
        }
        if failure == nil, !FileIO.writeAll(fd, contents) { failure = "cannot write \(temporary): \(lastErrnoText())" }
        if failure == nil, durable, fsync(fd) != 0 { failure = "cannot fsync \(temporary): \(lastErrnoText())" }
        close(fd)
        if failure == nil, rename(temporary, path) != 0 { failure = "cannot rename \(temporary) to \(path): \(lastErrnoText())" }
        if let failure {
            unlink(temporary)
            return failure
        }
        if durable { syncDirectory(dir) }
        return nil
    }

    /// fsync a directory so that a rename or creation in it survives a power loss.
    @discardableResult
    public static func syncDirectory(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return fsync(fd) == 0
    }

    public static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
