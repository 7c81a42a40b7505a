import CSystemShims
import Glibc

/// The directory `backup` writes its archive into, opened one component at a
/// time with O_NOFOLLOW | O_DIRECTORY: from the volume's own descriptor for a
/// path inside `$MATHESAR_DATA_DIR` (the default, `backups/`, which the app's
/// account might be able to change), else from `/`. Backup runs as root: a
/// symbolic link anywhere in the chain could send the archive, the secrets
/// inside it, to a place its planter reads; it is refused, never followed.
/// The archive is then created and renamed relative to that descriptor.
public struct OutputDirectory {
    public let fd: Int32
    /// The directory's path (for messages).
    public let path: String

    /// Opens the parent directory of `file`; `volume` is `$MATHESAR_DATA_DIR`,
    /// whose own path is the operator's and is followed.
    public static func open(for file: String, volume: String) throws(Failure) -> (directory: OutputDirectory, name: String) {
        let name = FileSystem.baseName(file)
        guard !name.isEmpty, name != ".", name != ".." else {
            throw Failure(ExitCode.usage, "backup: --output \(file) does not name a file; give a path such as /backups/mathesar.tar")
        }
        let parent = AtomicFile.parentDirectory(of: file)
        let volumePrefix = volume.hasSuffix("/") ? volume : volume + "/"
        var at: String
        var fd: Int32
        var rest: String
        if parent == volume || parent.hasPrefix(volumePrefix) {
            at = volume
            fd = Glibc.open(volume, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            rest = String(parent.dropFirst(volume.count))
        } else {
            at = ""
            fd = Glibc.open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            rest = parent
        }
        guard fd >= 0 else { throw Failure(ExitCode.volumeUnusable, "backup: cannot open \(at.isEmpty ? "/" : at): \(lastErrnoText())") }
        for component in rest.split(separator: "/").map(String.init) where component != "." {
            let here = at + "/" + component
            guard component != ".." else {
                Glibc.close(fd)
                throw Failure(ExitCode.usage, "backup: --output \(file) goes up with \"..\"; give the path without it")
            }
            let next = msi_open_directory(fd, component)
            let why = errno
            if next < 0 {
                var st = stat()
                let isLink = fstatat(fd, component, &st, AT_SYMLINK_NOFOLLOW) == 0 && (st.st_mode & S_IFMT) == S_IFLNK
                Glibc.close(fd)
                if isLink {
                    throw Failure(ExitCode.volumeUnusable, "backup: \(here) is a symbolic link; backup does not follow links on the way to its archive (one could send the secrets in it anywhere) and wrote nothing; give a path without links\(here.hasPrefix(volumePrefix) ? ", or remove the link from the volume" : "")")
                }
                throw Failure(ExitCode.volumeUnusable, "backup: cannot open the directory \(here): \(errnoText(why)); nothing was written\(why == ENOENT ? "; create it first" : "")")
            }
            Glibc.close(fd)
            fd = next
            at = here
        }
        return (OutputDirectory(fd: fd, path: at.isEmpty ? "/" : at), name)
    }

    /// Creates `name` for writing (mode 0600); fails if anything has that name.
    public func create(_ name: String) -> Int32 {
        openat(fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
    }

    /// rename within the directory, failing (EEXIST) instead of replacing. Returns 0 or an errno.
    public func renameNoReplace(_ from: String, _ to: String) -> Int32 {
        msi_renameat_noreplace(fd, from, to)
    }

    public func close() { Glibc.close(fd) }
}
