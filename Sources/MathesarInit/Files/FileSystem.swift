import CSystemShims
import Glibc

/// Filesystem facts and operations the volume code needs beyond FileIO.
func msiDevice(_ path: String, _ device: inout UInt64) -> Bool {
    msi_device_of(path, &device) == 0
}

public enum FileSystem {
    /// Free and total bytes of the filesystem holding `path`.
    public static func space(_ path: String) -> (free: UInt64, total: UInt64)? {
        var free: UInt64 = 0, total: UInt64 = 0
        return msi_filesystem_space(path, &free, &total) == 0 ? (free, total) : nil
    }

    /// Flushes the whole filesystem holding `path` (one call instead of an fsync per file).
    public static func syncFilesystem(of path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return msi_syncfs(fd) == 0
    }

    /// rename(2) that fails instead of replacing an existing target.
    public static func renameNoReplace(_ from: String, _ to: String) -> Int32 {
        msi_rename_noreplace(from, to)
    }

    /// `rm -rf` that never follows symlinks out of the tree, even one swapped
    /// in while it runs: every step is relative to a directory descriptor
    /// opened with O_NOFOLLOW (PGDATA.N.old is removed while the upgraded
    /// server, configured by `postgres`, already runs). Returns false on a failure.
    @discardableResult
    public static func removeTree(_ path: String) -> Bool {
        guard let (parent, name) = openParent(of: path) else { return errno == ENOENT }
        defer { close(parent) }
        return msi_remove_tree_at(parent, name) == 0
    }

    /// Gives a tree to `uid:gid` through descriptors, touching only entries
    /// that need it; symlinks are changed, not followed. A file with other
    /// hard links is changed only when it belonged to the tree's owner: a
    /// link to a root file planted by the old owner stays root's.
    public static func chownTree(_ path: String, uid: uid_t, gid: gid_t) -> Int {
        var st = stat()
        guard lstat(path, &st) == 0, let (parent, name) = openParent(of: path) else { return 0 }
        defer { close(parent) }
        return msi_chown_tree_at(parent, name, uid, gid, st.st_uid)
    }

    /// The directory holding `path` (its own path followed: it is the
    /// operator's) and the last component, which callers act on relative to
    /// it without following. Nil (errno set) when the parent cannot be opened.
    public static func openParent(of path: String) -> (fd: Int32, name: String)? {
        let name = baseName(path)
        guard !name.isEmpty, name != ".", name != ".." else {
            errno = EINVAL
            return nil
        }
        let fd = open(AtomicFile.parentDirectory(of: path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        return fd >= 0 ? (fd, name) : nil
    }

    public static func baseName(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// A regular file with exactly one link, opened relative to `directory`
    /// without following a symbolic link, and read up to `limit` bytes. What
    /// a less-privileged owner of the directory could have put there instead
    /// (a link, a FIFO, a hard link to a file elsewhere) is refused.
    public static func readPrivateFile(in directory: Int32, name: String, limit: Int) -> Result<(bytes: [UInt8], fd: Int32), FileIO.ReadError> {
        let fd = openat(directory, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else {
            if errno == ENOENT { return .failure(.missing) }
            if errno == ELOOP { return .failure(.unreadable("it is a symbolic link, which mathesar-init does not follow")) }
            return .failure(.unreadable(lastErrnoText()))
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let why = lastErrnoText()
            close(fd)
            return .failure(.unreadable(why))
        }
        if (st.st_mode & S_IFMT) != S_IFREG {
            close(fd)
            return .failure((st.st_mode & S_IFMT) == S_IFDIR ? .isDirectory : .unreadable("it is not a regular file (a FIFO, socket or device)"))
        }
        if st.st_nlink != 1 {
            close(fd)
            return .failure(.unreadable("it has \(st.st_nlink - 1) other hard link(s), possibly to a file outside the volume"))
        }
        switch FileIO.readAll(fd, limit: limit) {
        case .success(let bytes): return .success((bytes, fd))
        case .failure(let error):
            close(fd)
            return .failure(error)
        }
    }

    /// Bytes used by a tree (for the upgrade's free-space check).
    public static func treeSize(_ path: String) -> UInt64 {
        var st = stat()
        guard lstat(path, &st) == 0 else { return 0 }
        var total = UInt64(st.st_blocks) * 512
        if (st.st_mode & S_IFMT) == S_IFDIR {
            for name in FileIO.list(path) ?? [] { total += treeSize(path + "/" + name) }
        }
        return total
    }
}
