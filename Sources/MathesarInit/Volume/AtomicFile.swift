import CSystemShims
import Glibc

/// Replace-by-rename writes: a reader sees the old file or the new one, never
/// a part. With `durable`, the data and the rename are fsynced so that a power
/// loss cannot leave an empty file (secrets, journals).
///
/// Root writes into directories a less-privileged account owns (`secrets/`
/// is the app user's, PGDATA is `postgres`'s), so the temporary file must be
/// one that account cannot have prepared: a random name created with
/// O_EXCL | O_NOFOLLOW relative to a descriptor of the directory, checked to
/// have a single link before it is given an owner and filled.
public enum AtomicFile {
    /// Returns nil on success, else what failed (without the contents).
    public static func write(path: String, contents: [UInt8], mode: mode_t, durable: Bool,
                             owner: (uid: uid_t, gid: gid_t)? = nil) -> String? {
        let dir = parentDirectory(of: path)
        guard let (dirfd, name) = FileSystem.openParent(of: path) else { return "cannot open the directory \(dir): \(lastErrnoText())" }
        defer { close(dirfd) }
        var temporary = ""
        var fd: Int32 = -1
        for _ in 0..<16 {
            guard let suffix = randomSuffix() else { return "cannot name a temporary file in \(dir): getrandom failed" }
            temporary = "\(name).tmp.\(suffix)"
            fd = openat(dirfd, temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode & 0o700)
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else { return "cannot create \(dir)/\(temporary): \(lastErrnoText())" }
        var failure: String?
        var st = stat()
        if fstat(fd, &st) != 0 || (st.st_mode & S_IFMT) != S_IFREG || st.st_nlink != 1 {
            failure = "\(dir)/\(temporary) was linked elsewhere as soon as it was created; not writing to it"
        }
        if failure == nil, fchmod(fd, mode) != 0 { failure = "cannot set the mode of \(dir)/\(temporary): \(lastErrnoText())" }
        if failure == nil, let owner, fchown(fd, owner.uid, owner.gid) != 0 {
            failure = "cannot give \(dir)/\(temporary) to uid \(owner.uid): \(lastErrnoText())"
        }
        if failure == nil, !FileIO.writeAll(fd, contents) { failure = "cannot write \(dir)/\(temporary): \(lastErrnoText())" }
        if failure == nil, durable, fsync(fd) != 0 { failure = "cannot fsync \(dir)/\(temporary): \(lastErrnoText())" }
        close(fd)
        if failure == nil {
            let rc = msi_rename_at(dirfd, temporary, name)
            if rc != 0 { failure = "cannot rename \(dir)/\(temporary) to \(path): \(errnoText(rc))" }
        }
        if let failure {
            unlinkat(dirfd, temporary, 0)
            return failure
        }
        if durable { fsync(dirfd) }
        return nil
    }

    /// 16 hex digits from the kernel CSPRNG: a name no other account can guess in advance.
    static func randomSuffix() -> String? {
        var bytes = [UInt8](repeating: 0, count: 8)
        guard bytes.withUnsafeMutableBytes({ msi_getrandom($0.baseAddress, $0.count) }) == 0 else { return nil }
        let digits = Array("0123456789abcdef")
        return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xF)]] })
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
