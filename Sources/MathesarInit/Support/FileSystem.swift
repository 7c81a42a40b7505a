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

    /// `rm -rf` that never follows symlinks out of the tree. Returns false on a failure.
    @discardableResult
    public static func removeTree(_ path: String) -> Bool {
        var st = stat()
        guard lstat(path, &st) == 0 else { return errno == ENOENT }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            var ok = true
            for name in FileIO.list(path) ?? [] { ok = removeTree(path + "/" + name) && ok }
            return rmdir(path) == 0 && ok
        }
        return unlink(path) == 0
    }

    /// Gives a tree to `uid:gid`, touching only entries that need it; symlinks are changed, not followed.
    public static func chownTree(_ path: String, uid: uid_t, gid: gid_t) -> Int {
        var changed = 0
        var st = stat()
        guard lstat(path, &st) == 0 else { return 0 }
        if st.st_uid != uid || st.st_gid != gid, lchown(path, uid, gid) == 0 { changed += 1 }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            for name in FileIO.list(path) ?? [] { changed += chownTree(path + "/" + name, uid: uid, gid: gid) }
        }
        return changed
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
