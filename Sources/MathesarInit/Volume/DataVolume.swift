import CSystemShims
import Glibc

/// The one volume, `$MATHESAR_DATA_DIR`: `postgres/`, `secrets/`, `media/` and
/// the lock file. Created if missing; refused (exit 73) when it cannot be written.
public enum DataVolume {
    /// Creates the directory (and parents) if missing and proves it writable.
    public static func prepare(_ path: String) throws(Failure) {
        try makeDirectories(path, mode: 0o755)
        var st = statvfs()
        if statvfs(path, &st) == 0, st.f_flag & UInt(ST_RDONLY) != 0 {
            throw Failure(ExitCode.volumeUnusable, "the data volume \(path) is mounted read-only; mount it read-write (remove :ro from the volume option)")
        }
        if access(path, W_OK) != 0 {
            throw Failure(ExitCode.volumeUnusable, "cannot write to the data volume \(path) (\(lastErrnoText())); \(writableAdvice(path))")
        }
    }

    /// Why `prepare` would fail, found without writing anything (for `check`); nil when it would succeed.
    public static func inspect(_ path: String) -> String? {
        var existing = path
        while !FileIO.exists(existing) && existing != "/" { existing = AtomicFile.parentDirectory(of: existing) }
        if existing == path && !FileIO.isDirectory(path) { return "\(path) exists but is not a directory" }
        var st = statvfs()
        if statvfs(existing, &st) == 0, st.f_flag & UInt(ST_RDONLY) != 0 {
            return "\(existing) is on a read-only mount; mount the volume read-write"
        }
        if access(existing, W_OK) != 0 {
            return "cannot write to \(existing) (\(lastErrnoText())); \(writableAdvice(existing))"
        }
        return nil
    }

    /// What a user can do about a directory that cannot be written.
    static func writableAdvice(_ path: String) -> String {
        var st = stat()
        let uid = geteuid()
        if stat(path, &st) == 0 {
            if uid == 0 {
                return "it belongs to uid \(st.st_uid) with mode \(String(st.st_mode & 0o7777, radix: 8)) and root cannot write it (a read-only or root-squashed mount?); mount it read-write"
            }
            return "it belongs to uid \(st.st_uid) with mode \(String(st.st_mode & 0o7777, radix: 8)) but mathesar-init runs as uid \(uid); run `chown -R \(uid) \(path)` on the host or run the container as root"
        }
        return "check that its parent exists and is writable"
    }

    /// `mkdir -p` with `mode` for the directories it creates.
    public static func makeDirectories(_ path: String, mode: mode_t) throws(Failure) {
        var prefix = ""
        for part in path.split(separator: "/") {
            prefix += "/" + part
            if mkdir(prefix, mode) != 0 && errno != EEXIST {
                let why = errno
                if why == EROFS {
                    throw Failure(ExitCode.volumeUnusable, "cannot create \(prefix): the filesystem is read-only; mount the volume read-write")
                }
                throw Failure(ExitCode.volumeUnusable, "cannot create \(prefix): \(errnoText(why)); \(writableAdvice(AtomicFile.parentDirectory(of: prefix)))")
            }
        }
        guard FileIO.isDirectory(path) else {
            throw Failure(ExitCode.volumeUnusable, "\(path) exists but is not a directory; move it away or point the variable elsewhere")
        }
    }

    /// A directory inside the volume owned by `owner` with `mode`: created if
    /// missing, owner and mode fixed when root. Refuses a symlink, which could
    /// point outside the volume. The owner and mode are changed through a
    /// descriptor opened with O_NOFOLLOW, so a link swapped in after the
    /// check is refused too, never followed.
    public static func ownedDirectory(_ path: String, mode: mode_t, owner: UserIdentity?) throws(Failure) {
        guard let (parent, name) = FileSystem.openParent(of: path) else {
            throw Failure(ExitCode.volumeUnusable, "cannot open the directory holding \(path): \(lastErrnoText()); \(writableAdvice(AtomicFile.parentDirectory(of: path)))")
        }
        defer { close(parent) }
        if mkdirat(parent, name, mode) != 0 && errno != EEXIST {
            throw Failure(ExitCode.volumeUnusable, "cannot create \(path): \(lastErrnoText()); \(writableAdvice(AtomicFile.parentDirectory(of: path)))")
        }
        let fd = msi_open_directory(parent, name)
        guard fd >= 0 else {
            let why = errno
            var st = stat()
            let kind = fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? st.st_mode & S_IFMT : 0
            if kind == S_IFLNK {
                throw Failure(ExitCode.volumeUnusable, "\(path) is a symbolic link; mathesar-init keeps its files inside the volume and does not follow it; remove the link")
            }
            if why == ENOTDIR || (kind != 0 && kind != S_IFDIR) {
                throw Failure(ExitCode.volumeUnusable, "\(path) exists but is not a directory; move it away")
            }
            throw Failure(ExitCode.volumeUnusable, "cannot open \(path): \(errnoText(why))")
        }
        defer { close(fd) }
        var st = stat()
        _ = fstat(fd, &st)
        if geteuid() == 0, let owner, st.st_uid != owner.uid || st.st_gid != owner.gid {
            if fchown(fd, owner.uid, owner.gid) != 0 {
                throw Failure(ExitCode.volumeUnusable, "cannot give \(path) to \(owner.name): \(lastErrnoText())")
            }
        }
        if st.st_mode & 0o7777 != mode, fchmod(fd, mode) != 0, geteuid() == 0 {
            throw Failure(ExitCode.volumeUnusable, "cannot set mode \(String(mode, radix: 8)) on \(path): \(lastErrnoText())")
        }
    }
}
