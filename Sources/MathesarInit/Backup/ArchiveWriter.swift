import Glibc

/// Writes a backup archive to one descriptor, member by member, hashing each
/// member as it goes so that the manifest (written last) records what was
/// written, not what was meant to be.
public final class ArchiveWriter {
    let fd: Int32
    /// For messages: the file, or "standard output".
    let destination: String
    public private(set) var written: UInt64 = 0
    public private(set) var members: [BackupManifest.Member] = []

    public init(fd: Int32, destination: String) {
        self.fd = fd
        self.destination = destination
    }

    private func write(_ bytes: [UInt8]) throws(Failure) {
        guard FileIO.writeAll(fd, bytes) else {
            let why = errno
            throw Failure(ExitCode.volumeUnusable, "cannot write the backup to \(destination) after \(written) bytes: \(errnoText(why))\(why == ENOSPC ? "; free space there or choose another place with --output" : "")")
        }
        written += UInt64(bytes.count)
    }

    /// A member from bytes in memory (secrets, the manifest).
    public func add(name: String, kind: BackupManifest.Kind, label: String?, bytes: [UInt8]) throws(Failure) {
        try addUnlisted(name: name, bytes: bytes)
        var hasher = SHA256Hasher()
        hasher.update(bytes)
        members.append(BackupManifest.Member(name: name, kind: kind, label: label, size: UInt64(bytes.count), sha256: hasher.finalizeHex()))
    }

    /// A member the manifest does not list (the manifest itself).
    public func addUnlisted(name: String, bytes: [UInt8]) throws(Failure) {
        try write(TarFormat.header(name: name, size: UInt64(bytes.count), mtime: Int(time(nil))))
        try write(bytes)
        try write([UInt8](repeating: 0, count: TarFormat.padding(after: UInt64(bytes.count))))
    }

    /// A member copied from a file (a dump), which must not change meanwhile.
    public func add(name: String, kind: BackupManifest.Kind, label: String?, file: String) throws(Failure) {
        let source = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard source >= 0 else { throw Failure(ExitCode.internalError, "cannot open \(file): \(lastErrnoText())") }
        defer { close(source) }
        try add(name: name, kind: kind, label: label, descriptor: source, file: file)
    }

    /// A member copied from an open regular file (`file` names it in messages).
    public func add(name: String, kind: BackupManifest.Kind, label: String?, descriptor source: Int32, file: String) throws(Failure) {
        var st = stat()
        guard fstat(source, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { throw Failure(ExitCode.internalError, "\(file) is not a regular file") }
        let size = UInt64(st.st_size)
        try write(TarFormat.header(name: name, size: size, mtime: Int(st.st_mtim.tv_sec)))
        var hasher = SHA256Hasher()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var left = size
        while left > 0 {
            let n = readFully(source, &buffer, count: Int(min(left, UInt64(buffer.count))))
            guard n > 0 else { throw Failure(ExitCode.internalError, "\(file) ended early or could not be read: \(lastErrnoText())") }
            let chunk = Array(buffer[0..<n])
            hasher.update(chunk)
            try write(chunk)
            left -= UInt64(n)
        }
        try write([UInt8](repeating: 0, count: TarFormat.padding(after: size)))
        members.append(BackupManifest.Member(name: name, kind: kind, label: label, size: size, sha256: hasher.finalizeHex()))
    }

    /// The end-of-archive marker: two zero blocks.
    public func finish() throws(Failure) {
        try write([UInt8](repeating: 0, count: 2 * TarFormat.block))
    }
}
