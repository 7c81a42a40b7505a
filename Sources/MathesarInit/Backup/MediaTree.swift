import CSystemShims
import Glibc

/// The uploads in `$MATHESAR_DATA_DIR/media/` (Mathesar's MEDIA_ROOT), which
/// the app's account owns and can change while root reads it. Backup reads
/// it through directory descriptors only, every component opened with
/// O_NOFOLLOW: a symbolic link (or a FIFO, socket, device, or a file with
/// other hard links) an app user planted is left out of the archive with a
/// warning, never followed, so that root never copies a file from outside
/// the tree into the archive. Uploads are regular files; nothing Mathesar
/// writes is lost that way. Restore builds the tree in a private sibling and
/// renames it into place.
public enum MediaTree {
    /// What backup left out, with why (for one warning each).
    public struct Skipped: Equatable {
        public var path: String
        public var why: String
    }

    /// Deep enough for any upload tree; stops a planted deep chain from exhausting descriptors.
    static let maximumDepth = 32

    /// Calls `visit` with (path relative to media/, an open descriptor) for each
    /// regular file below `directory`, in name order. Nothing when `directory` is missing.
    public static func walk(_ directory: String, visit: (String, Int32) throws(Failure) -> Void) throws(Failure) -> [Skipped] {
        guard let (parent, name) = FileSystem.openParent(of: directory) else {
            throw Failure(ExitCode.volumeUnusable, "backup: cannot open the directory holding \(directory): \(lastErrnoText())")
        }
        defer { close(parent) }
        var st = stat()
        guard fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
            if errno == ENOENT { return [] }
            throw Failure(ExitCode.volumeUnusable, "backup: cannot read \(directory): \(lastErrnoText())")
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else {
            return [Skipped(path: directory, why: (st.st_mode & S_IFMT) == S_IFLNK ? "it is a symbolic link, which backup does not follow" : "it is not a directory")]
        }
        let fd = msi_open_directory(parent, name)
        guard fd >= 0 else { throw Failure(ExitCode.volumeUnusable, "backup: cannot open \(directory): \(lastErrnoText())") }
        defer { close(fd) }
        var skipped: [Skipped] = []
        try walk(fd, prefix: "", depth: 0, skipped: &skipped, visit: visit)
        return skipped
    }

    private static func walk(_ fd: Int32, prefix: String, depth: Int, skipped: inout [Skipped],
                             visit: (String, Int32) throws(Failure) -> Void) throws(Failure) {
        for name in entries(of: fd) {
            guard let text = String(validating: name, as: UTF8.self) else {
                skipped.append(Skipped(path: prefix + String(decoding: name, as: UTF8.self), why: "its name is not UTF-8"))
                continue
            }
            let path = prefix + text
            var st = stat()
            guard fstatat(fd, text, &st, AT_SYMLINK_NOFOLLOW) == 0 else { continue }  // removed meanwhile
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                guard depth < maximumDepth else {
                    skipped.append(Skipped(path: path, why: "it is more than \(maximumDepth) directories deep"))
                    continue
                }
                let child = msi_open_directory(fd, text)
                guard child >= 0 else {
                    skipped.append(Skipped(path: path, why: errno == ELOOP ? "it became a symbolic link while backup read it" : lastErrnoText()))
                    continue
                }
                defer { close(child) }
                try walk(child, prefix: path + "/", depth: depth + 1, skipped: &skipped, visit: visit)
            case S_IFREG:
                let file = openat(fd, text, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
                guard file >= 0 else {
                    skipped.append(Skipped(path: path, why: errno == ELOOP ? "it became a symbolic link while backup read it" : lastErrnoText()))
                    continue
                }
                defer { close(file) }
                // Checked on the descriptor: what was opened, not what was listed.
                guard fstat(file, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
                    skipped.append(Skipped(path: path, why: "it stopped being a regular file while backup read it"))
                    continue
                }
                guard st.st_nlink == 1 else {
                    skipped.append(Skipped(path: path, why: "it has \(st.st_nlink - 1) other hard link(s), possibly to a file outside the volume"))
                    continue
                }
                try visit(path, file)
            case S_IFLNK:
                skipped.append(Skipped(path: path, why: "it is a symbolic link, which backup neither follows nor stores (it could name a file outside the volume)"))
            default:
                skipped.append(Skipped(path: path, why: "it is not a regular file (a FIFO, socket or device)"))
            }
        }
    }

    /// The names in a directory (without . and ..), sorted, as raw bytes.
    static func entries(of fd: Int32) -> [[UInt8]] {
        let listing = dup(fd)
        guard listing >= 0, let dir = fdopendir(listing) else {
            if listing >= 0 { close(listing) }
            return []
        }
        defer { closedir(dir) }
        var names: [[UInt8]] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
            if name == [0x2E] || name == [0x2E, 0x2E] { continue }
            names.append(name)
        }
        return names.sorted { $0.lexicographicallyPrecedes($1) }
    }

    /// A path from a manifest that restore may create below media/: relative,
    /// no empty, `.` or `..` component, no NUL.
    public static func isSafeRelativePath(_ path: String) -> Bool {
        guard !path.isEmpty, path.utf8.count < 4096, !path.hasPrefix("/"), !path.utf8.contains(0) else { return false }
        return path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }
    }

    // --- restore ---------------------------------------------------------------

    /// The private sibling the restored tree is built in.
    public static let buildName = ".media-restore"
    /// Present while a restored media/ is in place but its cluster is not yet:
    /// the next restore removes that media/ (the restore did not finish).
    public static let pendingName = ".media-restore.pending"

    /// Builds the uploads (relative path, unpacked file) in `data`/.media-restore,
    /// moving each unpacked file there (copying when it is on another
    /// filesystem), owned by `owner` (files 0644, directories 0755), then
    /// flushes them. The top stays 0700 until `place` so that no one else
    /// can reach the tree half-built.
    public static func build(_ files: [(path: String, source: String)], data: String, owner: UserIdentity?) throws(Failure) {
        let dataFd = try openData(data)
        defer { close(dataFd) }
        guard msi_remove_tree_at(dataFd, buildName) == 0, mkdirat(dataFd, buildName, 0o700) == 0 else {
            throw Failure(ExitCode.volumeUnusable, "restore: cannot create \(data)/\(buildName): \(lastErrnoText()); nothing was changed")
        }
        let top = msi_open_directory(dataFd, buildName)
        guard top >= 0 else { throw Failure(ExitCode.volumeUnusable, "restore: cannot open \(data)/\(buildName): \(lastErrnoText())") }
        defer { close(top) }
        for file in files {
            let parts = file.path.split(separator: "/").map(String.init)
            var dir = dup(top)
            for part in parts.dropLast() {
                if mkdirat(dir, part, 0o755) == 0, let owner, geteuid() == 0 {
                    _ = fchownat(dir, part, owner.uid, owner.gid, AT_SYMLINK_NOFOLLOW)
                }
                let next = msi_open_directory(dir, part)
                close(dir)
                guard next >= 0 else { throw Failure(ExitCode.volumeUnusable, "restore: cannot create the directory of media/\(file.path): \(lastErrnoText()); nothing was changed") }
                dir = next
            }
            defer { close(dir) }
            try moveFile(from: file.source, into: dir, name: parts.last!, shownAs: "media/" + file.path, owner: owner)
        }
        if geteuid() == 0, let owner { _ = fchown(top, owner.uid, owner.gid) }
        guard msi_syncfs(top) == 0 else { throw Failure(ExitCode.volumeUnusable, "restore: cannot flush the restored uploads to disk: \(lastErrnoText()); nothing was changed") }
    }

    private static func moveFile(from source: String, into dir: Int32, name: String, shownAs: String, owner: UserIdentity?) throws(Failure) {
        if renameat(AT_FDCWD, source, dir, name) != 0 {
            guard errno == EXDEV else { throw Failure(ExitCode.volumeUnusable, "restore: cannot place \(shownAs): \(lastErrnoText()); nothing was changed") }
            let input = open(source, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            let output = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            defer { if input >= 0 { close(input) }; if output >= 0 { close(output) } }
            guard input >= 0, output >= 0 else { throw Failure(ExitCode.volumeUnusable, "restore: cannot copy \(shownAs): \(lastErrnoText()); nothing was changed") }
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            while true {
                let n = readFully(input, &buffer, count: buffer.count)
                guard n >= 0 else { throw Failure(ExitCode.volumeUnusable, "restore: cannot read the unpacked \(shownAs): \(lastErrnoText())") }
                if n == 0 { break }
                guard FileIO.writeAll(output, Array(buffer[0..<n])) else {
                    throw Failure(ExitCode.volumeUnusable, "restore: cannot write \(shownAs): \(lastErrnoText()); nothing was changed")
                }
            }
        }
        let fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(ExitCode.volumeUnusable, "restore: cannot open the restored \(shownAs): \(lastErrnoText())") }
        defer { close(fd) }
        if geteuid() == 0, let owner { _ = fchown(fd, owner.uid, owner.gid) }
        _ = fchmod(fd, 0o644)
    }

    /// Renames the built tree to `data`/media (replacing an empty media/),
    /// leaving the pending marker that `finish` removes once the cluster is in place.
    public static func place(data: String) throws(Failure) {
        let dataFd = try openData(data)
        defer { close(dataFd) }
        let marker = openat(dataFd, pendingName, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard marker >= 0, fsync(marker) == 0 else {
            throw Failure(ExitCode.volumeUnusable, "restore: cannot write \(data)/\(pendingName): \(lastErrnoText()); nothing was changed")
        }
        close(marker)
        if unlinkat(dataFd, "media", AT_REMOVEDIR) != 0 && errno != ENOENT {
            throw Failure(ExitCode.volumeUnusable, "restore: cannot replace \(data)/media: \(lastErrnoText()); it must be empty")
        }
        let top = msi_open_directory(dataFd, buildName)
        if top >= 0 { _ = fchmod(top, 0o755); close(top) }
        let rc = msi_rename_at(dataFd, buildName, "media")
        guard rc == 0 else { throw Failure(ExitCode.volumeUnusable, "restore: cannot rename \(data)/\(buildName) to media: \(errnoText(rc))") }
        _ = fsync(dataFd)
    }

    /// The cluster is in place: the restored media/ is final.
    public static func finish(data: String) {
        guard let dataFd = try? openData(data) else { return }
        defer { close(dataFd) }
        _ = unlinkat(dataFd, pendingName, 0)
        _ = fsync(dataFd)
    }

    /// What an interrupted restore left: the half-built tree always; and a
    /// media/ it had put in place when its cluster never followed
    /// (`clusterInPlace` false). Returns what was removed.
    public static func removeLeftovers(data: String, clusterInPlace: Bool) -> [String] {
        guard let dataFd = try? openData(data) else { return [] }
        defer { close(dataFd) }
        var removed: [String] = []
        var st = stat()
        if fstatat(dataFd, buildName, &st, AT_SYMLINK_NOFOLLOW) == 0, msi_remove_tree_at(dataFd, buildName) == 0 {
            removed.append("\(data)/\(buildName)")
        }
        if fstatat(dataFd, pendingName, &st, AT_SYMLINK_NOFOLLOW) == 0 {
            if !clusterInPlace, msi_remove_tree_at(dataFd, "media") == 0 { removed.append("\(data)/media (restored by the interrupted restore)") }
            _ = unlinkat(dataFd, pendingName, 0)
        }
        return removed
    }

    /// Whether `data`/media holds anything (a restore puts uploads only into an empty one).
    public static func isOccupied(data: String) -> [String] {
        guard let dataFd = try? openData(data) else { return [] }
        defer { close(dataFd) }
        let fd = msi_open_directory(dataFd, "media")
        guard fd >= 0 else {
            var st = stat()
            return fstatat(dataFd, "media", &st, AT_SYMLINK_NOFOLLOW) == 0 ? ["media (not a directory)"] : []
        }
        defer { close(fd) }
        return entries(of: fd).prefix(3).map { String(decoding: $0, as: UTF8.self) }
    }

    private static func openData(_ data: String) throws(Failure) -> Int32 {
        let fd = open(data, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(ExitCode.volumeUnusable, "restore: cannot open \(data): \(lastErrnoText())") }
        return fd
    }
}
